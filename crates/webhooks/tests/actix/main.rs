//! The actix glue over real HTTP: a server on 127.0.0.1 per test, reqwest (or a raw TCP
//! stream) as the sender, deliveries recorded on SQLite and, when `DUET_TEST_POSTGRES_URL`
//! is set, PostgreSQL.

mod common;
mod failures;
mod matrix;
mod requests;
mod schemes;
