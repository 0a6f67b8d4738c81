//! `jisseki eligibility` and `jisseki plan-check` (RULES.md §7, CONTRACT.md
//! §6): the real binary on statistics and plans written for the purpose.
//!
//! The statistics (`tests/fixtures/statistics/`) describe five fictional
//! municipalities in 2018–2023 against a nation whose ratios (1.24 over
//! three years, 1.31 in 2023) clamp to 1.00:
//! 甲市 a shortage region by its ratio (0.80), 乙町 depopulated (ratio
//! 1.42), 丙村 neither (1.55), 丁市 exactly 1.00 in 2023 (a tie at the
//! clamped threshold), 戊町 depopulated (1.30).

use assert_cmd::Command;
use serde_json::Value;

const STATS: &str = "tests/fixtures/statistics/municipal.csv";
const STATS_SJIS: &str = "tests/fixtures/statistics/municipal_sjis.csv";
const NATIONAL: &str = "tests/fixtures/statistics/national.csv";

fn jisseki() -> Command {
    let mut c = Command::cargo_bin("jisseki").unwrap();
    c.env_remove("JISSEKI_LEDGER")
        .env_remove("JISSEKI_TEST_NOW");
    c
}

fn eligibility(stats: &str, municipalities: &str) -> Value {
    let out = jisseki()
        .args(["eligibility", "--format", "json", "--stats", stats])
        .args(["--national", NATIONAL, "--municipalities", municipalities])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

/// CONTRACT §6 names these fields.
#[test]
fn the_json_has_the_fields_the_contract_names() {
    let v = eligibility(STATS, "甲市");
    for field in [
        "ratio_3y",
        "ratio_1y",
        "threshold_3y",
        "threshold_1y",
        "population_decline_5y",
        "national_decline_5y",
        "case",
        "application",
    ] {
        assert!(!v[field].is_null(), "{field} missing: {v}");
    }
    assert_eq!(v["ratio_3y"], 0.8);
    assert_eq!(v["ratio_1y"], 0.82);
    // The national ratios (1.24, 1.31) clamp to 1.00 (P-1).
    assert_eq!(v["threshold_3y"], 1.0);
    assert_eq!(v["national"]["ratio_1y"], 1.31);
    assert_eq!(v["case"], 4);
    assert_eq!(v["application"], "shortage");
    assert_eq!(v["rule"], "P-1");
}

/// Cases of the guide's table reached through the real statistics, and
/// the joint ratio as a ratio of sums (P-2).
#[test]
fn joint_applications_follow_the_guides_table() {
    let cases = [
        ("甲市,丁市,戊町", 1, "shortage"),
        ("甲市,乙町", 2, "shortage"),
        ("甲市,丁市", 3, "shortage"),
        ("丁市,丙村", 4, "not_eligible"),
        ("乙町,戊町,丙村", 5, "depopulated"),
        ("乙町,丙村", 6, "depopulated"),
        ("丙村", 7, "not_eligible"),
    ];
    for (munis, case, application) in cases {
        let v = eligibility(STATS, munis);
        assert_eq!(v["case"], case, "{munis}: {v}");
        assert_eq!(v["application"], application, "{munis}: {v}");
    }
    // 甲市 and 乙町: (9360+9600+9840 + 1680+1704+1740) / (3×12000 + 3×1200).
    let v = eligibility(STATS, "甲市,乙町");
    let joint = (28_800.0 + 5_124.0) / 39_600.0;
    assert!(
        (v["ratio_3y"].as_f64().unwrap() - joint).abs() < 1e-6,
        "{v}"
    );
    let average = (v["members"][0]["ratio_3y"].as_f64().unwrap()
        + v["members"][1]["ratio_3y"].as_f64().unwrap())
        / 2.0;
    assert!((average - joint).abs() > 0.2, "not an average of ratios");
}

/// P-1 "以下": 丁市's 2023 ratio is exactly 1.00, the clamped threshold.
#[test]
fn a_ratio_exactly_at_the_clamped_threshold_qualifies() {
    let v = eligibility(STATS, "丁市");
    assert_eq!(v["ratio_1y"], 1.0);
    assert_eq!(v["threshold_1y"], 1.0);
    assert_eq!(v["at_or_below_1y"], true);
    assert_eq!(v["at_or_below_3y"], false);
    assert_eq!(v["application"], "shortage");
    // One opening more in 2023 (8,001 / 8,000) and it is above.
    let tmp = tempfile::tempdir().unwrap();
    let above = tmp.path().join("above.csv");
    let text = std::fs::read_to_string(STATS)
        .unwrap()
        .replace("丁市,2023,8000,8000", "丁市,2023,8001,8000");
    std::fs::write(&above, text).unwrap();
    let v = eligibility(above.to_str().unwrap(), "丁市");
    assert_eq!(v["at_or_below_1y"], false);
    assert_eq!(v["application"], "not_eligible");
}

/// Excel's Shift_JIS, with Japanese headers, thousands separators, 年 and
/// ○/×: the same judgement as the UTF-8 file.
#[test]
fn a_shift_jis_file_with_japanese_headers_gives_the_same_judgement() {
    for munis in ["甲市,乙町", "丙村", "甲市,丁市,戊町"] {
        assert_eq!(eligibility(STATS_SJIS, munis), eligibility(STATS, munis));
    }
}

/// The national figures as arguments instead of a file.
#[test]
fn national_figures_as_arguments_equal_the_national_file() {
    let from_file = eligibility(STATS, "甲市,乙町");
    let out = jisseki()
        .args(["eligibility", "--format", "json", "--stats", STATS])
        .args(["--municipalities", "甲市,乙町"])
        .args(["--national-ratio-3y", "1.24", "--national-ratio-1y", "1.31"])
        // (126,443,000 − 124,352,000) / 126,443,000
        .args(["--national-decline-5y", "0.016537"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    for f in [
        "ratio_3y",
        "threshold_3y",
        "threshold_1y",
        "case",
        "application",
    ] {
        assert_eq!(v[f], from_file[f], "{f}");
    }
}

#[test]
fn the_table_and_csv_for_people_and_spreadsheets() {
    let out = jisseki()
        .args(["eligibility", "--stats", STATS, "--national", NATIONAL])
        .args(["--municipalities", "甲市,乙町"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for needle in [
        "連携地域（総数）",
        "0.67〜1.00",
        "ケース 2",
        "雇用機会不足地域（P-1）",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
    let out = jisseki()
        .args(["eligibility", "--format", "csv", "--stats", STATS])
        .args(["--national", NATIONAL, "--municipalities", "乙町,丙村"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap();
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2][0], "joint");
    assert_eq!(rows[2][13], "6");
    assert_eq!(rows[2][14], "depopulated");
}

/// Bad statistics: every error with its file, line and column; a missing
/// year names the municipality and the year; nothing is judged.
#[test]
fn bad_statistics_are_refused_with_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        "municipality,year,openings,seekers,population,depopulated\n甲市,2021,100,abc,,false\n甲市,2022,100,100,,maybe\n",
    )
    .unwrap();
    let out = jisseki()
        .args(["eligibility", "--stats"])
        .arg(&bad)
        .args(["--national", NATIONAL, "--municipalities", "甲市"])
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("bad.csv 2行目 項目 seekers"), "{err}");
    assert!(err.contains("bad.csv 3行目 項目 depopulated"), "{err}");
    // A year the judgement needs is missing.
    let text = std::fs::read_to_string(STATS).unwrap();
    let short: String = text
        .lines()
        .filter(|l| !l.starts_with("甲市,2018"))
        .map(|l| format!("{l}\n"))
        .collect();
    let missing = tmp.path().join("missing.csv");
    std::fs::write(&missing, short).unwrap();
    let out = jisseki()
        .args(["--lang", "en", "eligibility", "--stats"])
        .arg(&missing)
        .args(["--national", NATIONAL, "--municipalities", "甲市,己村"])
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("甲市 has no row for 2018"), "{err}");
    assert!(err.contains("no rows for 己村"), "{err}");
}

fn ledger_with(fixture: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    jisseki()
        .args(["init", "--ledger"])
        .arg(&dir)
        .assert()
        .success();
    jisseki()
        .args(["import", "--ledger"])
        .arg(&dir)
        .arg(fixture)
        .assert()
        .success();
    tmp
}

fn plan_check(tmp: &tempfile::TempDir, args: &[&str]) -> Value {
    let out = jisseki()
        .args(["plan-check", "--format", "json", "--ledger"])
        .arg(tmp.path().join("l"))
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

/// Every defect a reviewer would catch, each under its code.
#[test]
fn plan_defects_are_flagged() {
    let tmp = ledger_with("tests/fixtures/plan_defects.jsonl");
    let v = plan_check(&tmp, &[]);
    let codes: Vec<(String, String, Value)> = v["defects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["menu"].as_str().unwrap_or("").to_string(),
                d["fiscal_year"].clone(),
            )
        })
        .collect();
    let has = |code: &str, menu: &str, fy: Option<u64>| {
        codes
            .iter()
            .any(|(c, m, y)| c == code && m == menu && fy.is_none_or(|fy| y.as_u64() == Some(fy)))
    };
    // A has accompaniment support only: its seminar is required.
    assert!(has("a_seminar_missing", "", None), "{codes:?}");
    // B-01 plans 12 outcomes from 10 outputs in FY2024.
    assert!(has("outcome_above_output", "B-01", Some(2024)), "{codes:?}");
    assert!(!has("outcome_above_output", "B-01", Some(2025)));
    // The project is FY2024–2025: C-01 has no FY2025 target, and B-01 has
    // one for FY2026.
    assert!(has("target_missing", "C-01", Some(2025)), "{codes:?}");
    assert!(
        has("target_outside_project", "B-01", Some(2026)),
        "{codes:?}"
    );
    // Menu budgets 35M above the project's 30M.
    assert!(has("menu_budgets_exceed_project", "", None), "{codes:?}");
    // P-3: 30M over 4+20+5 = 29 outcomes (targets outside the project
    // are not counted) is 1,034,483 yen: over the cap.
    assert_eq!(v["planned_outcomes"], 29);
    assert_eq!(v["cost"]["over_cap"], true);
    assert!(has("cost_over_cap", "", None), "{codes:?}");
    // C-01: 15M for 5 outcomes, for reference.
    assert!(has("menu_cost_over_cap", "C-01", None), "{codes:?}");
    assert!(!has("menu_cost_over_cap", "B-01", None));
}

/// A sound plan: no defect, P-3 within the cap; and on a running project
/// the cost per outcome counted so far.
#[test]
fn the_demo_councils_plan_and_its_cost_to_date() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    jisseki()
        .args(["demo", "--keep"])
        .arg(&dir)
        .assert()
        .success();
    let out = jisseki()
        .args([
            "plan-check",
            "--format",
            "json",
            "--as-of",
            "2025-02-28",
            "--ledger",
        ])
        .arg(&dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["cost"]["over_cap"], false, "{v}");
    let budget = v["budget_yen"].as_f64().unwrap();
    let planned = v["planned_outcomes"].as_f64().unwrap();
    assert!((v["cost"]["yen_per_outcome"].as_f64().unwrap() - budget / planned).abs() < 1.0);
    let a = &v["actual"];
    assert_eq!(a["as_of"], "2025-02-28");
    // The outcomes counted are the report's cumulative project total.
    let report = jisseki()
        .args([
            "report",
            "--format",
            "json",
            "--cumulative",
            "--as-of",
            "2025-02-28",
        ])
        .arg("--ledger")
        .arg(&dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r: Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(a["outcomes_counted"], r["totals"]["outcome"]);
    let per = a["whole_budget"]["yen_per_outcome"].as_f64().unwrap();
    assert!((per - budget / r["totals"]["outcome"].as_f64().unwrap()).abs() < 1.0);
    // Only the menu-level note may appear: no defect of the plan itself.
    let codes: Vec<&str> = v["defects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.iter().all(|c| *c == "menu_cost_over_cap"),
        "{codes:?}"
    );
}

/// A municipality named twice is one; a figure beyond any real count is
/// refused with its line and column rather than overflowing.
#[test]
fn a_repeated_municipality_is_one_and_absurd_figures_are_refused() {
    assert_eq!(eligibility(STATS, "甲市,甲市"), {
        let mut v = eligibility(STATS, "甲市");
        v["municipalities"] = serde_json::json!(["甲市"]);
        v
    });
    let tmp = tempfile::tempdir().unwrap();
    let huge = tmp.path().join("huge.csv");
    let text = std::fs::read_to_string(STATS)
        .unwrap()
        .replace("甲市,2023,9840,12000", "甲市,2023,9840,99999999999999999");
    std::fs::write(&huge, text).unwrap();
    let out = jisseki()
        .args(["eligibility", "--stats"])
        .arg(&huge)
        .args(["--national", NATIONAL, "--municipalities", "甲市"])
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("huge.csv") && err.contains("seekers"), "{err}");
}
