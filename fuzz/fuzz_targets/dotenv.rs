//! `.env` text: parsed into pairs or an error naming the line; every accepted key and value
//! is something an environment variable can hold (no NUL byte).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trident::project::dotenv::parse_dotenv;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_dotenv(text) {
        Ok(pairs) => {
            for (key, value) in pairs {
                assert!(!key.is_empty() && !key.contains('\0') && !value.contains('\0'));
            }
        }
        Err(e) => assert!(e.line >= 1 && e.line <= text.lines().count()),
    }
});
