//! A fold's figures as curves: each figure as a step function of the
//! as-of date, so that a report of the same events at any as-of date and
//! either scope is a sum over a short list, with no pair read.
//!
//! [`Tally::finish`] reads every pair and judges every outcome for the one
//! date it is asked; at ten million events that is a quarter of a second,
//! plus reading the state back from a checkpoint first. Yet the figures
//! depend on the as-of date only through comparisons "date ≤ as-of" with
//! the dates the state holds (attendances' first and first counted dates,
//! outcome and offer dates) and, for E-3, with the start of a fiscal year.
//! So every unit of the figures is constant between its own dates:
//!
//! - a (menu, subject) pair gives its menu's output, in-region count,
//!   establishments or exclusion ([`pair_count`]);
//! - a person's outcomes give each menu's outcome, breakdown and
//!   exclusions, and the totals (C-DEDUP counts persons per menu and
//!   outcomes by seq, and both stay within one person's outcomes).
//!
//! [`Curves::build`] works each unit out at each of its own dates with the
//! functions `finish` uses ([`Tally::now`], [`Tally::judge_outcome`],
//! [`fold_outcomes`]), and keeps the changes, summed per (date, figure):
//! one curve for F-2 and one per fiscal year for F-1. [`Curves::summary`]
//! adds up the changes up to the as-of date. A unit test holds it to
//! `finish` on every date of a council's three years, both scopes.

use super::{
    days, fold_outcomes, pair_count, Judged, Lens, Menu, PairCount, States, SubjectsNow, Tally,
};
use crate::domain::values::{DATE_MAX, DATE_MIN};
use crate::domain::{Category, Date, DayCache, ProjectDefined};
use crate::projection::{targets, Breakdown, Figures, MenuFigures, Query};
use crate::rules::time::{fiscal_year, fiscal_year_end, fiscal_year_start, Scope, Window};
use crate::rules::RuleId;
use hashbrown::HashMap;
use std::collections::{BTreeMap, BTreeSet};

use super::Summary;

// A menu's figures, each a slot: `menu * fields() + field`.
const F_OUTPUT: usize = 0;
const F_IN_REGION: usize = 1;
const F_ESTABLISHMENTS: usize = 2;
const F_OUTCOME: usize = 3;
const F_HIRES: usize = 4;
const F_CONVERSIONS: usize = 5;
const F_FOUNDERS: usize = 6;
const F_STARTUP_EMPLOYEES: usize = 7;
/// How many (person, menu) rely on XC-7, C-RES and C-ATTR.
const F_XC7: usize = 8;
const F_CRES: usize = 9;
const F_CATTR: usize = 10;
/// Pairs excluded, by rule (`RuleId as usize`).
const F_PAIR_EXCLUDED: usize = 11;

/// Outcomes excluded, by rule, after the pairs'.
fn f_outcome_excluded() -> usize {
    F_PAIR_EXCLUDED + RuleId::ALL.len()
}

/// Slots per menu.
pub(super) fn fields() -> usize {
    F_PAIR_EXCLUDED + 2 * RuleId::ALL.len()
}

// The totals, in the slots after the last menu's.
/// Outcomes counted once each, by seq (C-DEDUP).
const T_COUNTED: usize = 0;
/// Start-ups' employees counted.
const T_EMPLOYEES: usize = 1;

/// The curve of F-2 (every fiscal year from the contract start).
pub(super) const CUMULATIVE: u16 = 0;

/// One change of one figure: on `day` (days from the common era) and
/// after, figure `slot` is `delta` more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Step {
    pub(super) day: i32,
    pub(super) slot: u32,
    pub(super) delta: i64,
}

/// A fold's figures at every as-of date ([`Curves::build`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    /// The seq of the last event folded.
    pub(super) last_seq: u64,
    /// Its chain hash: the curves are of exactly the events it commits to.
    pub(super) hash: [u8; 32],
    pub(super) project: Option<ProjectDefined>,
    pub(super) menus: Vec<Menu>,
    /// Counted attendances per (menu, day) (延べ).
    pub(super) days: Vec<(u16, i32, u64)>,
    /// The warnings that do not depend on the query.
    pub(super) warnings_base: u64,
    /// The fiscal years F-1 curves cover, first and last (other years are
    /// not answered: the caller folds).
    pub(super) years: (u16, u16),
    /// By [`CUMULATIVE`] or fiscal year, the steps in (day, slot) order.
    pub(super) curves: BTreeMap<u16, Vec<Step>>,
}

/// Changes being summed: per (curve, day), a row of the menus' counts and
/// the totals (the slots most changes touch), and the exclusions by
/// (curve, day, slot) apart (a row of them would take 90 slots a menu).
struct Acc {
    /// Slots in a row: the counts' ([`Layout::counts`]).
    width: usize,
    rows: HashMap<(u16, i32), usize>,
    data: Vec<i64>,
    /// The row last added to (most changes follow one another on a day).
    last: Option<((u16, i32), usize)>,
    excluded: HashMap<(u16, i32, u32), i64>,
}

impl Acc {
    fn new(lay: Layout) -> Acc {
        Acc {
            width: lay.counts(),
            rows: HashMap::new(),
            data: Vec::new(),
            last: None,
            excluded: HashMap::new(),
        }
    }

    /// Where the row of (`curve`, `day`) starts in `data`.
    fn row(&mut self, curve: u16, day: i32) -> usize {
        match self.last {
            Some((k, at)) if k == (curve, day) => at,
            _ => {
                let next = self.data.len();
                let at = *self.rows.entry((curve, day)).or_insert(next);
                if at == next {
                    self.data.resize(next + self.width, 0);
                }
                self.last = Some(((curve, day), at));
                at
            }
        }
    }

    /// Adds `d` to `slot` on (`curve`, `day`); `row`: that day's row, once
    /// found.
    fn add(&mut self, (curve, day): (u16, i32), slot: u32, d: i64, row: &mut Option<usize>) {
        let s = slot as usize;
        if s < self.width {
            let at = *row.get_or_insert_with(|| self.row(curve, day));
            self.data[at + s] += d;
        } else {
            *self.excluded.entry((curve, day, slot)).or_insert(0) += d;
        }
    }

    /// Adds the change from `prev` to `now` (each sorted by slot) on `day`.
    fn change(&mut self, curve: u16, day: i32, prev: &[(u32, i64)], now: &[(u32, i64)]) {
        let mut row = None;
        let (mut i, mut j) = (0, 0);
        while i < prev.len() || j < now.len() {
            let (slot, d) = match (prev.get(i), now.get(j)) {
                (Some(&(a, x)), Some(&(b, y))) if a == b => {
                    i += 1;
                    j += 1;
                    (a, y - x)
                }
                (Some(&(a, x)), Some(&(b, _))) if a < b => {
                    i += 1;
                    (a, -x)
                }
                (Some(&(a, x)), None) => {
                    i += 1;
                    (a, -x)
                }
                (_, Some(&(b, y))) => {
                    j += 1;
                    (b, y)
                }
                (None, None) => break,
            };
            if d != 0 {
                self.add((curve, day), slot, d, &mut row);
            }
        }
    }

    /// Adds `other`'s changes to these.
    fn absorb(&mut self, other: Acc) {
        for ((curve, day), at) in other.rows {
            let to = self.row(curve, day);
            for (k, &d) in other.data[at..at + other.width].iter().enumerate() {
                self.data[to + k] += d;
            }
        }
        for (k, d) in other.excluded {
            *self.excluded.entry(k).or_insert(0) += d;
        }
    }

    /// Every change, by curve, in (day, slot) order.
    fn steps(self) -> BTreeMap<u16, Vec<Step>> {
        let mut all: Vec<(u16, Step)> = Vec::new();
        for ((curve, day), at) in self.rows {
            for (slot, &delta) in self.data[at..at + self.width].iter().enumerate() {
                if delta != 0 {
                    let slot = slot as u32;
                    all.push((curve, Step { day, slot, delta }));
                }
            }
        }
        for ((curve, day, slot), delta) in self.excluded {
            if delta != 0 {
                all.push((curve, Step { day, slot, delta }));
            }
        }
        all.sort_unstable_by_key(|&(c, s)| (c, s.day, s.slot));
        let mut out: BTreeMap<u16, Vec<Step>> = BTreeMap::new();
        for (c, s) in all {
            out.entry(c).or_default().push(s);
        }
        out
    }
}

/// `v` sorted by slot, each slot once (summed).
fn settle(v: &mut Vec<(u32, i64)>) {
    v.sort_unstable_by_key(|&(s, _)| s);
    v.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 += b.1;
            true
        } else {
            false
        }
    });
    v.retain(|&(_, x)| x != 0);
}

/// Where each figure is among the slots of `n` menus: first each menu's
/// counts (the figures most changes touch, close together), then the
/// totals (as menu `n`), then each menu's exclusions by rule.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    pub(super) n: usize,
}

impl Layout {
    /// Slot of `field` of `menu` (of the totals, for menu `n`).
    fn at(self, menu: usize, field: usize) -> u32 {
        let counts = self.counts();
        let at = if field < F_PAIR_EXCLUDED {
            menu * F_PAIR_EXCLUDED + field
        } else {
            counts + menu * (fields() - F_PAIR_EXCLUDED) + field - F_PAIR_EXCLUDED
        };
        at as u32
    }

    /// How many slots the counts and totals take (those of the
    /// exclusions follow).
    fn counts(self) -> usize {
        self.n * F_PAIR_EXCLUDED + 2
    }

    /// How many slots.
    pub(super) fn width(self) -> usize {
        self.n * fields() + 2
    }
}

/// The points a unit is worked out at on `curve`: the curve's first day,
/// then each of the unit's `dates` (sorted) after it and within the
/// curve's span.
fn points(curve: u16, dates: &[Date]) -> Vec<Date> {
    // (A fiscal year reaching past the dates jisseki takes starts or ends
    // at the first or last of them.)
    let (lo, hi) = match curve {
        CUMULATIVE => (Date(DATE_MIN), Date(DATE_MAX)),
        y => (
            fiscal_year_start(y).unwrap_or(Date(DATE_MIN)),
            fiscal_year_end(y).unwrap_or(Date(DATE_MAX)),
        ),
    };
    let mut out = vec![lo];
    out.extend(dates.iter().copied().filter(|&d| lo < d && d <= hi));
    out
}

impl Curves {
    /// The curves of `t`, a fold whose last event has chain hash `hash`;
    /// `None` where [`Tally::finish`] would ask for a replay.
    pub fn build(t: &Tally, hash: [u8; 32]) -> Option<Curves> {
        if !t.finishes() {
            return None;
        }
        let states = States {
            persons: t.persons.states(),
            establishments: t.establishments.states(),
        };
        let warnings_base = t.warnings(&states, &[]) as u64;
        let days = t
            .days
            .iter()
            .filter(|(_, _, d)| d.counted > 0)
            .map(|(mi, date, d)| (mi, days(date), d.counted))
            .collect();
        let mut curves = Curves {
            last_seq: t.last_seq,
            hash,
            project: t.project.clone(),
            menus: t.menus.clone(),
            days,
            warnings_base,
            years: (1, 0),
            curves: BTreeMap::new(),
        };
        let Some(project) = &t.project else {
            return Some(curves);
        };
        let lay = Layout { n: t.menus.len() };
        // The latest date held: of an attendance (every pair's dates are
        // some attendance's), an outcome or an offer.
        let mut last = project.contract_start;
        for (_, d, _) in t.days.iter() {
            last = last.max(d);
        }
        for o in &t.outcomes {
            let (date, offer) = o.dates();
            last = last.max(date.unwrap_or(last)).max(offer.unwrap_or(last));
        }
        let years = (fiscal_year(project.contract_start), fiscal_year(last));
        // The pairs, and the outcomes in two halves by person, on every
        // core.
        let subjects = t.outcome_subjects(&states);
        drop(states);
        let halves = t.outcomes_by_person(2);
        let cs = project.contract_start;
        let (pairs, acc) = std::thread::scope(|s| {
            let (subjects, halves) = (&subjects, &halves);
            let pairs = crate::par::spawn_or_run(s, move || {
                let mut acc = Acc::new(lay);
                t.pair_curves(&mut acc);
                let whole = halves
                    .iter()
                    .skip(1)
                    .all(|half| t.outcome_curves(&mut acc, cs, years, subjects, half));
                (acc, whole)
            });
            let mut acc = Acc::new(lay);
            let whole = halves
                .first()
                .is_none_or(|half| t.outcome_curves(&mut acc, cs, years, subjects, half));
            (pairs.join(), (acc, whole))
        });
        let (mut acc, whole) = acc;
        match pairs {
            Ok((p, true)) if whole => acc.absorb(p),
            Ok(_) => return None,
            Err(panic) => std::panic::resume_unwind(panic),
        }
        curves.years = years;
        curves.curves = acc.steps();
        Some(curves)
    }

    /// The seq of the last event the curves hold.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The chain hash of that event.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// [`Tally::finish`] of the fold the curves were built from, for `q`;
    /// `None` for F-1 in a fiscal year they do not cover.
    pub fn summary(&self, q: Query) -> Option<Summary> {
        let warnings_base = usize::try_from(self.warnings_base).unwrap_or(usize::MAX);
        let Some(project) = self.project.clone() else {
            return Some(Summary {
                project: None,
                figures: Figures::none(q.as_of),
                warnings: warnings_base,
            });
        };
        let w = Window::new(q.as_of, project.contract_start, q.scope);
        let fy = (q.scope == Scope::FiscalYear).then(|| fiscal_year(q.as_of));
        if fy.is_some_and(|y| y < self.years.0 || y > self.years.1) {
            return None;
        }
        let at = days(q.as_of);
        let n = self.menus.len();
        let lay = Layout { n };
        let mut v = vec![0i64; lay.width()];
        for s in self
            .curves
            .get(&fy.unwrap_or(CUMULATIVE))
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .take_while(|s| s.day <= at)
        {
            // (Wrapping: the bytes are checked, not trusted with arithmetic.)
            if let Some(x) = v.get_mut(s.slot as usize) {
                *x = x.wrapping_add(s.delta);
            }
        }
        let get = |menu: usize, field: usize| {
            v.get(lay.at(menu, field) as usize)
                .map_or(0, |&x| u64::try_from(x).unwrap_or(0))
        };
        let mut interpretations = BTreeSet::new();
        let mut figs: Vec<MenuFigures> = Vec::with_capacity(n);
        for (mi, m) in self.menus.iter().enumerate() {
            let (output_target, outcome_target) = targets(&m.state, w.as_of, fy);
            let mut excluded = BTreeMap::new();
            for (i, &rule) in RuleId::ALL.iter().enumerate() {
                let x = get(mi, F_PAIR_EXCLUDED + i) + get(mi, f_outcome_excluded() + i);
                if x > 0 {
                    excluded.insert(rule, x);
                }
            }
            for (field, rule) in [
                (F_XC7, RuleId::XC7),
                (F_CRES, RuleId::CRES),
                (F_CATTR, RuleId::CATTR),
            ] {
                if get(mi, field) > 0 {
                    interpretations.insert(rule);
                }
            }
            figs.push(MenuFigures {
                menu: m.state.menu.clone(),
                category: m.state.category,
                kind: m.state.kind,
                name: m.state.def.name.0.clone(),
                output: get(mi, F_OUTPUT),
                outcome: get(mi, F_OUTCOME),
                output_target,
                outcome_target,
                outcome_breakdown: Breakdown {
                    hires: get(mi, F_HIRES),
                    conversions: get(mi, F_CONVERSIONS),
                    founders: get(mi, F_FOUNDERS),
                    startup_employees: get(mi, F_STARTUP_EMPLOYEES),
                },
                excluded,
                attendances: 0,
                in_region: get(mi, F_IN_REGION),
                output_establishments: get(mi, F_ESTABLISHMENTS),
                subjects: Vec::new(),
                outcomes: Vec::new(),
            });
        }
        for &(mi, day, counted) in &self.days {
            let holds = Date::from_days_from_ce(day).is_some_and(|d| w.holds(d));
            if let Some(m) = figs.get_mut(usize::from(mi)).filter(|_| holds) {
                m.attendances += counted;
            }
        }
        if self.menus.iter().any(|m| m.xo7_student <= at) {
            interpretations.insert(RuleId::XO7);
        }
        figs.sort_by(|a, b| a.menu.cmp(&b.menu));
        let total_output = figs.iter().map(|m| m.output).sum();
        let total_outcome = get(n, T_COUNTED) + get(n, T_EMPLOYEES);
        let warnings = warnings_base
            + figs
                .iter()
                .filter(|m| m.category != Category::A && m.outcome > m.output)
                .count();
        Some(Summary {
            project: Some(project),
            figures: Figures {
                menus: figs,
                total_output,
                total_outcome,
                interpretations,
                fiscal_year: fy,
                from: w.from,
            },
            warnings,
        })
    }
}

impl super::OutcomeRow {
    /// The outcome's own date (a hire's start, if known) and offer date.
    fn dates(&self) -> (Option<Date>, Option<Date>) {
        match self.terms {
            super::OutcomeTerms::Hire(h) => (h.start_date, h.offer_date),
            super::OutcomeTerms::Conversion(c) => (Some(c.date), None),
            super::OutcomeTerms::Startup(s) => (Some(s.date), None),
        }
    }
}

impl Tally {
    /// The dates a pair's figures may change on: each bucket's first and
    /// first counted attendance.
    fn pair_dates(&self, agg: &super::Agg, out: &mut Vec<Date>) {
        for b in self.buckets(agg) {
            out.extend(b.first().map(|(d, _)| d));
            out.extend(b.first_counted_date());
        }
    }

    /// Every pair's output (XO-1) on each curve, into `acc`.
    fn pair_curves(&self, acc: &mut Acc) {
        let lay = Layout {
            n: self.menus.len(),
        };
        let mut dates = Vec::new();
        let (mut prev, mut now) = (Vec::new(), Vec::new());
        for (key, agg) in self.pairs_ahead(0, 1) {
            let mi = (key >> 40) as usize;
            dates.clear();
            self.pair_dates(agg, &mut dates);
            dates.sort_unstable();
            dates.dedup();
            let mut years: Vec<u16> = self
                .buckets(agg)
                .map(|b| b.bucket)
                .filter(|&b| b != 0)
                .collect();
            years.sort_unstable();
            years.dedup();
            for curve in std::iter::once(CUMULATIVE).chain(years) {
                prev.clear();
                for as_of in points(curve, &dates) {
                    let lens = Lens {
                        as_of,
                        fiscal_bucket: (curve != CUMULATIVE).then_some(curve),
                    };
                    now.clear();
                    match pair_count(key, &self.now(agg, &lens)) {
                        PairCount::Counted {
                            in_region,
                            establishment,
                        } => {
                            now.push((lay.at(mi, F_OUTPUT), 1));
                            now.push((lay.at(mi, F_IN_REGION), i64::from(in_region)));
                            now.push((lay.at(mi, F_ESTABLISHMENTS), i64::from(establishment)));
                        }
                        PairCount::Excluded(rule) => {
                            now.push((lay.at(mi, F_PAIR_EXCLUDED + rule as usize), 1));
                        }
                        PairCount::None => {}
                    }
                    settle(&mut now);
                    acc.change(curve, days(as_of), &prev, &now);
                    std::mem::swap(&mut prev, &mut now);
                }
            }
        }
    }

    /// What the outcomes' curves need of every subject: its first
    /// counted attendance of the programme at any date, and the menus it
    /// attended. Where `finish` reads the first up to the as-of date, it
    /// does so only for a subject counted in the outcome's menu by then,
    /// whose first of the programme is by then too.
    fn outcome_subjects(&self, states: &States) -> SubjectsNow {
        let mut subjects = SubjectsNow::new(states.persons.len(), states.establishments.len());
        {
            let shared = subjects.shared();
            let all = Lens {
                as_of: Date(DATE_MAX),
                fiscal_bucket: None,
            };
            let parts = [0, 1];
            crate::par::parallel_map(&parts, 2, |&part| {
                self.pair_pass(part, parts.len(), &all, &shared);
            });
        }
        subjects.outcome_menus(&self.outcomes, &self.named, 50_000);
        subjects
    }

    /// The outcomes (by index) in the order of their persons, split in
    /// `parts` near-equal runs, no person's outcomes in two.
    fn outcomes_by_person(&self, parts: usize) -> Vec<Vec<(u32, u32)>> {
        let mut order: Vec<(u32, u32)> = self
            .outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| (o.person, i as u32))
            .collect();
        order.sort_unstable();
        let mut out = Vec::with_capacity(parts);
        let mut rest = order.as_slice();
        for left in (1..=parts.max(1)).rev() {
            let mut cut = rest.len() / left;
            while cut > 0 && cut < rest.len() && rest[cut].0 == rest[cut - 1].0 {
                cut += 1;
            }
            let (a, b) = rest.split_at(cut);
            out.push(a.to_vec());
            rest = b;
        }
        out
    }

    /// The outcomes of `order` ((person, index), by person), each person's
    /// (C-ATTR, C-DEDUP) on each curve, into `acc`: the F-2 curve and
    /// those of fiscal years `years`. False if an outcome gave more than a
    /// [`Res`] holds (no curves are made then).
    fn outcome_curves(
        &self,
        acc: &mut Acc,
        contract_start: Date,
        years: (u16, u16),
        subjects: &SubjectsNow,
        order: &[(u32, u32)],
    ) -> bool {
        let n = self.menus.len();
        let concerns = |i: usize, mi: u16| self.concerns(subjects, (i, &self.outcomes[i]), mi);
        let mut g = Group::default();
        let mut dates: Vec<Date> = Vec::new();
        let mut curves: Vec<u16> = Vec::new();
        let (mut prev, mut now) = (Vec::new(), Vec::new());
        let mut day_cache = DayCache::new();
        // The outcomes lie in seq order and their pairs where they first
        // came: each a cache miss at millions. So the outcomes a few
        // places on are brought in in stages, as `judge_outcomes` does:
        // the row and its menus, then each pair's lane entry, its pair,
        // and the pair's other buckets.
        let pair_keys = |oi: u32, f: &mut dyn FnMut(u64)| {
            let o = &self.outcomes[oi as usize];
            for mi in (0..n).map(|m| m as u16) {
                if concerns(oi as usize, mi) {
                    if let Some((kind, id, ..)) =
                        super::outcome_subject(o, &self.menus[usize::from(mi)])
                    {
                        f(super::agg_key(mi, super::subject_key(kind, id)));
                    }
                }
            }
        };
        const AHEAD: usize = 64;
        let mut staged = [0usize; 4];
        let mut at = 0usize;
        for run in order.chunk_by(|a, b| a.0 == b.0) {
            at += run.len();
            for (stage, next) in staged.iter_mut().enumerate() {
                let until = (at + AHEAD * (4 - stage) / 4).min(order.len());
                while *next < until {
                    let oi = order[*next].1;
                    match stage {
                        0 => {
                            super::flat::prefetch(self.outcomes.as_ptr().wrapping_add(oi as usize));
                            super::flat::prefetch(
                                subjects.outcome_menus.as_ptr().wrapping_add(oi as usize),
                            );
                        }
                        1 => pair_keys(oi, &mut |k| self.pairs.aggs.prefetch(k)),
                        2 => pair_keys(oi, &mut |k| self.pairs.aggs.prefetch_pair(k)),
                        _ => pair_keys(oi, &mut |k| {
                            if let Some(a) = self.pairs.aggs.get(k) {
                                if a.more != super::NO_MORE {
                                    super::flat::prefetch(
                                        self.pairs.more.as_ptr().wrapping_add(a.more as usize),
                                    );
                                }
                            }
                        }),
                    }
                    *next += 1;
                }
            }
            g.pool.append(&mut g.items);
            curves.clear();
            curves.push(CUMULATIVE);
            let mut every_year = false;
            for &(_, oi) in run {
                let o = &self.outcomes[oi as usize];
                let (date, offer) = o.dates();
                // The fiscal year whose window holds it (`None`: all).
                let year = date.or(offer).map(fiscal_year);
                match year {
                    Some(y) => curves.push(y),
                    None => every_year = true,
                }
                for mi in (0..n).map(|m| m as u16) {
                    if !concerns(oi as usize, mi) {
                        continue;
                    }
                    // (An outcome the menu cannot count gives it nothing.)
                    let Some((kind, id, ..)) =
                        super::outcome_subject(o, &self.menus[usize::from(mi)])
                    else {
                        continue;
                    };
                    // The dates its verdict may change on: its own and
                    // offer dates, the start of its fiscal year (E-3), and
                    // its subject's pair's dates in the menu.
                    let mut it = g.pool.pop().unwrap_or_default();
                    let own = &mut it.dates;
                    own.clear();
                    own.extend(date);
                    own.extend(offer);
                    own.extend(date.and_then(|d| fiscal_year_start(fiscal_year(d))));
                    let key = super::agg_key(mi, super::subject_key(kind, id));
                    if let Some(agg) = self.pairs.aggs.get(key) {
                        self.pair_dates(agg, own);
                    }
                    // Before its first date (its offer's, if earlier) the
                    // outcome is in no window (T-1, E-3): what happens then
                    // changes nothing.
                    let start = match (date, offer) {
                        (Some(d), o) => Some(o.map_or(d, |o| o.min(d))),
                        (None, o) => o,
                    };
                    own.retain(|&d| start.is_none_or(|s| d >= s));
                    own.sort_unstable();
                    own.dedup();
                    it.mi = mi;
                    it.oi = oi;
                    it.year = year;
                    it.start = start;
                    it.entries.clear();
                    it.excluded.clear();
                    g.items.push(it);
                }
            }
            if g.items.is_empty() {
                continue;
            }
            g.items.sort_unstable_by_key(|it| (it.mi, it.oi));
            // Each outcome's verdict in its menu from its first date on,
            // judged once at each of its dates, with the F-2 window: in a
            // fiscal year holding the outcome's date (or offer), F-1's
            // window admits and judges it as F-2's does (T-1, E-3: the
            // windows differ only before that year).
            for it in g.items.iter_mut() {
                it.changes.clear();
                let mut cur = Res::default();
                let first = it.start.is_none().then_some(Date(DATE_MIN));
                for k in 0..it.dates.len() + usize::from(first.is_some()) {
                    let as_of = match first {
                        Some(d) if k == 0 => d,
                        Some(_) => it.dates[k - 1],
                        None => it.dates[k],
                    };
                    let lens = Lens {
                        as_of,
                        fiscal_bucket: None,
                    };
                    let w = Window::new(as_of, contract_start, Scope::Cumulative);
                    let Some(r) =
                        self.judge_item(subjects, it, (&lens, &w), &mut day_cache, &mut g.scratch)
                    else {
                        return false;
                    };
                    if r != cur {
                        it.changes.push((as_of, r));
                        cur = r;
                    }
                }
            }
            if every_year {
                curves.extend(years.0..=years.1);
            }
            curves.retain(|&c| c == CUMULATIVE || (years.0..=years.1).contains(&c));
            curves.sort_unstable();
            curves.dedup();
            for &curve in &curves {
                prev.clear();
                // Under a fiscal year's curve, an outcome dated (or, without
                // a date, offered) in another year is never in the window.
                let present = |it: &Item| curve == CUMULATIVE || it.year.is_none_or(|y| y == curve);
                dates.clear();
                for it in g.items.iter_mut() {
                    it.at = 0;
                    it.entries.clear();
                    it.excluded.clear();
                    if present(it) {
                        dates.extend(it.changes.iter().map(|&(d, _)| d));
                    }
                }
                dates.sort_unstable();
                dates.dedup();
                for (k, as_of) in points(curve, &dates).into_iter().enumerate() {
                    // Each outcome's verdict as of this point; where none
                    // changed, nothing did.
                    let mut changed = k == 0;
                    for it in g.items.iter_mut().filter(|it| present(it)) {
                        let mut moved = None;
                        while let Some(&(_, r)) = it.changes.get(it.at).filter(|c| c.0 <= as_of) {
                            moved = Some(r);
                            it.at += 1;
                        }
                        if let Some(r) = moved {
                            r.set(it);
                            changed = true;
                        }
                    }
                    if !changed {
                        continue;
                    }
                    now.clear();
                    g.value(n, &mut now);
                    settle(&mut now);
                    acc.change(curve, days(as_of), &prev, &now);
                    std::mem::swap(&mut prev, &mut now);
                }
            }
        }
        true
    }

    /// What `it` gives as of the lens, judged as `finish` judges it;
    /// `None` if more than a [`Res`] holds.
    fn judge_item(
        &self,
        subjects: &SubjectsNow,
        it: &Item,
        (lens, w): (&Lens, &Window),
        day_cache: &mut DayCache,
        scratch: &mut Judged,
    ) -> Option<Res> {
        let menu = self.menus.get(usize::from(it.mi))?;
        scratch.entries.clear();
        scratch.excluded.clear();
        scratch.excluded.resize(RuleId::ALL.len(), 0);
        let o = &self.outcomes[it.oi as usize];
        self.judge_outcome(subjects, lens, o, (it.mi, menu), w, day_cache, scratch);
        let mut r = Res::default();
        for (k, &e) in scratch.entries.iter().enumerate() {
            *r.entries.get_mut(k)? = Some(e);
        }
        let mut k = 0;
        for (rule, &x) in scratch.excluded.iter().enumerate() {
            for _ in 0..x {
                *r.excluded.get_mut(k)? = Some(rule as u8);
                k += 1;
            }
        }
        Some(r)
    }
}

/// What one outcome gives one menu as of a date: its entries counted
/// and the rules it was excluded under (a start-up gives two, its
/// founder and its employees; any other outcome one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Res {
    entries: [Option<super::Entry>; 2],
    excluded: [Option<u8>; 2],
}

impl Res {
    /// Makes `it`'s current verdict this.
    fn set(&self, it: &mut Item) {
        it.entries.clear();
        it.entries.extend(self.entries.iter().flatten());
        it.excluded.clear();
        it.excluded
            .extend(self.excluded.iter().flatten().map(|&r| usize::from(r)));
    }
}

/// One outcome in one menu it concerns, and what it gives there as of
/// the last point it was judged at.
#[derive(Default)]
struct Item {
    mi: u16,
    oi: u32,
    /// The fiscal year of its date (or offer, without one); `None`: in
    /// every year's window.
    year: Option<u16>,
    /// Its first date in any window (`None`: in every window).
    start: Option<Date>,
    /// The dates its verdict may change on from then, sorted.
    dates: Vec<Date>,
    /// Its verdict from each date it changes on ([`Res`]).
    changes: Vec<(Date, Res)>,
    /// How many of `changes` the current verdict has passed.
    at: usize,
    /// The current verdict.
    entries: Vec<super::Entry>,
    /// The rules it was excluded under (`RuleId as usize`).
    excluded: Vec<usize>,
}

/// One person's outcomes in every menu they concern ([`Item`]).
#[derive(Default)]
struct Group {
    items: Vec<Item>,
    /// Items of earlier groups, for their buffers.
    pool: Vec<Item>,
    scratch: Judged,
    /// A menu's judged outcomes, put together ([`Group::value`]).
    menu: Judged,
    counted: Vec<u64>,
    employees: Vec<(u64, u64)>,
}

impl Group {
    /// What the person's outcomes give as judged (items in menu order),
    /// as `finish` adds them up: into `out`, as (slot, value).
    fn value(&mut self, n: usize, out: &mut Vec<(u32, i64)>) {
        let lay = Layout { n };
        let (counted, employees, j) = (&mut self.counted, &mut self.employees, &mut self.menu);
        counted.clear();
        employees.clear();
        for run in self.items.chunk_by(|a, b| a.mi == b.mi) {
            let m = usize::from(run[0].mi);
            j.entries.clear();
            j.excluded.clear();
            j.excluded.resize(RuleId::ALL.len(), 0);
            for it in run {
                j.entries.extend_from_slice(&it.entries);
                for &r in &it.excluded {
                    if let Some(x) = j.excluded.get_mut(r) {
                        *x += 1;
                    }
                }
            }
            if j.entries.is_empty() && j.excluded.iter().all(|&x| x == 0) {
                continue;
            }
            let mut seen = false;
            let mo = fold_outcomes(j, |_| !std::mem::replace(&mut seen, true));
            let b = &mo.breakdown;
            for (field, x) in [
                (F_OUTCOME, mo.outcome),
                (F_HIRES, b.hires),
                (F_CONVERSIONS, b.conversions),
                (F_FOUNDERS, b.founders),
                (F_STARTUP_EMPLOYEES, b.startup_employees),
            ] {
                out.push((lay.at(m, field), x as i64));
            }
            for (rule, x) in &mo.excluded {
                out.push((lay.at(m, f_outcome_excluded() + *rule as usize), *x as i64));
            }
            for (field, rule) in [
                (F_XC7, RuleId::XC7),
                (F_CRES, RuleId::CRES),
                (F_CATTR, RuleId::CATTR),
            ] {
                if mo.interpretations.contains(&rule) {
                    out.push((lay.at(m, field), 1));
                }
            }
            counted.extend(&mo.counted);
            // By seq, as `finish` keeps them (a start-up's employees are
            // the same in every menu that counts them).
            for (seq, units) in mo.employees {
                match employees.iter_mut().find(|(s, _)| *s == seq) {
                    Some(e) => e.1 = units,
                    None => employees.push((seq, units)),
                }
            }
        }
        counted.sort_unstable();
        counted.dedup();
        out.push((lay.at(n, T_COUNTED), counted.len() as i64));
        out.push((
            lay.at(n, T_EMPLOYEES),
            employees.iter().map(|&(_, u)| u as i64).sum(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EventBody;

    /// A council of three years, larger than the demo, as (seq, body).
    fn council(participants: u32, seed: u64) -> Vec<(u64, EventBody)> {
        super::super::tests::council_of(&crate::synth::SynthConfig {
            participants,
            establishments: participants / 10,
            seed,
            ..crate::synth::SynthConfig::default()
        })
    }

    #[test]
    fn curves_give_what_finish_gives_on_every_date_and_scope() {
        for (participants, seed) in [(600, 7), (2_000, 11)] {
            let events = council(participants, seed);
            let mut t = Tally::new();
            for (seq, body) in &events {
                t.event(*seq, &body.view(), &super::super::Standings::default())
                    .unwrap();
            }
            let curves = Curves::build(&t, [7; 32]).unwrap();
            assert_eq!(Curves::decode(&curves.encode()).unwrap(), curves);
            let start = curves.project.as_ref().unwrap().contract_start;
            let mut day = days(start) - 40;
            let end = days(start) + 3 * 366 + 40;
            let mut checked = 0;
            while day <= end {
                let as_of = Date::from_days_from_ce(day).unwrap();
                for scope in [Scope::Cumulative, Scope::FiscalYear] {
                    let q = Query { as_of, scope };
                    let want = t.finish(q).unwrap();
                    if let Some(got) = curves.summary(q) {
                        assert_eq!(
                            format!("{got:?}"),
                            format!("{want:?}"),
                            "as of {as_of:?}, {scope:?}"
                        );
                        checked += 1;
                    }
                }
                day += 1;
            }
            assert!(checked > 5 * 365, "{checked}");
            // Not vacuous: the council has outputs and outcomes.
            let q = Query {
                as_of: Date::from_days_from_ce(end).unwrap(),
                scope: Scope::Cumulative,
            };
            let f = curves.summary(q).unwrap().figures;
            assert!(f.total_output > 100 && f.total_outcome > 10, "{f:?}");
            assert!(f.menus.iter().any(|m| !m.excluded.is_empty()));
        }
    }
}
