//! The config compiler: any document compiles or is rejected with an error naming a field;
//! never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parapet_filter::Config::compile(data) {
        Ok(_) => {}
        Err(e) => assert!(!e.message.is_empty()),
    }
});
