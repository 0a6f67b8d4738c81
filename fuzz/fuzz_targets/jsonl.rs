//! The JSON Lines reader: any bytes give events or located errors, never a
//! panic.
#![no_main]
use jisseki::io::{read_events, InputFormat, Mode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_events(data, "fuzz.jsonl", InputFormat::JsonLines, Mode::Append);
});
