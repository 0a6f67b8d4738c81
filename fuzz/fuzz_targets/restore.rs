//! `import --restore`: any bytes are refused with located errors or rebuild
//! a ledger that verifies and exports the same bytes, never a panic.
#![no_main]
use jisseki::io::{read_events, InputFormat, Mode};
use jisseki::journal::{ManualClock, MemStorage, Verification};
use jisseki::Ledger;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok(events) = read_events(data, "fuzz.jsonl", InputFormat::JsonLines, Mode::Restore) else {
        return;
    };
    let clock = Arc::new(ManualClock::at(1_730_000_000_000_000));
    let Ok(mut ledger) = Ledger::with_storage(Box::new(MemStorage::default()), clock) else {
        return;
    };
    if ledger.restore(events, "fuzz.jsonl", false).is_ok() {
        assert!(matches!(ledger.verify(), Verification::Intact { .. }));
        let mut out = Vec::new();
        ledger.export(&mut out).unwrap();
        // The export restores again, to the same bytes.
        let again = read_events(&out, "export.jsonl", InputFormat::JsonLines, Mode::Restore)
            .expect("an export reads back");
        let clock = Arc::new(ManualClock::at(1_730_000_000_000_000));
        let mut copy = Ledger::with_storage(Box::new(MemStorage::default()), clock).unwrap();
        copy.restore(again, "export.jsonl", false).expect("an export restores");
        let mut out2 = Vec::new();
        copy.export(&mut out2).unwrap();
        assert_eq!(out, out2);
    }
});
