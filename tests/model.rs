//! Property tests of the journal's invariants, on in-memory ledgers:
//! export→restore is the identity, any changed byte of an export is refused,
//! and a batch with one invalid event appends nothing.

use jisseki::io::{read_events, InputFormat, Mode};
use jisseki::journal::{ManualClock, MemStorage, Verification};
use jisseki::{AppendOptions, Ledger};
use proptest::prelude::*;
use std::sync::Arc;

const PREAMBLE: &str = r#"{"type":"project_defined","project":"p","name":"テスト事業","region_kind":"shortage","municipalities":["甲市","乙町"],"contract_start":"2024-10-01","years":3}
{"type":"menu_defined","menu":"B-01","category":"B","kind":"seminar","name":"ＩＴ人材育成セミナー","targets":[{"fiscal_year":2024,"output":20,"outcome":6}]}
{"type":"menu_defined","menu":"A-01","category":"A","kind":"seminar","name":"事業所魅力向上セミナー","targets":[{"fiscal_year":2024,"output":10,"outcome":3}]}"#;

/// One generated event line (valid).
fn event_line() -> impl Strategy<Value = String> {
    let person = (1u32..40).prop_map(|n| format!("P-{n:04}"));
    let date = (0u32..300).prop_map(|d| {
        (chrono::NaiveDate::from_ymd_opt(2024, 10, 1).unwrap() + chrono::Days::new(u64::from(d)))
            .format("%Y-%m-%d")
            .to_string()
    });
    let place = prop_oneof![Just("in_region"), Just("out_region"), Just("unknown")];
    prop_oneof![
        (person.clone(), date.clone(), place.clone(), any::<bool>(), prop_oneof![Just("B-01"), Just("A-01")]).prop_map(|(p, d, r, i, m)| format!(
            r#"{{"type":"attendance","menu":"{m}","date":"{d}","role":"job_seeker","person":"{p}","residence":"{r}","intent_confirmed":{i}}}"#
        )),
        (person.clone(), date.clone(), place.clone(), 0u32..=16800).prop_map(|(p, d, w, h)| format!(
            r#"{{"type":"hire","person":"{p}","start_date":"{d}","workplace":"{w}","weekly_hours":{}}}"#,
            if h % 100 == 0 { (h / 100).to_string() } else { format!("{}", f64::from(h) / 100.0) }
        )),
        (person.clone(), date.clone(), place, 0u32..5).prop_map(|(p, d, l, e)| format!(
            r#"{{"type":"startup","person":"{p}","date":"{d}","location":"{l}","employees":{e},"menus":["A-01"]}}"#
        )),
        (date, any::<bool>(), person).prop_map(|(d, u, p)| format!(r#"{{"type":"survey_response","menu":"A-01","date":"{d}","useful":{u},"respondent":"{p}"}}"#)),
    ]
}

/// Batches of events; the first starts with the project and its menus.
fn batches() -> impl Strategy<Value = Vec<Vec<String>>> {
    prop::collection::vec(prop::collection::vec(event_line(), 1..12), 1..5)
}

fn ledger(clock_us: i64) -> (Ledger, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at(clock_us));
    (
        Ledger::with_storage(Box::new(MemStorage::default()), clock.clone()).unwrap(),
        clock,
    )
}

fn append_text(l: &mut Ledger, text: &str) -> Result<(), String> {
    let events = read_events(
        text.as_bytes(),
        "batch.jsonl",
        InputFormat::JsonLines,
        Mode::Append,
    )
    .map_err(|e| e.to_string())?;
    l.append(events, "batch.jsonl", AppendOptions::default())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn build(batches: &[Vec<String>]) -> Ledger {
    let (mut l, clock) = ledger(1_730_000_000_000_000);
    for (i, b) in batches.iter().enumerate() {
        let mut text = if i == 0 {
            format!("{PREAMBLE}\n")
        } else {
            String::new()
        };
        text.push_str(&b.join("\n"));
        clock.set(1_730_000_000_000_000 + i64::try_from(i).unwrap() * 3_600_000_000);
        append_text(&mut l, &text).unwrap();
    }
    l
}

fn export(l: &Ledger) -> Vec<u8> {
    let mut out = Vec::new();
    l.export(&mut out).unwrap();
    out
}

fn restore(bytes: &[u8]) -> Result<Ledger, String> {
    let (mut l, _) = ledger(0);
    let events = read_events(bytes, "export.jsonl", InputFormat::JsonLines, Mode::Restore)
        .map_err(|e| e.to_string())?;
    l.restore(events, "export.jsonl", false)
        .map_err(|e| e.to_string())?;
    Ok(l)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn export_then_restore_gives_identical_bytes(b in batches()) {
        let l = build(&b);
        let bytes = export(&l);
        let r = restore(&bytes).unwrap();
        prop_assert_eq!(export(&r), bytes);
        let intact = matches!(r.verify(), Verification::Intact { .. });
        prop_assert!(intact);
        prop_assert_eq!(r.head(), l.head());
    }

    #[test]
    fn flipping_any_byte_of_an_export_makes_restore_fail(b in batches(), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let bytes = export(&build(&b));
        let mut tampered = bytes.clone();
        let i = pos.index(bytes.len());
        tampered[i] ^= flip;
        prop_assert!(restore(&tampered).is_err(), "byte {} flipped by {:#x} was accepted", i, flip);
    }

    #[test]
    fn a_batch_with_one_invalid_event_appends_nothing(b in batches(), extra in prop::collection::vec(event_line(), 1..10), at in any::<prop::sample::Index>(), bad in 0usize..4) {
        let mut l = build(&b);
        let before = export(&l);
        let head = l.head();
        let mut lines = extra;
        let bad_line = [
            r#"{"type":"hire","person":"P-1","start_date":"2025-01-06","workplace":"in_region","weekly_hours":500}"#,
            r#"{"type":"attendance","menu":"Z-99","date":"2024-11-20","role":"job_seeker","person":"P-1"}"#,
            r#"{"type":"attendance","menu":"B-01","date":"2024-11-31","role":"job_seeker","person":"P-1"}"#,
            r#"{"type":"retraction","target":"0193a1c0-0000-7000-8000-0000000000ff","reason":"x"}"#,
        ][bad];
        lines.insert(at.index(lines.len() + 1), bad_line.to_string());
        prop_assert!(append_text(&mut l, &lines.join("\n")).is_err());
        prop_assert_eq!(l.head(), head);
        prop_assert_eq!(export(&l), before);
    }

    #[test]
    fn appending_the_same_ids_again_changes_nothing(b in batches()) {
        let l = build(&b);
        let bytes = export(&l);
        // The export without ledger fields is a valid append batch carrying ids.
        let text: Vec<String> = String::from_utf8(bytes.clone()).unwrap().lines().map(|line| {
            let mut v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
            for k in ["seq", "recorded_at", "hash", "schema_version"] { v.remove(k); }
            serde_json::Value::Object(v).to_string()
        }).collect();
        let mut l = l;
        append_text(&mut l, &text.join("\n")).unwrap();
        prop_assert_eq!(export(&l), bytes);
    }
}
