//! The projection: a deterministic fold of the journal into the figures of
//! CONTRACT.md §3, per menu and fiscal year, as of a date (T-1) and as
//! known at a moment (T-2), with every verdict kept for `explain`.
//!
//! The fold has two steps. [`resolve`] replays the events recorded by the
//! known-at time, applying corrections and retractions (T-3), into the
//! current facts. [`figures`] then applies the rules (`crate::rules`) to
//! those facts. Both are pure: same events, same figures.

pub mod resolve;
pub mod tally;
pub mod warnings;

pub use resolve::{resolve, Fact, Resolved};
pub use tally::{NeedsReplay, Summary, Tally};

/// The report's figures of recorded `events` (in seq order) known at
/// `known_at_us`, by the streaming fold ([`tally`]), or by
/// [`figures`] when the events need a full replay. `Ledger::report` runs
/// the same fold over the journal; this form is for event lists.
pub fn summarize(
    events: &[crate::journal::RecordedEvent],
    known_at_us: Option<i64>,
    q: Query,
) -> Summary {
    let known: Vec<&crate::journal::RecordedEvent> = events
        .iter()
        .take_while(|e| known_at_us.is_none_or(|t| e.recorded_at_us <= t))
        .collect();
    let seq_of: HashMap<uuid::Uuid, u64> = known
        .iter()
        .filter(|e| !matches!(e.body, EventBody::Retraction(_) | EventBody::Correction(_)))
        .map(|e| (e.id, e.seq))
        .collect();
    let mut effects = Vec::new();
    let mut replacements: HashMap<u64, EventBody> = HashMap::new();
    for e in &known {
        let (target, retraction) = match &e.body {
            EventBody::Retraction(r) => (r.target, true),
            EventBody::Correction(c) => {
                replacements.insert(e.seq, (*c.replacement).clone());
                (c.target, false)
            }
            _ => continue,
        };
        if let Some(&t) = seq_of.get(&target) {
            effects.push(tally::Effect {
                target: t,
                by: e.seq,
                retraction,
            });
        }
    }
    let standings = tally::standings(effects, |by| {
        replacements.get(&by).cloned().ok_or(NeedsReplay)
    });
    let folded = standings.and_then(|st| {
        let mut t = Tally::new();
        for e in &known {
            t.event(e.seq, &e.body.view(), &st)?;
        }
        t.finish(q)
    });
    folded.unwrap_or_else(|NeedsReplay| {
        let r = resolve(known.into_iter().cloned(), None);
        let mut f = figures(&r, q);
        let warnings = warnings::warnings(&r, &f).len();
        for m in &mut f.menus {
            m.subjects.clear();
            m.outcomes.clear();
        }
        Summary {
            project: r.project,
            figures: f,
            warnings,
        }
    })
}

use crate::domain::{Category, Date, EventBody, MenuDefined, MenuKind, Place};
use crate::rules::outcome::{self, FirstUse};
use crate::rules::time::{fiscal_year, Scope, Window};
use crate::rules::{output, RuleId, Subject, Verdict};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What figures to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    /// T-1: the date the figures are as of.
    pub as_of: Date,
    /// F-1 (fiscal year of `as_of`) or F-2 (from the contract start).
    pub scope: Scope,
}

/// A reference to an event: its seq and id, as an auditor looks it up.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EventRef {
    /// The seq of the event.
    pub seq: u64,
    /// The id of the event.
    pub id: uuid::Uuid,
    /// The seq and id of the correction whose content is used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected_by: Option<(u64, uuid::Uuid)>,
}

/// Why a subject counts, or does not, in a menu's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectEntry {
    /// The establishment or person.
    pub subject: Subject,
    /// Counted (under an O- rule) or excluded (under the first rule that
    /// excluded them).
    pub verdict: Verdict,
    /// The attendances in the window, in date order.
    pub attendances: Vec<EventRef>,
    /// Attendances counted with repeats (延べ).
    pub counted_attendances: u64,
    /// The first counted attendance of the menu (any time up to the as-of
    /// date), which XC-7 and C-RES look at.
    pub first_counted: Option<Date>,
    /// Whether the subject is in the region (residence or location of the
    /// first counted attendance).
    pub in_region: bool,
}

/// What one outcome event gives a menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutcomeEntry {
    /// The outcome event.
    pub event: EventRef,
    /// `hire`, `conversion`, `startup_founder` or `startup_employees`.
    pub kind: &'static str,
    /// The person hired, converted or founding.
    pub person: String,
    /// The subject the outcome is credited to in this menu: the employer
    /// establishment in A menus (for hires and conversions), else the person.
    pub subject: Subject,
    /// The date that places it in time (start, conversion or founding date).
    pub date: Option<Date>,
    /// Counted under a C- rule, or excluded.
    pub verdict: Verdict,
    /// How many outcomes it is (start-up employees; 1 otherwise; 0 when it
    /// repeats a person already counted in the menu).
    pub units: u64,
    /// T-1 or E-3: why it falls in the period.
    pub time_rule: Option<RuleId>,
}

/// The outcome breakdown of CONTRACT.md §3.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Breakdown {
    /// Hires.
    pub hires: u64,
    /// Regular conversions.
    pub conversions: u64,
    /// Founders who employ staff.
    pub founders: u64,
    /// Employees of counted start-ups.
    pub startup_employees: u64,
}

/// The figures of one menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MenuFigures {
    /// Menu id.
    pub menu: String,
    /// Category.
    pub category: Category,
    /// Kind.
    pub kind: MenuKind,
    /// Name.
    pub name: String,
    /// Distinct subjects counted (実人数; 社 for A establishments).
    pub output: u64,
    /// Outcomes counted (distinct people per menu, plus start-up employees).
    pub outcome: u64,
    /// The output target of the period (E-8: as revised by the as-of date).
    pub output_target: Option<u64>,
    /// The outcome target of the period.
    pub outcome_target: Option<u64>,
    /// Outcomes by kind.
    pub outcome_breakdown: Breakdown,
    /// Subjects (and outcomes) left out, by the first rule that excluded them.
    pub excluded: BTreeMap<RuleId, u64>,
    /// Counted attendances with repeats (延べ人数).
    pub attendances: u64,
    /// Counted subjects in the region.
    pub in_region: u64,
    /// Of the output, establishments (社); the rest are persons (人).
    pub output_establishments: u64,
    /// Every subject that attended in the window.
    pub subjects: Vec<SubjectEntry>,
    /// Every outcome attributed or considered.
    pub outcomes: Vec<OutcomeEntry>,
}

/// Figures of the whole project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Per menu, in menu id order.
    pub menus: Vec<MenuFigures>,
    /// The sum of menu outputs.
    pub total_output: u64,
    /// Outcomes counted once each (C-DEDUP).
    pub total_outcome: u64,
    /// Interpretation rules the figures relied on.
    pub interpretations: BTreeSet<RuleId>,
    /// The fiscal year, for F-1 figures.
    pub fiscal_year: Option<u16>,
    /// The window.
    pub from: Date,
}

/// One counted or considered attendance, with what the rules said.
struct Seen<'a> {
    fact: &'a Fact,
    att: &'a crate::domain::Attendance,
    verdict: Verdict,
    subject: Subject,
}

impl Figures {
    /// The figures of a ledger with no project yet: nothing, as of `as_of`.
    pub fn none(as_of: Date) -> Figures {
        Figures {
            menus: Vec::new(),
            total_output: 0,
            total_outcome: 0,
            interpretations: BTreeSet::new(),
            fiscal_year: None,
            from: as_of,
        }
    }
}

/// Applies the rules to resolved facts.
pub fn figures(r: &Resolved, q: Query) -> Figures {
    let Some(project) = &r.project else {
        return Figures::none(q.as_of);
    };
    let w = Window::new(q.as_of, project.contract_start, q.scope);
    let mut interpretations = BTreeSet::new();
    // Every attendance up to the as-of date, judged, in date order.
    let mut seen: BTreeMap<&str, Vec<Seen>> = BTreeMap::new();
    // "Before using the programme" (XC-2, XC-3): a subject's first counted
    // attendance of any menu.
    let mut programme_first: HashMap<Subject, Date> = HashMap::new();
    for f in r.facts.iter() {
        let EventBody::Attendance(a) = &f.body else {
            continue;
        };
        if a.date > q.as_of {
            continue;
        }
        let Some(menu) = r.menus.get(a.menu.as_str()) else {
            continue;
        };
        let Some(subject) = output::subject(menu.category, a) else {
            continue;
        };
        let verdict = output::verdict(menu.category, menu.kind, &a.terms(), fiscal_year(a.date));
        // An attendance before the contract start is not a use of the
        // programme (F-2: the figures run from the contract start): it is
        // in no output window, so it is never the first use an outcome
        // follows (XC-7), and a subject counted only before the start is
        // not counted in output (XC-8).
        if verdict.counts() && a.date >= project.contract_start {
            let e = programme_first.entry(subject.clone()).or_insert(a.date);
            *e = (*e).min(a.date);
        }
        seen.entry(menu.menu.as_str()).or_default().push(Seen {
            fact: f,
            att: a,
            verdict,
            subject,
        });
    }
    for list in seen.values_mut() {
        list.sort_by_key(|s| (s.att.date, s.fact.seq));
    }
    let mut menus = Vec::new();
    let mut counted_units: BTreeSet<(uuid::Uuid, &'static str)> = BTreeSet::new();
    let mut total_employees: BTreeMap<uuid::Uuid, u64> = BTreeMap::new();
    for menu in r.menus.values() {
        let list = seen
            .get(menu.menu.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let fy = (q.scope == Scope::FiscalYear).then(|| fiscal_year(q.as_of));
        let mut m = menu_output(menu, list, &w, fy);
        let firsts = first_uses(list, &programme_first, project.contract_start);
        menu_outcomes(r, menu, &firsts, list, &w, &mut m, &mut interpretations);
        for o in m
            .outcomes
            .iter()
            .filter(|o| o.verdict.counts() && o.units > 0)
        {
            if o.kind == "startup_employees" {
                total_employees.insert(o.event.id, o.units);
            } else {
                counted_units.insert((o.event.id, o.kind));
            }
        }
        if list
            .iter()
            .any(|s| matches!(s.verdict, Verdict::Excluded(RuleId::XO7)) && s.att.student.is_some())
        {
            interpretations.insert(RuleId::XO7);
        }
        menus.push(m);
    }
    let total_output = menus.iter().map(|m| m.output).sum();
    let total_outcome = counted_units.len() as u64 + total_employees.values().sum::<u64>();
    let fiscal_year = (q.scope == Scope::FiscalYear).then(|| fiscal_year(q.as_of));
    Figures {
        menus,
        total_output,
        total_outcome,
        interpretations,
        fiscal_year,
        from: w.from,
    }
}

fn event_ref(f: &Fact) -> EventRef {
    EventRef {
        seq: f.seq,
        id: f.id,
        corrected_by: f.corrected_by,
    }
}

pub(crate) fn targets(
    menu: &resolve::MenuState,
    q_as_of: Date,
    fy: Option<u16>,
) -> (Option<u64>, Option<u64>) {
    // E-8: targets as revised by revisions dated on or before the as-of date.
    let target_of = |year: u16| -> Option<(u64, u64)> {
        let base = menu
            .def
            .targets
            .iter()
            .find(|t| t.fiscal_year.0 == year)
            .map(|t| (u64::from(t.output.0), u64::from(t.outcome.0)));
        let revised = menu
            .revisions
            .iter()
            .filter(|r| r.fiscal_year.0 == year && r.date <= q_as_of)
            .max_by_key(|r| r.date)
            .map(|r| (u64::from(r.output.0), u64::from(r.outcome.0)));
        revised.or(base)
    };
    match fy {
        Some(y) => target_of(y).map_or((None, None), |(o, c)| (Some(o), Some(c))),
        None => {
            let mut years: BTreeSet<u16> =
                menu.def.targets.iter().map(|t| t.fiscal_year.0).collect();
            years.extend(menu.revisions.iter().map(|r| r.fiscal_year.0));
            if years.is_empty() {
                return (None, None);
            }
            let sum = years
                .into_iter()
                .filter_map(target_of)
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            (Some(sum.0), Some(sum.1))
        }
    }
}

fn menu_output(
    menu: &resolve::MenuState,
    list: &[Seen],
    w: &Window,
    fy: Option<u16>,
) -> MenuFigures {
    let def: &MenuDefined = &menu.def;
    let mut by_subject: BTreeMap<&Subject, SubjectEntry> = BTreeMap::new();
    for s in list {
        let entry = by_subject
            .entry(&s.subject)
            .or_insert_with(|| SubjectEntry {
                subject: s.subject.clone(),
                verdict: s.verdict,
                attendances: Vec::new(),
                counted_attendances: 0,
                first_counted: None,
                in_region: false,
            });
        if s.verdict.counts() && entry.first_counted.is_none() {
            entry.first_counted = Some(s.att.date);
            entry.in_region = match s.subject {
                Subject::Establishment(_) => s.att.establishment_location == Some(Place::InRegion),
                Subject::Person(_) => s.att.residence == Some(Place::InRegion),
            };
        }
        if !w.holds(s.att.date) {
            continue;
        }
        // F-1: the verdict is that of the attendances in the window (the
        // first of them, or any that counts), never one from before it.
        if entry.attendances.is_empty() {
            entry.verdict = s.verdict;
        }
        entry.attendances.push(event_ref(s.fact));
        if s.verdict.counts() {
            entry.counted_attendances += 1;
            if !entry.verdict.counts() {
                entry.verdict = s.verdict;
            }
        }
    }
    // Only subjects that attended in the window appear.
    let subjects: Vec<SubjectEntry> = by_subject
        .into_values()
        .filter(|e| !e.attendances.is_empty())
        .collect();
    let mut excluded = BTreeMap::new();
    for e in subjects.iter().filter(|e| !e.verdict.counts()) {
        *excluded.entry(e.verdict.rule()).or_insert(0) += 1;
    }
    let counted = subjects.iter().filter(|e| e.verdict.counts());
    let (output_target, outcome_target) = targets(menu, w.as_of, fy);
    MenuFigures {
        menu: def.menu.0.clone(),
        category: def.category,
        kind: def.kind,
        name: def.name.0.clone(),
        output: counted.clone().count() as u64,
        outcome: 0,
        output_target,
        outcome_target,
        outcome_breakdown: Breakdown::default(),
        excluded,
        attendances: counted.clone().map(|e| e.counted_attendances).sum(),
        in_region: counted.clone().filter(|e| e.in_region).count() as u64,
        output_establishments: counted
            .filter(|e| matches!(e.subject, Subject::Establishment(_)))
            .count() as u64,
        subjects,
        outcomes: Vec::new(),
    }
}

/// Each subject's first counted attendance of the menu, with the date of
/// its first counted attendance of the programme.
fn first_uses<'a>(
    list: &'a [Seen],
    programme_first: &HashMap<Subject, Date>,
    contract_start: Date,
) -> HashMap<&'a Subject, FirstUse> {
    let mut out = HashMap::new();
    // Counted attendances of the programme: from the contract start.
    for s in list
        .iter()
        .filter(|s| s.verdict.counts() && s.att.date >= contract_start)
    {
        out.entry(&s.subject).or_insert_with(|| FirstUse {
            date: s.att.date,
            rule: s.verdict.rule(),
            attendance: s.att.terms(),
            programme_first: programme_first
                .get(&s.subject)
                .copied()
                .unwrap_or(s.att.date),
        });
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn menu_outcomes(
    r: &Resolved,
    menu: &resolve::MenuState,
    firsts: &HashMap<&Subject, FirstUse>,
    list: &[Seen],
    w: &Window,
    m: &mut MenuFigures,
    interpretations: &mut BTreeSet<RuleId>,
) {
    let attended: BTreeSet<&Subject> = list.iter().map(|s| &s.subject).collect();
    let is_a = menu.def.category == Category::A;
    let mut entries: Vec<OutcomeEntry> = Vec::new();
    for f in r.facts.iter() {
        let (subject, names, date, offer, regular) = match &f.body {
            EventBody::Hire(h) if is_a => match &h.employer {
                Some(e) => (
                    Subject::Establishment(e.0.clone()),
                    &h.menus,
                    h.start_date,
                    h.offer_date,
                    h.regular_recruitment == Some(true),
                ),
                None => continue,
            },
            EventBody::Hire(h) => (
                Subject::Person(h.person.0.clone()),
                &h.menus,
                h.start_date,
                h.offer_date,
                h.regular_recruitment == Some(true),
            ),
            EventBody::Conversion(c) if is_a => (
                Subject::Establishment(c.employer.0.clone()),
                &c.menus,
                Some(c.date),
                None,
                false,
            ),
            EventBody::Conversion(c) => (
                Subject::Person(c.person.0.clone()),
                &c.menus,
                Some(c.date),
                None,
                false,
            ),
            EventBody::Startup(s) if is_a && menu.def.kind == MenuKind::Seminar => (
                Subject::Person(s.person.0.clone()),
                &s.menus,
                Some(s.date),
                None,
                false,
            ),
            _ => continue,
        };
        // C-ATTR: the menus an outcome names narrow its attribution.
        if let Some(named) = names {
            if !named.iter().any(|n| n.0 == menu.def.menu.0) {
                continue;
            }
        }
        let time_rule = match date {
            Some(d) => match w.outcome(d, offer, regular) {
                Some(rule) => Some(rule),
                None => continue,
            },
            // XC-4: an unknown start date is shown once its offer is known
            // by the as-of date, so that it is not forgotten.
            None if offer.is_none_or(|o| w.holds(o)) => None,
            None => continue,
        };
        let Some(first) = firsts.get(&subject) else {
            // XC-8: attended but never counted in the menu. A subject who
            // never attended the menu is not considered at all (C-ATTR).
            if attended.contains(&subject) || names.is_some() {
                let kind = match &f.body {
                    EventBody::Conversion(_) => "conversion",
                    EventBody::Startup(_) => "startup_founder",
                    _ => "hire",
                };
                entries.push(OutcomeEntry {
                    event: event_ref(f),
                    kind,
                    person: person_of(&f.body),
                    subject: subject.clone(),
                    date,
                    verdict: Verdict::Excluded(RuleId::XC8),
                    units: 0,
                    time_rule,
                });
            }
            continue;
        };
        let entry = |kind, verdict: Verdict, units| OutcomeEntry {
            event: event_ref(f),
            kind,
            person: person_of(&f.body),
            subject: subject.clone(),
            date,
            verdict,
            units,
            time_rule,
        };
        match &f.body {
            EventBody::Hire(h) => {
                let v = if is_a {
                    outcome::hire_a(&h.terms(), first)
                } else {
                    outcome::hire_bc(menu.def.category, &h.terms(), first)
                };
                entries.push(entry("hire", v, 1));
            }
            EventBody::Conversion(c) => {
                let v = if is_a {
                    outcome::conversion_a(&c.terms(), first)
                } else {
                    outcome::conversion_bc(&c.terms(), first)
                };
                entries.push(entry("conversion", v, 1));
            }
            EventBody::Startup(s) => {
                let v = outcome::startup_a(&s.terms(), first);
                entries.push(entry("startup_founder", v.founder, 1));
                if v.employee_count > 0 {
                    entries.push(entry(
                        "startup_employees",
                        v.employees,
                        u64::from(v.employee_count),
                    ));
                }
            }
            _ => {}
        }
    }
    entries.sort_by_key(|e| (e.date, e.event.seq));
    // Per-menu figures count distinct people (C-DEDUP): a person already
    // counted in this menu adds nothing more.
    let mut people: BTreeSet<String> = BTreeSet::new();
    for e in entries.iter_mut() {
        match e.verdict {
            Verdict::Counted(_) if e.kind == "startup_employees" => {
                m.outcome += e.units;
                m.outcome_breakdown.startup_employees += e.units;
            }
            Verdict::Counted(_) => {
                if people.insert(e.person.clone()) {
                    m.outcome += 1;
                    match e.kind {
                        "hire" => m.outcome_breakdown.hires += 1,
                        "conversion" => m.outcome_breakdown.conversions += 1,
                        _ => m.outcome_breakdown.founders += 1,
                    }
                } else {
                    e.units = 0;
                }
            }
            Verdict::Excluded(rule) => {
                *m.excluded.entry(rule).or_insert(0) += 1;
                if rule == RuleId::XC7 {
                    interpretations.insert(RuleId::XC7);
                }
                if rule == RuleId::CRES {
                    interpretations.insert(RuleId::CRES);
                }
            }
        }
    }
    if entries.iter().any(|e| e.verdict.counts()) {
        interpretations.insert(RuleId::CATTR);
    }
    m.outcomes = entries;
}

fn person_of(b: &EventBody) -> String {
    b.person().map(|p| p.0.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{RecordedEvent, GENESIS};
    use uuid::Uuid;

    const PROJECT: &str = r#"{"type":"project_defined","project":"t","name":"t","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}"#;

    fn menu(id: &str, cat: &str) -> String {
        format!(
            r#"{{"type":"menu_defined","menu":"{id}","category":"{cat}","kind":"seminar","name":"{id}","targets":[{{"fiscal_year":2024,"output":10,"outcome":4}}]}}"#
        )
    }

    fn att(menu: &str, person: &str, date: &str) -> String {
        format!(
            r#"{{"type":"attendance","menu":"{menu}","date":"{date}","role":"job_seeker","person":"{person}","residence":"in_region","intent_confirmed":true}}"#
        )
    }

    fn hire(person: &str, start: &str, extra: &str) -> String {
        format!(
            r#"{{"type":"hire","person":"{person}","start_date":"{start}","workplace":"in_region","weekly_hours":40{extra}}}"#
        )
    }

    /// Seals `lines` in order, one microsecond apart, the n-th with id n.
    fn events(lines: &[String]) -> Vec<RecordedEvent> {
        let mut prev = GENESIS;
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let body: EventBody = serde_json::from_str(l).unwrap();
                let seq = i as u64 + 1;
                let r = RecordedEvent::seal(
                    seq,
                    1_000 + i as i64,
                    Uuid::from_u128(u128::from(seq)),
                    body,
                    &prev,
                );
                prev = r.hash;
                r
            })
            .collect()
    }

    fn figs(lines: &[String], known_at: Option<i64>) -> Figures {
        let as_of = Date::parse_iso("2025-03-31").unwrap();
        figures(
            &resolve(events(lines), known_at),
            Query {
                as_of,
                scope: Scope::FiscalYear,
            },
        )
    }

    fn menu_of<'a>(f: &'a Figures, id: &str) -> &'a MenuFigures {
        f.menus.iter().find(|m| m.menu == id).unwrap()
    }

    #[test]
    fn c_attr_an_outcome_counts_for_every_qualifying_menu_unless_it_names_some() {
        let base = vec![
            PROJECT.to_string(),
            menu("B-1", "B"),
            menu("C-1", "C"),
            att("B-1", "P", "2024-11-01"),
            att("C-1", "P", "2024-11-02"),
        ];
        let mut all = base.clone();
        all.push(hire("P", "2025-01-06", ""));
        let f = figs(&all, None);
        assert_eq!(
            (menu_of(&f, "B-1").outcome, menu_of(&f, "C-1").outcome),
            (1, 1)
        );
        let mut named = base;
        named.push(hire("P", "2025-01-06", r#","menus":["C-1"]"#));
        let f = figs(&named, None);
        assert_eq!(
            (menu_of(&f, "B-1").outcome, menu_of(&f, "C-1").outcome),
            (0, 1)
        );
    }

    /// An attendance before the contract start is no use of the programme:
    /// a person counted only then is not in the menu's output, so a later
    /// hire is excluded under XC-8 (in the cumulative figures as in the
    /// fiscal year's); and the first use an outcome must follow (XC-7) is
    /// the first attendance from the contract start.
    #[test]
    fn xc_8_an_attendance_before_the_contract_start_is_no_use_of_the_programme() {
        let cumulative = |lines: &[String]| {
            figures(
                &resolve(events(lines), None),
                Query {
                    as_of: Date::parse_iso("2025-03-31").unwrap(),
                    scope: Scope::Cumulative,
                },
            )
        };
        let before_only = vec![
            PROJECT.to_string(),
            menu("B-1", "B"),
            att("B-1", "P", "2024-09-20"),
            hire("P", "2025-01-06", ""),
        ];
        for f in [cumulative(&before_only), figs(&before_only, None)] {
            let m = menu_of(&f, "B-1");
            assert_eq!((m.output, m.outcome), (0, 0));
            assert_eq!(m.outcomes[0].verdict, Verdict::Excluded(RuleId::XC8));
        }
        // Attended before and after the start; hired between the two: the
        // hire precedes the first use from the start (XC-7).
        let both = vec![
            PROJECT.to_string(),
            menu("B-1", "B"),
            att("B-1", "P", "2024-09-20"),
            hire("P", "2024-11-05", ""),
            att("B-1", "P", "2024-11-10"),
        ];
        let f = cumulative(&both);
        let m = menu_of(&f, "B-1");
        assert_eq!((m.output, m.outcome), (1, 0));
        assert_eq!(m.outcomes[0].verdict, Verdict::Excluded(RuleId::XC7));
    }

    #[test]
    fn c_dedup_project_totals_count_each_outcome_once() {
        let lines = vec![
            PROJECT.to_string(),
            menu("B-1", "B"),
            menu("C-1", "C"),
            att("B-1", "P", "2024-11-01"),
            att("C-1", "P", "2024-11-02"),
            hire("P", "2025-01-06", ""),
        ];
        let f = figs(&lines, None);
        assert_eq!(f.menus.iter().map(|m| m.outcome).sum::<u64>(), 2);
        assert_eq!(f.total_outcome, 1);
        assert_eq!(f.total_output, 2);
    }

    #[test]
    fn xo_1_a_person_counts_once_per_menu() {
        let lines = vec![
            PROJECT.to_string(),
            menu("B-1", "B"),
            att("B-1", "P", "2024-11-01"),
            att("B-1", "P", "2024-12-01"),
        ];
        let m = figs(&lines, None).menus.remove(0);
        assert_eq!((m.output, m.attendances), (1, 2));
    }

    #[test]
    fn t_2_known_at_replays_only_what_was_recorded_by_then() {
        let lines = vec![
            PROJECT.to_string(),
            menu("B-1", "B"),
            att("B-1", "P", "2024-11-01"),
            att("B-1", "Q", "2024-11-01"),
        ];
        // Event n is recorded at 1000 + n - 1 µs.
        assert_eq!(figs(&lines, Some(1_002)).menus[0].output, 1);
        assert_eq!(figs(&lines, Some(1_003)).menus[0].output, 2);
        assert_eq!(figs(&lines, Some(1_001)).menus[0].output, 0);
    }

    #[test]
    fn t_3_corrections_replace_and_retractions_remove() {
        let mut lines = vec![
            PROJECT.to_string(),
            menu("B-1", "B"),
            att("B-1", "P", "2024-11-01"),
            att("B-1", "Q", "2024-11-01"),
        ];
        // Event 3 (P) was in fact unconfirmed; event 4 (Q) was a mistake.
        let fixed = att("B-1", "P", "2024-11-01").replace(r#","intent_confirmed":true"#, "");
        lines.push(format!(
            r#"{{"type":"correction","target":"{}","reason":"意思未確認","replacement":{fixed}}}"#,
            Uuid::from_u128(3)
        ));
        lines.push(format!(
            r#"{{"type":"retraction","target":"{}","reason":"誤登録"}}"#,
            Uuid::from_u128(4)
        ));
        let m = figs(&lines, None).menus.remove(0);
        assert_eq!(m.output, 0);
        assert_eq!(m.excluded.get(&RuleId::XO3), Some(&1));
        let s = &m.subjects[0];
        assert_eq!(s.attendances[0].corrected_by.as_ref().map(|c| c.0), Some(5));
    }

    /// Regression: a subject counted in an earlier fiscal year whose
    /// attendances in this year do not count was counted in this year's
    /// output, because the verdict of its first attendance ever was kept.
    #[test]
    fn f_1_an_earlier_years_verdict_does_not_count_this_year() {
        let unconfirmed = att("B-1", "P", "2025-05-01").replace(r#","intent_confirmed":true"#, "");
        let lines = vec![
            PROJECT.to_string(),
            menu("B-1", "B"),
            att("B-1", "P", "2024-11-01"),
            unconfirmed,
        ];
        let as_of = Date::parse_iso("2025-06-30").unwrap();
        let f = figures(
            &resolve(events(&lines), None),
            Query {
                as_of,
                scope: Scope::FiscalYear,
            },
        );
        assert_eq!(f.menus[0].output, 0);
        assert_eq!(f.menus[0].excluded.get(&RuleId::XO3), Some(&1));
        let c = figures(
            &resolve(events(&lines), None),
            Query {
                as_of,
                scope: Scope::Cumulative,
            },
        );
        assert_eq!(c.menus[0].output, 1);
    }

    #[test]
    fn e_8_targets_as_revised_by_the_as_of_date() {
        let mut lines = vec![PROJECT.to_string(), menu("B-1", "B")];
        lines.push(r#"{"type":"targets_revised","menu":"B-1","fiscal_year":2024,"output":8,"outcome":3,"date":"2025-01-15"}"#.into());
        let r = resolve(events(&lines), None);
        let at = |d: &str| {
            figures(
                &r,
                Query {
                    as_of: Date::parse_iso(d).unwrap(),
                    scope: Scope::FiscalYear,
                },
            )
            .menus[0]
                .output_target
        };
        assert_eq!(at("2025-01-14"), Some(10));
        assert_eq!(at("2025-01-15"), Some(8));
    }
}
