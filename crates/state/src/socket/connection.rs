//! One socket's two tasks: the reader, which handles frames and work for its tab, and the
//! writer, the only one that writes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError};

use super::EventService;
use super::sockets::{Control, Inbox};
use crate::engine::{Answer, Caller};
use crate::outbox::{Out, Outbox};
use crate::wire::{ClientMessage, ErrorCode, PROTOCOL_VERSION, ServerMessage, parse_client_message};

/// The writer: takes the socket's frames from its outbox, in order, each within
/// `write_timeout`. A client that does not take a frame in time is cut off (the reader
/// stops too).
pub(super) async fn write(mut session: actix_ws::Session, outbox: Outbox, write_timeout: Duration) {
    loop {
        let sent = match outbox.next().await {
            Out::Text(text) => tokio::time::timeout(write_timeout, session.text(text)).await,
            Out::Ping => tokio::time::timeout(write_timeout, session.ping(b"")).await,
            Out::Pong(bytes) => tokio::time::timeout(write_timeout, session.pong(&bytes)).await,
            Out::Close(code, reason) => {
                let _ = tokio::time::timeout(write_timeout, bye(session, code, reason)).await;
                return;
            }
            Out::Stop => return,
        };
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return outbox.stop(),
            Err(_) => {
                tracing::warn!(
                    ?write_timeout,
                    "event socket closed: the client did not take a frame in time"
                );
                return outbox.stop();
            }
        }
    }
}

/// Says why in a `bye` frame, then closes with `code`.
async fn bye(mut session: actix_ws::Session, code: u16, reason: String) {
    let bye = ServerMessage::Bye {
        code,
        message: reason.clone(),
    };
    let _ = session.text(bye.to_text()).await;
    let _ = session
        .close(Some(CloseReason {
            code: CloseCode::from(code),
            description: Some(reason),
        }))
        .await;
}

/// The reader: the socket's frames and the work other parts of the process hand it.
pub(super) struct Connection {
    service: Arc<EventService>,
    caller: Caller,
    outbox: Outbox,
    inbox: Arc<Inbox>,
    /// This socket's id in [`Sockets`](super::Sockets).
    id: u64,
    tab: Option<String>,
    /// Whether the frame just handled was a bad one (counted against the flood limit).
    last_bad: bool,
}

enum Next {
    Continue,
    Close(u16, String),
}

impl Connection {
    pub(super) fn new(
        service: Arc<EventService>,
        caller: Caller,
        outbox: Outbox,
        inbox: Arc<Inbox>,
        id: u64,
    ) -> Connection {
        Connection {
            service,
            caller,
            outbox,
            inbox,
            id,
            tab: None,
            last_bad: false,
        }
    }

    pub(super) async fn run(mut self, mut stream: actix_ws::AggregatedMessageStream) {
        let service = Arc::clone(&self.service);
        let config = &service.config;
        let inbox = Arc::clone(&self.inbox);
        let outbox = self.outbox.clone();
        let mut heard = Instant::now();
        let mut heartbeat = tokio::time::interval(config.heartbeat);
        heartbeat.tick().await;
        let mut bad_frames: Vec<Instant> = Vec::new();
        let close = loop {
            let next = tokio::select! {
                message = stream.recv() => {
                    heard = Instant::now();
                    match message {
                        None => break None,
                        Some(Err(ProtocolError::Overflow)) => Next::Close(1009, format!("frame larger than {} bytes", config.max_frame)),
                        Some(Err(error)) => Next::Close(1002, format!("protocol error: {error}")),
                        // Boxed: an idle socket's task then holds no space for handling a frame.
                        Some(Ok(AggregatedMessage::Text(text))) => Box::pin(self.text(&text)).await,
                        Some(Ok(AggregatedMessage::Binary(_))) => self.bad(ErrorCode::BadFrame, "binary frames are not accepted".into()),
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            self.outbox.control(Out::Pong(bytes.to_vec()));
                            Next::Continue
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => Next::Continue,
                        Some(Ok(AggregatedMessage::Close(_))) => Next::Close(1000, "bye".into()),
                    }
                }
                // Runs whatever the writer is doing: a socket whose client went quiet is
                // closed even while a write waits.
                _ = heartbeat.tick() => {
                    if heard.elapsed() > config.idle_timeout {
                        Next::Close(1001, "idle timeout".into())
                    } else {
                        self.outbox.control(Out::Ping);
                        Next::Continue
                    }
                }
                // One piece of work at a time, so frames, the heartbeat and the outbox's end
                // are seen however much work waits.
                () = inbox.ready.notified() => match inbox.take() {
                    Some(control) => Box::pin(self.handle(control)).await,
                    None => Next::Continue,
                },
                // The writer gave up on the client, or the outbox overflowed.
                () = outbox.ended() => break None,
            };
            if let Next::Close(code, reason) = next {
                break Some((code, reason));
            }
            if std::mem::take(&mut self.last_bad) {
                let now = Instant::now();
                bad_frames.retain(|at| now.duration_since(*at) < config.bad_frame_window);
                bad_frames.push(now);
                if bad_frames.len() > config.bad_frame_limit as usize {
                    break Some((1008, "too many bad frames".into()));
                }
            }
        };
        if let Some(tab) = self.service.sockets.remove(self.id) {
            self.service.engine().broadcaster().forget_tab(&tab);
            self.service.engine().let_go(&tab);
        }
        match close {
            Some((code, reason)) => self.outbox.close(code, reason),
            None => self.outbox.stop(),
        }
    }

    async fn text(&mut self, text: &str) -> Next {
        let message = match parse_client_message(text) {
            Ok(message) => message,
            Err((code, detail)) => return self.bad(code, detail),
        };
        let service = Arc::clone(&self.service);
        let engine = service.engine();
        let sockets = &service.sockets;
        match message {
            ClientMessage::Hello {
                protocol,
                tab,
                route,
                acked,
                spec,
            } => {
                if protocol != PROTOCOL_VERSION {
                    return Next::Close(
                        4001,
                        format!("unsupported protocol version {protocol}; this server speaks {PROTOCOL_VERSION}"),
                    );
                }
                if let (Some(theirs), Some(ours)) = (&spec, engine.spec())
                    && theirs != ours
                {
                    tracing::info!(
                        theirs,
                        ours,
                        "a runtime with another app spec: its hydrate tells it to reload"
                    );
                }
                // The turn of the tab asked for: a socket joining an open tab gets its hydrate
                // before any push that follows it.
                let turn = match &tab {
                    Some(tab) => Some(sockets.turn(tab).await),
                    None => None,
                };
                match engine.greet(&self.caller, tab, &route, acked).await {
                    Ok(greeting) => {
                        if let Some(left) = sockets.join(self.id, &greeting.tab) {
                            engine.broadcaster().forget_tab(&left);
                            engine.let_go(&left);
                        }
                        self.tab = Some(greeting.tab.clone());
                        self.deliver(&greeting.tab, greeting.answer);
                    }
                    Err(error) => {
                        self.outbox.text(error.to_text());
                    }
                }
                drop(turn);
            }
            ClientMessage::Event {
                seq,
                acked,
                state,
                handler,
                payload,
            } => {
                let Some(tab) = self.tab.clone() else {
                    return self.not_hydrated(seq);
                };
                let _turn = sockets.turn(&tab).await;
                let answer = engine
                    .event_for_tab(&self.caller, &tab, seq, acked, &state, &handler, payload)
                    .await;
                self.deliver(&tab, answer);
            }
            ClientMessage::Navigate { seq, acked, route } => {
                let Some(tab) = self.tab.clone() else {
                    return self.not_hydrated(seq);
                };
                let _turn = sockets.turn(&tab).await;
                let answer = engine.navigate_for_tab(&self.caller, &tab, seq, acked, &route).await;
                self.deliver(&tab, answer);
            }
        }
        Next::Continue
    }

    /// Queues the reply here and the push for the tab's other sockets (under the tab's turn).
    fn deliver(&self, tab: &str, answer: Answer) {
        self.outbox.text(answer.reply.to_text());
        if let Some(push) = answer.push {
            self.service.sockets.push(tab, Some(self.id), &push.to_text());
        }
    }

    fn not_hydrated(&self, seq: u64) -> Next {
        self.outbox
            .text(ServerMessage::error(Some(seq), ErrorCode::NotHydrated, "send hello first").to_text());
        Next::Continue
    }

    /// Handles work from the inbox.
    async fn handle(&mut self, control: Control) -> Next {
        let Some(tab) = self.tab.clone() else {
            return match control {
                Control::Close(code, reason) => Next::Close(code, reason.into()),
                Control::Update(_) | Control::React(..) => Next::Continue,
            };
        };
        let service = Arc::clone(&self.service);
        let sockets = &service.sockets;
        // Background work's update, or the tab's reaction to a publish: its change goes to
        // every socket of the tab, this one included.
        match control {
            Control::Close(code, reason) => return Next::Close(code, reason.into()),
            Control::Update(job) => {
                let _turn = sockets.turn(&tab).await;
                if let Some(push) = service.engine().apply(&tab, job).await {
                    sockets.push(&tab, None, &push.to_text());
                }
            }
            Control::React(topic, payload) => {
                let _turn = sockets.turn(&tab).await;
                if let Some(push) = service.engine().react(&self.caller, &tab, &topic, &payload).await {
                    sockets.push(&tab, None, &push.to_text());
                }
            }
        }
        Next::Continue
    }

    fn bad(&mut self, code: ErrorCode, detail: String) -> Next {
        tracing::debug!(%code, %detail, "bad frame");
        self.last_bad = true;
        self.outbox.text(ServerMessage::error(None, code, detail).to_text());
        Next::Continue
    }
}
