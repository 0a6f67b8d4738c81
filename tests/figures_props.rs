//! Property tests of the counting engine's invariants.

use jisseki::domain::Date;
use jisseki::io::{read_events, InputFormat, Mode};
use jisseki::journal::{ManualClock, MemStorage};
use jisseki::rules::time::Scope;
use jisseki::{AppendOptions, Ledger};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::Arc;

const PREAMBLE: [&str; 4] = [
    r#"{"type":"project_defined","project":"p","name":"p","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}"#,
    r#"{"type":"menu_defined","menu":"A-1","category":"A","kind":"seminar","name":"A","targets":[{"fiscal_year":2024,"output":5,"outcome":2}]}"#,
    r#"{"type":"menu_defined","menu":"B-1","category":"B","kind":"seminar","name":"B","targets":[{"fiscal_year":2024,"output":5,"outcome":2}]}"#,
    r#"{"type":"menu_defined","menu":"C-1","category":"C","kind":"seminar","name":"C","targets":[{"fiscal_year":2024,"output":5,"outcome":2}]}"#,
];

fn date() -> impl Strategy<Value = String> {
    (0u64..540).prop_map(|d| {
        (chrono::NaiveDate::from_ymd_opt(2024, 10, 1).unwrap() + chrono::Days::new(d))
            .format("%Y-%m-%d")
            .to_string()
    })
}

fn place() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("in_region"), Just("out_region"), Just("unknown")]
}

/// One fact event (no ids, no fixes).
fn fact() -> impl Strategy<Value = String> {
    let person = (1u32..7).prop_map(|n| format!("P{n}"));
    let est = (1u32..4).prop_map(|n| format!("E{n}"));
    prop_oneof![
        4 => (prop_oneof![Just("B-1"), Just("C-1")], person.clone(), date(), place(), any::<bool>(), any::<bool>(), prop_oneof![Just("job_seeker"), Just("conversion_hopeful")])
            .prop_map(|(m, p, d, r, i, w, role)| format!(r#"{{"type":"attendance","menu":"{m}","date":"{d}","role":"{role}","person":"{p}","residence":"{r}","intent_confirmed":{i},"wants_in_region":{w}}}"#)),
        2 => (est.clone(), date(), place(), any::<bool>()).prop_map(|(e, d, l, w)| format!(r#"{{"type":"attendance","menu":"A-1","date":"{d}","role":"establishment","establishment":"{e}","establishment_location":"{l}","wants_in_region":{w}}}"#)),
        1 => (person.clone(), date(), place(), any::<bool>()).prop_map(|(p, d, r, w)| format!(r#"{{"type":"attendance","menu":"A-1","date":"{d}","role":"startup_hopeful","person":"{p}","residence":"{r}","intent_confirmed":true,"wants_in_region":{w}}}"#)),
        3 => (person.clone(), date(), 0u64..60, place(), prop_oneof![Just(10u32), Just(20), Just(40)], est.clone(), any::<bool>())
            .prop_map(|(p, d, lag, w, h, e, regular)| {
                let start = chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").unwrap() + chrono::Days::new(lag);
                format!(r#"{{"type":"hire","person":"{p}","employer":"{e}","offer_date":"{d}","start_date":"{start}","workplace":"{w}","weekly_hours":{h},"regular_recruitment":{regular}}}"#)
            }),
        1 => (person.clone(), est, date()).prop_map(|(p, e, d)| format!(r#"{{"type":"conversion","person":"{p}","employer":"{e}","date":"{d}","weekly_hours":40}}"#)),
        1 => (person, date(), place(), 0u32..3).prop_map(|(p, d, l, n)| format!(r#"{{"type":"startup","person":"{p}","date":"{d}","location":"{l}","employees":{n}}}"#)),
    ]
}

fn ledger() -> (Ledger, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at(1_730_000_000_000_000));
    (
        Ledger::with_storage(Box::new(MemStorage::default()), clock.clone()).unwrap(),
        clock,
    )
}

fn append(l: &mut Ledger, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let text = lines.join("\n");
    let events = read_events(
        text.as_bytes(),
        "t.jsonl",
        InputFormat::JsonLines,
        Mode::Append,
    )
    .unwrap();
    l.append(events, "t.jsonl", AppendOptions::default())
        .unwrap();
}

fn build(facts: &[String]) -> Ledger {
    let (mut l, _) = ledger();
    let mut lines: Vec<String> = PREAMBLE.iter().map(|s| s.to_string()).collect();
    lines.extend(facts.iter().cloned());
    append(&mut l, &lines);
    l
}

/// The figures of a report, without what names events (seqs, the head).
fn figures(l: &Ledger, as_of: &str, known_at: Option<i64>, scope: Scope) -> Value {
    let r = l
        .report(Date::parse_iso(as_of).unwrap(), known_at, scope)
        .unwrap();
    let mut v = serde_json::to_value(r).unwrap();
    v.as_object_mut().unwrap().remove("head");
    v
}

const AS_OF: [&str; 3] = ["2025-02-28", "2025-03-31", "2026-01-31"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn replay_is_deterministic(facts in prop::collection::vec(fact(), 0..30)) {
        let a = build(&facts);
        let b = build(&facts);
        for d in AS_OF {
            prop_assert_eq!(figures(&a, d, None, Scope::FiscalYear), figures(&b, d, None, Scope::FiscalYear));
            prop_assert_eq!(figures(&a, d, None, Scope::FiscalYear), figures(&a, d, None, Scope::FiscalYear));
        }
    }

    #[test]
    fn a_retraction_equals_never_recording_the_event(facts in prop::collection::vec(fact(), 1..30), pick in any::<prop::sample::Index>()) {
        let i = pick.index(facts.len());
        let with_ids: Vec<String> = facts.iter().enumerate().map(|(n, f)| f.replacen('{', &format!(r#"{{"id":"0193a1c0-0000-7000-8000-{n:012x}","#), 1)).collect();
        let mut l = build(&with_ids);
        append(&mut l, &[format!(r#"{{"type":"retraction","target":"0193a1c0-0000-7000-8000-{i:012x}","reason":"x"}}"#)]);
        let mut without = facts.clone();
        without.remove(i);
        let m = build(&without);
        for d in AS_OF {
            prop_assert_eq!(figures(&l, d, None, Scope::FiscalYear), figures(&m, d, None, Scope::FiscalYear));
            prop_assert_eq!(figures(&l, d, None, Scope::Cumulative), figures(&m, d, None, Scope::Cumulative));
        }
    }

    #[test]
    fn a_correction_equals_recording_the_replacement_in_its_place(facts in prop::collection::vec(fact(), 1..30), pick in any::<prop::sample::Index>(), replacement in fact()) {
        let i = pick.index(facts.len());
        let ty = |s: &str| serde_json::from_str::<Value>(s).unwrap()["type"].clone();
        prop_assume!(ty(&facts[i]) == ty(&replacement));
        let with_ids: Vec<String> = facts.iter().enumerate().map(|(n, f)| f.replacen('{', &format!(r#"{{"id":"0193a1c0-0000-7000-8000-{n:012x}","#), 1)).collect();
        let mut l = build(&with_ids);
        append(&mut l, &[format!(r#"{{"type":"correction","target":"0193a1c0-0000-7000-8000-{i:012x}","reason":"x","replacement":{replacement}}}"#)]);
        let mut replaced = facts.clone();
        replaced[i] = replacement;
        let m = build(&replaced);
        for d in AS_OF {
            prop_assert_eq!(figures(&l, d, None, Scope::FiscalYear), figures(&m, d, None, Scope::FiscalYear));
        }
    }

    #[test]
    fn known_at_figures_never_change_after_the_time(first in prop::collection::vec(fact(), 0..20), later in prop::collection::vec(fact(), 1..20)) {
        let (mut l, clock) = ledger();
        let mut lines: Vec<String> = PREAMBLE.iter().map(|s| s.to_string()).collect();
        lines.extend(first);
        append(&mut l, &lines);
        let t = l.head().last_recorded_us;
        let before: Vec<Value> = AS_OF.iter().map(|d| figures(&l, d, Some(t), Scope::FiscalYear)).collect();
        clock.set(t + 1_000_000);
        append(&mut l, &later);
        let after: Vec<Value> = AS_OF.iter().map(|d| figures(&l, d, Some(t), Scope::FiscalYear)).collect();
        prop_assert_eq!(before, after);
    }

    #[test]
    fn splitting_the_same_events_into_batches_gives_the_same_figures(facts in prop::collection::vec(fact(), 0..30), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4)) {
        let whole = build(&facts);
        let (mut split, _) = ledger();
        append(&mut split, &PREAMBLE.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(facts.len() + 1)).collect();
        points.push(0);
        points.push(facts.len());
        points.sort_unstable();
        for w in points.windows(2) {
            append(&mut split, &facts[w[0]..w[1]]);
        }
        for d in AS_OF {
            prop_assert_eq!(figures(&whole, d, None, Scope::FiscalYear), figures(&split, d, None, Scope::FiscalYear));
        }
    }

    #[test]
    fn bc_outcomes_come_only_from_people_counted_in_the_menus_output(facts in prop::collection::vec(fact(), 0..40)) {
        let l = build(&facts);
        let r = l.resolved(None).unwrap();
        let f = jisseki::projection::figures(&r, jisseki::projection::Query { as_of: Date::parse_iso("2026-03-31").unwrap(), scope: Scope::Cumulative });
        for m in f.menus.iter().filter(|m| m.category != jisseki::domain::Category::A) {
            let counted: std::collections::BTreeSet<&str> = m.subjects.iter().filter(|s| s.verdict.counts()).map(|s| s.subject.id()).collect();
            for o in m.outcomes.iter().filter(|o| o.verdict.counts()) {
                prop_assert!(counted.contains(o.person.as_str()), "{} counted in {} without output", o.person, m.menu);
            }
            prop_assert!(m.outcome <= m.output);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The judgement known at T never changes once T has passed.
    #[test]
    fn the_judgement_known_at_t_never_changes_after_t(first in prop::collection::vec(fact(), 0..25), later in prop::collection::vec(fact(), 1..20)) {
        let (mut l, clock) = ledger();
        let mut lines: Vec<String> = PREAMBLE.iter().map(|s| s.to_string()).collect();
        // Sessions in both judged years, so that menus are judged (E-2).
        for m in ["A-1", "B-1", "C-1"] {
            for d in ["2024-11-01", "2025-06-01"] {
                lines.push(format!(r#"{{"type":"session_held","menu":"{m}","date":"{d}"}}"#));
            }
        }
        lines.extend(first);
        append(&mut l, &lines);
        let t = l.head().last_recorded_us;
        let judge = |l: &Ledger| -> Vec<Value> {
            let r = l.resolved(Some(t)).unwrap();
            [1u8, 2].iter().map(|y| serde_json::to_value(jisseki::evaluate::evaluate(&r, *y, jisseki::i18n::Lang::Ja).unwrap()).unwrap()).collect()
        };
        let before = judge(&l);
        clock.set(t + 1_000_000);
        append(&mut l, &later);
        prop_assert_eq!(before, judge(&l));
    }
}
