//! Golden scenarios: the worked examples of RULES.md §9 as small ledgers,
//! run through the real binary, with the figures they must give.

use assert_cmd::Command;
use serde_json::Value;
use sha2::Digest;
use std::path::PathBuf;
use tempfile::TempDir;

const PROJECT: &str = r#"{"type":"project_defined","project":"ex","name":"例","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}"#;

fn menu(id: &str, cat: &str) -> String {
    format!(
        r#"{{"type":"menu_defined","menu":"{id}","category":"{cat}","kind":"seminar","name":"{id}","targets":[{{"fiscal_year":2024,"output":10,"outcome":10}}]}}"#
    )
}

struct Ledger {
    tmp: TempDir,
}

impl Ledger {
    fn with(lines: &[String]) -> Ledger {
        let l = Ledger {
            tmp: tempfile::tempdir().unwrap(),
        };
        l.run(&["init"]).assert().success();
        l.append(lines, "2025-01-01T00:00:00Z");
        l
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().join("l")
    }

    fn run(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("jisseki").unwrap();
        c.env_remove("JISSEKI_LEDGER")
            .env_remove("JISSEKI_TEST_NOW")
            .args(args)
            .arg("--ledger")
            .arg(self.dir());
        c
    }

    fn append(&self, lines: &[String], now: &str) {
        let file = self.tmp.path().join("batch.jsonl");
        std::fs::write(&file, lines.join("\n")).unwrap();
        self.run(&["import"])
            .env("JISSEKI_TEST_NOW", now)
            .arg(&file)
            .assert()
            .success();
    }

    fn report(&self, args: &[&str]) -> Value {
        let out = self
            .run(&["report", "--format", "json"])
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out).unwrap()
    }

    fn menu(&self, args: &[&str], id: &str) -> Value {
        let r = self.report(args);
        r["menus"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["menu"] == id)
            .unwrap()
            .clone()
    }
}

fn s(x: &str) -> String {
    x.to_string()
}

/// Example 1 (XO-1): three staff of one establishment, one of them twice.
#[test]
fn example_1_per_establishment() {
    let mut lines = vec![s(PROJECT), menu("A-1", "A")];
    for (p, d) in [
        ("P1", "2024-11-05"),
        ("P2", "2024-11-05"),
        ("P3", "2024-11-05"),
        ("P1", "2024-12-03"),
    ] {
        lines.push(format!(r#"{{"type":"attendance","menu":"A-1","date":"{d}","role":"establishment","establishment":"E","person":"{p}","establishment_location":"in_region"}}"#));
    }
    let l = Ledger::with(&lines);
    let m = l.menu(&["--as-of", "2025-03-31"], "A-1");
    assert_eq!(m["output"], 1);
    assert_eq!(m["attendances"], 4);
}

const P_B1: &str = r#"{"type":"attendance","menu":"B-1","date":"2024-11-01","role":"job_seeker","person":"P","residence":"in_region","intent_confirmed":true}"#;

/// Example 2 (XC-3, XC-7): an offer before the attendance.
#[test]
fn example_2_prior_offer() {
    let hire = s(
        r#"{"type":"hire","person":"P","offer_date":"2024-10-25","start_date":"2024-11-15","workplace":"in_region","weekly_hours":40}"#,
    );
    let l = Ledger::with(&[s(PROJECT), menu("B-1", "B"), s(P_B1), hire]);
    let m = l.menu(&["--as-of", "2025-03-31"], "B-1");
    assert_eq!(
        (m["output"].as_u64(), m["outcome"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(m["excluded"]["XC-3"], 1);
}

/// Example 3 (C-ATTR, XC-7, C-DEDUP): attributed to B-1, not to C-1.
#[test]
fn example_3_per_menu_attribution() {
    let c1 = s(
        r#"{"type":"attendance","menu":"C-1","date":"2025-01-10","role":"job_seeker","person":"P","residence":"in_region","intent_confirmed":true}"#,
    );
    let hire = s(
        r#"{"type":"hire","person":"P","offer_date":"2024-12-01","start_date":"2025-01-06","workplace":"in_region","weekly_hours":40}"#,
    );
    let l = Ledger::with(&[
        s(PROJECT),
        menu("B-1", "B"),
        menu("C-1", "C"),
        s(P_B1),
        c1,
        hire,
    ]);
    let r = l.report(&["--as-of", "2025-03-31"]);
    let m = |id: &str| {
        r["menus"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["menu"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(m("B-1")["outcome"], 1);
    assert_eq!(m("C-1")["outcome"], 0);
    assert_eq!(m("C-1")["excluded"]["XC-7"], 1);
    assert_eq!(r["totals"]["outcome"], 1);
    assert_eq!(r["totals"]["output"], 2);
}

/// Example 4 (E-3): confirmed by the cutoff.
#[test]
fn example_4_confirmed_by_the_cutoff() {
    let att = s(
        r#"{"type":"attendance","menu":"B-1","date":"2024-12-01","role":"job_seeker","person":"P","residence":"in_region","intent_confirmed":true}"#,
    );
    let outcome = |offer: &str, start: &str| {
        let hire = format!(
            r#"{{"type":"hire","person":"P","offer_date":"{offer}","start_date":"{start}","workplace":"in_region","weekly_hours":40}}"#
        );
        Ledger::with(&[s(PROJECT), menu("B-1", "B"), att.clone(), hire])
            .menu(&["--as-of", "2025-02-28"], "B-1")["outcome"]
            .as_u64()
    };
    assert_eq!(outcome("2025-02-14", "2025-03-10"), Some(1));
    assert_eq!(outcome("2025-03-02", "2025-03-10"), Some(0));
    assert_eq!(outcome("2025-02-14", "2025-04-01"), Some(0));
}

/// Example 5 (C-A3, C-A4, XC-5): start-ups.
#[test]
fn example_5_start_ups() {
    let mut lines = vec![s(PROJECT), menu("A-1", "A")];
    for (h, res, wants) in [
        ("H1", "in_region", false),
        ("H2", "out_region", true),
        ("H3", "out_region", true),
        ("H4", "in_region", false),
    ] {
        lines.push(format!(r#"{{"type":"attendance","menu":"A-1","date":"2024-11-05","role":"startup_hopeful","person":"{h}","residence":"{res}","wants_in_region":{wants},"intent_confirmed":true}}"#));
    }
    for (h, loc, n) in [
        ("H1", "out_region", 2),
        ("H2", "in_region", 3),
        ("H3", "out_region", 3),
        ("H4", "in_region", 0),
    ] {
        lines.push(format!(r#"{{"type":"startup","person":"{h}","date":"2025-01-20","location":"{loc}","employees":{n}}}"#));
    }
    let l = Ledger::with(&lines);
    let m = l.menu(&["--as-of", "2025-03-31"], "A-1");
    assert_eq!(
        m["outcome"], 5,
        "H1 founder 1 + H2 founder and 3 employees 4"
    );
    assert_eq!(m["outcome_breakdown"]["founders"], 2);
    assert_eq!(m["outcome_breakdown"]["startup_employees"], 3);
    assert_eq!(m["excluded"]["XC-5"], 1);
}

/// Example 6 (XO-5, XO-6, XO-7, XC-9): students.
#[test]
fn example_6_students() {
    let lines = vec![
        s(PROJECT),
        menu("B-1", "B"),
        menu("C-1", "C"),
        s(
            r#"{"type":"attendance","menu":"C-1","date":"2024-11-01","role":"job_seeker","person":"U","residence":"in_region","wants_in_region":true,"intent_confirmed":true,"student":{"school":"university","graduating_year":2024}}"#,
        ),
        s(
            r#"{"type":"hire","person":"U","offer_date":"2024-12-01","start_date":"2025-01-06","workplace":"out_region","weekly_hours":40}"#,
        ),
        s(
            r#"{"type":"attendance","menu":"C-1","date":"2024-11-01","role":"job_seeker","person":"HS","residence":"in_region","wants_in_region":true,"intent_confirmed":true,"student":{"school":"high_school","graduating_year":2024}}"#,
        ),
        s(
            r#"{"type":"attendance","menu":"B-1","date":"2024-11-01","role":"job_seeker","person":"U2","residence":"in_region","wants_in_region":true,"intent_confirmed":true,"student":{"school":"university","graduating_year":2026}}"#,
        ),
    ];
    let l = Ledger::with(&lines);
    let c = l.menu(&["--as-of", "2025-03-31"], "C-1");
    assert_eq!(
        (c["output"].as_u64(), c["outcome"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(c["excluded"]["XC-9"], 1);
    assert_eq!(c["excluded"]["XO-5"], 1);
    let b = l.menu(&["--as-of", "2025-03-31"], "B-1");
    assert_eq!(b["output"], 0);
    assert_eq!(b["excluded"]["XO-6"], 1);
}

/// Example 8 (T-2, T-3): an attendance recorded on 2025-03-01 and retracted
/// on 2025-03-20.
#[test]
fn example_8_known_at() {
    let l = Ledger::with(&[s(PROJECT), menu("B-1", "B")]);
    let att = s(
        r#"{"type":"attendance","id":"0193a1c0-0000-7000-8000-0000000000a1","menu":"B-1","date":"2025-02-10","role":"job_seeker","person":"P","residence":"in_region","intent_confirmed":true}"#,
    );
    l.append(&[att], "2025-03-01T09:00:00+09:00");
    l.append(&[s(r#"{"type":"retraction","target":"0193a1c0-0000-7000-8000-0000000000a1","reason":"誤登録"}"#)], "2025-03-20T09:00:00+09:00");
    let at = |known: Option<&str>| {
        let mut args = vec!["--as-of", "2025-02-28"];
        if let Some(k) = known {
            args.extend(["--known-at", k]);
        }
        l.menu(&args, "B-1")["output"].as_u64()
    };
    assert_eq!(at(Some("2025-03-10T00:00:00+09:00")), Some(1));
    assert_eq!(at(Some("2025-03-25T00:00:00+09:00")), Some(0));
    assert_eq!(at(None), Some(0));
    let r = l.report(&[
        "--as-of",
        "2025-02-28",
        "--known-at",
        "2025-03-10T00:00:00+09:00",
    ]);
    assert_eq!(r["head"]["seq"], 3);
    assert_eq!(r["known_at"], "2025-03-09T15:00:00.000000Z");
}

/// The figures of a report are kept under the seq and chain hash of the
/// last event it read (T-2, T-3): a report of the same events, in any
/// format and known at any moment that reads just them, reads them back;
/// a report of other events (after an append, or of another ledger put in
/// the same directory) never does.
#[test]
fn the_figures_of_a_report_are_kept_by_the_chain_hash_of_its_last_event() {
    let l = Ledger::with(&[s(PROJECT), menu("B-1", "B")]);
    let att = |p: &str| {
        format!(
            r#"{{"type":"attendance","menu":"B-1","date":"2025-02-10","role":"job_seeker","person":"{p}","residence":"in_region","intent_confirmed":true}}"#
        )
    };
    l.append(&[att("P")], "2025-03-01T09:00:00+09:00");
    l.append(&[att("Q")], "2025-03-20T09:00:00+09:00");
    let kept = |l: &Ledger| -> Vec<PathBuf> {
        let side = l.dir().join("checkpoints");
        let mut v: Vec<PathBuf> = std::fs::read_dir(side)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        v.retain(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("figures-")
        });
        v
    };
    let run = |l: &Ledger, args: &[&str]| {
        l.run(&["report", "--as-of", "2025-02-28"])
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let json = |l: &Ledger, known: &str| {
        let v: Value =
            serde_json::from_slice(&run(l, &["--format", "json", "--known-at", known])).unwrap();
        v
    };
    let output = |v: &Value| v["menus"][0]["output"].as_u64();
    let past = "2025-03-10T00:00:00+09:00";
    let first = json(&l, past);
    assert_eq!(output(&first), Some(1));
    assert_eq!(kept(&l).len(), 1, "the figures are kept");
    // Read back, for another moment that reads the same events and in
    // another format: the figures planted in the entry come out, known at
    // the moment asked for.
    let mut planted = first.clone();
    planted["menus"][0]["output"] = 99.into();
    planted.as_object_mut().unwrap().remove("known_at");
    // A whole kept entry holding `figures` (docs/format.md §7).
    let plant = |l: &Ledger, figures: &Value| {
        let bytes = serde_json::to_vec(figures).unwrap();
        let sha = sha2::Sha256::digest(&bytes);
        let frame = [b"JSKKEPT1".as_slice(), &sha, &bytes].concat();
        std::fs::write(&kept(l)[0], frame).unwrap();
    };
    plant(&l, &planted);
    let again = json(&l, "2025-03-15T00:00:00+09:00");
    assert_eq!(output(&again), Some(99));
    assert_eq!(again["known_at"], "2025-03-14T15:00:00.000000Z");
    let table = run(&l, &["--known-at", past]);
    assert!(String::from_utf8(table).unwrap().contains("99人"));
    // Damaged, they are folded again, not read.
    std::fs::write(&kept(&l)[0], b"not a report").unwrap();
    assert_eq!(json(&l, past), first);
    // So are whole figures of other events (their last event is not the
    // one the name says).
    for (field, value) in [
        ("seq", Value::from(2)),
        ("hash", Value::from(format!("sha256:{}", "0".repeat(64)))),
    ] {
        let mut other = planted.clone();
        other["head"][field] = value;
        plant(&l, &other);
        assert_eq!(json(&l, past), first, "{field}");
    }
    // Appending changes nothing known at a past moment, and the figures
    // are what a fold gives.
    l.append(&[att("R")], "2025-03-25T09:00:00+09:00");
    assert_eq!(json(&l, past), first);
    let folded: Value = serde_json::from_slice(&run(
        &l,
        &["--format", "json", "--known-at", past, "--no-checkpoint"],
    ))
    .unwrap();
    assert_eq!(folded, first);
    // A moment after every recording reads every event: one recorded
    // later but by that moment counts.
    // A rendered known-at report an earlier build kept is removed by the
    // next figures kept.
    let legacy = l.dir().join("checkpoints").join("known-0-0-0");
    std::fs::write(&legacy, b"old").unwrap();
    let open = "2025-04-01T00:00:00+09:00";
    assert_eq!(output(&json(&l, open)), Some(3));
    assert!(!legacy.exists());
    l.append(&[att("S")], "2025-03-28T09:00:00+09:00");
    assert_eq!(output(&json(&l, open)), Some(4));
    // The ledger as it stands: its figures were kept by the report
    // known at an open moment, and its rendered report is kept too.
    let now =
        |l: &Ledger| -> Value { serde_json::from_slice(&run(l, &["--format", "json"])).unwrap() };
    assert_eq!(output(&now(&l)), Some(4));
    assert_eq!(output(&now(&l)), Some(4));
    // Another ledger of as many events, put in this directory by hand
    // (its journal, chunks and head file; the kept entries stay): nothing
    // kept for this one is read for it.
    let other = Ledger::with(&[s(PROJECT), menu("B-1", "B")]);
    for p in ["V", "W"] {
        other.append(
            &[att(p), att(&format!("{p}2"))],
            "2025-03-01T09:00:00+09:00",
        );
    }
    let ours: Value = serde_json::from_slice(&run(&l, &["--format", "json"])).unwrap();
    let theirs = now(&other);
    assert_eq!(ours["head"]["seq"], theirs["head"]["seq"]);
    assert_eq!(output(&theirs), Some(4));
    for name in ["journal", "chunks"] {
        let _ = std::fs::remove_dir_all(l.dir().join(name));
        if other.dir().join(name).exists() {
            copy_dir(&other.dir().join(name), &l.dir().join(name));
        }
    }
    std::fs::copy(other.dir().join("HEAD"), l.dir().join("HEAD")).unwrap();
    assert!(!kept(&l).is_empty());
    assert_eq!(now(&l), theirs);
    assert_eq!(output(&json(&l, open)), Some(4));
    assert_eq!(json(&l, past)["head"], theirs["head"]);
    // `checkpoint --clear` removes what was kept.
    l.run(&["checkpoint", "--clear"]).assert().success();
    assert!(kept(&l).is_empty());
    assert_eq!(now(&l), theirs);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn cumulative_figures_count_a_subject_once_per_menu_across_years() {
    let mut lines = vec![s(PROJECT), menu("B-1", "B")];
    for d in ["2024-11-01", "2025-05-01"] {
        lines.push(format!(r#"{{"type":"attendance","menu":"B-1","date":"{d}","role":"job_seeker","person":"P","residence":"in_region","intent_confirmed":true}}"#));
    }
    let l = Ledger::with(&lines);
    let fy = l.report(&["--as-of", "2025-06-30"]);
    assert_eq!(fy["fiscal_year"], 2025);
    assert_eq!(fy["menus"][0]["output"], 1);
    let cum = l.report(&["--as-of", "2025-06-30", "--cumulative"]);
    assert_eq!(cum["scope"], "cumulative");
    assert_eq!(cum["menus"][0]["output"], 1);
    assert_eq!(cum["menus"][0]["attendances"], 2);
}

#[test]
fn explain_walks_from_a_figure_to_its_events() {
    let hire = s(
        r#"{"type":"hire","person":"P","offer_date":"2024-10-25","start_date":"2024-11-15","workplace":"in_region","weekly_hours":40}"#,
    );
    let l = Ledger::with(&[s(PROJECT), menu("B-1", "B"), s(P_B1), hire]);
    let out = l
        .run(&["explain", "--menu", "B-1", "--as-of", "2025-03-31"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("計上 O-BC1"), "{out}");
    assert!(out.contains("除外 XC-3"), "{out}");
    assert!(out.contains("事業利用前から内定"), "{out}");
    let out = l
        .run(&[
            "--lang",
            "en",
            "explain",
            "--person",
            "P",
            "--as-of",
            "2025-03-31",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(out).unwrap().contains("excluded XC-3"));
}

/// The table a council reads, pinned: a change to its layout shows up here.
#[test]
fn report_table_snapshot() {
    let lines = vec![
        s(PROJECT),
        menu("A-1", "A"),
        menu("B-1", "B"),
        s(
            r#"{"type":"attendance","menu":"A-1","date":"2024-11-05","role":"establishment","establishment":"E","person":"X","establishment_location":"in_region"}"#,
        ),
        s(
            r#"{"type":"attendance","menu":"A-1","date":"2024-11-05","role":"startup_hopeful","person":"H","residence":"in_region","intent_confirmed":true}"#,
        ),
        s(P_B1),
        s(
            r#"{"type":"attendance","menu":"B-1","date":"2024-11-01","role":"job_seeker","person":"Q","residence":"out_region","intent_confirmed":true}"#,
        ),
        s(
            r#"{"type":"hire","person":"P","employer":"E","offer_date":"2024-12-01","start_date":"2025-01-06","workplace":"in_region","weekly_hours":40}"#,
        ),
        s(
            r#"{"type":"startup","person":"H","date":"2025-01-20","location":"in_region","employees":2}"#,
        ),
    ];
    let l = Ledger::with(&lines);
    let ja = l
        .run(&["report", "--as-of", "2025-02-28"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("report_table_ja", String::from_utf8(ja).unwrap());
    let en = l
        .run(&["--lang", "en", "report", "--as-of", "2025-02-28"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("report_table_en", String::from_utf8(en).unwrap());
}

#[test]
fn explain_an_establishment_shows_the_hires_credited_to_it() {
    let lines = vec![
        s(PROJECT),
        menu("A-1", "A"),
        s(
            r#"{"type":"attendance","menu":"A-1","date":"2024-11-05","role":"establishment","establishment":"E-7","person":"X","establishment_location":"in_region"}"#,
        ),
        s(
            r#"{"type":"hire","person":"Z","employer":"E-7","offer_date":"2024-12-01","start_date":"2025-01-06","workplace":"in_region","weekly_hours":40}"#,
        ),
    ];
    let l = Ledger::with(&lines);
    let out = l
        .run(&[
            "explain",
            "--establishment",
            "E-7",
            "--as-of",
            "2025-03-31",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let m = &v["menus"][0];
    assert_eq!(m["subjects"][0]["verdict"]["counted"], "O-A1");
    assert_eq!(m["outcomes"][0]["verdict"]["counted"], "C-A1");
    assert_eq!(m["outcomes"][0]["person"], "Z");
}

/// `explain --format csv` and `xlsx`, and `report --format xlsx`: the same
/// verdicts and figures as the JSON, for people who work in Excel.
#[test]
fn explain_and_report_for_spreadsheets_carry_the_same_verdicts_and_figures() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let hire = s(
        r#"{"type":"hire","person":"P","offer_date":"2024-10-25","start_date":"2024-11-15","workplace":"in_region","weekly_hours":40}"#,
    );
    let l = Ledger::with(&[s(PROJECT), menu("B-1", "B"), s(P_B1), hire]);
    let args = ["explain", "--menu", "B-1", "--as-of", "2025-03-31"];
    let out = l
        .run(&args)
        .args(["--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a BOM for Excel");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let field = |row: &csv::StringRecord, name: &str| {
        let i = headers.iter().position(|h| h == name).unwrap();
        row[i].to_string()
    };
    let subject = rows.iter().find(|x| field(x, "row") == "subject").unwrap();
    assert_eq!(field(subject, "subject"), "P");
    assert_eq!(field(subject, "verdict"), "counted");
    assert_eq!(field(subject, "rule"), "O-BC1");
    let outcome = rows.iter().find(|x| field(x, "row") == "outcome").unwrap();
    assert_eq!(field(outcome, "verdict"), "excluded");
    assert_eq!(field(outcome, "rule"), "XC-3");
    assert!(field(outcome, "reason").contains("事業利用前から内定"));
    assert_eq!(field(outcome, "seqs"), "4");

    let book = l.tmp.path().join("explain.xlsx");
    l.run(&args)
        .args(["--format", "xlsx", "--output"])
        .arg(&book)
        .assert()
        .success();
    let mut wb: Xlsx<_> = open_workbook(&book).unwrap();
    assert_eq!(wb.sheet_names(), vec!["参加者・事業所", "アウトカム"]);
    let outcomes = wb.worksheet_range("アウトカム").unwrap();
    assert_eq!(outcomes.get((1, 7)), Some(&Data::String("XC-3".into())));

    let book = l.tmp.path().join("report.xlsx");
    l.run(&["report", "--as-of", "2025-03-31", "--format", "xlsx"])
        .arg("--output")
        .arg(&book)
        .assert()
        .success();
    let json = l.menu(&["--as-of", "2025-03-31"], "B-1");
    let mut wb: Xlsx<_> = open_workbook(&book).unwrap();
    let sheet = wb.worksheet_range("実績").unwrap();
    // Row 7 is the first menu: output (col 5) and outcome (col 8).
    assert_eq!(sheet.get((7, 0)), Some(&Data::String("B-1".into())));
    assert_eq!(
        sheet.get((7, 5)),
        Some(&Data::Float(json["output"].as_f64().unwrap()))
    );
    assert_eq!(
        sheet.get((7, 8)),
        Some(&Data::Float(json["outcome"].as_f64().unwrap()))
    );
    // xlsx needs somewhere to go.
    l.run(&["report", "--as-of", "2025-03-31", "--format", "xlsx"])
        .assert()
        .code(2);
}
