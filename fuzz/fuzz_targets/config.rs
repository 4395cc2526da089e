//! The config compiler and the linter: any document compiles or is rejected with an error
//! naming a field; the linter finds problems exactly when the compiler does, the compiler's
//! among them; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lint = parapet_filter::Config::lint(data);
    match parapet_filter::Config::compile(data) {
        Ok(_) => assert!(lint.is_empty(), "lint reports {lint:?} for a config that compiles"),
        Err(e) => {
            assert!(!e.message.is_empty());
            assert!(lint.iter().any(|l| l.field == e.field), "lint misses {e}: {lint:?}");
            assert!(lint.iter().all(|l| !l.message.is_empty()));
        }
    }
});
