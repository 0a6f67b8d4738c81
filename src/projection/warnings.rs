//! Warnings that catch data-entry mistakes without refusing them (U-2:
//! everything is recorded; the rules decide). `report` counts them and
//! `jisseki check` lists them.

use super::{event_ref, EventRef, Figures, Resolved};
use crate::domain::{Category, Date, EventBody, Place};
use crate::i18n::Lang;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// An outcome for a person who never attended any menu.
    OutcomeWithoutAttendance,
    /// An outcome dated before the person's first attendance.
    OutcomeBeforeFirstAttendance,
    /// An establishment's location differs between its attendances.
    LocationChanges,
    /// An attendance on a date with no session of its menu.
    AttendanceWithoutSession,
    /// More B/C outcomes than outputs in a menu.
    MoreOutcomesThanOutputs,
}

impl WarningKind {
    /// A short message for people.
    pub fn describe(self, lang: Lang) -> &'static str {
        use WarningKind::*;
        match (self, lang) {
            (OutcomeWithoutAttendance, Lang::Ja) => "どのメニューにも参加していない人のアウトカム",
            (OutcomeWithoutAttendance, Lang::En) => "outcome for a person who never attended",
            (OutcomeBeforeFirstAttendance, Lang::Ja) => "初回参加より前の日付のアウトカム",
            (OutcomeBeforeFirstAttendance, Lang::En) => {
                "outcome dated before the person's first attendance"
            }
            (LocationChanges, Lang::Ja) => "事業所の所在地がイベントによって異なる",
            (LocationChanges, Lang::En) => "establishment location differs between events",
            (AttendanceWithoutSession, Lang::Ja) => {
                "その日に講習会等開催（session_held）のないメニューへの参加"
            }
            (AttendanceWithoutSession, Lang::En) => {
                "attendance on a date with no session_held of the menu"
            }
            (MoreOutcomesThanOutputs, Lang::Ja) => "B/C メニューでアウトカムがアウトプットより多い",
            (MoreOutcomesThanOutputs, Lang::En) => "more outcomes than outputs in a B/C menu",
        }
    }
}

/// One warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// What kind.
    pub kind: WarningKind,
    /// The event concerned, if one.
    pub event: Option<EventRef>,
    /// The menu, person or establishment concerned.
    pub about: String,
    /// Details (dates, figures).
    pub detail: String,
}

/// Every warning about the facts, and about figures already computed.
pub fn warnings(r: &Resolved, f: &Figures) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut first_attendance: BTreeMap<&str, Date> = BTreeMap::new();
    let mut locations: BTreeMap<&str, BTreeSet<&'static str>> = BTreeMap::new();
    for fact in &r.facts {
        let EventBody::Attendance(a) = &fact.body else {
            continue;
        };
        if let Some(p) = &a.person {
            let e = first_attendance.entry(p.as_str()).or_insert(a.date);
            *e = (*e).min(a.date);
        }
        if let (Some(e), Some(loc)) = (&a.establishment, a.establishment_location) {
            if loc != Place::Unknown {
                locations
                    .entry(e.as_str())
                    .or_default()
                    .insert(loc.as_str());
            }
        }
        if let Some(m) = r.menus.get(a.menu.as_str()) {
            if !m.sessions.contains(&a.date) {
                out.push(Warning {
                    kind: WarningKind::AttendanceWithoutSession,
                    event: Some(event_ref(fact)),
                    about: a.menu.0.clone(),
                    detail: a.date.to_string(),
                });
            }
        }
    }
    for fact in &r.facts {
        let (person, date) = match &fact.body {
            EventBody::Hire(h) => (&h.person, h.start_date.or(h.offer_date)),
            EventBody::Conversion(c) => (&c.person, Some(c.date)),
            EventBody::Startup(s) => (&s.person, Some(s.date)),
            _ => continue,
        };
        match (first_attendance.get(person.as_str()), date) {
            (None, _) => out.push(Warning {
                kind: WarningKind::OutcomeWithoutAttendance,
                event: Some(event_ref(fact)),
                about: person.0.clone(),
                detail: String::new(),
            }),
            (Some(first), Some(d)) if d < *first => out.push(Warning {
                kind: WarningKind::OutcomeBeforeFirstAttendance,
                event: Some(event_ref(fact)),
                about: person.0.clone(),
                detail: format!("{d} < {first}"),
            }),
            _ => {}
        }
    }
    for (e, locs) in locations.iter().filter(|(_, l)| l.len() > 1) {
        out.push(Warning {
            kind: WarningKind::LocationChanges,
            event: None,
            about: (*e).to_string(),
            detail: locs.iter().copied().collect::<Vec<_>>().join(", "),
        });
    }
    for m in f
        .menus
        .iter()
        .filter(|m| m.category != Category::A && m.outcome > m.output)
    {
        out.push(Warning {
            kind: WarningKind::MoreOutcomesThanOutputs,
            event: None,
            about: m.menu.clone(),
            detail: format!("{} > {}", m.outcome, m.output),
        });
    }
    out.sort_by(|a, b| {
        (a.kind, a.event.as_ref().map(|e| e.seq)).cmp(&(b.kind, b.event.as_ref().map(|e| e.seq)))
    });
    out
}
