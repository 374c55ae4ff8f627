#![allow(dead_code, unused_extern_crates, unused_variables)]
include!("support/stand_in.rs");

use duet_state_macros::State;
use serde::Serialize;

#[derive(State)]
struct Tuple(i64);

#[derive(State)]
enum Choice {
    A,
    B,
}

#[derive(State)]
struct Generic<T> {
    value: T,
}

#[derive(State)]
#[state(nmae = "typo")]
struct UnknownStructKey {
    count: i64,
}

#[derive(State)]
struct UnknownFieldKey {
    #[state(secret)]
    count: i64,
}

#[derive(State, Serialize)]
struct SkippedBackend {
    #[state(backend)]
    #[serde(skip)]
    cache: Vec<i64>,
}

fn main() {}
