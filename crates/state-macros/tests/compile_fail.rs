//! The macros' compile errors, checked against `tests/ui/*.stderr`
//! (`TRYBUILD=overwrite cargo test -p duet-state-macros` rewrites them after a deliberate change).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
