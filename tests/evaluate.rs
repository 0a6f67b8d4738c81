//! Golden scenarios of the mid-term judgement (RULES.md §6) through the
//! real binary: every project decision, a March-only year-1 menu,
//! confirmed-future hires on both sides of the cutoff, and a leap year.

use assert_cmd::Command;
use serde_json::Value;
use std::fmt::Write as _;
use tempfile::TempDir;

/// A ledger of B menus: `menus[i]` is (menu id, FY, counted users, target,
/// session dates).
struct Scenario {
    contract_start: &'static str,
    lines: Vec<String>,
}

impl Scenario {
    fn new(contract_start: &'static str) -> Scenario {
        let lines = vec![format!(
            r#"{{"type":"project_defined","project":"e","name":"評価","region_kind":"shortage","municipalities":["甲市"],"contract_start":"{contract_start}","years":3}}"#
        )];
        Scenario {
            contract_start,
            lines,
        }
    }

    /// A B menu with `users` counted attendances on `date` (and a session
    /// that day), against an output target of 10 in `fy`.
    fn menu(mut self, id: &str, fy: u16, users: u32, date: &str) -> Scenario {
        self.lines.push(format!(
            r#"{{"type":"menu_defined","menu":"{id}","category":"B","kind":"seminar","name":"{id}","targets":[{{"fiscal_year":{fy},"output":10,"outcome":0}}]}}"#
        ));
        self.lines.push(format!(
            r#"{{"type":"session_held","menu":"{id}","date":"{date}"}}"#
        ));
        for u in 0..users {
            self.lines.push(format!(
                r#"{{"type":"attendance","menu":"{id}","date":"{date}","role":"job_seeker","person":"{id}-P{u}","residence":"in_region","intent_confirmed":true}}"#
            ));
        }
        self
    }

    fn line(mut self, l: &str) -> Scenario {
        self.lines.push(l.to_string());
        self
    }

    /// Imports the scenario into a fresh ledger.
    fn ledger(&self) -> Built {
        let tmp = TempDir::new().unwrap();
        let file = tmp.path().join("e.jsonl");
        let mut text = String::new();
        for l in &self.lines {
            let _ = writeln!(text, "{l}");
        }
        std::fs::write(&file, text).unwrap();
        let built = Built { tmp };
        built.run(&["init"]).assert().success();
        built.run(&["import"]).arg(&file).assert().success();
        let _ = self.contract_start;
        built
    }

    fn evaluate(&self, year: u8) -> Value {
        self.ledger()
            .json(&["evaluate", "--format", "json", "--year", &year.to_string()])
    }
}

/// A scenario imported into a ledger in a temporary directory.
struct Built {
    tmp: TempDir,
}

impl Built {
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.tmp.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("jisseki").unwrap();
        c.env_remove("JISSEKI_LEDGER")
            .args(args)
            .arg("--ledger")
            .arg(self.path("l"));
        c
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_slice(&self.run(args).assert().success().get_output().stdout).unwrap()
    }
}

fn decision(v: &Value) -> &str {
    v["project_decision"].as_str().unwrap()
}

fn menu<'a>(v: &'a Value, id: &str, fy: u64) -> &'a Value {
    v["menus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["menu"] == id && m["fiscal_year"] == fy)
        .unwrap()
}

fn menus(n: usize, below: usize, plan: usize) -> Scenario {
    let mut s = Scenario::new("2024-10-01");
    for i in 0..n {
        let users = if i < below {
            4
        } else if i < below + plan {
            5
        } else {
            7
        };
        s = s.menu(&format!("B-{i:02}"), 2024, users, "2024-11-20");
    }
    s
}

#[test]
fn continue_when_every_judged_menu_passes() {
    let v = menus(3, 0, 0).evaluate(1);
    assert_eq!(decision(&v), "continue");
    assert_eq!(v["cutoff"], "2025-02-28");
    assert_eq!(menu(&v, "B-00", 2024)["output_rate"], 0.7);
}

#[test]
fn improve_menus_when_some_need_plans_and_none_is_below_half() {
    let v = menus(3, 0, 1).evaluate(1);
    assert_eq!(decision(&v), "improve_menus");
    assert_eq!(menu(&v, "B-00", 2024)["decision"], "improve");
}

#[test]
fn improve_project_in_year_1_with_two_of_ten_below_half() {
    let v = menus(10, 2, 0).evaluate(1);
    assert_eq!(decision(&v), "improve_project");
    assert_eq!(v["below_half_share"], 0.2);
}

#[test]
fn abolish_with_three_of_ten_below_half() {
    let v = menus(10, 3, 0).evaluate(1);
    assert_eq!(decision(&v), "abolish");
    assert_eq!(v["below_half_share"], 0.3);
}

#[test]
fn rebalance_in_year_2_with_two_of_ten_below_half() {
    let mut s = Scenario::new("2024-10-01");
    for i in 0..10 {
        s = s.menu(
            &format!("B-{i:02}"),
            2025,
            if i < 2 { 4 } else { 7 },
            "2025-06-10",
        );
    }
    let v = s.evaluate(2);
    assert_eq!(v["cutoff"], "2026-01-31");
    assert_eq!(decision(&v), "rebalance");
}

#[test]
fn a_march_only_year_1_menu_is_judged_in_year_2_on_its_year_1_figures() {
    let s = menus(2, 0, 0).menu("B-MAR", 2024, 3, "2025-03-10");
    let y1 = s.evaluate(1);
    assert_eq!(menu(&y1, "B-MAR", 2024)["decision"], "not_judged");
    assert_eq!(menu(&y1, "B-MAR", 2024)["judged"], false);
    let y2 = s.evaluate(2);
    let m = menu(&y2, "B-MAR", 2024);
    assert_eq!(m["judged"], true);
    assert_eq!(m["output"], 3);
    assert_eq!(m["decision"], "below_half");
}

#[test]
fn confirmed_future_hires_count_on_one_side_of_the_cutoff_only() {
    let hire = |person: &str, offer: &str| {
        format!(
            r#"{{"type":"hire","person":"{person}","offer_date":"{offer}","start_date":"2025-03-10","workplace":"in_region","weekly_hours":40}}"#
        )
    };
    let s = Scenario::new("2024-10-01")
        .line(r#"{"type":"menu_defined","menu":"B-1","category":"B","kind":"seminar","name":"B","targets":[{"fiscal_year":2024,"output":2,"outcome":2}]}"#)
        .line(r#"{"type":"session_held","menu":"B-1","date":"2024-12-01"}"#)
        .line(r#"{"type":"attendance","menu":"B-1","date":"2024-12-01","role":"job_seeker","person":"P1","residence":"in_region","intent_confirmed":true}"#)
        .line(r#"{"type":"attendance","menu":"B-1","date":"2024-12-01","role":"job_seeker","person":"P2","residence":"in_region","intent_confirmed":true}"#)
        .line(&hire("P1", "2025-02-14"))
        .line(&hire("P2", "2025-03-02"));
    let v = s.evaluate(1);
    let m = menu(&v, "B-1", 2024);
    assert_eq!(
        m["outcome"], 1,
        "only the hire confirmed by the cutoff counts"
    );
    assert_eq!(m["outcome_rate"], 0.5);
}

#[test]
fn the_year_1_cutoff_of_a_leap_year_is_29_february() {
    let s = Scenario::new("2027-04-01").menu("B-1", 2027, 7, "2028-02-29");
    let v = s.evaluate(1);
    assert_eq!(v["cutoff"], "2028-02-29");
    assert_eq!(menu(&v, "B-1", 2027)["output"], 7);
    assert_eq!(decision(&v), "continue");
}

#[test]
fn year_3_is_refused_with_a_reason() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("l");
    Command::cargo_bin("jisseki")
        .unwrap()
        .args(["init", "--ledger"])
        .arg(&dir)
        .assert()
        .success();
    let out = Command::cargo_bin("jisseki")
        .unwrap()
        .args(["evaluate", "--year", "3", "--ledger"])
        .arg(&dir)
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8(out).unwrap().contains("3年度目"));
}

#[test]
fn the_workbook_reads_back_with_the_judgements_numbers() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let s = menus(4, 1, 1).menu("B-MAR", 2024, 3, "2025-03-10");
    let built = s.ledger();
    let v = built.json(&["evaluate", "--format", "json", "--year", "1"]);
    let book = built.path("judgement.xlsx");
    built
        .run(&[
            "evaluate",
            "--year",
            "1",
            "--format",
            "xlsx",
            "--output",
            book.to_str().unwrap(),
        ])
        .assert()
        .success();

    let mut wb: Xlsx<_> = open_workbook(&book).unwrap();
    assert_eq!(
        wb.sheet_names(),
        vec!["実績", "判定", "除外", "計上一覧", "推移"]
    );
    let j = wb.worksheet_range("判定").unwrap();
    let text = |r: usize, c: usize| j.get((r, c)).map(|d| d.to_string()).unwrap_or_default();
    let num = |r: usize, c: usize| match j.get((r, c)) {
        Some(Data::Float(f)) => *f,
        other => panic!("({r},{c}) is not a number: {other:?}"),
    };
    // The cutoff is a real Excel date.
    assert!(
        matches!(j.get((1, 1)), Some(Data::DateTime(_))),
        "{:?}",
        j.get((1, 1))
    );
    assert_eq!(text(2, 1), "事業全体の改善計画");
    let rows = v["menus"].as_array().unwrap();
    for (i, m) in rows.iter().enumerate() {
        let r = 6 + i;
        assert_eq!(text(r, 0), m["menu"].as_str().unwrap());
        assert_eq!(num(r, 3), m["output"].as_f64().unwrap());
        assert_eq!(num(r, 4), m["output_target"].as_f64().unwrap());
        if let Some(rate) = m["output_rate"].as_f64() {
            assert!((num(r, 5) - rate).abs() < 0.001, "rate of {}", m["menu"]);
        }
        let label = match m["decision"].as_str().unwrap() {
            "continue" => "継続",
            "improve" => "改善計画",
            "below_half" => "50%未満",
            _ => "評価対象外",
        };
        assert_eq!(text(r, 10), label);
    }
    // Every counted subject is listed for the auditor, with its events.
    let subjects = wb.worksheet_range("計上一覧").unwrap();
    let counted: f64 = rows
        .iter()
        .filter(|m| m["fiscal_year"] == 2024)
        .map(|m| m["output"].as_f64().unwrap())
        .sum();
    assert_eq!((subjects.height() - 1) as f64, counted);
}

#[test]
fn the_chart_parses_and_plots_the_reports_totals() {
    let built = menus(3, 1, 1).ledger();
    let svg = built.path("chart.svg");
    built
        .run(&[
            "chart",
            "--as-of",
            "2025-02-28",
            "--output",
            svg.to_str().unwrap(),
        ])
        .assert()
        .success();
    let report = built.json(&["report", "--as-of", "2025-02-28", "--format", "json"]);
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let panels: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("menu"))
        .collect();
    assert_eq!(panels.len(), report["menus"].as_array().unwrap().len());
    for p in panels {
        let id = p.attribute("data-menu").unwrap();
        let m = report["menus"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["menu"] == id)
            .unwrap();
        assert_eq!(
            p.attribute("data-output").unwrap(),
            m["output"].to_string(),
            "{id}"
        );
        assert_eq!(
            p.attribute("data-outcome").unwrap(),
            m["outcome"].to_string(),
            "{id}"
        );
        assert!(p
            .descendants()
            .any(|n| n.attribute("class") == Some("output") && n.has_attribute("points")));
    }
}

#[test]
fn the_judgement_as_csv_has_a_row_per_menu_and_the_projects_decision() {
    let s = menus(4, 1, 1);
    let built = s.ledger();
    let v = built.json(&["evaluate", "--format", "json", "--year", "1"]);
    let out = built
        .run(&["evaluate", "--year", "1", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a BOM for Excel");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let menus = v["menus"].as_array().unwrap();
    assert_eq!(rows.len(), menus.len() + 1);
    for (row, m) in rows.iter().zip(menus) {
        assert_eq!(&row[col("menu")], m["menu"].as_str().unwrap());
        assert_eq!(&row[col("decision")], m["decision"].as_str().unwrap());
        assert_eq!(&row[col("output")], m["output"].to_string());
    }
    let last = rows.last().unwrap();
    assert_eq!(&last[col("menu")], "project");
    assert_eq!(
        &last[col("decision")],
        v["project_decision"].as_str().unwrap()
    );
}
