//! The type state at work: each case in `tests/ui/` must fail to compile, with the compiler
//! message checked in beside it (`TRYBUILD=overwrite` regenerates them; read them after).

#[test]
fn misuse_of_the_config_builder_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
