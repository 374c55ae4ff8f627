// A stand-in for duet-state's items that the macros' code names, so these cases build
// without duet-state's dependencies. Included by each case as `::duet_state`.

extern crate self as duet_state;

pub struct EventCtx;

pub struct EventError;

pub type EventResult = Result<(), EventError>;

pub struct HandlerDef<S>(S);

pub trait Events: Sized {
    fn handlers() -> Vec<HandlerDef<Self>>;
}

pub trait State: Events {
    const NAME: &'static str;
    const BACKEND_VARS: &'static [&'static str] = &[];
    const LOGIN_REQUIRED: bool = false;
    fn list_key(var: &str) -> Option<&'static str> {
        let _ = var;
        Some("id")
    }
}
