#![allow(dead_code, unused_extern_crates, unused_variables)]
include!("support/stand_in.rs");

use duet_state_macros::events;

#[derive(Default)]
struct CounterState {
    count: i64,
}

#[events]
impl CounterState {
    async fn no_ctx(&mut self, value: i64) -> EventResult {
        self.count = value;
        Ok(())
    }

    async fn no_result(&mut self, ctx: &mut EventCtx) -> i64 {
        self.count
    }

    async fn generic<T>(&mut self, ctx: &mut EventCtx, value: T) -> EventResult {
        Ok(())
    }

    async fn borrowed(&mut self, ctx: &mut EventCtx, name: &str) -> EventResult {
        Ok(())
    }

    #[computed]
    fn with_args(&self, factor: i64) -> i64 {
        self.count * factor
    }

    #[computed]
    fn mutating(&mut self) -> i64 {
        self.count
    }

    #[computed]
    async fn later(&self) -> i64 {
        self.count
    }
}

fn main() {}
