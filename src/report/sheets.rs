//! CSV for spreadsheets: the judgement and `explain`, one row per menu or
//! per entry, UTF-8 with a BOM so that Excel opens them as Japanese text.
//! Column names are stable English identifiers (programs read them); the
//! reasons are in the language asked for.

use super::Explanation;
use crate::evaluate::{decision_label, project_label, Evaluation};
use crate::i18n::Lang;
use crate::rules::Verdict;

fn writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec())
}

fn num(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn rate(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_default()
}

/// `counted` or `excluded`, and the rule.
fn verdict(v: Verdict) -> (&'static str, &'static str) {
    match v {
        Verdict::Counted(r) => ("counted", r.as_str()),
        Verdict::Excluded(r) => ("excluded", r.as_str()),
    }
}

/// The judgement: one row per (menu, fiscal year), then the project's
/// decision as a last row.
pub fn evaluation_csv(e: &Evaluation, lang: Lang) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record([
        "year",
        "cutoff",
        "menu",
        "category",
        "name",
        "fiscal_year",
        "judged",
        "output",
        "output_target",
        "output_rate",
        "outcome",
        "outcome_target",
        "outcome_rate",
        "satisfaction",
        "survey_answers",
        "decision",
        "decision_label",
        "rule",
        "gap",
        "pending_outcomes",
        "budget_yen",
    ]);
    for m in &e.menus {
        let decision = serde_json::to_value(m.decision)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = w.write_record([
            e.year.to_string(),
            e.cutoff.to_string(),
            m.menu.clone(),
            format!("{:?}", m.category),
            m.name.clone(),
            m.fiscal_year.to_string(),
            m.judged.to_string(),
            m.output.to_string(),
            num(m.output_target),
            rate(m.output_rate),
            m.outcome.to_string(),
            num(m.outcome_target),
            rate(m.outcome_rate),
            rate(m.satisfaction),
            m.survey_answers.to_string(),
            decision,
            decision_label(m.decision, lang).to_string(),
            m.rule.as_str().to_string(),
            m.gap.clone().unwrap_or_default(),
            m.pending_outcomes.to_string(),
            num(m.budget_yen),
        ]);
    }
    let project = serde_json::to_value(e.project_decision)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut last = vec![String::new(); 21];
    last[0] = e.year.to_string();
    last[1] = e.cutoff.to_string();
    last[2] = "project".into();
    last[7] = e.below_half.to_string();
    last[8] = e.judged.to_string();
    last[9] = format!("{:.3}", e.below_half_share);
    last[15] = project;
    last[16] = project_label(e.project_decision, lang).to_string();
    last[17] = "E-4".into();
    let _ = w.write_record(&last);
    w.into_inner().unwrap_or_default()
}

/// `explain`: one row per subject (a menu's output) and per outcome, each
/// with its verdict, rule, reason and the events behind it.
pub fn explanation_csv(x: &Explanation, lang: Lang) -> Vec<u8> {
    let mut w = writer();
    let _ = w.write_record([
        "menu",
        "row",
        "subject_kind",
        "subject",
        "person",
        "kind",
        "date",
        "verdict",
        "rule",
        "reason",
        "units",
        "in_region",
        "seqs",
        "event_ids",
    ]);
    for m in &x.menus {
        for s in &m.subjects {
            let (v, rule) = verdict(s.verdict);
            let kind = match s.subject {
                crate::rules::Subject::Establishment(_) => "establishment",
                crate::rules::Subject::Person(_) => "person",
            };
            let seqs: Vec<String> = s.attendances.iter().map(|a| a.seq.to_string()).collect();
            let ids: Vec<String> = s.attendances.iter().map(|a| a.id.to_string()).collect();
            let _ = w.write_record([
                m.menu.as_str(),
                "subject",
                kind,
                s.subject.id(),
                "",
                "attendance",
                &s.first_counted.map(|d| d.to_string()).unwrap_or_default(),
                v,
                rule,
                s.verdict.rule().describe(lang),
                &s.counted_attendances.to_string(),
                if s.in_region { "true" } else { "false" },
                &seqs.join(" "),
                &ids.join(" "),
            ]);
        }
        for o in &m.outcomes {
            let (v, rule) = verdict(o.verdict);
            let kind = match o.subject {
                crate::rules::Subject::Establishment(_) => "establishment",
                crate::rules::Subject::Person(_) => "person",
            };
            let mut seqs = vec![o.event.seq.to_string()];
            let mut ids = vec![o.event.id.to_string()];
            if let Some((seq, id)) = o.event.corrected_by {
                seqs.push(seq.to_string());
                ids.push(id.to_string());
            }
            let _ = w.write_record([
                m.menu.as_str(),
                "outcome",
                kind,
                o.subject.id(),
                &o.person,
                o.kind,
                &o.date.map(|d| d.to_string()).unwrap_or_default(),
                v,
                rule,
                o.verdict.rule().describe(lang),
                &o.units.to_string(),
                "",
                &seqs.join(" "),
                &ids.join(" "),
            ]);
        }
    }
    w.into_inner().unwrap_or_default()
}
