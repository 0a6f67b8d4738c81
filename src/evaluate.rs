//! The mid-term judgement (事業継続可否の判断, RULES.md §6): E-1 … E-8 as
//! pure functions over figures the projection computed, then assembled
//! into CONTRACT.md §4.
//!
//! Thresholds compare exact fractions (`num * 100 >= pct * den`); rates are
//! rounded to three decimals for display only.

use crate::domain::{Category, Date, EventBody};
use crate::projection::{figures, MenuFigures, Query, Resolved};
use crate::report::rate;
use crate::rules::time::{fiscal_year, fiscal_year_end, Scope};
use crate::rules::RuleId;
use chrono::NaiveDate;
use serde::Serialize;

/// E-1: the cutoff of project year `year` (1 or 2) for a project that
/// starts on `contract_start`: the end of February of year 1's fiscal year,
/// the end of January of year 2's. `None` for year 3 (no mid-term
/// judgement).
pub fn cutoff(contract_start: Date, year: u8) -> Option<Date> {
    let fy = i32::from(fiscal_year(contract_start)) + i32::from(year) - 1;
    let last_day = match year {
        1 => NaiveDate::from_ymd_opt(fy + 1, 3, 1)?.pred_opt()?,
        2 => NaiveDate::from_ymd_opt(fy + 1, 1, 31)?,
        _ => return None,
    };
    Date::new(last_day)
}

/// `num / den >= pct %`, exactly.
pub fn at_least(num: u64, den: u64, pct: u64) -> bool {
    den > 0 && u128::from(num) * 100 >= u128::from(pct) * u128::from(den)
}

/// The smallest `n` with `(num + n) / den >= pct %`.
pub fn more_needed(num: u64, den: u64, pct: u64) -> u64 {
    let need = (u128::from(pct) * u128::from(den)).div_ceil(100);
    u64::try_from(need.saturating_sub(u128::from(num))).unwrap_or(u64::MAX)
}

/// A menu's decision (CONTRACT.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Passes both gates.
    Continue,
    /// An improvement plan for the menu.
    Improve,
    /// Output under half of target.
    BelowHalf,
    /// Not judged this year (E-2).
    NotJudged,
}

/// The project's decision (CONTRACT.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectDecision {
    /// Every judged menu continues.
    Continue,
    /// Some menus need plans; none below half.
    ImproveMenus,
    /// Year 1: menus below half are fewer than 30 %: a plan for the project.
    ImproveProject,
    /// Year 2: menus below half are fewer than 30 %: they are discontinued.
    Rebalance,
    /// Menus below half are 30 % or more.
    Abolish,
}

/// E-4 and E-5 for one judged menu: the decision and the rule behind it.
#[allow(clippy::too_many_arguments)] // the figures E-4 and E-5 read, each named
pub fn menu_decision(
    category: Category,
    year: u8,
    output: u64,
    output_target: u64,
    outcome: u64,
    outcome_target: u64,
    useful: u64,
    answers: u64,
) -> (Decision, RuleId) {
    // E-4: the output gate.
    if !at_least(output, output_target, 50) {
        return (Decision::BelowHalf, RuleId::E4);
    }
    if !at_least(output, output_target, 70) {
        return (Decision::Improve, RuleId::E4);
    }
    // E-5: the second gate.
    let passes = match category {
        // A menu with no answers has not shown 85 %.
        Category::A => at_least(useful, answers, 85),
        Category::B | Category::C => {
            outcome_target == 0
                || at_least(outcome, outcome_target, if year == 1 { 30 } else { 50 })
        }
    };
    if passes {
        (Decision::Continue, RuleId::E5)
    } else {
        (Decision::Improve, RuleId::E5)
    }
}

/// The graver of two decisions of one menu.
fn worse(a: Decision, b: Decision) -> Decision {
    let rank = |d: Decision| match d {
        Decision::NotJudged => 0,
        Decision::Continue => 1,
        Decision::Improve => 2,
        Decision::BelowHalf => 3,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// E-4: the project decision from the judged menus' decisions.
pub fn project_decision(year: u8, decisions: &[Decision]) -> (ProjectDecision, u64, u64) {
    let judged = decisions
        .iter()
        .filter(|d| **d != Decision::NotJudged)
        .count() as u64;
    let below = decisions
        .iter()
        .filter(|d| **d == Decision::BelowHalf)
        .count() as u64;
    let d = if below > 0 {
        if at_least(below, judged, 30) {
            ProjectDecision::Abolish
        } else if year == 1 {
            ProjectDecision::ImproveProject
        } else {
            ProjectDecision::Rebalance
        }
    } else if decisions.contains(&Decision::Improve) {
        ProjectDecision::ImproveMenus
    } else {
        ProjectDecision::Continue
    };
    (d, below, judged)
}

/// One (menu, fiscal year) entry of the judgement.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MenuJudgement {
    /// Menu id.
    pub menu: String,
    /// Category.
    pub category: Category,
    /// Name.
    pub name: String,
    /// The fiscal year whose figures are judged.
    pub fiscal_year: u16,
    /// Judged this year (E-2).
    pub judged: bool,
    /// Output (distinct counted subjects).
    pub output: u64,
    /// Output target (E-8).
    pub output_target: Option<u64>,
    /// Output rate, rounded.
    pub output_rate: Option<f64>,
    /// Outcome.
    pub outcome: u64,
    /// Outcome target.
    pub outcome_target: Option<u64>,
    /// Outcome rate, rounded.
    pub outcome_rate: Option<f64>,
    /// A menus: useful answers / answers in the window, rounded.
    pub satisfaction: Option<f64>,
    /// Survey answers counted (A menus).
    pub survey_answers: u64,
    /// The decision.
    pub decision: Decision,
    /// The rule that decided.
    pub rule: RuleId,
    /// What would reach the next band, for people.
    pub gap: Option<String>,
    /// Outcomes still pending: recorded without a start date (XC-4).
    pub pending_outcomes: u64,
    /// E-6: sessions recorded while an improvement plan awaited approval.
    pub sessions_awaiting_plan: Vec<Date>,
    /// Menu budget, yen (E-4a).
    pub budget_yen: Option<u64>,
}

/// The judgement (CONTRACT.md §4, extended).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Evaluation {
    /// Project year, 1 or 2.
    pub year: u8,
    /// E-1.
    pub cutoff: Date,
    /// Per (menu, fiscal year).
    pub menus: Vec<MenuJudgement>,
    /// Share of judged menus below half, by count, rounded (E-4, E-4a).
    pub below_half_share: f64,
    /// Below-half menus / judged menus.
    pub below_half: u64,
    /// Judged menus.
    pub judged: u64,
    /// Budget-weighted share below half, where every judged menu has a budget (E-4a).
    pub below_half_budget_share: Option<f64>,
    /// The project's decision.
    pub project_decision: ProjectDecision,
    /// A plain-language summary, in the language asked for.
    pub summary: Vec<String>,
}

fn window_useful(r: &Resolved, menu: &str, from: Date, to: Date) -> (u64, u64) {
    let mut useful = 0;
    let mut answers = 0;
    for f in &r.facts {
        if let EventBody::SurveyResponse(s) = &f.body {
            if s.menu.as_str() == menu && from <= s.date && s.date <= to {
                answers += 1;
                useful += u64::from(s.useful);
            }
        }
    }
    (useful, answers)
}

#[allow(clippy::too_many_arguments)] // one menu's window, spelled out
fn judge(
    r: &Resolved,
    m: &MenuFigures,
    year: u8,
    fy: u16,
    from: Date,
    to: Date,
    judged: bool,
    lang: crate::i18n::Lang,
) -> MenuJudgement {
    let (useful, answers) = if m.category == Category::A {
        window_useful(r, &m.menu, from, to)
    } else {
        (0, 0)
    };
    let (decision, rule) = match (judged, m.output_target) {
        (true, Some(ot)) if ot > 0 => menu_decision(
            m.category,
            year,
            m.output,
            ot,
            m.outcome,
            m.outcome_target.unwrap_or(0),
            useful,
            answers,
        ),
        _ => (Decision::NotJudged, RuleId::E2),
    };
    let outcome_pct = if year == 1 { 30 } else { 50 };
    let gap = match (decision, m.output_target) {
        (Decision::BelowHalf, Some(t)) => {
            Some(gap_text(lang, "output", more_needed(m.output, t, 50), 50))
        }
        (Decision::Improve, Some(t)) if rule == RuleId::E4 => {
            Some(gap_text(lang, "output", more_needed(m.output, t, 70), 70))
        }
        (Decision::Improve, _) if m.category == Category::A => {
            // The useful answers needed if every new answer is useful.
            let k = (17 * answers).saturating_sub(20 * useful).div_ceil(3);
            Some(gap_text(lang, "useful", k.max(1), 85))
        }
        (Decision::Improve, _) => m.outcome_target.map(|t| {
            gap_text(
                lang,
                "outcome",
                more_needed(m.outcome, t, outcome_pct),
                outcome_pct,
            )
        }),
        _ => None,
    };
    MenuJudgement {
        menu: m.menu.clone(),
        category: m.category,
        name: m.name.clone(),
        fiscal_year: fy,
        judged: decision != Decision::NotJudged,
        output: m.output,
        output_target: m.output_target,
        output_rate: m.output_target.and_then(|t| rate(m.output, t)),
        outcome: m.outcome,
        outcome_target: m.outcome_target,
        outcome_rate: m.outcome_target.and_then(|t| rate(m.outcome, t)),
        satisfaction: if m.category == Category::A {
            rate(useful, answers)
        } else {
            None
        },
        survey_answers: answers,
        decision,
        rule,
        gap,
        // XC-4 with no start date yet: outcomes that may still count.
        pending_outcomes: m
            .outcomes
            .iter()
            .filter(|o| {
                o.date.is_none() && o.verdict == crate::rules::Verdict::Excluded(RuleId::XC4)
            })
            .count() as u64,
        sessions_awaiting_plan: Vec::new(),
        budget_yen: r
            .menus
            .get(&m.menu)
            .and_then(|s| s.def.budget_yen)
            .map(|y| y.0),
    }
}

fn gap_text(lang: crate::i18n::Lang, what: &str, n: u64, pct: u64) -> String {
    match (lang, what) {
        (crate::i18n::Lang::Ja, "output") => format!("あと{n}件の計上で{pct}%"),
        (crate::i18n::Lang::Ja, "outcome") => format!("アウトカムあと{n}件で{pct}%"),
        (crate::i18n::Lang::Ja, _) => format!("「役に立った」の回答があと{n}件で{pct}%"),
        (crate::i18n::Lang::En, "output") => format!("{n} more counted users reach {pct} %"),
        (crate::i18n::Lang::En, "outcome") => format!("{n} more outcomes reach {pct} %"),
        (crate::i18n::Lang::En, _) => format!("{n} more useful answers reach {pct} %"),
    }
}

/// Why the judgement cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluateError {
    /// Year 3, or another year without a mid-term judgement.
    #[error("year {0} has no mid-term judgement (use report)")]
    NoJudgement(u8),
    /// The project is not defined.
    #[error("the project is not defined")]
    NoProject,
}

/// The judgement of project year `year` from resolved facts (T-2 applied
/// by the caller).
pub fn evaluate(
    r: &Resolved,
    year: u8,
    lang: crate::i18n::Lang,
) -> Result<Evaluation, EvaluateError> {
    let project = r.project.as_ref().ok_or(EvaluateError::NoProject)?;
    let cut = cutoff(project.contract_start, year).ok_or(EvaluateError::NoJudgement(year))?;
    let fy_k = fiscal_year(cut);
    let now = figures(
        r,
        Query {
            as_of: cut,
            scope: Scope::FiscalYear,
        },
    );
    let from_k = now.from;
    let held_by = |menu: &str, fy: u16, until: Date| {
        r.menus.get(menu).is_some_and(|m| {
            m.sessions
                .iter()
                .any(|d| fiscal_year(*d) == fy && *d <= until)
        })
    };
    let held_in = |menu: &str, fy: u16| {
        r.menus
            .get(menu)
            .is_some_and(|m| m.sessions.iter().any(|d| fiscal_year(*d) == fy))
    };
    let mut menus = Vec::new();
    for m in &now.menus {
        // E-2: judged in year k when held in FY(k) by the cutoff.
        menus.push(judge(
            r,
            m,
            year,
            fy_k,
            from_k,
            cut,
            held_by(&m.menu, fy_k, cut),
            lang,
        ));
    }
    if year == 2 {
        // E-2: a menu whose FY(1) sessions all fell after the year-1 cutoff is
        // judged now, on its FY(1) figures against its FY(1) targets.
        let fy1 = fiscal_year(project.contract_start);
        let cut1 = cutoff(project.contract_start, 1).ok_or(EvaluateError::NoJudgement(1))?;
        if let Some(end1) = fiscal_year_end(fy1) {
            let year1 = figures(
                r,
                Query {
                    as_of: end1,
                    scope: Scope::FiscalYear,
                },
            );
            for m in &year1.menus {
                if held_in(&m.menu, fy1) && !held_by(&m.menu, fy1, cut1) {
                    // E-8: FY(1) targets as revised by this year's cutoff.
                    let mut m = m.clone();
                    if let Some(state) = r.menus.get(&m.menu) {
                        (m.output_target, m.outcome_target) =
                            crate::projection::targets(state, cut, Some(fy1));
                    }
                    menus.push(judge(r, &m, year, fy1, year1.from, end1, true, lang));
                }
            }
        }
        flag_awaiting_plans(r, &mut menus, lang);
    }
    menus.sort_by(|a, b| (a.menu.as_str(), a.fiscal_year).cmp(&(b.menu.as_str(), b.fiscal_year)));
    // E-4a: the share is of judged menus, not of (menu, year) pairs: a menu
    // judged on two fiscal years counts once, below half if either is.
    let mut per_menu: std::collections::BTreeMap<&str, Decision> =
        std::collections::BTreeMap::new();
    for m in &menus {
        let worst = per_menu
            .entry(m.menu.as_str())
            .or_insert(Decision::NotJudged);
        *worst = worse(*worst, m.decision);
    }
    let decisions: Vec<Decision> = per_menu.into_values().collect();
    let (project_decision, below, judged) = project_decision(year, &decisions);
    let judged_menus: Vec<&MenuJudgement> = menus.iter().filter(|m| m.judged).collect();
    let below_half_budget_share =
        if !judged_menus.is_empty() && judged_menus.iter().all(|m| m.budget_yen.is_some()) {
            let total: u64 = judged_menus.iter().filter_map(|m| m.budget_yen).sum();
            let under: u64 = judged_menus
                .iter()
                .filter(|m| m.decision == Decision::BelowHalf)
                .filter_map(|m| m.budget_yen)
                .sum();
            rate(under, total)
        } else {
            None
        };
    let summary = summarise(&menus, project_decision, below, judged, year, lang);
    Ok(Evaluation {
        year,
        cutoff: cut,
        menus,
        below_half_share: rate(below, judged).unwrap_or(0.0),
        below_half: below,
        judged,
        below_half_budget_share,
        project_decision,
        summary,
    })
}

/// E-6: in year 2, the menus that needed a plan in year 1 and held
/// sessions after the year-1 cutoff before a plan covering them was approved.
fn flag_awaiting_plans(r: &Resolved, menus: &mut [MenuJudgement], lang: crate::i18n::Lang) {
    let Ok(year1) = evaluate(r, 1, lang) else {
        return;
    };
    let whole_project = matches!(year1.project_decision, ProjectDecision::ImproveProject);
    let approvals: Vec<(&crate::domain::PlanApproved, Date)> = r
        .facts
        .iter()
        .filter_map(|f| match &f.body {
            EventBody::PlanApproved(p) => Some((p, p.date)),
            _ => None,
        })
        .collect();
    for m in menus.iter_mut() {
        let needed = year1.menus.iter().any(|j| {
            j.menu == m.menu && matches!(j.decision, Decision::Improve | Decision::BelowHalf)
        }) || whole_project;
        if !needed {
            continue;
        }
        let approved = approvals
            .iter()
            .filter(|(p, _)| {
                p.menus.iter().any(|x| x.0 == m.menu)
                    || p.scope == Some(crate::domain::PlanScope::Project)
            })
            .map(|(_, d)| *d)
            .min();
        if let Some(state) = r.menus.get(&m.menu) {
            m.sessions_awaiting_plan = state
                .sessions
                .iter()
                .copied()
                .filter(|d| *d > year1.cutoff && approved.is_none_or(|a| *d < a))
                .collect();
        }
    }
}

fn summarise(
    menus: &[MenuJudgement],
    d: ProjectDecision,
    below: u64,
    judged: u64,
    year: u8,
    lang: crate::i18n::Lang,
) -> Vec<String> {
    use crate::i18n::Lang::*;
    let mut out = Vec::new();
    for m in menus
        .iter()
        .filter(|m| matches!(m.decision, Decision::Improve | Decision::BelowHalf))
    {
        let rate = |r: Option<f64>| r.map_or_else(|| "-".into(), |v| format!("{:.1}%", v * 100.0));
        let why = match (m.decision, m.rule, m.category, lang) {
            (Decision::BelowHalf, _, _, Ja) => {
                format!("アウトプット達成率 {} が50%未満", rate(m.output_rate))
            }
            (Decision::BelowHalf, _, _, En) => {
                format!("output rate {} is under 50 %", rate(m.output_rate))
            }
            (_, RuleId::E4, _, Ja) => {
                format!("アウトプット達成率 {} が70%未満", rate(m.output_rate))
            }
            (_, RuleId::E4, _, En) => format!("output rate {} is under 70 %", rate(m.output_rate)),
            (_, _, Category::A, Ja) => format!(
                "「役に立った」の割合 {}（回答 {} 件）が85%未満",
                rate(m.satisfaction),
                m.survey_answers
            ),
            (_, _, Category::A, En) => format!(
                "useful share {} ({} answers) is under 85 %",
                rate(m.satisfaction),
                m.survey_answers
            ),
            (_, _, _, Ja) => format!(
                "アウトカム達成率 {} が{}%未満",
                rate(m.outcome_rate),
                if year == 1 { 30 } else { 50 }
            ),
            (_, _, _, En) => format!(
                "outcome rate {} is under {} %",
                rate(m.outcome_rate),
                if year == 1 { 30 } else { 50 }
            ),
        };
        let gap = m
            .gap
            .as_deref()
            .map(|g| format!(" — {g}"))
            .unwrap_or_default();
        out.push(match lang {
            Ja => format!("{} {}（{}年度）: {why}{gap}", m.menu, m.name, m.fiscal_year),
            En => format!("{} {} (FY{}): {why}{gap}", m.menu, m.name, m.fiscal_year),
        });
    }
    let share = if judged > 0 {
        format!("{below}/{judged}")
    } else {
        "0/0".into()
    };
    out.push(match (d, lang) {
        (ProjectDecision::Continue, Ja) => format!("事業全体: 継続（評価対象 {judged} メニューすべて基準を満たす）"),
        (ProjectDecision::ImproveMenus, Ja) => "事業全体: 一部メニューに改善計画が必要（50%未満のメニューなし）".into(),
        (ProjectDecision::ImproveProject, Ja) => format!("事業全体: 改善計画（50%未満のメニュー {share} が30%未満）"),
        (ProjectDecision::Rebalance, Ja) => format!("事業全体: 50%未満のメニュー（{share}、30%未満）を廃止し事業を再構成"),
        (ProjectDecision::Abolish, Ja) => format!("事業全体: 事業廃止（50%未満のメニュー {share} が30%以上）"),
        (ProjectDecision::Continue, En) => format!("project: continue (all {judged} judged menus pass)"),
        (ProjectDecision::ImproveMenus, En) => "project: plans for some menus (none below half)".into(),
        (ProjectDecision::ImproveProject, En) => format!("project: improvement plan for the project (menus below half {share}, under 30 %)"),
        (ProjectDecision::Rebalance, En) => format!("project: the menus below half ({share}, under 30 %) are discontinued and the project rebalanced"),
        (ProjectDecision::Abolish, En) => format!("project: abolished (menus below half {share}, 30 % or more)"),
    });
    out
}

/// The judgement as text for people.
pub fn render(e: &Evaluation, lang: crate::i18n::Lang) -> String {
    use crate::i18n::Lang::*;
    let mut out = match lang {
        Ja => format!("中間評価 {}年度目（基準日 {}）\n\n", e.year, e.cutoff),
        En => format!(
            "mid-term judgement, year {} (cutoff {})\n\n",
            e.year, e.cutoff
        ),
    };
    let header: Vec<&str> = match lang {
        Ja => vec![
            "メニュー",
            "区分",
            "年度",
            "アウトプット",
            "目標",
            "達成率",
            "アウトカム",
            "目標",
            "達成率",
            "役に立った",
            "判定",
            "根拠",
            "次の基準まで",
            "保留",
        ],
        En => vec![
            "menu",
            "cat",
            "FY",
            "output",
            "target",
            "rate",
            "outcome",
            "target",
            "rate",
            "useful",
            "decision",
            "rule",
            "to next band",
            "pending",
        ],
    };
    let pct = |r: Option<f64>| r.map_or_else(|| "-".into(), |v| format!("{:.1}%", v * 100.0));
    let opt = |v: Option<u64>| v.map_or_else(|| "-".into(), |v| v.to_string());
    let rows: Vec<Vec<String>> = e
        .menus
        .iter()
        .map(|m| {
            vec![
                m.menu.clone(),
                format!("{:?}", m.category),
                m.fiscal_year.to_string(),
                m.output.to_string(),
                opt(m.output_target),
                pct(m.output_rate),
                m.outcome.to_string(),
                opt(m.outcome_target),
                pct(m.outcome_rate),
                pct(m.satisfaction),
                decision_label(m.decision, lang).to_string(),
                m.rule.to_string(),
                m.gap.clone().unwrap_or_default(),
                if m.pending_outcomes > 0 {
                    m.pending_outcomes.to_string()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    out.push_str(&crate::table::render(&header, &rows));
    out.push_str(&match lang {
        Ja => format!(
            "\n50%未満のメニュー: {}/{}（{:.1}%）",
            e.below_half,
            e.judged,
            e.below_half_share * 100.0
        ),
        En => format!(
            "\nmenus below half: {}/{} ({:.1} %)",
            e.below_half,
            e.judged,
            e.below_half_share * 100.0
        ),
    });
    if let Some(b) = e.below_half_budget_share {
        out.push_str(&match lang {
            Ja => format!("  予算比 {:.1}%（E-4a）", b * 100.0),
            En => format!("  by budget {:.1} % (E-4a)", b * 100.0),
        });
    }
    out.push_str(&match lang {
        Ja => format!(
            "\n事業全体の判定: {}\n\n",
            project_label(e.project_decision, lang)
        ),
        En => format!(
            "\nproject decision: {}\n\n",
            project_label(e.project_decision, lang)
        ),
    });
    for m in e
        .menus
        .iter()
        .filter(|m| !m.sessions_awaiting_plan.is_empty())
    {
        let dates: Vec<String> = m
            .sessions_awaiting_plan
            .iter()
            .map(|d| d.to_string())
            .collect();
        out.push_str(&match lang {
            Ja => format!(
                "E-6: {} は改善計画の承認前に講習会等を実施: {}\n",
                m.menu,
                dates.join(", ")
            ),
            En => format!(
                "E-6: {} held sessions before its improvement plan was approved: {}\n",
                m.menu,
                dates.join(", ")
            ),
        });
    }
    out.push_str(lang.pick("要約\n", "summary\n"));
    for line in &e.summary {
        out.push_str(&format!("- {line}\n"));
    }
    out
}

/// A decision, for people.
pub fn decision_label(d: Decision, lang: crate::i18n::Lang) -> &'static str {
    match (d, lang) {
        (Decision::Continue, crate::i18n::Lang::Ja) => "継続",
        (Decision::Improve, crate::i18n::Lang::Ja) => "改善計画",
        (Decision::BelowHalf, crate::i18n::Lang::Ja) => "50%未満",
        (Decision::NotJudged, crate::i18n::Lang::Ja) => "評価対象外",
        (Decision::Continue, _) => "continue",
        (Decision::Improve, _) => "improve",
        (Decision::BelowHalf, _) => "below_half",
        (Decision::NotJudged, _) => "not_judged",
    }
}

/// A project decision, for people.
pub fn project_label(d: ProjectDecision, lang: crate::i18n::Lang) -> &'static str {
    match (d, lang) {
        (ProjectDecision::Continue, crate::i18n::Lang::Ja) => "継続",
        (ProjectDecision::ImproveMenus, crate::i18n::Lang::Ja) => "一部メニューの改善計画",
        (ProjectDecision::ImproveProject, crate::i18n::Lang::Ja) => "事業全体の改善計画",
        (ProjectDecision::Rebalance, crate::i18n::Lang::Ja) => "50%未満メニューの廃止・再構成",
        (ProjectDecision::Abolish, crate::i18n::Lang::Ja) => "事業廃止",
        (ProjectDecision::Continue, _) => "continue",
        (ProjectDecision::ImproveMenus, _) => "improve_menus",
        (ProjectDecision::ImproveProject, _) => "improve_project",
        (ProjectDecision::Rebalance, _) => "rebalance",
        (ProjectDecision::Abolish, _) => "abolish",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_iso(s).unwrap()
    }

    #[test]
    fn e_1_cutoffs_end_of_february_then_end_of_january() {
        assert_eq!(cutoff(d("2024-10-01"), 1), Some(d("2025-02-28")));
        assert_eq!(cutoff(d("2024-10-01"), 2), Some(d("2026-01-31")));
        assert_eq!(
            cutoff(d("2027-04-01"), 1),
            Some(d("2028-02-29")),
            "leap year"
        );
        assert_eq!(cutoff(d("2024-10-01"), 3), None);
    }

    #[test]
    fn e_4_output_gate_at_its_exact_boundaries() {
        use Category::B;
        assert_eq!(
            menu_decision(B, 1, 7, 10, 3, 10, 0, 0).0,
            Decision::Continue,
            "7/10 passes 70 %"
        );
        assert_eq!(
            menu_decision(B, 1, 69, 100, 30, 100, 0, 0).0,
            Decision::Improve
        );
        assert_eq!(
            menu_decision(B, 1, 5, 10, 3, 10, 0, 0).0,
            Decision::Improve,
            "5/10 needs a menu plan"
        );
        assert_eq!(
            menu_decision(B, 1, 49, 100, 30, 100, 0, 0).0,
            Decision::BelowHalf,
            "49/100 is below half"
        );
    }

    #[test]
    fn e_4_a_thirty_percent_share_by_count() {
        let mut ten = vec![Decision::Continue; 10];
        ten[0] = Decision::BelowHalf;
        ten[1] = Decision::BelowHalf;
        assert_eq!(
            project_decision(1, &ten).0,
            ProjectDecision::ImproveProject,
            "2 in 10"
        );
        assert_eq!(project_decision(2, &ten).0, ProjectDecision::Rebalance);
        ten[2] = Decision::BelowHalf;
        assert_eq!(
            project_decision(1, &ten).0,
            ProjectDecision::Abolish,
            "3 in 10 is 30 %"
        );
        let mut plans = vec![Decision::Continue; 4];
        plans[1] = Decision::Improve;
        plans.push(Decision::NotJudged);
        assert_eq!(project_decision(1, &plans).0, ProjectDecision::ImproveMenus);
        assert_eq!(
            project_decision(1, &[Decision::Continue, Decision::NotJudged]).0,
            ProjectDecision::Continue
        );
    }

    #[test]
    fn e_5_second_gate_satisfaction_and_outcome_rates() {
        use Category::*;
        assert_eq!(
            menu_decision(A, 1, 10, 10, 0, 3, 17, 20).0,
            Decision::Continue,
            "85 % as 17/20"
        );
        assert_eq!(
            menu_decision(A, 1, 10, 10, 0, 3, 16, 20).0,
            Decision::Improve
        );
        assert_eq!(
            menu_decision(A, 1, 10, 10, 0, 3, 0, 0).0,
            Decision::Improve,
            "no answers has not shown 85 %"
        );
        assert_eq!(
            menu_decision(C, 1, 10, 10, 3, 10, 0, 0).0,
            Decision::Continue,
            "30 % in year 1"
        );
        assert_eq!(
            menu_decision(C, 2, 10, 10, 4, 10, 0, 0).0,
            Decision::Improve,
            "under 50 % in year 2"
        );
        assert_eq!(
            menu_decision(C, 2, 10, 10, 5, 10, 0, 0).0,
            Decision::Continue,
            "50 % in year 2"
        );
    }

    #[test]
    fn gaps_are_the_least_that_reaches_the_band() {
        assert_eq!(more_needed(4, 10, 70), 3);
        assert_eq!(more_needed(7, 10, 70), 0);
        assert_eq!(more_needed(1, 6, 30), 1);
    }

    fn resolved(lines: &[String]) -> Resolved {
        let mut prev = crate::journal::GENESIS;
        let events: Vec<crate::journal::RecordedEvent> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let body: EventBody = serde_json::from_str(l).unwrap();
                let seq = i as u64 + 1;
                let r = crate::journal::RecordedEvent::seal(
                    seq,
                    1_000 + i as i64,
                    uuid::Uuid::from_u128(u128::from(seq)),
                    body,
                    &prev,
                );
                prev = r.hash;
                r
            })
            .collect();
        crate::projection::resolve(events, None)
    }

    const PROJECT: &str = r#"{"type":"project_defined","project":"e","name":"e","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}"#;

    fn b_menu(id: &str, fy: u16) -> String {
        format!(
            r#"{{"type":"menu_defined","menu":"{id}","category":"B","kind":"seminar","name":"{id}","targets":[{{"fiscal_year":{fy},"output":10,"outcome":0}}]}}"#
        )
    }

    fn session(id: &str, date: &str) -> String {
        format!(r#"{{"type":"session_held","menu":"{id}","date":"{date}"}}"#)
    }

    fn users(id: &str, n: u32, date: &str, extra: &str) -> Vec<String> {
        (0..n)
            .map(|u| format!(r#"{{"type":"attendance","menu":"{id}","date":"{date}","role":"job_seeker","person":"{id}-{u}","residence":"in_region","intent_confirmed":true{extra}}}"#))
            .collect()
    }

    #[test]
    fn e_2_only_menus_held_by_the_cutoff_are_judged() {
        let mut lines = vec![
            PROJECT.to_string(),
            b_menu("B-1", 2024),
            b_menu("B-2", 2024),
            session("B-1", "2024-11-01"),
            session("B-2", "2025-03-05"),
        ];
        lines.extend(users("B-1", 8, "2024-11-01", ""));
        let e = evaluate(&resolved(&lines), 1, crate::i18n::Lang::Ja).unwrap();
        let d = |m: &str| e.menus.iter().find(|j| j.menu == m).unwrap().decision;
        assert_eq!(d("B-1"), Decision::Continue);
        assert_eq!(d("B-2"), Decision::NotJudged);
        assert_eq!(e.judged, 1);
    }

    #[test]
    fn e_6_sessions_before_the_plan_is_approved_are_flagged() {
        let mut lines = vec![
            PROJECT.to_string(),
            b_menu("B-1", 2024),
            session("B-1", "2024-11-01"),
        ];
        lines.extend(users("B-1", 6, "2024-11-01", ""));
        // Year 1: 6/10 needs a plan. Sessions follow before and after approval.
        lines.push(session("B-1", "2025-04-15"));
        lines.push(r#"{"type":"plan_approved","menus":["B-1"],"date":"2025-05-01"}"#.into());
        lines.push(session("B-1", "2025-06-01"));
        let e = evaluate(&resolved(&lines), 2, crate::i18n::Lang::Ja).unwrap();
        let j = e.menus.iter().find(|j| j.menu == "B-1").unwrap();
        assert_eq!(j.sessions_awaiting_plan, vec![d("2025-04-15")]);
    }

    #[test]
    fn e_7_users_who_cannot_be_counted_never_enter_the_figures() {
        let mut lines = vec![
            PROJECT.to_string(),
            b_menu("B-1", 2024),
            session("B-1", "2024-11-01"),
        ];
        lines.extend(users("B-1", 7, "2024-11-01", ""));
        // Attendees while places were free: unconfirmed intent, staff.
        lines.extend(users("X", 5, "2024-11-01", "").into_iter().map(|l| {
            l.replace(r#""menu":"X""#, r#""menu":"B-1""#)
                .replace(r#","intent_confirmed":true"#, "")
        }));
        lines.push(r#"{"type":"attendance","menu":"B-1","date":"2024-11-01","role":"promoter","person":"S-1"}"#.into());
        let e = evaluate(&resolved(&lines), 1, crate::i18n::Lang::Ja).unwrap();
        let j = e.menus.iter().find(|j| j.menu == "B-1").unwrap();
        assert_eq!(j.output, 7);
        assert_eq!(j.decision, Decision::Continue);
    }

    #[test]
    fn e_8_a_revision_after_the_cutoff_does_not_change_the_judgement() {
        let mut lines = vec![
            PROJECT.to_string(),
            b_menu("B-1", 2024),
            session("B-1", "2024-11-01"),
        ];
        lines.extend(users("B-1", 6, "2024-11-01", ""));
        lines.push(r#"{"type":"targets_revised","menu":"B-1","fiscal_year":2024,"output":8,"outcome":0,"date":"2025-03-10"}"#.into());
        let e = evaluate(&resolved(&lines), 1, crate::i18n::Lang::Ja).unwrap();
        let j = e.menus.iter().find(|j| j.menu == "B-1").unwrap();
        assert_eq!(j.output_target, Some(10));
        assert_eq!(j.decision, Decision::Improve);
    }

    /// Regression (review): a menu judged in year 2 on two fiscal years
    /// counts once in the 30 % share, below half if either year is.
    #[test]
    fn e_4_a_a_menu_judged_on_two_years_counts_once() {
        let two_years = r#"{"type":"menu_defined","menu":"M1","category":"B","kind":"seminar","name":"M1","targets":[{"fiscal_year":2024,"output":10,"outcome":0},{"fiscal_year":2025,"output":10,"outcome":0}]}"#;
        let mut lines = vec![
            PROJECT.to_string(),
            two_years.to_string(),
            session("M1", "2025-03-10"),
            session("M1", "2025-06-01"),
        ];
        lines.extend(users("M1", 2, "2025-03-10", ""));
        lines.extend(
            users("M1", 8, "2025-06-01", "")
                .into_iter()
                .map(|l| l.replace("M1-", "M1b-")),
        );
        for m in ["M2", "M3"] {
            lines.push(b_menu(m, 2025));
            lines.push(session(m, "2025-06-01"));
            lines.extend(users(m, 8, "2025-06-01", ""));
        }
        let e = evaluate(&resolved(&lines), 2, crate::i18n::Lang::Ja).unwrap();
        assert_eq!(
            e.menus.iter().filter(|m| m.judged).count(),
            4,
            "M1 is judged on FY2024 and FY2025"
        );
        assert_eq!((e.below_half, e.judged), (1, 3));
        assert_eq!(e.project_decision, ProjectDecision::Abolish);
    }
}
