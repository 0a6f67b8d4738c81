//! Integration tests: the real `jisseki` binary on real files, each in a
//! fresh temporary directory.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const FIXTURE: &str = "tests/fixtures/council_small.jsonl";

fn jisseki() -> Command {
    let mut c = Command::cargo_bin("jisseki").unwrap();
    c.env_remove("JISSEKI_LEDGER")
        .env_remove("JISSEKI_LANG")
        .env_remove("JISSEKI_TEST_NOW");
    c
}

struct Fixture {
    tmp: TempDir,
}

impl Fixture {
    /// Given an initialised, empty ledger.
    fn new() -> Fixture {
        let f = Fixture {
            tmp: tempfile::tempdir().unwrap(),
        };
        jisseki()
            .args(["init", "--ledger"])
            .arg(f.ledger())
            .assert()
            .success();
        f
    }

    fn ledger(&self) -> PathBuf {
        self.tmp.path().join("ledger")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = jisseki();
        c.args(args).arg("--ledger").arg(self.ledger());
        c
    }

    /// The JSON a successful `jisseki ARGS --format json` prints.
    fn json(&self, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
        let mut c = self.cmd(args);
        c.args(["--format", "json"]).envs(env.iter().copied());
        let out = c.assert().success().get_output().stdout.clone();
        serde_json::from_slice(&out).unwrap()
    }

    fn import(&self, file: &Path) -> assert_cmd::assert::Assert {
        self.cmd(&["import"]).arg(file).assert()
    }

    fn export(&self) -> Vec<u8> {
        self.cmd(&["export"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    }

    fn events(&self) -> usize {
        self.export()
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
    }

    /// Given the small council fixture imported.
    fn with_council() -> Fixture {
        let f = Fixture::new();
        f.import(Path::new(FIXTURE)).success();
        f
    }
}

const PREAMBLE: &str = r#"{"type":"project_defined","project":"p","name":"テスト事業","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}
{"type":"menu_defined","menu":"B-01","category":"B","kind":"seminar","name":"セミナー","targets":[{"fiscal_year":2024,"output":20,"outcome":6}]}
"#;

#[test]
fn jsonl_import_appends_every_event_and_verifies() {
    let f = Fixture::new();
    f.import(Path::new(FIXTURE))
        .success()
        .stdout(predicate::str::contains("追加: 16 件"));
    assert_eq!(f.events(), 16);
    f.cmd(&["verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("検証OK: 16 件"));
}

#[test]
fn cp932_csv_register_imports_with_era_and_excel_dates() {
    let f = Fixture::new();
    f.import(&f.write("pre.jsonl", PREAMBLE)).success();
    let csv = "type,menu,date,role,person,residence,intent_confirmed,wants_in_region,student_school,student_graduating_year\n\
attendance,B-01,令和6年11月20日,job_seeker,P-髙橋-01,in_region,はい,,,\n\
attendance,B-01,2024/11/21,job_seeker,P-0002,out_region,はい,はい,university,2024\n\
attendance,B-01,R6.11.22,job_seeker,P-0003,in_region,いいえ,,,\n";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(csv);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file must really be CP932"
    );
    f.import(&f.write("register.csv", &bytes))
        .success()
        .stdout(predicate::str::contains("追加: 3 件"));
    let log = f
        .cmd(&["log", "--format", "json", "--type", "attendance"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let log = String::from_utf8(log).unwrap();
    assert!(log.contains(r#""person":"P-髙橋-01""#), "{log}");
    assert!(log.contains(r#""date":"2024-11-20""#));
    assert!(log.contains(r#""date":"2024-11-21""#));
    assert!(log.contains(r#""date":"2024-11-22""#));
    assert!(log.contains(r#""student":{"graduating_year":2024,"school":"university"}"#));
}

#[test]
fn a_bad_line_refuses_the_whole_file() {
    let f = Fixture::new();
    f.import(&f.write("pre.jsonl", PREAMBLE)).success();
    let body = r#"{"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P-1"}
{"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P-2"}
{"type":"hire","person":"P-1","start_date":"2025-01-06","workplace":"in_region","weekly_hours":169}
"#;
    let file = f.write("batch.jsonl", body);
    f.import(&file)
        .code(1)
        .stderr(predicate::str::contains(
            "batch.jsonl 3行目 項目 weekly_hours",
        ))
        .stderr(predicate::str::contains("何も追加していません"));
    assert_eq!(f.events(), 2, "nothing of the batch may be appended");
}

#[test]
fn an_unknown_field_is_named_with_file_and_line() {
    let f = Fixture::new();
    f.import(&f.write("pre.jsonl", PREAMBLE)).success();
    let file = f.write("x.jsonl", r#"{"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P-1","my_number":"123456789012"}"#);
    f.cmd(&["--lang", "en", "import"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "x.jsonl:1 field my_number: unknown field",
        ));
}

#[test]
fn an_undefined_menu_is_refused() {
    let f = Fixture::new();
    f.import(&f.write("pre.jsonl", PREAMBLE)).success();
    let file = f.write("x.jsonl", r#"{"type":"attendance","menu":"C-99","date":"2024-11-20","role":"job_seeker","person":"P-1"}"#);
    f.import(&file).code(1).stderr(predicate::str::contains(
        "x.jsonl 1行目 項目 menu: メニュー `C-99` は定義されていません",
    ));
    assert_eq!(f.events(), 2);
}

/// A file over the 1 GiB limit is refused whole, from its length, before
/// any of it is read (a sparse file: nothing is written to disk), and with
/// `--check` too; nothing is appended.
#[test]
fn a_file_over_the_limit_is_refused_before_it_is_read() {
    let f = Fixture::new();
    f.import(&f.write("pre.jsonl", PREAMBLE)).success();
    let big = f.path("big.jsonl");
    std::fs::File::create(&big)
        .and_then(|file| file.set_len((1 << 30) + 1))
        .unwrap();
    f.import(&big).code(1).stderr(predicate::str::contains(
        "入力が上限 1024 MiB を超えています",
    ));
    f.cmd(&["import", "--check"])
        .arg(&big)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "入力が上限 1024 MiB を超えています",
        ));
    assert_eq!(f.events(), 2);
}

/// An outcome names menus in a list: each one must be defined, and the
/// error names the list's field.
#[test]
fn an_outcome_naming_an_undefined_menu_is_refused() {
    let f = Fixture::new();
    f.import(&f.write("pre.jsonl", PREAMBLE)).success();
    let file = f.write("x.jsonl", r#"{"type":"hire","person":"P-1","employer":"E-1","start_date":"2025-01-06","offer_date":"2024-12-18","workplace":"in_region","weekly_hours":40,"menus":["B-01","C-99"]}"#);
    f.import(&file).code(1).stderr(predicate::str::contains(
        "x.jsonl 1行目 項目 menus: メニュー `C-99` は定義されていません",
    ));
    assert_eq!(f.events(), 2);
}

#[test]
fn a_menu_defined_earlier_in_the_same_batch_is_known() {
    let f = Fixture::new();
    f.import(&f.write("pre.jsonl", format!("{PREAMBLE}{}", r#"{"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P-1"}"#)))
        .success();
    assert_eq!(f.events(), 3);
}

#[test]
fn a_conflicting_id_appends_nothing() {
    let f = Fixture::with_council();
    let line = r#"{"type":"attendance","id":"0193a1c0-0000-7000-8000-000000000005","menu":"B-01","date":"2024-11-21","role":"job_seeker","person":"P-0001"}"#;
    let file = f.write("conflict.jsonl", format!("{}\n{line}\n", r#"{"type":"attendance","menu":"B-01","date":"2024-11-21","role":"job_seeker","person":"P-0077"}"#));
    f.import(&file).code(1).stderr(predicate::str::contains(
        "2行目 項目 id: id 0193a1c0-0000-7000-8000-000000000005 は seq 5 に別の内容で記録済みです",
    ));
    assert_eq!(f.events(), 16);
}

#[test]
fn re_importing_the_same_file_is_a_no_op() {
    let f = Fixture::with_council();
    let before = f.export();
    f.import(Path::new(FIXTURE))
        .success()
        .stdout(predicate::str::contains(
            "追加: 0 件、記録済み（重複のため追加せず）: 16 件",
        ));
    assert_eq!(f.export(), before);
}

#[test]
fn export_restore_gives_identical_bytes() {
    let f = Fixture::with_council();
    let export = f.export();
    let file = f.write("export.jsonl", &export);
    let g = Fixture::new();
    g.cmd(&["import", "--restore"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(g.export(), export);
    g.cmd(&["verify"]).assert().success();
}

#[test]
fn a_tampered_export_is_refused_and_nothing_appended() {
    let f = Fixture::with_council();
    let export = String::from_utf8(f.export()).unwrap();
    let tampered = export.replacen(r#""person":"P-0001""#, r#""person":"P-0009""#, 1);
    assert_ne!(tampered, export);
    let file = f.write("tampered.jsonl", tampered);
    let g = Fixture::new();
    g.cmd(&["import", "--restore"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ハッシュが一致しません"));
    assert_eq!(g.events(), 0);
}

#[test]
fn restore_refuses_a_non_empty_ledger() {
    let f = Fixture::with_council();
    let file = f.write("export.jsonl", f.export());
    f.cmd(&["import", "--restore"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("空の台帳"));
}

#[test]
fn the_python_script_verifies_an_export_and_catches_tampering() {
    let f = Fixture::with_council();
    let export = f.export();
    let file = f.write("export.jsonl", &export);
    let out = std::process::Command::new("python3")
        .arg("tools/verify_export.py")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = f
        .cmd(&["verify", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let head: serde_json::Value = serde_json::from_slice(&head).unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(head["head"].as_str().unwrap()));
    let tampered = String::from_utf8(export).unwrap().replacen(
        r#""weekly_hours":37.5"#,
        r#""weekly_hours":38.5"#,
        1,
    );
    let file = f.write("tampered.jsonl", tampered);
    let out = std::process::Command::new("python3")
        .arg("tools/verify_export.py")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("seq 9"));
}

#[test]
fn check_lists_every_error_and_appends_nothing() {
    let f = Fixture::new();
    f.import(&f.write("pre.jsonl", PREAMBLE)).success();
    let body = r#"{"type":"attendance","menu":"B-01","date":"2024-02-30","role":"job_seeker","person":"P-1"}
{"type":"attendance","menu":"B-01","date":"2024-11-20","role":"chief","person":"P-2"}
{"type":"startup","person":"P-3","date":"2025-01-01","location":"in_region","employees":-1}
{"type":"project_defined","project":"p","name":"x","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":4}
{"type":"attendance","menu":"C-99","date":"2024-11-20","role":"job_seeker","person":"P-5"}
"#;
    let out = f
        .cmd(&["import", "--check"])
        .arg(f.write("b.jsonl", body))
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let out = String::from_utf8(out).unwrap();
    for needle in [
        "1行目 項目 date",
        "2行目 項目 role",
        "3行目 項目 employees",
        "4行目 項目 years",
    ] {
        assert!(out.contains(needle), "missing {needle} in {out}");
    }
    assert_eq!(f.events(), 2);
}

#[test]
fn check_of_a_good_file_appends_nothing() {
    let f = Fixture::new();
    f.cmd(&["import", "--check", FIXTURE])
        .assert()
        .success()
        .stdout(predicate::str::contains("検査OK"));
    assert_eq!(f.events(), 0);
}

#[test]
fn record_appends_one_event_from_flags() {
    let f = Fixture::with_council();
    f.cmd(&[
        "record",
        "attendance",
        "--menu",
        "B-01",
        "--date",
        "令和6年12月2日",
        "--role",
        "job_seeker",
        "--person",
        "P-0100",
        "--intent_confirmed",
        "はい",
    ])
    .assert()
    .success()
    .stdout(predicate::str::contains("記録しました: seq 17"));
    let log = f
        .cmd(&["log", "--person", "P-0100", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&log).unwrap();
    assert_eq!(v["date"], "2024-12-02");
    assert_eq!(v["intent_confirmed"], true);
    f.cmd(&[
        "record",
        "hire",
        "--person",
        "P-0100",
        "--start_date",
        "2025-01-06",
        "--workplace",
        "in_region",
        "--weekly_hours",
        "200",
    ])
    .assert()
    .code(1)
    .stderr(predicate::str::contains(
        "項目 weekly_hours: 200 は範囲外です",
    ));
}

#[test]
fn a_mistake_is_corrected_and_retracted_without_editing_history() {
    let f = Fixture::with_council();
    let target = "0193a1c0-0000-7000-8000-000000000007";
    f.cmd(&[
        "record",
        "correction",
        "--target",
        target,
        "--reason",
        "事業所の所在地の誤り",
        "--replacement",
        r#"{"type":"attendance","menu":"A-01","date":"2024-11-05","role":"establishment","establishment":"E-0100","person":"P-0900","establishment_location":"out_region","wants_in_region":true}"#,
    ])
    .assert()
    .success();
    // A correction must keep the type of what it corrects.
    f.cmd(&[
        "record",
        "correction",
        "--target",
        target,
        "--reason",
        "x",
        "--replacement",
        r#"{"type":"session_held","menu":"A-01","date":"2024-11-05"}"#,
    ])
    .assert()
    .code(1)
    .stderr(predicate::str::contains("replacement.type"));
    f.cmd(&[
        "record",
        "retraction",
        "--target",
        target,
        "--reason",
        "誤登録",
    ])
    .assert()
    .success();
    f.cmd(&[
        "record",
        "retraction",
        "--target",
        target,
        "--reason",
        "誤登録",
    ])
    .assert()
    .code(1)
    .stderr(predicate::str::contains("すでに取り消されています"));
    // The original is still there, unchanged.
    let log = f
        .cmd(&[
            "log",
            "--establishment",
            "E-0100",
            "--type",
            "attendance",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(log)
        .unwrap()
        .contains(r#""establishment_location":"in_region""#));
}

#[test]
fn expect_seq_refuses_a_ledger_that_moved() {
    let f = Fixture::with_council();
    f.cmd(&[
        "record",
        "session_held",
        "--menu",
        "B-01",
        "--date",
        "2024-12-01",
        "--expect-seq",
        "15",
    ])
    .assert()
    .code(1)
    .stderr(predicate::str::contains("seq 16 まで進んでいます"));
    f.cmd(&[
        "record",
        "session_held",
        "--menu",
        "B-01",
        "--date",
        "2024-12-01",
        "--expect-seq",
        "16",
    ])
    .assert()
    .success();
}

#[test]
fn a_second_writer_is_told_who_holds_the_ledger() {
    let f = Fixture::with_council();
    let _writer = jisseki::Ledger::open(
        &f.ledger(),
        jisseki::Access::Write,
        std::sync::Arc::new(jisseki::journal::SystemClock),
    )
    .unwrap();
    f.cmd(&[
        "record",
        "session_held",
        "--menu",
        "B-01",
        "--date",
        "2024-12-01",
    ])
    .assert()
    .code(3)
    .stderr(predicate::str::contains(format!(
        "プロセス {} が使用中",
        std::process::id()
    )));
}

#[test]
fn init_refuses_a_foreign_directory_and_open_refuses_a_non_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("thesis.docx"), b"x").unwrap();
    jisseki()
        .args(["init", "--ledger"])
        .arg(tmp.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("空でなく、台帳でもありません"));
    jisseki()
        .args(["verify", "--ledger"])
        .arg(tmp.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("台帳ではありません"));
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "nothing may be written into a foreign directory"
    );
}

#[test]
fn a_ledger_from_a_newer_jisseki_is_refused() {
    let f = Fixture::new();
    std::fs::write(f.ledger().join("JISSEKI"), "jisseki ledger\nformat 99\n").unwrap();
    f.cmd(&["--lang", "en", "verify"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("format 99 is newer"));
}

#[test]
fn log_filters_by_type_menu_person_and_time() {
    let f = Fixture::with_council();
    let out = f
        .cmd(&["log", "--menu", "A-01"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("メニュー定義") && out.contains("創業") && out.contains("アンケート回答"),
        "{out}"
    );
    assert!(!out.contains("B-01"));
    let n = |args: &[&str]| {
        let out = f
            .cmd(args)
            .arg("--format")
            .arg("json")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap().lines().count()
    };
    assert_eq!(n(&["log", "--type", "hire"]), 2);
    assert_eq!(n(&["log", "--person", "P-0001"]), 3);
    assert_eq!(n(&["log", "--since", "2999-01-01"]), 0);
    assert_eq!(n(&["log", "--until", "2999-01-01"]), 16);
}

#[test]
fn recorded_at_comes_from_the_clock_and_never_goes_back() {
    let f = Fixture::new();
    let mut c = f.cmd(&["import", "--format", "json"]);
    c.env("JISSEKI_TEST_NOW", "2025-03-01T09:00:00+09:00")
        .arg(f.write("pre.jsonl", PREAMBLE))
        .assert()
        .success();
    // The system clock steps back a year.
    let mut c = f.cmd(&[
        "record",
        "session_held",
        "--menu",
        "B-01",
        "--date",
        "2024-12-01",
    ]);
    c.env("JISSEKI_TEST_NOW", "2024-03-01T09:00:00+09:00")
        .assert()
        .success();
    let out = f
        .cmd(&["log", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let times: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["recorded_at"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        times,
        vec![
            "2025-03-01T00:00:00.000000Z",
            "2025-03-01T00:00:00.000000Z",
            "2025-03-01T00:00:00.000001Z"
        ]
    );
}

#[test]
fn demo_builds_a_council_and_verifies_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = jisseki()
        .args(["demo", "--keep"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("検証OK"))
        .stdout(predicate::str::contains("訂正"))
        .stdout(predicate::str::contains("取消"))
        .stdout(predicate::str::contains(
            "中間評価 1年度目（基準日 2025-02-28）",
        ))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("アウトプット") && out.contains("アウトカム"),
        "the report is printed"
    );
    assert!(tmp.path().join("demo-judgement.xlsx").exists(), "{out}");
    assert!(tmp.path().join("demo-chart.svg").exists());
}

#[test]
fn an_id_of_the_form_the_ledger_assigns_is_refused_on_input() {
    let f = Fixture::with_council();
    // seq 900 does not exist yet; the id could collide with it later.
    let line = r#"{"type":"session_held","id":"0193a1c0-0000-715e-8000-000000000384","menu":"B-01","date":"2024-12-01"}"#;
    f.import(&f.write("x.jsonl", line))
        .code(1)
        .stderr(predicate::str::contains("項目 id"));
}

/// Regression (found by the crash test's random UUID v7s): one client v7 id
/// in 4,096 carries the ledger's tag by chance; with random counter bits it
/// is an ordinary id, accepted, and found again by id.
#[test]
fn a_clients_uuid_v7_that_happens_to_carry_the_tag_is_accepted() {
    let f = Fixture::with_council();
    let id = "0193a1c0-0000-715e-b3f1-2c9d41e07a55";
    let line =
        format!(r#"{{"type":"session_held","id":"{id}","menu":"B-01","date":"2024-12-01"}}"#);
    f.import(&f.write("x.jsonl", &line)).success();
    // The same line again is already recorded, not a conflict.
    f.import(&f.write("x.jsonl", &line)).success();
}

#[test]
fn an_interrupted_init_is_simply_run_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    std::fs::create_dir_all(dir.join("journal")).unwrap();
    std::fs::write(dir.join("journal").join("db"), b"half-written").unwrap();
    std::fs::write(dir.join("LOCK"), b"").unwrap();
    jisseki()
        .args(["init", "--ledger"])
        .arg(&dir)
        .assert()
        .success();
    jisseki()
        .args(["verify", "--ledger"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("検証OK: 0 件"));
}

/// Checkpoints and kept results never change a figure: the same report
/// before and after `jisseki checkpoint`, read back from the kept result,
/// and after an append (which the kept result must not hide).
#[test]
fn checkpoints_and_kept_reports_never_change_a_figure() {
    let f = Fixture::with_council();
    let report = |extra: &[&str]| {
        let mut args = vec!["report", "--as-of", "2025-02-28", "--format", "json"];
        args.extend_from_slice(extra);
        f.cmd(&args).assert().success().get_output().stdout.clone()
    };
    let plain = report(&["--no-checkpoint"]);
    assert_eq!(report(&[]), plain, "first run: folded");
    assert_eq!(report(&[]), plain, "second run: the kept result");
    f.cmd(&["checkpoint"])
        .assert()
        .success()
        .stdout(predicate::str::contains("チェックポイントを保存しました"));
    let listed = f
        .cmd(&["checkpoint", "--list", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["current"], true);
    assert_eq!(report(&[]), plain, "from the checkpoint");
    // An attendance appended after the checkpoint shows at once.
    let before: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    let more = f.write(
        "more.jsonl",
        r#"{"type":"attendance","menu":"B-01","date":"2025-02-20","role":"job_seeker","person":"P-NEW-CKPT","residence":"in_region","intent_confirmed":true}"#,
    );
    f.import(&more).success();
    let after: serde_json::Value = serde_json::from_slice(&report(&[])).unwrap();
    assert_eq!(
        after,
        serde_json::from_slice::<serde_json::Value>(&report(&["--no-checkpoint"])).unwrap()
    );
    let output = |r: &serde_json::Value| r["totals"]["output"].as_u64().unwrap();
    assert_eq!(output(&after), output(&before) + 1);
    assert_ne!(after["head"], before["head"]);
}

/// A kept report is read without opening the journal (docs/format.md §3:
/// the head file): the same bytes with the journal moved away. An import
/// removes the head file before it writes and leaves it naming the new
/// head, so the next report is of the new head, never the kept one.
#[test]
fn a_kept_report_is_read_without_opening_the_journal_and_never_outlives_an_append() {
    let f = Fixture::with_council();
    let dir = f.ledger();
    let report = || {
        f.cmd(&["report", "--as-of", "2025-02-28", "--format", "json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let first = report();
    let head = std::fs::read_to_string(dir.join("HEAD")).expect("a head file after a report");
    let first_json: serde_json::Value = serde_json::from_slice(&first).unwrap();
    let seq = first_json["head"]["seq"].as_u64().unwrap();
    assert!(head.contains(&format!("\nseq {seq}\n")), "{head}");
    // The journal moved away: the kept report is still read.
    std::fs::rename(dir.join("journal"), dir.join("journal.away")).unwrap();
    assert_eq!(report(), first, "the kept report, read from the side entry");
    // Another request is not kept: it needs the journal, and says so.
    f.cmd(&["report", "--as-of", "2025-01-31", "--format", "json"])
        .assert()
        .failure();
    std::fs::rename(dir.join("journal.away"), dir.join("journal")).unwrap();
    // An append moves the head: the next report is of the new head.
    let more = f.write(
        "more.jsonl",
        r#"{"type":"attendance","menu":"B-01","date":"2025-02-20","role":"job_seeker","person":"P-NEW-HEAD","residence":"in_region","intent_confirmed":true}"#,
    );
    f.import(&more).success();
    let head_after = std::fs::read_to_string(dir.join("HEAD")).unwrap();
    assert!(
        head_after.contains(&format!("\nseq {}\n", seq + 1)),
        "{head_after}"
    );
    let after: serde_json::Value = serde_json::from_slice(&report()).unwrap();
    assert_eq!(after["head"]["seq"].as_u64(), Some(seq + 1));
    assert_eq!(
        after["totals"]["output"].as_u64().unwrap(),
        first_json["totals"]["output"].as_u64().unwrap() + 1
    );
    // A damaged kept report is never read: the report folds again.
    let side = dir.join("checkpoints");
    for entry in std::fs::read_dir(&side).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("report-")
        {
            let mut v = std::fs::read(&path).unwrap();
            let last = v.len() - 2;
            v[last] ^= 0x01;
            std::fs::write(&path, v).unwrap();
        }
    }
    let again: serde_json::Value = serde_json::from_slice(&report()).unwrap();
    assert_eq!(again, after);
}

/// An import of more than `BLOB_EVENTS_MIN` events keeps its chunks in
/// files beside sled (docs/format.md §4a): it reads back exactly (verify,
/// export, a report equal to the same events imported in small batches,
/// a restore of the export), and a damaged chunk file is reported, never
/// read as events.
#[test]
fn a_large_import_is_kept_in_chunk_files_and_reads_back_exactly() {
    let n = jisseki::journal::BLOB_EVENTS_MIN + 3_000;
    let mut lines: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let day = 1 + i % 28;
        let residence = if i % 5 == 0 {
            "out_region"
        } else {
            "in_region"
        };
        lines.push(format!(
            r#"{{"type":"attendance","menu":"B-01","date":"2025-01-{day:02}","role":"job_seeker","person":"P-{}","residence":"{residence}","intent_confirmed":true}}"#,
            i % 7_000
        ));
    }
    let big = Fixture::new();
    let file = big.write("big.jsonl", format!("{PREAMBLE}{}\n", lines.join("\n")));
    big.import(&file)
        .success()
        .stdout(predicate::str::contains(format!("追加: {} 件", n + 2)));
    let chunks: Vec<_> = std::fs::read_dir(big.ledger().join("chunks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(chunks.len(), 1, "{chunks:?}");
    big.cmd(&["verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("検証OK: {} 件", n + 2)))
        .stdout(predicate::str::contains("注意").not());

    // A chunk file no event refers to (as an import killed after writing
    // its file leaves it): the chain still holds, and verify names it.
    let stray = format!("{:020}-{:020}", n + 3, 2 * n + 2);
    std::fs::copy(&chunks[0], big.ledger().join("chunks").join(&stray)).unwrap();
    big.cmd(&["verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("検証OK: {} 件", n + 2)))
        .stdout(predicate::str::contains(format!(
            "注意: chunks/{stray} はどのイベントからも参照されていません"
        )));
    let v = big.json(&["verify"], &[]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["unreferenced_files"], serde_json::json!([stray]));
    std::fs::remove_file(big.ledger().join("chunks").join(&stray)).unwrap();

    // The same events in batches too small for a chunk file.
    let small = Fixture::new();
    let all: Vec<String> = PREAMBLE
        .lines()
        .map(str::to_string)
        .chain(lines.iter().cloned())
        .collect();
    for (k, part) in all.chunks(4_000).enumerate() {
        let p = small.write(&format!("part{k}.jsonl"), part.join("\n") + "\n");
        small.import(&p).success();
    }
    assert!(!small.ledger().join("chunks").exists());
    let figures = |f: &Fixture| {
        let out = f
            .cmd(&[
                "report",
                "--as-of",
                "2025-02-28",
                "--format",
                "json",
                "--no-checkpoint",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        (v["menus"].clone(), v["totals"].clone())
    };
    let (menus, totals) = figures(&big);
    assert_eq!(totals["output"].as_u64(), Some(7_000 - 7_000 / 5));
    assert_eq!((menus, totals), figures(&small));

    // Export and restore: the same bytes, the restored ledger in chunk
    // files too.
    let export = big.export();
    let restored = Fixture::new();
    let exported = restored.write("export.jsonl", &export);
    restored
        .cmd(&["import", "--restore"])
        .arg(&exported)
        .assert()
        .success();
    assert_eq!(restored.export(), export);
    assert!(restored.ledger().join("chunks").read_dir().unwrap().count() >= 1);

    // One flipped byte in the chunk file.
    let mut bytes = std::fs::read(&chunks[0]).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(&chunks[0], bytes).unwrap();
    big.cmd(&["verify"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("do not match their checksum"))
        .code(predicate::ne(101));
    big.cmd(&["report", "--as-of", "2025-02-28", "--no-checkpoint"])
        .assert()
        .failure()
        .code(predicate::ne(101));
}

/// A process that may start no thread (as at a limit on threads) does each
/// command's work on its own thread, or, where the work needs two (reading
/// a JSON Lines file while its lines are parsed), fails with an error
/// having written nothing: it never panics, and its figures are those of a
/// process with threads.
#[test]
fn without_threads_every_command_works_or_fails_cleanly() {
    // Enough for every parallel path: an import sealed in blocks (more
    // than 65,536 events) and a fold on three threads (100,000 or more).
    let n = 110_000;
    let mut csv = String::from("type,menu,date,role,person,residence,intent_confirmed\n");
    for i in 0..n {
        let residence = if i % 4 == 0 {
            "out_region"
        } else {
            "in_region"
        };
        csv.push_str(&format!(
            "attendance,B-01,2025-01-{:02},job_seeker,P-{},{residence},true\n",
            1 + i % 28,
            i % 9_000
        ));
    }
    const NO_THREADS: (&str, &str) = ("JISSEKI_TEST_NO_THREADS", "1");
    let with = Fixture::new();
    let without = Fixture::new();
    for f in [&with, &without] {
        let preamble = f.write("preamble.jsonl", PREAMBLE);
        f.import(&preamble).success();
    }
    let big = with.write("big.csv", &csv);
    with.import(&big).success();
    let big = without.write("big.csv", &csv);
    without
        .cmd(&["import"])
        .env(NO_THREADS.0, NO_THREADS.1)
        .arg(&big)
        .assert()
        .success();

    let figures = |f: &Fixture, env: &[(&str, &str)], more: &[&str]| {
        let v = f.json(&[&["report", "--as-of", "2025-02-28"], more].concat(), env);
        (v["menus"].clone(), v["totals"].clone())
    };
    let expected = figures(&with, &[], &["--no-checkpoint"]);
    assert_eq!(expected.1["output"].as_u64(), Some(9_000 - 9_000 / 4));
    assert_eq!(
        figures(&without, &[NO_THREADS], &["--no-checkpoint"]),
        expected
    );
    // A checkpoint saved and read back without threads.
    without
        .cmd(&["checkpoint"])
        .env(NO_THREADS.0, NO_THREADS.1)
        .assert()
        .success();
    assert_eq!(figures(&without, &[NO_THREADS], &[]), expected);
    let v = without.json(&["verify"], &[NO_THREADS]);
    let events = v["events"].as_u64().unwrap();
    assert!(events > n as u64, "{events}");

    // JSON Lines are read and parsed at once, on two threads: refused
    // cleanly, nothing written.
    let more = without.write(
        "more.jsonl",
        r#"{"type":"attendance","menu":"B-01","date":"2025-01-05","role":"job_seeker","person":"P-NEW","residence":"in_region","intent_confirmed":true}"#,
    );
    without
        .cmd(&["import"])
        .env(NO_THREADS.0, NO_THREADS.1)
        .arg(&more)
        .assert()
        .failure()
        .code(predicate::ne(101))
        .stderr(predicate::str::contains("JISSEKI_TEST_NO_THREADS"));
    let v = without.json(&["verify"], &[]);
    assert_eq!(v["events"].as_u64(), Some(events), "nothing written");
}
