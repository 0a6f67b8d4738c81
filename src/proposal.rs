//! Proposal checks (RULES.md §7, CONTRACT.md §6): `jisseki eligibility`
//! reads published statistics and applies P-1 and P-2
//! ([`crate::rules::proposal`]); `jisseki plan-check` reads a ledger's plan
//! (`project_defined`, `menu_defined`, `targets_revised`) and applies P-3
//! with the defects a reviewer would catch.
//!
//! The statistics are CSV, UTF-8 or Shift_JIS as Excel saves them, one row
//! per municipality and year: `municipality,year,openings,seekers,
//! population,depopulated` (Japanese headers are read too: 市町村, 年,
//! 有効求人数, 有効求職者数, 人口, 過疎等地域). The national file is the same
//! without the municipality and the designation. Openings and seekers are
//! yearly totals of the monthly effective figures; "the last 3 years" are
//! `year-2..=year`, and the five-year population change compares `year`
//! with `year-5`.

use crate::domain::{Category, Date, MenuKind};
use crate::error::{InputError, InputErrorKind, InputErrors, Location};
use crate::i18n::Lang;
use crate::projection::Resolved;
use crate::rules::proposal::{
    self, p2_application, p3_cost, Application, CostTest, Eligibility, Figures, Frac, National,
};
use crate::rules::RuleId;
use serde::Serialize;
use std::collections::BTreeMap;

/// One row of a statistics file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    line: u64,
    openings: Option<u64>,
    seekers: Option<u64>,
    population: Option<u64>,
    depopulated: bool,
}

/// A statistics file, read and checked: rows by (municipality, year). The
/// national file's rows have an empty municipality.
#[derive(Debug, Clone, Default)]
pub struct Statistics {
    file: String,
    rows: BTreeMap<(String, u16), Row>,
}

/// The columns, with the headers accepted for each.
const COLUMNS: &[(&str, &[&str])] = &[
    (
        "municipality",
        &["municipality", "市町村", "市区町村", "市町村名", "地域"],
    ),
    ("year", &["year", "年", "年度"]),
    ("openings", &["openings", "有効求人数"]),
    ("seekers", &["seekers", "有効求職者数"]),
    ("population", &["population", "人口"]),
    (
        "depopulated",
        &["depopulated", "過疎等地域", "過疎地域", "過疎"],
    ),
];

fn describe(at: Location, ja: String, en: String) -> InputError {
    InputError::new(
        at,
        InputErrorKind::Inconsistent {
            detail_ja: ja,
            detail_en: en,
        },
    )
}

/// The largest value a statistics cell may hold.
pub const VALUE_MAX: u64 = 1_000_000_000_000_000;

/// Full-width digits and commas as Excel users type them, then a whole
/// number (at most [`VALUE_MAX`]).
fn number(cell: &str) -> Result<Option<u64>, ()> {
    let t: String = cell
        .trim()
        .chars()
        .filter_map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            ',' | '，' | ' ' | '\u{3000}' => None,
            c => Some(c),
        })
        .collect();
    if t.is_empty() {
        return Ok(None);
    }
    // Far above any real count (Japan's population is about 1.2e8), and
    // low enough that no sum or product of them can overflow.
    t.parse::<u64>()
        .ok()
        .filter(|v| *v <= VALUE_MAX)
        .map(Some)
        .ok_or(())
}

fn year(cell: &str) -> Option<u16> {
    let t = cell.trim();
    let t = t
        .strip_suffix("年度")
        .or_else(|| t.strip_suffix('年'))
        .unwrap_or(t);
    number(t)
        .ok()
        .flatten()
        .and_then(|y| u16::try_from(y).ok())
        .filter(|y| (1900..=2199).contains(y))
}

fn flag(cell: &str) -> Option<bool> {
    match cell.trim().to_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "○" | "◯" | "該当" | "はい" | "過疎" => Some(true),
        "false" | "0" | "no" | "n" | "×" | "" | "非該当" | "いいえ" | "-" => Some(false),
        _ => None,
    }
}

/// Reads a statistics file (`national`: the national file, without the
/// municipality and the designation). Every error names the file, line and
/// column; one error and nothing is read.
pub fn read_statistics(
    bytes: &[u8],
    file: &str,
    national: bool,
) -> Result<Statistics, InputErrors> {
    let whole = Location::line(file, 0);
    let (text, _) = crate::io::text::decode_text(bytes).map_err(|detail| {
        InputErrors(vec![InputError::new(
            whole.clone(),
            InputErrorKind::Encoding { detail },
        )])
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| {
            InputErrors(vec![InputError::new(
                Location::line(file, 1),
                InputErrorKind::Syntax {
                    detail: e.to_string(),
                },
            )])
        })?
        .clone();
    let mut col: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}').to_lowercase();
        for (name, aliases) in COLUMNS {
            if aliases.iter().any(|a| *a == h) {
                col.insert(name, i);
            }
        }
    }
    let needed: &[&str] = if national {
        &["year", "openings", "seekers", "population"]
    } else {
        &[
            "municipality",
            "year",
            "openings",
            "seekers",
            "population",
            "depopulated",
        ]
    };
    let mut errors = Vec::new();
    for n in needed {
        if !col.contains_key(n) {
            errors.push(InputError::new(
                Location::line(file, 1).with_field(*n),
                InputErrorKind::MissingField,
            ));
        }
    }
    if !errors.is_empty() {
        return Err(InputErrors(errors));
    }
    let mut out = Statistics {
        file: file.to_string(),
        rows: BTreeMap::new(),
    };
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let at = Location::line(file, line);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(InputError::new(
                    at,
                    InputErrorKind::Syntax {
                        detail: e.to_string(),
                    },
                ));
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |name: &str| col.get(name).and_then(|&i| record.get(i)).unwrap_or("");
        let municipality = if national {
            String::new()
        } else {
            let m = cell("municipality").trim().to_string();
            if m.is_empty() {
                errors.push(InputError::new(
                    at.with_field("municipality"),
                    InputErrorKind::MissingField,
                ));
                continue;
            }
            m
        };
        let Some(y) = year(cell("year")) else {
            errors.push(InputError::new(
                at.with_field("year"),
                InputErrorKind::InvalidValue {
                    detail: format!("{:?}: a year such as 2023", cell("year")),
                },
            ));
            continue;
        };
        let mut values = [None; 3];
        let mut ok = true;
        for (k, name) in ["openings", "seekers", "population"].iter().enumerate() {
            match number(cell(name)) {
                Ok(v) => values[k] = v,
                Err(()) => {
                    ok = false;
                    errors.push(InputError::new(
                        at.with_field(*name),
                        InputErrorKind::InvalidValue {
                            detail: format!("{:?}: a whole number (at most 10^15)", cell(name)),
                        },
                    ));
                }
            }
        }
        let depopulated = if national {
            false
        } else {
            match flag(cell("depopulated")) {
                Some(b) => b,
                None => {
                    errors.push(InputError::new(
                        at.with_field("depopulated"),
                        InputErrorKind::InvalidValue {
                            detail: format!(
                                "{:?}: true or false (○/×, 該当/非該当)",
                                cell("depopulated")
                            ),
                        },
                    ));
                    continue;
                }
            }
        };
        if !ok {
            continue;
        }
        let row = Row {
            line,
            openings: values[0],
            seekers: values[1],
            population: values[2],
            depopulated,
        };
        if let Some(first) = out.rows.get(&(municipality.clone(), y)) {
            errors.push(describe(
                at.with_field("year"),
                format!("{municipality} の {y} 年は {} 行目にもあります", first.line),
                format!("{municipality} {y} is also on line {}", first.line),
            ));
            continue;
        }
        out.rows.insert((municipality, y), row);
    }
    if out.rows.is_empty() && errors.is_empty() {
        errors.push(InputError::new(whole, InputErrorKind::Empty));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(InputErrors(errors))
    }
}

impl Statistics {
    /// The municipalities in the file, in order.
    pub fn municipalities(&self) -> Vec<String> {
        let mut m: Vec<String> = self.rows.keys().map(|(m, _)| m.clone()).collect();
        m.dedup();
        m
    }

    /// The latest year in the file.
    pub fn latest_year(&self) -> Option<u16> {
        self.rows.keys().map(|(_, y)| *y).max()
    }

    /// `municipality`'s figures for a judgement in `year` (the last three
    /// years' openings and seekers; the population then and five years
    /// before), and its designation in `year`.
    pub fn figures(&self, municipality: &str, year: u16) -> Result<(Figures, bool), InputErrors> {
        let whole = Location::line(&self.file, 0);
        let who = if municipality.is_empty() {
            "全国".to_string()
        } else {
            municipality.to_string()
        };
        let who_en = if municipality.is_empty() {
            "the nation".to_string()
        } else {
            municipality.to_string()
        };
        if !municipality.is_empty() && !self.rows.keys().any(|(m, _)| m == municipality) {
            let known = self.municipalities();
            let shown: Vec<&str> = known.iter().take(8).map(String::as_str).collect();
            return Err(InputErrors(vec![describe(
                whole,
                format!(
                    "{municipality} の行がありません（ある市町村: {}）",
                    shown.join("、")
                ),
                format!(
                    "no rows for {municipality} (the file has: {})",
                    shown.join(", ")
                ),
            )]));
        }
        let mut errors = Vec::new();
        let mut f = Figures::default();
        let mut value = |y: u16, name: &str, why_ja: &str, why_en: &str| -> Option<u64> {
            let Some(row) = self.rows.get(&(municipality.to_string(), y)) else {
                errors.push(describe(
                    whole.clone(),
                    format!("{who} の {y} 年の行がありません（{why_ja}）"),
                    format!("{who_en} has no row for {y} ({why_en})"),
                ));
                return None;
            };
            let v = match name {
                "openings" => row.openings,
                "seekers" => row.seekers,
                _ => row.population,
            };
            if v.is_none() {
                errors.push(describe(
                    Location::line(&self.file, row.line).with_field(name),
                    format!("空欄ですが、{y} 年の値が必要です（{why_ja}）"),
                    format!("empty, but the {y} value is needed ({why_en})"),
                ));
            }
            v
        };
        let last3 = ("最近3年間の有効求人倍率", "the ratio of the last 3 years");
        for y in year.saturating_sub(2)..=year {
            let o = value(y, "openings", last3.0, last3.1).unwrap_or(0);
            let s = value(y, "seekers", last3.0, last3.1).unwrap_or(0);
            f.openings_3y += o;
            f.seekers_3y += s;
            if y == year {
                f.openings_1y = o;
                f.seekers_1y = s;
            }
        }
        let pop = ("5年間の人口の変化", "the five-year population change");
        f.population = value(year, "population", pop.0, pop.1).unwrap_or(0);
        f.population_5y_before =
            value(year.saturating_sub(5), "population", pop.0, pop.1).unwrap_or(0);
        if !errors.is_empty() {
            // One missing row gives the same message for each value read.
            errors.dedup();
            return Err(InputErrors(errors));
        }
        let depopulated = self
            .rows
            .get(&(municipality.to_string(), year))
            .is_some_and(|r| r.depopulated);
        Ok((f, depopulated))
    }
}

/// Why a check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    /// A statistics file is wrong or lacks what the judgement needs.
    #[error("{}", .0.render(Lang::En))]
    Input(InputErrors),
    /// A figure is undefined (no seekers, no population).
    #[error("{0}")]
    Undefined(#[from] proposal::Undefined),
    /// No municipality to judge.
    #[error("no municipality given")]
    NoMunicipality,
}

impl ProposalError {
    /// For people, in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        match (self, lang) {
            (ProposalError::Input(e), _) => e.render(lang),
            (ProposalError::Undefined(proposal::Undefined::NoSeekers(span)), Lang::Ja) => {
                format!(
                    "有効求職者数が0のため有効求人倍率が定まりません（{}）",
                    if *span == "3y" { "最近3年間" } else { "最近1年間" }
                )
            }
            (ProposalError::Undefined(proposal::Undefined::NoPopulation), Lang::Ja) => {
                "5年前の人口が0のため人口減少率が定まりません".into()
            }
            (ProposalError::NoMunicipality, Lang::Ja) => {
                "市町村を --municipalities で指定してください（または事業を定義した台帳を --ledger で）"
                    .into()
            }
            (e, Lang::En) => e.to_string(),
        }
    }
}

impl From<InputErrors> for ProposalError {
    fn from(e: InputErrors) -> Self {
        ProposalError::Input(e)
    }
}

/// The national figures from the national statistics file.
pub fn national_from(stats: &Statistics, year: u16) -> Result<National, ProposalError> {
    let (f, _) = stats.figures("", year)?;
    Ok(National::from_figures(&f)?)
}

/// `jisseki eligibility` (CONTRACT.md §6): the fields the contract names
/// first, then the detail.
#[derive(Debug, Clone, Serialize)]
pub struct EligibilityReport {
    /// The joint ratio over the last 3 years (one municipality: its own).
    pub ratio_3y: Frac,
    /// The joint ratio in the last year.
    pub ratio_1y: Frac,
    /// The national 3-year ratio clamped to [0.67, 1.00].
    pub threshold_3y: Frac,
    /// The national last-year ratio clamped to [0.67, 1.00].
    pub threshold_1y: Frac,
    /// The region's population decline over five years (0.05 is 5 %).
    pub population_decline_5y: Frac,
    /// The national one.
    pub national_decline_5y: Frac,
    /// The case of the guide's table (1–7).
    pub case: u8,
    /// `shortage`, `depopulated` or `not_eligible`.
    pub application: Application,
    /// The year judged.
    pub year: u16,
    /// The municipalities, as given.
    pub municipalities: Vec<String>,
    /// The national figures compared with (unclamped ratios).
    pub national: National,
    /// ① by the 3-year ratio.
    pub at_or_below_3y: bool,
    /// ① by the last year's ratio.
    pub at_or_below_1y: bool,
    /// ② the population test.
    pub population_test: bool,
    /// The joint figures are a shortage region (P-1 on the sums).
    pub shortage: bool,
    /// The rule that decided.
    pub rule: RuleId,
    /// Each member on its own.
    pub members: Vec<proposal::MemberTest>,
    /// The summed figures judged.
    pub figures: Figures,
}

/// P-1 and P-2 for `municipalities` in `year`.
pub fn eligibility(
    stats: &Statistics,
    national: National,
    municipalities: &[String],
    year: u16,
) -> Result<EligibilityReport, ProposalError> {
    // A municipality named twice is one municipality.
    let mut unique: Vec<String> = Vec::new();
    for m in municipalities {
        if !unique.contains(m) {
            unique.push(m.clone());
        }
    }
    let municipalities = unique.as_slice();
    if municipalities.is_empty() {
        return Err(ProposalError::NoMunicipality);
    }
    let mut members = Vec::new();
    let mut errors = Vec::new();
    let mut sum = Figures::default();
    for m in municipalities {
        match stats.figures(m, year) {
            Ok((figures, depopulated)) => {
                sum = sum.plus(figures);
                members.push(proposal::Member {
                    name: m.clone(),
                    figures,
                    depopulated,
                });
            }
            Err(e) => errors.extend(e.0),
        }
    }
    if !errors.is_empty() {
        return Err(ProposalError::Input(InputErrors(errors)));
    }
    let e: Eligibility = p2_application(&members, &national)?;
    Ok(EligibilityReport {
        ratio_3y: e.joint.ratio_3y,
        ratio_1y: e.joint.ratio_1y,
        threshold_3y: e.joint.threshold_3y,
        threshold_1y: e.joint.threshold_1y,
        population_decline_5y: e.joint.population_decline_5y,
        national_decline_5y: e.joint.national_decline_5y,
        case: e.case,
        application: e.application,
        year,
        municipalities: municipalities.to_vec(),
        national,
        at_or_below_3y: e.joint.at_or_below_3y,
        at_or_below_1y: e.joint.at_or_below_1y,
        population_test: e.joint.population_test,
        shortage: e.joint.shortage,
        rule: e.rule,
        members: e.members,
        figures: sum,
    })
}

fn r2(f: Frac) -> String {
    format!("{:.2}", f.rounded(2))
}

fn pct(f: Frac) -> String {
    format!("{:.2}%", f.rounded(4) * 100.0)
}

fn yes(b: bool, lang: Lang) -> &'static str {
    match (b, lang) {
        (true, Lang::Ja) => "該当",
        (false, Lang::Ja) => "非該当",
        (true, Lang::En) => "yes",
        (false, Lang::En) => "no",
    }
}

/// The judgement as a table for people.
pub fn render_eligibility(e: &EligibilityReport, lang: Lang) -> String {
    let mut out = String::new();
    let joined = e.municipalities.join(lang.pick("・", ", "));
    out.push_str(&match lang {
        Lang::Ja => format!("地域要件の判定（{}年、{joined}）\n", e.year),
        Lang::En => format!("Regional eligibility ({}, {joined})\n", e.year),
    });
    let header = match lang {
        Lang::Ja => [
            "市町村",
            "倍率(3年)",
            "倍率(1年)",
            "人口減少率(5年)",
            "雇用機会不足",
            "過疎等地域",
        ],
        Lang::En => [
            "municipality",
            "ratio 3y",
            "ratio 1y",
            "decline 5y",
            "shortage",
            "depopulated",
        ],
    };
    let mut rows: Vec<Vec<String>> = e
        .members
        .iter()
        .map(|m| {
            vec![
                m.municipality.clone(),
                r2(m.test.ratio_3y),
                r2(m.test.ratio_1y),
                pct(m.test.population_decline_5y),
                yes(m.test.shortage, lang).into(),
                yes(m.depopulated, lang).into(),
            ]
        })
        .collect();
    if e.members.len() > 1 {
        rows.push(vec![
            lang.pick("連携地域（総数）", "joint (sums)").into(),
            r2(e.ratio_3y),
            r2(e.ratio_1y),
            pct(e.population_decline_5y),
            yes(e.shortage, lang).into(),
            "".into(),
        ]);
    }
    out.push_str(&crate::table::render(&header, &rows));
    let lines: Vec<String> = match lang {
        Lang::Ja => vec![
            format!(
                "基準（全国平均を0.67〜1.00に補正）: 3年 {}（全国 {}）、1年 {}（全国 {}）",
                r2(e.threshold_3y),
                r2(e.national.ratio_3y),
                r2(e.threshold_1y),
                r2(e.national.ratio_1y)
            ),
            format!(
                "① 倍率が基準以下: 3年 {}、1年 {}",
                yes(e.at_or_below_3y, lang),
                yes(e.at_or_below_1y, lang)
            ),
            format!(
                "② 倍率が1未満かつ人口減少率 {} ≥ 全国 {}: {}",
                pct(e.population_decline_5y),
                pct(e.national_decline_5y),
                yes(e.population_test, lang)
            ),
            format!(
                "ケース {}  → 応募区分: {}（{}）",
                e.case,
                e.application.label(lang),
                e.rule
            ),
        ],
        Lang::En => vec![
            format!(
                "threshold (national, clamped to 0.67–1.00): 3y {} (national {}), 1y {} (national {})",
                r2(e.threshold_3y),
                r2(e.national.ratio_3y),
                r2(e.threshold_1y),
                r2(e.national.ratio_1y)
            ),
            format!(
                "(1) ratio at or below: 3y {}, 1y {}",
                yes(e.at_or_below_3y, lang),
                yes(e.at_or_below_1y, lang)
            ),
            format!(
                "(2) ratio below 1 and decline {} ≥ national {}: {}",
                pct(e.population_decline_5y),
                pct(e.national_decline_5y),
                yes(e.population_test, lang)
            ),
            format!(
                "case {}  → application: {} ({})",
                e.case,
                e.application.label(lang),
                e.rule
            ),
        ],
    };
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// The judgement as CSV (UTF-8 with a BOM): a row per municipality, then
/// the joint row with the case and the application.
pub fn eligibility_csv(e: &EligibilityReport) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record([
        "municipality",
        "year",
        "ratio_3y",
        "ratio_1y",
        "threshold_3y",
        "threshold_1y",
        "at_or_below_3y",
        "at_or_below_1y",
        "population_decline_5y",
        "national_decline_5y",
        "population_test",
        "shortage",
        "depopulated",
        "case",
        "application",
    ]);
    let num = |f: Frac| format!("{}", f.rounded(6));
    for m in &e.members {
        let t = &m.test;
        let _ = w.write_record([
            m.municipality.clone(),
            e.year.to_string(),
            num(t.ratio_3y),
            num(t.ratio_1y),
            num(t.threshold_3y),
            num(t.threshold_1y),
            t.at_or_below_3y.to_string(),
            t.at_or_below_1y.to_string(),
            num(t.population_decline_5y),
            num(t.national_decline_5y),
            t.population_test.to_string(),
            t.shortage.to_string(),
            m.depopulated.to_string(),
            String::new(),
            String::new(),
        ]);
    }
    let application = serde_json::to_value(e.application)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = w.write_record([
        "joint".to_string(),
        e.year.to_string(),
        num(e.ratio_3y),
        num(e.ratio_1y),
        num(e.threshold_3y),
        num(e.threshold_1y),
        e.at_or_below_3y.to_string(),
        e.at_or_below_1y.to_string(),
        num(e.population_decline_5y),
        num(e.national_decline_5y),
        e.population_test.to_string(),
        e.shortage.to_string(),
        e.members.iter().any(|m| m.depopulated).to_string(),
        e.case.to_string(),
        application,
    ]);
    w.into_inner().unwrap_or_default()
}

/// A plan defect a reviewer would catch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Defect {
    /// A stable code: `a_seminar_missing`, `outcome_above_output`,
    /// `target_missing`, `target_outside_project`,
    /// `menu_budgets_exceed_project`, `cost_over_cap` (P-3, the project),
    /// `menu_cost_over_cap` (a menu above the cap, for reference),
    /// `no_budget`, `no_project`.
    pub code: &'static str,
    /// The menu, where it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub menu: Option<String>,
    /// The fiscal year, where it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fiscal_year: Option<u16>,
    /// The rule, where one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleId>,
    /// For people, in the language asked for.
    pub message: String,
}

/// One menu's plan.
#[derive(Debug, Clone, Serialize)]
pub struct MenuPlan {
    /// Menu id.
    pub menu: String,
    /// Category.
    pub category: Category,
    /// Seminar or accompaniment support.
    pub kind: MenuKind,
    /// Name.
    pub name: String,
    /// Its targets per fiscal year (as revised), in year order.
    pub targets: Vec<PlanTarget>,
    /// Output targets over the project.
    pub outputs: u64,
    /// Outcome targets over the project.
    pub outcomes: u64,
    /// Its budget, where recorded.
    pub budget_yen: Option<u64>,
    /// P-3 on the menu's budget and outcome targets, where it has a budget.
    pub cost: Option<CostTest>,
}

/// A target of one fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanTarget {
    /// The fiscal year.
    pub fiscal_year: u16,
    /// Output target.
    pub output: u64,
    /// Outcome target.
    pub outcome: u64,
}

/// Cost per outcome counted so far, on a running project.
#[derive(Debug, Clone, Serialize)]
pub struct ActualCost {
    /// The date of the figures.
    pub as_of: Date,
    /// Outcomes counted from the contract start (F-2, C-DEDUP).
    pub outcomes_counted: u64,
    /// The whole budget over the outcomes counted (P-3 against it).
    pub whole_budget: CostTest,
    /// The share of the contract's days passed by `as_of`.
    pub elapsed_share: Frac,
    /// The budget in proportion to the days passed, over the outcomes
    /// counted: what the cost per outcome is if spending ran evenly.
    pub elapsed_budget: CostTest,
}

/// `jisseki plan-check`.
#[derive(Debug, Clone, Serialize)]
pub struct PlanCheck {
    /// Project id.
    pub project: Option<String>,
    /// The fiscal years of the project.
    pub fiscal_years: Vec<u16>,
    /// The project's budget, where recorded.
    pub budget_yen: Option<u64>,
    /// Output targets over every menu and year.
    pub planned_outputs: u64,
    /// Outcome targets over every menu and year.
    pub planned_outcomes: u64,
    /// P-3 on the project's budget and its planned outcomes.
    pub cost: Option<CostTest>,
    /// Each menu's plan.
    pub menus: Vec<MenuPlan>,
    /// What a reviewer would flag.
    pub defects: Vec<Defect>,
    /// On a running project: the cost per outcome counted so far.
    pub actual: Option<ActualCost>,
}

/// Checks the plan recorded in `r`; with `as_of`, also the cost per outcome
/// counted by then.
pub fn plan_check(r: &Resolved, as_of: Option<Date>, lang: Lang) -> PlanCheck {
    let mut defects = Vec::new();
    let Some(project) = &r.project else {
        defects.push(Defect {
            code: "no_project",
            menu: None,
            fiscal_year: None,
            rule: None,
            message: lang
                .pick(
                    "事業が定義されていません（project_defined がありません）",
                    "no project is defined (no project_defined event)",
                )
                .into(),
        });
        return PlanCheck {
            project: None,
            fiscal_years: Vec::new(),
            budget_yen: None,
            planned_outputs: 0,
            planned_outcomes: 0,
            cost: None,
            menus: Vec::new(),
            defects,
            actual: None,
        };
    };
    let first = crate::rules::time::fiscal_year(project.contract_start);
    let fiscal_years: Vec<u16> = (0..u16::from(project.years.0)).map(|i| first + i).collect();
    let mut menus = Vec::new();
    for m in r.menus.values() {
        let mut by_year: BTreeMap<u16, PlanTarget> = BTreeMap::new();
        for t in &m.def.targets {
            by_year.insert(
                t.fiscal_year.0,
                PlanTarget {
                    fiscal_year: t.fiscal_year.0,
                    output: u64::from(t.output.0),
                    outcome: u64::from(t.outcome.0),
                },
            );
        }
        for rev in &m.revisions {
            by_year.insert(
                rev.fiscal_year.0,
                PlanTarget {
                    fiscal_year: rev.fiscal_year.0,
                    output: u64::from(rev.output.0),
                    outcome: u64::from(rev.outcome.0),
                },
            );
        }
        let menu = m.menu.clone();
        for fy in &fiscal_years {
            if !by_year.contains_key(fy) {
                defects.push(Defect {
                    code: "target_missing",
                    menu: Some(menu.clone()),
                    fiscal_year: Some(*fy),
                    rule: None,
                    message: match lang {
                        Lang::Ja => format!("{menu}: {fy}年度（事業期間内）の目標がありません"),
                        Lang::En => format!("{menu}: no target for FY{fy}, a year of the project"),
                    },
                });
            }
        }
        for (fy, t) in &by_year {
            if !fiscal_years.contains(fy) {
                defects.push(Defect {
                    code: "target_outside_project",
                    menu: Some(menu.clone()),
                    fiscal_year: Some(*fy),
                    rule: None,
                    message: match lang {
                        Lang::Ja => format!("{menu}: {fy}年度は事業期間外ですが目標があります"),
                        Lang::En => format!("{menu}: a target for FY{fy}, outside the project"),
                    },
                });
            }
            if m.category != Category::A && t.outcome > t.output {
                defects.push(Defect {
                    code: "outcome_above_output",
                    menu: Some(menu.clone()),
                    fiscal_year: Some(*fy),
                    rule: Some(RuleId::CBC1),
                    message: match lang {
                        Lang::Ja => format!(
                            "{menu}: {fy}年度のアウトカム目標 {} がアウトプット目標 {} を上回っています（B・Cのアウトカムはアウトプットに計上された者から）",
                            t.outcome, t.output
                        ),
                        Lang::En => format!(
                            "{menu}: FY{fy} outcome target {} above the output target {} (B/C outcomes come from people counted in the output)",
                            t.outcome, t.output
                        ),
                    },
                });
            }
        }
        let targets: Vec<PlanTarget> = by_year
            .values()
            .filter(|t| fiscal_years.contains(&t.fiscal_year))
            .copied()
            .collect();
        let outputs = targets.iter().map(|t| t.output).sum();
        let outcomes = targets.iter().map(|t| t.outcome).sum();
        let budget_yen = m.def.budget_yen.map(|y| y.0);
        let cost = budget_yen.map(|b| p3_cost(b, outcomes));
        if let Some(c) = cost.filter(|c| c.over_cap) {
            defects.push(cost_defect(Some(&menu), &c, lang));
        }
        menus.push(MenuPlan {
            menu,
            category: m.category,
            kind: m.kind,
            name: m.def.name.0.clone(),
            targets,
            outputs,
            outcomes,
            budget_yen,
            cost,
        });
    }
    let a_menus: Vec<&MenuPlan> = menus.iter().filter(|m| m.category == Category::A).collect();
    if !a_menus.iter().any(|m| m.kind == MenuKind::Seminar) {
        defects.push(Defect {
            code: "a_seminar_missing",
            menu: None,
            fiscal_year: None,
            rule: None,
            message: match (a_menus.is_empty(), lang) {
                (true, Lang::Ja) => "A（事業所の魅力向上、事業拡大の取組）のメニューがありません。講習会（取組1）は必須です（伴走型支援は任意）".into(),
                (false, Lang::Ja) => "A のメニューが伴走型支援だけです。講習会（取組1）は必須です（伴走型支援は任意）".into(),
                (true, Lang::En) => "no category A menu: its seminar (取組1) is required (accompaniment support is optional)".into(),
                (false, Lang::En) => "category A has only accompaniment support: a seminar (取組1) is required".into(),
            },
        });
    }
    let planned_outputs = menus.iter().map(|m| m.outputs).sum();
    let planned_outcomes = menus.iter().map(|m| m.outcomes).sum();
    let budget_yen = project.budget_yen.map(|y| y.0);
    let cost = budget_yen.map(|b| p3_cost(b, planned_outcomes));
    match cost {
        Some(c) if c.over_cap => defects.push(cost_defect(None, &c, lang)),
        Some(_) => {}
        None => defects.push(Defect {
            code: "no_budget",
            menu: None,
            fiscal_year: None,
            rule: Some(RuleId::P3),
            message: lang
                .pick(
                    "事業の予算（project_defined の budget_yen）がないため、P-3 を確認できません",
                    "no project budget (budget_yen of project_defined): P-3 cannot be checked",
                )
                .into(),
        }),
    }
    let menu_budgets: u64 = menus.iter().filter_map(|m| m.budget_yen).sum();
    if let Some(b) = budget_yen.filter(|b| menu_budgets > *b) {
        defects.push(Defect {
            code: "menu_budgets_exceed_project",
            menu: None,
            fiscal_year: None,
            rule: None,
            message: match lang {
                Lang::Ja => format!(
                    "メニューの予算の合計 {} 円が事業の予算 {} 円を超えています",
                    yen(menu_budgets),
                    yen(b)
                ),
                Lang::En => format!(
                    "the menus' budgets add up to {} yen, above the project's {} yen",
                    yen(menu_budgets),
                    yen(b)
                ),
            },
        });
    }
    let actual = match (as_of, budget_yen) {
        (Some(d), Some(b)) => {
            let f = crate::projection::figures(
                r,
                crate::projection::Query {
                    as_of: d,
                    scope: crate::rules::time::Scope::Cumulative,
                },
            );
            let end = fiscal_years
                .last()
                .and_then(|fy| crate::rules::time::fiscal_year_end(*fy))
                .unwrap_or(d);
            let total = (end.0 - project.contract_start.0).num_days() + 1;
            let passed = ((d.0 - project.contract_start.0).num_days() + 1).clamp(0, total);
            let elapsed_share =
                Frac::new(i128::from(passed), i128::from(total.max(1))).unwrap_or(Frac::int(0));
            let elapsed_yen =
                u64::try_from(i128::from(b) * i128::from(passed) / i128::from(total.max(1)))
                    .unwrap_or(b);
            Some(ActualCost {
                as_of: d,
                outcomes_counted: f.total_outcome,
                whole_budget: p3_cost(b, f.total_outcome),
                elapsed_share,
                elapsed_budget: p3_cost(elapsed_yen, f.total_outcome),
            })
        }
        _ => None,
    };
    PlanCheck {
        project: Some(project.project.0.clone()),
        fiscal_years,
        budget_yen,
        planned_outputs,
        planned_outcomes,
        cost,
        menus,
        defects,
        actual,
    }
}

fn yen(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn per_outcome(c: &CostTest) -> String {
    match c.yen_per_outcome {
        Some(f) => format!("{} 円", yen(f.rounded(0) as u64)),
        None => "-".into(),
    }
}

fn cost_defect(menu: Option<&str>, c: &CostTest, lang: Lang) -> Defect {
    let whose = match (menu, lang) {
        (Some(m), _) => format!("{m}: "),
        (None, _) => String::new(),
    };
    // P-3 judges the whole proposal; a menu above the cap is shown as a
    // warning (it raises the project's average), under its own code.
    let note = match (menu, lang) {
        (Some(_), Lang::Ja) => "（P-3 は事業全体で判定します。参考）",
        (Some(_), Lang::En) => " (P-3 judges the whole project; for reference)",
        (None, _) => "",
    };
    Defect {
        code: if menu.is_some() {
            "menu_cost_over_cap"
        } else {
            "cost_over_cap"
        },
        menu: menu.map(str::to_string),
        fiscal_year: None,
        rule: Some(RuleId::P3),
        message: match (c.yen_per_outcome, lang) {
            (Some(_), Lang::Ja) => format!(
                "{whose}アウトカム1人当たり {}（予算 {} 円 ÷ アウトカム目標 {}）が100万円を超えています{note}",
                per_outcome(c),
                yen(c.budget_yen),
                c.outcomes
            ),
            (Some(_), Lang::En) => format!(
                "{whose}{} per outcome (budget {} yen / {} outcomes planned) is over 1,000,000 yen{note}",
                per_outcome(c).replace(" 円", " yen"),
                yen(c.budget_yen),
                c.outcomes
            ),
            (None, Lang::Ja) => format!(
                "{whose}予算 {} 円に対してアウトカム目標がありません{note}",
                yen(c.budget_yen)
            ),
            (None, Lang::En) => format!(
                "{whose}a budget of {} yen with no outcome planned{note}",
                yen(c.budget_yen)
            ),
        },
    }
}

/// The plan check as text for people.
pub fn render_plan_check(p: &PlanCheck, lang: Lang) -> String {
    let mut out = String::new();
    out.push_str(&match lang {
        Lang::Ja => format!(
            "事業計画の確認: {}（{}年度）\n",
            p.project.as_deref().unwrap_or("-"),
            p.fiscal_years
                .iter()
                .map(|y| y.to_string())
                .collect::<Vec<_>>()
                .join("・")
        ),
        Lang::En => format!(
            "Plan check: {} (FY {})\n",
            p.project.as_deref().unwrap_or("-"),
            p.fiscal_years
                .iter()
                .map(|y| y.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    });
    let header = match lang {
        Lang::Ja => [
            "メニュー",
            "区分",
            "種類",
            "アウトプット目標",
            "アウトカム目標",
            "予算（円）",
            "アウトカム1人当たり",
        ],
        Lang::En => [
            "menu",
            "category",
            "kind",
            "output target",
            "outcome target",
            "budget (yen)",
            "per outcome",
        ],
    };
    let mut rows: Vec<Vec<String>> = p
        .menus
        .iter()
        .map(|m| {
            vec![
                m.menu.clone(),
                format!("{:?}", m.category),
                match (m.kind, lang) {
                    (MenuKind::Seminar, Lang::Ja) => "講習会等".into(),
                    (MenuKind::Accompaniment, Lang::Ja) => "伴走型支援".into(),
                    (k, _) => k.as_str().into(),
                },
                m.outputs.to_string(),
                m.outcomes.to_string(),
                m.budget_yen.map(yen).unwrap_or_else(|| "-".into()),
                m.cost
                    .as_ref()
                    .map(per_outcome)
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    rows.push(vec![
        lang.pick("事業全体", "project").into(),
        String::new(),
        String::new(),
        p.planned_outputs.to_string(),
        p.planned_outcomes.to_string(),
        p.budget_yen.map(yen).unwrap_or_else(|| "-".into()),
        p.cost
            .as_ref()
            .map(per_outcome)
            .unwrap_or_else(|| "-".into()),
    ]);
    let text = crate::table::render(&header, &rows);
    out.push_str(&if lang == Lang::En {
        text.replace(" 円", " yen")
    } else {
        text
    });
    if let Some(c) = &p.cost {
        out.push_str(match (c.over_cap, lang) {
            (false, Lang::Ja) => "P-3: 計画上のアウトカム1人当たり経費は100万円以下です\n",
            (true, Lang::Ja) => {
                "P-3: 計画上のアウトカム1人当たり経費が100万円を超えています（失格）\n"
            }
            (false, Lang::En) => "P-3: the planned cost per outcome is within 1,000,000 yen\n",
            (true, Lang::En) => {
                "P-3: the planned cost per outcome is over 1,000,000 yen (disqualifying)\n"
            }
        });
    }
    if let Some(a) = &p.actual {
        out.push_str(&match lang {
            Lang::Ja => format!(
                "{} までに計上したアウトカム {} 人: 予算全体では1人当たり {}、経過日数分（{:.0}%）の予算では {}\n",
                a.as_of,
                a.outcomes_counted,
                per_outcome(&a.whole_budget),
                a.elapsed_share.rounded(2) * 100.0,
                per_outcome(&a.elapsed_budget)
            ),
            Lang::En => format!(
                "outcomes counted by {}: {}; per outcome {} on the whole budget, {} on the budget of the days passed ({:.0}%)\n",
                a.as_of,
                a.outcomes_counted,
                per_outcome(&a.whole_budget).replace(" 円", " yen"),
                per_outcome(&a.elapsed_budget).replace(" 円", " yen"),
                a.elapsed_share.rounded(2) * 100.0
            ),
        });
    }
    if p.defects.is_empty() {
        out.push_str(lang.pick("指摘事項はありません\n", "no defects found\n"));
    } else {
        out.push_str(&match lang {
            Lang::Ja => format!("指摘事項 {} 件\n", p.defects.len()),
            Lang::En => format!("{} defect(s)\n", p.defects.len()),
        });
        for d in &p.defects {
            out.push_str(&format!("- {}\n", d.message));
        }
    }
    out
}

/// The plan check as CSV: a row per menu and the project, then a row per
/// defect.
pub fn plan_check_csv(p: &PlanCheck) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record([
        "row",
        "menu",
        "category",
        "kind",
        "outputs",
        "outcomes",
        "budget_yen",
        "yen_per_outcome",
        "over_cap",
        "code",
        "fiscal_year",
        "message",
    ]);
    let cost = |c: &Option<CostTest>| match c {
        Some(c) => (
            c.yen_per_outcome
                .map(|f| f.rounded(0).to_string())
                .unwrap_or_default(),
            c.over_cap.to_string(),
        ),
        None => (String::new(), String::new()),
    };
    for m in &p.menus {
        let (per, over) = cost(&m.cost);
        let _ = w.write_record([
            "menu".to_string(),
            m.menu.clone(),
            format!("{:?}", m.category),
            m.kind.as_str().to_string(),
            m.outputs.to_string(),
            m.outcomes.to_string(),
            m.budget_yen.map(|b| b.to_string()).unwrap_or_default(),
            per,
            over,
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    let (per, over) = cost(&p.cost);
    let _ = w.write_record([
        "project".to_string(),
        String::new(),
        String::new(),
        String::new(),
        p.planned_outputs.to_string(),
        p.planned_outcomes.to_string(),
        p.budget_yen.map(|b| b.to_string()).unwrap_or_default(),
        per,
        over,
        String::new(),
        String::new(),
        String::new(),
    ]);
    for d in &p.defects {
        let _ = w.write_record([
            "defect".to_string(),
            d.menu.clone().unwrap_or_default(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            d.code.to_string(),
            d.fiscal_year.map(|y| y.to_string()).unwrap_or_default(),
            d.message.clone(),
        ]);
    }
    w.into_inner().unwrap_or_default()
}
