//! The counting engine's cost, on a generated ledger of attendances and
//! hires: a cold replay of the journal and the report (`Ledger::report`);
//! the report from a checkpoint with 1,000 events after it; a kept report
//! read back (`Ledger::report_rendered`); and `explain` of one menu (the
//! full replay it walks).
//!
//! `cargo bench --bench report`; throughput is in events of the ledger.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jisseki::domain::Date;
use jisseki::io::{read_events, InputFormat, Mode};
use jisseki::rules::time::Scope;
use jisseki::{Access, AppendOptions, Ledger};
use std::fmt::Write as _;
use std::sync::Arc;

const EVENTS: usize = 100_000;

/// A project, three menus, attendances of 20,000 people over a year, and a
/// hire for one attendance in ten.
fn ledger_text(n: usize) -> String {
    let mut s = String::new();
    s.push_str(r#"{"type":"project_defined","project":"bench","name":"bench","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}"#);
    s.push('\n');
    for (m, c) in [("A-01", "A"), ("B-01", "B"), ("C-01", "C")] {
        let _ = writeln!(
            s,
            r#"{{"type":"menu_defined","menu":"{m}","category":"{c}","kind":"seminar","name":"{m}","targets":[{{"fiscal_year":2024,"output":100,"outcome":30}}]}}"#
        );
    }
    let start = chrono::NaiveDate::from_ymd_opt(2024, 10, 1).unwrap_or_default();
    for i in 0..n {
        let date = start + chrono::Days::new((i % 300) as u64);
        let person = i % 20_000;
        if i % 10 == 9 {
            let hired = date + chrono::Days::new(20);
            let _ = writeln!(
                s,
                r#"{{"type":"hire","person":"P-{person:05}","employer":"E-{:03}","offer_date":"{date}","start_date":"{hired}","workplace":"in_region","weekly_hours":40}}"#,
                person % 300
            );
        } else if i % 7 == 0 {
            let _ = writeln!(
                s,
                r#"{{"type":"attendance","menu":"A-01","date":"{date}","role":"establishment","establishment":"E-{:03}","person":"P-{person:05}","establishment_location":"in_region"}}"#,
                person % 300
            );
        } else {
            let menu = if i % 2 == 0 { "B-01" } else { "C-01" };
            let _ = writeln!(
                s,
                r#"{{"type":"attendance","menu":"{menu}","date":"{date}","role":"job_seeker","person":"P-{person:05}","residence":"in_region","intent_confirmed":true}}"#
            );
        }
    }
    s
}

fn bench(c: &mut Criterion) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let path = dir.path().join("ledger");
    let text = ledger_text(EVENTS);
    let built = Ledger::init(&path).and_then(|()| {
        let mut l = Ledger::open(
            &path,
            Access::Write,
            Arc::new(jisseki::journal::SystemClock),
        )?;
        let events = read_events(
            text.as_bytes(),
            "bench.jsonl",
            InputFormat::JsonLines,
            Mode::Append,
        )?;
        l.append(events, "bench.jsonl", AppendOptions::default())?;
        Ok(l)
    });
    let mut ledger = match built {
        Ok(l) => l,
        Err(e) => panic!("building the bench ledger: {e}"),
    };
    let as_of = Date::parse_iso("2025-02-28").unwrap_or_else(|| panic!("date"));
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("replay_and_report_100k", |b| {
        b.iter(|| {
            ledger
                .report(as_of, None, Scope::FiscalYear)
                .map(|r| r.totals.output)
        })
    });
    g.bench_function("replay_and_report_cumulative_100k", |b| {
        b.iter(|| {
            ledger
                .report(as_of, None, Scope::Cumulative)
                .map(|r| r.totals.output)
        })
    });
    g.bench_function("explain_menu_100k", |b| {
        b.iter(|| {
            let r = ledger.resolved(None)?;
            let q = jisseki::projection::Query {
                as_of,
                scope: Scope::FiscalYear,
            };
            let f = jisseki::projection::figures(&r, q);
            let report = jisseki::report::Report::new(&r, &f, as_of, None);
            let x = jisseki::report::explanation(report, &f, Some("B-01"), None);
            Ok::<_, jisseki::LedgerError>(x.menus.len())
        })
    });
    // A checkpoint, then 1,000 more attendances after it.
    let tail: String = (0..1_000)
        .map(|i| {
            format!(
                r#"{{"type":"attendance","menu":"B-01","date":"2025-01-{:02}","role":"job_seeker","person":"P-T{i:04}","residence":"in_region","intent_confirmed":true}}"#,
                i % 28 + 1
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let appended = ledger.checkpoint().and_then(|_| {
        let events = read_events(
            tail.as_bytes(),
            "tail.jsonl",
            InputFormat::JsonLines,
            Mode::Append,
        )?;
        ledger.append(events, "tail.jsonl", AppendOptions::default())
    });
    if let Err(e) = appended {
        panic!("the tail after the checkpoint: {e}");
    }
    g.bench_function("report_from_checkpoint_plus_1k", |b| {
        b.iter(|| {
            ledger
                .report(as_of, None, Scope::FiscalYear)
                .map(|r| r.totals.output)
        })
    });
    // A checkpoint at the head: a report of exactly its events adds up
    // its curves, as of any date.
    if let Err(e) = ledger.checkpoint() {
        panic!("the checkpoint at the head: {e}");
    }
    let dates: Vec<Date> = ["2024-12-31", "2025-02-28", "2025-09-30", "2026-01-31"]
        .iter()
        .filter_map(|d| Date::parse_iso(d))
        .collect();
    g.bench_function("report_at_checkpoint_from_curves", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i += 1;
            ledger
                .report(dates[i % dates.len()], None, Scope::FiscalYear)
                .map(|r| r.totals.output)
        })
    });
    g.bench_function("report_kept_result", |b| {
        b.iter(|| {
            ledger
                .report_rendered(as_of, None, Scope::FiscalYear, "bench", |r| {
                    r.totals.output.to_string().into_bytes()
                })
                .map(|(bytes, _)| bytes.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
