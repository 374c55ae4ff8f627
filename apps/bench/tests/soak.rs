//! The chaos soak, shortened, as CI runs it: `duet-bench soak` against the `shop` binary
//! this test build produced (no second build with other features). Needs
//! `DUET_TEST_SOAK_SECONDS` and `DUET_TEST_POSTGRES_URL` (skipped when unset, a failure
//! under `CI=true`); `just soak` runs the full one on a release build.

use duet_models::testing::required_env;
use std::process::Command;

#[test]
fn soak_holds_every_invariant() {
    let Some(seconds) = required_env("DUET_TEST_SOAK_SECONDS", "chaos soak") else {
        return;
    };
    let Some(postgres) = required_env("DUET_TEST_POSTGRES_URL", "PostgreSQL") else {
        return;
    };
    let status = Command::new(env!("CARGO_BIN_EXE_duet-bench"))
        .args(["soak", "--seconds", seconds.as_str(), "--postgres", postgres.as_str()])
        .status()
        .expect("duet-bench starts");
    assert!(status.success(), "the soak found violations or failed: {status}");
}
