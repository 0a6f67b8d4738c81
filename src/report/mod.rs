//! Reports: the data of CONTRACT.md §3 first (`Report`), then renderers
//! (table, JSON, CSV) and `explain`. Nothing here computes a figure; it
//! shapes what the projection computed.

pub mod chart;
pub mod sheets;
pub mod xlsx;

use crate::domain::{Category, Date};
use crate::i18n::Lang;
use crate::journal::chain::{hash_text, timestamp_text};
use crate::projection::{Breakdown, Figures, MenuFigures, Resolved};
use crate::rules::RuleId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Rounds a fraction to three decimals for display (thresholds never use
/// this; CONTRACT.md §4).
pub fn rate(num: u64, den: u64) -> Option<f64> {
    if den == 0 {
        return None;
    }
    // Integer rounding first, so that the printed value is exact.
    let thousandths = (num * 1000 * 2 + den) / (den * 2);
    Some(thousandths as f64 / 1000.0)
}

/// One menu of the report (CONTRACT.md §3, extended).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MenuReport {
    /// Menu id.
    pub menu: String,
    /// Category.
    pub category: Category,
    /// Kind.
    pub kind: crate::domain::MenuKind,
    /// Name.
    pub name: String,
    /// Distinct subjects counted (実人数).
    pub output: u64,
    /// Outcomes.
    pub outcome: u64,
    /// Output target of the period.
    pub output_target: Option<u64>,
    /// Outcome target of the period.
    pub outcome_target: Option<u64>,
    /// Outcomes by kind.
    pub outcome_breakdown: Breakdown,
    /// Left out, by rule ID.
    pub excluded: BTreeMap<RuleId, u64>,
    /// Counted attendances with repeats (延べ人数).
    pub attendances: u64,
    /// Share of counted subjects in the region (residence or location).
    pub in_region_share: Option<f64>,
    /// Of the output, establishments (社); the rest are persons (人).
    pub output_establishments: u64,
}

/// Totals.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Totals {
    /// The sum of menu outputs.
    pub output: u64,
    /// Outcomes counted once each (C-DEDUP).
    pub outcome: u64,
}

/// The last event a report read, so an auditor can reproduce it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HeadRef {
    /// Its seq.
    pub seq: u64,
    /// Its chain hash.
    pub hash: String,
}

/// `jisseki report` (CONTRACT.md §3).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    /// Project id.
    pub project: Option<String>,
    /// T-1.
    pub as_of: Date,
    /// T-2, when given.
    pub known_at: Option<String>,
    /// The fiscal year (F-1 figures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fiscal_year: Option<u16>,
    /// `"cumulative"` for F-2 figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<std::borrow::Cow<'static, str>>,
    /// The first day the figures cover.
    pub from: Date,
    /// Per menu.
    pub menus: Vec<MenuReport>,
    /// Totals.
    pub totals: Totals,
    /// Interpretation IDs relied on.
    pub interpretations: Vec<RuleId>,
    /// The last event read.
    pub head: HeadRef,
    /// Data-entry warnings (`jisseki check` lists them).
    pub warnings: usize,
}

impl Report {
    /// A report read back from its JSON, as kept by
    /// [`crate::Ledger::report_kept`].
    pub fn from_json(bytes: &[u8]) -> Option<Report> {
        serde_json::from_slice(bytes).ok()
    }

    /// Shapes the full replay's figures into the report.
    pub fn new(r: &Resolved, f: &Figures, as_of: Date, known_at_us: Option<i64>) -> Report {
        let warnings = crate::projection::warnings::warnings(r, f).len();
        let project = r.project.as_ref().map(|p| p.project.0.clone());
        Report::shape(
            project,
            f,
            warnings,
            (r.last_seq, r.last_hash),
            as_of,
            known_at_us,
        )
    }

    /// Shapes the streaming fold's figures into the report; `head` is the
    /// seq and hash of the last event read.
    pub fn from_summary(
        s: &crate::projection::Summary,
        head: (u64, crate::journal::chain::Hash),
        as_of: Date,
        known_at_us: Option<i64>,
    ) -> Report {
        let project = s.project.as_ref().map(|p| p.project.0.clone());
        Report::shape(project, &s.figures, s.warnings, head, as_of, known_at_us)
    }

    fn shape(
        project: Option<String>,
        f: &Figures,
        warnings: usize,
        head: (u64, crate::journal::chain::Hash),
        as_of: Date,
        known_at_us: Option<i64>,
    ) -> Report {
        Report {
            project,
            as_of,
            known_at: known_at_us.map(timestamp_text),
            fiscal_year: f.fiscal_year,
            scope: scope_of(f.fiscal_year),
            from: f.from,
            menus: f.menus.iter().map(menu_report).collect(),
            totals: Totals {
                output: f.total_output,
                outcome: f.total_outcome,
            },
            interpretations: f.interpretations.iter().copied().collect(),
            head: HeadRef {
                seq: head.0,
                hash: hash_text(&head.1),
            },
            warnings,
        }
    }
}

/// `"cumulative"` for F-2 figures (no fiscal year).
fn scope_of(fiscal_year: Option<u16>) -> Option<std::borrow::Cow<'static, str>> {
    fiscal_year.is_none().then_some("cumulative".into())
}

fn menu_report(m: &MenuFigures) -> MenuReport {
    MenuReport {
        menu: m.menu.clone(),
        category: m.category,
        kind: m.kind,
        name: m.name.clone(),
        output: m.output,
        outcome: m.outcome,
        output_target: m.output_target,
        outcome_target: m.outcome_target,
        outcome_breakdown: m.outcome_breakdown,
        excluded: m.excluded.clone(),
        attendances: m.attendances,
        in_region_share: rate(m.in_region, m.output),
        output_establishments: m.output_establishments,
    }
}

fn unit(c: Category, lang: Lang) -> &'static str {
    match (c, lang) {
        (Category::A, Lang::Ja) => "社",
        (_, Lang::Ja) => "人",
        _ => "",
    }
}

/// Output with its units: A counts establishments (社) and start-up
/// hopefuls (人); B and C count persons (人).
fn output_text(m: &MenuReport, lang: Lang) -> String {
    let persons = m.output - m.output_establishments;
    match (m.category, lang) {
        (Category::A, Lang::Ja) if persons > 0 && m.output_establishments > 0 => {
            format!("{}社+{persons}人", m.output_establishments)
        }
        (Category::A, Lang::Ja) if persons > 0 => format!("{persons}人"),
        (Category::A, Lang::Ja) => format!("{}社", m.output),
        (_, Lang::Ja) => format!("{}人", m.output),
        _ => m.output.to_string(),
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.1}%", v * 100.0))
}

fn excluded_text(e: &BTreeMap<RuleId, u64>) -> String {
    e.iter()
        .map(|(r, n)| format!("{r}:{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The report as an aligned table, in Japanese or English.
pub fn render_table(r: &Report, lang: Lang) -> String {
    let mut out = String::new();
    let period = match r.fiscal_year {
        Some(fy) => match lang {
            Lang::Ja => format!("{fy}年度（{} 〜 {}）", r.from, r.as_of),
            Lang::En => format!("FY{fy} ({} to {})", r.from, r.as_of),
        },
        None => match lang {
            Lang::Ja => format!("累計（{} 〜 {}）", r.from, r.as_of),
            Lang::En => format!("cumulative ({} to {})", r.from, r.as_of),
        },
    };
    let known = r
        .known_at
        .clone()
        .unwrap_or_else(|| lang.pick("最新", "latest").into());
    out.push_str(&match lang {
        Lang::Ja => format!(
            "事業 {}  基準日 {}  {}  記録時点 {}\n読み込んだ最後のイベント: seq {} {}\n\n",
            r.project.as_deref().unwrap_or("-"),
            r.as_of,
            period,
            known,
            r.head.seq,
            r.head.hash
        ),
        Lang::En => format!(
            "project {}  as of {}  {}  known at {}\nlast event read: seq {} {}\n\n",
            r.project.as_deref().unwrap_or("-"),
            r.as_of,
            period,
            known,
            r.head.seq,
            r.head.hash
        ),
    });
    let header: Vec<&str> = match lang {
        Lang::Ja => vec![
            "メニュー",
            "区分",
            "名称",
            "アウトプット",
            "目標",
            "達成率",
            "延べ",
            "地域内率",
            "アウトカム",
            "目標",
            "達成率",
            "就職",
            "転換",
            "創業",
            "従業員",
            "除外（ルール:件数）",
        ],
        Lang::En => vec![
            "menu",
            "cat",
            "name",
            "output",
            "target",
            "rate",
            "attend.",
            "in-region",
            "outcome",
            "target",
            "rate",
            "hires",
            "conv.",
            "founders",
            "employees",
            "excluded (rule:n)",
        ],
    };
    let rows: Vec<Vec<String>> = r
        .menus
        .iter()
        .map(|m| {
            vec![
                m.menu.clone(),
                format!("{:?}", m.category),
                m.name.clone(),
                output_text(m, lang),
                opt(m.output_target),
                pct(m.output_target.and_then(|t| rate(m.output, t))),
                m.attendances.to_string(),
                pct(m.in_region_share),
                format!("{}{}", m.outcome, if lang == Lang::Ja { "人" } else { "" }),
                opt(m.outcome_target),
                pct(m.outcome_target.and_then(|t| rate(m.outcome, t))),
                m.outcome_breakdown.hires.to_string(),
                m.outcome_breakdown.conversions.to_string(),
                m.outcome_breakdown.founders.to_string(),
                m.outcome_breakdown.startup_employees.to_string(),
                excluded_text(&m.excluded),
            ]
        })
        .collect();
    out.push_str(&crate::table::render(&header, &rows));
    out.push_str(&match lang {
        Lang::Ja => format!(
            "\n合計: アウトプット {}（メニューの和）  アウトカム {} 人（重複排除, C-DEDUP）\n",
            r.totals.output, r.totals.outcome
        ),
        Lang::En => format!(
            "\ntotals: output {} (sum of menus)  outcome {} (each once, C-DEDUP)\n",
            r.totals.output, r.totals.outcome
        ),
    });
    if r.warnings > 0 {
        out.push_str(&match lang {
            Lang::Ja => format!(
                "入力内容の警告: {} 件（jisseki check で一覧）\n",
                r.warnings
            ),
            Lang::En => format!(
                "data-entry warnings: {} (jisseki check lists them)\n",
                r.warnings
            ),
        });
    }
    if !r.interpretations.is_empty() {
        let ids: Vec<&str> = r.interpretations.iter().map(|i| i.as_str()).collect();
        out.push_str(&format!(
            "{}: {}\n",
            lang.pick("依拠した解釈", "interpretations relied on"),
            ids.join(", ")
        ));
    }
    out
}

/// The report as CSV, UTF-8 with a BOM so that Excel opens it correctly.
pub fn render_csv(r: &Report) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record([
        "menu",
        "category",
        "kind",
        "name",
        "output",
        "output_target",
        "attendances",
        "in_region_share",
        "outcome",
        "outcome_target",
        "hires",
        "conversions",
        "founders",
        "startup_employees",
        "excluded",
    ]);
    for m in &r.menus {
        let _ = w.write_record([
            m.menu.clone(),
            format!("{:?}", m.category),
            m.kind.as_str().to_string(),
            m.name.clone(),
            m.output.to_string(),
            opt(m.output_target).replace('-', ""),
            m.attendances.to_string(),
            m.in_region_share
                .map(|v| format!("{v:.3}"))
                .unwrap_or_default(),
            m.outcome.to_string(),
            opt(m.outcome_target).replace('-', ""),
            m.outcome_breakdown.hires.to_string(),
            m.outcome_breakdown.conversions.to_string(),
            m.outcome_breakdown.founders.to_string(),
            m.outcome_breakdown.startup_employees.to_string(),
            excluded_text(&m.excluded),
        ]);
    }
    let _ = w.write_record([
        "total",
        "",
        "",
        "",
        &r.totals.output.to_string(),
        "",
        "",
        "",
        &r.totals.outcome.to_string(),
        "",
        "",
        "",
        "",
        "",
        "",
    ]);
    w.into_inner().unwrap_or_default()
}

/// `jisseki explain`: every subject and outcome behind a menu's figures (or
/// a person's or establishment's part in every menu), with the events and
/// the rule that counted or excluded each.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The report the figures belong to (as of, known at, head).
    pub report: Report,
    /// The menus explained, with every entry.
    pub menus: Vec<MenuFigures>,
}

/// Narrows figures to one menu, or to the entries about one subject id.
pub fn explanation(
    report: Report,
    f: &Figures,
    menu: Option<&str>,
    subject: Option<&str>,
) -> Explanation {
    let menus = f
        .menus
        .iter()
        .filter(|m| menu.is_none_or(|id| m.menu == id))
        .map(|m| {
            let mut m = m.clone();
            if let Some(s) = subject {
                m.subjects.retain(|e| e.subject.id() == s);
                m.outcomes.retain(|o| o.person == s || o.subject.id() == s);
            }
            m
        })
        .filter(|m| subject.is_none() || !m.subjects.is_empty() || !m.outcomes.is_empty())
        .collect();
    Explanation { report, menus }
}

fn verdict_text(v: crate::rules::Verdict, lang: Lang) -> String {
    match (v, lang) {
        (crate::rules::Verdict::Counted(r), Lang::Ja) => format!("計上 {r}"),
        (crate::rules::Verdict::Excluded(r), Lang::Ja) => format!("除外 {r}"),
        (crate::rules::Verdict::Counted(r), Lang::En) => format!("counted {r}"),
        (crate::rules::Verdict::Excluded(r), Lang::En) => format!("excluded {r}"),
    }
}

/// The explanation as text for people.
pub fn render_explanation(x: &Explanation, lang: Lang) -> String {
    let mut out = String::new();
    let r = &x.report;
    out.push_str(&match lang {
        Lang::Ja => format!(
            "基準日 {}（{} 〜）  記録時点 {}  最後のイベント seq {}\n",
            r.as_of,
            r.from,
            r.known_at.as_deref().unwrap_or("最新"),
            r.head.seq
        ),
        Lang::En => format!(
            "as of {} (from {})  known at {}  last event seq {}\n",
            r.as_of,
            r.from,
            r.known_at.as_deref().unwrap_or("latest"),
            r.head.seq
        ),
    });
    for m in &x.menus {
        let u = unit(m.category, lang);
        out.push_str(&match lang {
            Lang::Ja => format!(
                "\n■ {} {}（{:?}）  アウトプット {}{u}  アウトカム {}人\n",
                m.menu, m.name, m.category, m.output, m.outcome
            ),
            Lang::En => format!(
                "\n■ {} {} ({:?})  output {}  outcome {}\n",
                m.menu, m.name, m.category, m.output, m.outcome
            ),
        });
        if !m.subjects.is_empty() {
            out.push_str(lang.pick("参加者・事業所\n", "subjects\n"));
            let header = match lang {
                Lang::Ja => ["対象", "判定", "理由", "延べ", "参加イベント（seq）"],
                Lang::En => [
                    "subject",
                    "verdict",
                    "reason",
                    "counted",
                    "attendances (seq)",
                ],
            };
            let rows: Vec<Vec<String>> = m
                .subjects
                .iter()
                .map(|s| {
                    let seqs = s
                        .attendances
                        .iter()
                        .map(|a| a.seq.to_string())
                        .collect::<Vec<_>>()
                        .join(",");
                    vec![
                        s.subject.id().to_string(),
                        verdict_text(s.verdict, lang),
                        s.verdict.rule().describe(lang).to_string(),
                        s.counted_attendances.to_string(),
                        seqs,
                    ]
                })
                .collect();
            out.push_str(&crate::table::render(&header, &rows));
        }
        if !m.outcomes.is_empty() {
            out.push_str(lang.pick("アウトカム\n", "outcomes\n"));
            let header = match lang {
                Lang::Ja => ["seq", "種類", "人", "日付", "判定", "件数", "理由", "時点"],
                Lang::En => [
                    "seq", "kind", "person", "date", "verdict", "units", "reason", "time",
                ],
            };
            let rows: Vec<Vec<String>> = m
                .outcomes
                .iter()
                .map(|o| {
                    vec![
                        o.event.seq.to_string(),
                        kind_label(o.kind, lang).to_string(),
                        o.person.clone(),
                        o.date
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| lang.pick("不明", "unknown").into()),
                        verdict_text(o.verdict, lang),
                        o.units.to_string(),
                        o.verdict.rule().describe(lang).to_string(),
                        o.time_rule.map(|t| t.to_string()).unwrap_or_default(),
                    ]
                })
                .collect();
            out.push_str(&crate::table::render(&header, &rows));
        }
    }
    out
}

fn kind_label(kind: &str, lang: Lang) -> &str {
    match (kind, lang) {
        ("hire", Lang::Ja) => "就職",
        ("conversion", Lang::Ja) => "正社員転換",
        ("startup_founder", Lang::Ja) => "創業者",
        ("startup_employees", Lang::Ja) => "創業の従業員",
        (k, _) => k,
    }
}

/// `jisseki check`: the warnings, as text.
pub fn render_warnings(w: &[crate::projection::warnings::Warning], lang: Lang) -> String {
    if w.is_empty() {
        return lang.pick("警告はありません\n", "no warnings\n").to_string();
    }
    let header = match lang {
        Lang::Ja => ["seq", "警告", "対象", "詳細"],
        Lang::En => ["seq", "warning", "about", "detail"],
    };
    let rows: Vec<Vec<String>> = w
        .iter()
        .map(|x| {
            vec![
                x.event
                    .as_ref()
                    .map(|e| e.seq.to_string())
                    .unwrap_or_default(),
                x.kind.describe(lang).to_string(),
                x.about.clone(),
                x.detail.clone(),
            ]
        })
        .collect();
    crate::table::render(&header, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(fiscal_year: Option<u16>) -> Report {
        let d = Date::parse_iso("2025-02-28").unwrap_or_else(|| panic!("a date"));
        let menu = |share: Option<f64>| MenuReport {
            menu: "B-1".into(),
            category: Category::B,
            kind: crate::domain::MenuKind::Seminar,
            name: "ＩＴ人材育成".into(),
            output: 1000,
            outcome: 3,
            output_target: Some(10),
            outcome_target: None,
            outcome_breakdown: Breakdown {
                hires: 2,
                conversions: 1,
                founders: 0,
                startup_employees: 0,
            },
            excluded: [(RuleId::XC7, 4), (RuleId::CRES, 1)].into_iter().collect(),
            attendances: 1200,
            in_region_share: share,
            output_establishments: 0,
        };
        Report {
            project: Some("ex".into()),
            as_of: d,
            known_at: None,
            fiscal_year,
            scope: scope_of(fiscal_year),
            from: d,
            // Every share a report can hold (thousandths).
            menus: (0..=1000)
                .map(|k| menu(rate(k, 1000)))
                .chain([menu(None)])
                .collect(),
            totals: Totals {
                output: 1,
                outcome: 2,
            },
            interpretations: vec![RuleId::XO7],
            head: HeadRef {
                seq: 7,
                hash: "sha256:00".into(),
            },
            warnings: 3,
        }
    }

    /// Kept figures are a report's JSON read back (`Ledger::report_kept`):
    /// it must render to the same bytes, shares and scope included.
    #[test]
    fn a_report_read_back_from_its_json_renders_the_same() {
        for fy in [Some(2024), None] {
            let r = report(fy);
            let json = serde_json::to_vec(&r).unwrap_or_default();
            let back = Report::from_json(&json).unwrap_or_else(|| panic!("read back"));
            assert_eq!(serde_json::to_vec(&back).unwrap_or_default(), json);
            assert_eq!(back.scope, r.scope);
            assert_eq!(render_csv(&back), render_csv(&r));
            assert_eq!(render_table(&back, Lang::Ja), render_table(&r, Lang::Ja));
        }
        assert!(Report::from_json(b"{\"menus\": 3}").is_none());
    }
}
