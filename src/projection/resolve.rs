//! Replays the journal into the facts as they stand: corrections applied,
//! retractions removed (T-3), and only events recorded by the known-at time
//! (T-2).

use crate::domain::{
    Category, Date, EventBody, MenuDefined, MenuKind, ProjectDefined, TargetsRevised,
};
use crate::journal::chain::Hash;
use crate::journal::{RecordedEvent, GENESIS};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// An event as it stands after corrections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The seq of the original event.
    pub seq: u64,
    /// The id of the original event.
    pub id: Uuid,
    /// The content: the original's, or the latest correction's replacement.
    pub body: EventBody,
    /// The correction whose replacement this is.
    pub corrected_by: Option<(u64, Uuid)>,
}

/// A menu as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuState {
    /// The menu id.
    pub menu: String,
    /// Category.
    pub category: Category,
    /// Kind.
    pub kind: MenuKind,
    /// The definition (as corrected).
    pub def: MenuDefined,
    /// Target revisions, in seq order (E-8).
    pub revisions: Vec<TargetsRevised>,
    /// Dates of its sessions.
    pub sessions: Vec<Date>,
}

/// The facts of a ledger at a moment of transaction time.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// The project.
    pub project: Option<ProjectDefined>,
    /// The menus, by id.
    pub menus: BTreeMap<String, MenuState>,
    /// Every fact in seq order (definitions included).
    pub facts: Vec<Fact>,
    /// The last event read: its seq (0 when none).
    pub last_seq: u64,
    /// The hash of the last event read.
    pub last_hash: Hash,
}

impl Resolved {
    /// The latest date anything happened (the default as-of date of
    /// `check` and `chart`); the earliest accepted date when there is none.
    pub fn latest_date(&self) -> Date {
        self.facts
            .iter()
            .filter_map(|f| f.body.date())
            .max()
            .unwrap_or(Date(crate::domain::DATE_MIN))
    }
}

/// Replays `events` (in seq order), keeping those recorded at or before
/// `known_at_us` when given (T-2).
pub fn resolve<I: IntoIterator<Item = RecordedEvent>>(
    events: I,
    known_at_us: Option<i64>,
) -> Resolved {
    let mut slots: Vec<Option<Fact>> = Vec::new();
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    let mut last_seq = 0;
    let mut last_hash = GENESIS;
    for e in events {
        // recorded_at never decreases along seq, so the first event past the
        // known-at time ends the replay.
        if known_at_us.is_some_and(|t| e.recorded_at_us > t) {
            break;
        }
        last_seq = e.seq;
        last_hash = e.hash;
        match e.body {
            EventBody::Retraction(r) => {
                if let Some(&i) = index.get(&r.target) {
                    slots[i] = None;
                }
            }
            EventBody::Correction(c) => {
                if let Some(Some(fact)) = index.get(&c.target).map(|&i| &mut slots[i]) {
                    fact.body = *c.replacement;
                    fact.corrected_by = Some((e.seq, e.id));
                }
            }
            body => {
                index.insert(e.id, slots.len());
                slots.push(Some(Fact {
                    seq: e.seq,
                    id: e.id,
                    body,
                    corrected_by: None,
                }));
            }
        }
    }
    let facts: Vec<Fact> = slots.into_iter().flatten().collect();
    let mut project = None;
    let mut menus = BTreeMap::new();
    for f in &facts {
        match &f.body {
            EventBody::ProjectDefined(p) => project = Some(p.clone()),
            EventBody::MenuDefined(m) => {
                menus.insert(
                    m.menu.0.clone(),
                    MenuState {
                        menu: m.menu.0.clone(),
                        category: m.category,
                        kind: m.kind,
                        def: m.clone(),
                        revisions: Vec::new(),
                        sessions: Vec::new(),
                    },
                );
            }
            _ => {}
        }
    }
    for f in &facts {
        match &f.body {
            EventBody::TargetsRevised(t) => {
                if let Some(m) = menus.get_mut(t.menu.as_str()) {
                    m.revisions.push(t.clone());
                }
            }
            EventBody::SessionHeld(s) => {
                if let Some(m) = menus.get_mut(s.menu.as_str()) {
                    m.sessions.push(s.date);
                }
            }
            _ => {}
        }
    }
    Resolved {
        project,
        menus,
        facts,
        last_seq,
        last_hash,
    }
}
