//! Misuse of the derives is a compile error pointing at the mistake (tests/ui/*.rs, with
//! the expected messages beside them in *.stderr).

#[test]
fn misuse_is_a_compile_error_with_a_span() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
