//! The date parser (ISO, Excel serials and slashes, Japanese eras): any
//! text gives a date in range or nothing, never a panic; a date it gives
//! reads back the same in ISO form.
#![no_main]
use jisseki::io::date::{parse_date_flexible, parse_iso_date};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(d) = parse_date_flexible(s) {
            let iso = d.format("%Y-%m-%d").to_string();
            assert_eq!(parse_iso_date(&iso), Some(d), "{s:?} -> {iso}");
        }
        let _ = parse_iso_date(s);
    }
});
