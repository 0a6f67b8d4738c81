//! The report's fold: the figures of [`super::figures`] without the lists
//! `explain` needs, in one streaming pass and small memory.
//!
//! [`super::figures`] keeps every fact and every subject's attendances, so
//! that `explain` can walk from a figure to its events. A report needs only
//! the numbers, and a national ledger holds tens of millions of events, so
//! this fold reads each event once, as a borrowed [`BodyView`], and keeps:
//!
//! - ids interned to small integers (persons and establishments apart);
//! - per (menu, subject) and per *bucket* (the fiscal year of the date, or
//!   "before the contract start") the first attendance and the first
//!   counted one, by (date, seq);
//! - per (menu, date) the counted attendances (延べ);
//! - the outcome events, compactly, decided per menu at the end, when every
//!   first use is known (C-ATTR, C-DEDUP).
//!
//! None of that depends on the query: the as-of date, the window (F-1,
//! F-2), the first counted attendance up to the as-of date (XC-7, C-RES,
//! the in-region share) and each subject's first counted attendance of the
//! programme (XC-2, XC-3) are all read from the buckets in
//! [`Tally::finish`]. A fold can therefore be saved as a checkpoint
//! ([`Tally::encode`]) and continued with later events, and one state
//! answers every as-of date and both scopes.
//!
//! The rules are the same functions `figures` calls ([`output::verdict`],
//! the [`outcome`] rules, [`Window`]); only the bookkeeping differs. Events
//! arrive in seq order, so "the first by (date, seq)" is "the first with
//! the least date". A property test holds this fold to `figures` on
//! random ledgers (`tests/figures_props.rs`).
//!
//! The fold relies on what the ledger guarantees: the project and a menu
//! are defined before anything refers to them, and once. When a stream
//! breaks that (a hand-made event list), [`Tally::fact`] says so with
//! [`NeedsReplay`] and the caller uses `figures` instead.

mod checkpoint;
mod curves;
mod flat;

pub use checkpoint::{fingerprint, StateError, FORMAT as STATE_FORMAT};
pub use curves::Curves;

use super::resolve::MenuState;
use super::{targets, Breakdown, Figures, MenuFigures, Query};
use crate::domain::{
    AttendanceTerms, BodyView, Category, ConversionTerms, Date, DayCache, EventBody, FiscalYear,
    HireTerms, MenuKind, Place, ProjectDefined, Role, School, StartupTerms, Student,
};
use crate::rules::outcome::{self, FirstUse};
use crate::rules::output::{self, subject_kind};
use crate::rules::time::{fiscal_year, Scope, Window};
use crate::rules::{RuleId, SubjectKind, Verdict};
use hashbrown::{HashMap, HashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::Relaxed};

/// How an event stands after the corrections and retractions recorded by
/// the known-at time (T-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Retracted: it counts nowhere.
    Retracted,
    /// Corrected: the latest replacement stands in its place.
    Corrected(EventBody),
}

/// A correction or retraction: the seq of its target, its own seq, and
/// whether it retracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Effect {
    /// The seq of the event corrected or retracted.
    pub target: u64,
    /// The seq of the correction or retraction.
    pub by: u64,
    /// A retraction (else a correction).
    pub retraction: bool,
}

/// Each corrected or retracted seq's standing, looked up for every event a
/// fold reads (hashed without SipHash: a seq is no secret).
pub type Standings = hashbrown::HashMap<u64, Standing>;

/// How each target stands, from its effects (as `resolve` applies them in
/// seq order: any retraction removes; else the latest correction's
/// replacement stands). `replacement` gives the replacement body of the
/// correction at a seq.
pub fn standings<E>(
    mut effects: Vec<Effect>,
    mut replacement: impl FnMut(u64) -> Result<EventBody, E>,
) -> Result<Standings, E> {
    effects.sort();
    let mut out = Standings::default();
    for run in effects.chunk_by(|a, b| a.target == b.target) {
        let standing = if run.iter().any(|e| e.retraction) {
            Standing::Retracted
        } else {
            match run.last() {
                Some(last) => Standing::Corrected(replacement(last.by)?),
                None => continue,
            }
        };
        out.insert(run[0].target, standing);
    }
    Ok(out)
}

/// The stream cannot be folded in one pass (a definition came after what
/// refers to it, or came twice); replay it with `figures`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the events need a full replay (a definition follows what refers to it)")]
pub struct NeedsReplay;

/// What the fold keeps of one subject, beside its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SubjectState {
    /// The first attendance of a person, any menu, any date (warnings).
    first_attendance: i32,
    /// Locations an establishment was recorded at: bit 0 in, bit 1 out.
    places: u8,
}

impl Default for SubjectState {
    fn default() -> Self {
        SubjectState {
            first_attendance: NONE_DAY,
            places: 0,
        }
    }
}

/// Ids interned to dense `u32`s, with their [`SubjectState`].
type Interner = flat::IdTable;

/// A subject as a small integer: the kind in bit 32, the interned id below.
type SubjectKey = u64;

fn subject_key(kind: SubjectKind, id: u32) -> SubjectKey {
    match kind {
        SubjectKind::Establishment => (1 << 32) | u64::from(id),
        SubjectKind::Person => u64::from(id),
    }
}

fn agg_key(menu: u16, subject: SubjectKey) -> u64 {
    (u64::from(menu) << 40) | subject
}

/// The bucket of an attendance dated `d`: its fiscal year, or 0 before the
/// contract start. No window holds those, and they are no use of the
/// programme: never a subject's first counted attendance (XC-7, XC-8).
fn bucket_of(d: Date, contract_start: Date) -> u16 {
    if d < contract_start {
        0
    } else {
        fiscal_year(d)
    }
}

/// The first counted attendance of a subject in a menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FirstCounted {
    terms: PackedTerms,
    rule: RuleId,
    in_region: bool,
}

/// [`AttendanceTerms`] in 8 bytes instead of 16: the date, and every other
/// field in the bits of one `u32` (a bucket is kept for every (menu,
/// subject, fiscal year), millions of them). Lossless: [`PackedTerms::unpack`]
/// gives back what [`PackedTerms::pack`] was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PackedTerms {
    date: Date,
    /// From bit 0: role (3 bits); residence, establishment location, wants
    /// in region, intent confirmed, freelance (2 bits each: 0 absent, else
    /// 1 + the value's index); student present (1), school (1), graduating
    /// year (16).
    bits: u32,
}

impl PackedTerms {
    fn pack(t: &AttendanceTerms) -> PackedTerms {
        fn place(p: Option<Place>) -> u32 {
            p.map_or(0, |p| 1 + p as u32)
        }
        fn flag(b: Option<bool>) -> u32 {
            b.map_or(0, |b| 1 + u32::from(b))
        }
        let student = t.student.map_or(0, |s| {
            1 | (s.school as u32) << 1 | u32::from(s.graduating_year.0) << 2
        });
        PackedTerms {
            date: t.date,
            bits: t.role as u32
                | place(t.residence) << 3
                | place(t.establishment_location) << 5
                | flag(t.wants_in_region) << 7
                | flag(t.intent_confirmed) << 9
                | flag(t.freelance) << 11
                | student << 13,
        }
    }

    fn unpack(&self) -> AttendanceTerms {
        let b = self.bits;
        let field = |at: u32| (b >> at) & 3;
        let place = |at: u32| match field(at) {
            0 => None,
            i => Place::ALL.get(i as usize - 1).copied(),
        };
        let flag = |at: u32| match field(at) {
            0 => None,
            i => Some(i == 2),
        };
        let student = (b >> 13) & 1 == 1;
        AttendanceTerms {
            date: self.date,
            role: Role::ALL
                .get((b & 7) as usize)
                .copied()
                .unwrap_or(Role::JobSeeker),
            residence: place(3),
            establishment_location: place(5),
            wants_in_region: flag(7),
            intent_confirmed: flag(9),
            freelance: flag(11),
            student: student.then(|| Student {
                school: School::ALL
                    .get(((b >> 14) & 1) as usize)
                    .copied()
                    .unwrap_or(School::University),
                graduating_year: FiscalYear((b >> 15) as u16),
            }),
        }
    }
}

/// What one (menu, subject) pair holds of its attendances in one bucket:
/// the first attendance (by date, then seq) and its verdict, and the first
/// counted attendance, in 16 bytes (a bucket is kept for every (menu,
/// subject, fiscal year), millions of them, and on this machine every
/// megabyte a fold first writes costs 1.5-2.5 ms; docs/PERFORMANCE.md).
/// Read through [`Bucket::first`] and [`Bucket::first_counted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bucket {
    /// The first attendance's date.
    first_date: Option<Date>,
    /// The first counted attendance's date.
    counted_date: Option<Date>,
    /// The first counted attendance's other terms ([`PackedTerms::bits`],
    /// bits 0-30) and whether it was in the region (bit 31).
    counted_bits: u32,
    /// [`bucket_of`] the attendances.
    bucket: u16,
    /// The first attendance's verdict ([`verdict_code`]).
    first_verdict: u8,
    /// The rule that counted the first counted attendance ([`rule_code`]).
    counted_rule: u8,
}

/// Bit 31 of [`Bucket::counted_bits`]: in the region.
const IN_REGION_BIT: u32 = 1 << 31;
/// The flag of a counting verdict in [`verdict_code`].
const COUNTED_CODE: u8 = 0x80;

// Every rule's index fits the seven bits a verdict's code leaves it.
const _: () = assert!(RuleId::ALL.len() < COUNTED_CODE as usize);

/// A rule as one byte: its index in [`RuleId::ALL`] (a test holds each
/// rule's discriminant to its index).
fn rule_code(r: RuleId) -> u8 {
    r as u8
}

/// The rule of [`rule_code`] `c` (only ever given codes it made).
fn rule_of(c: u8) -> RuleId {
    let r = RuleId::ALL.get(usize::from(c & !COUNTED_CODE)).copied();
    debug_assert!(r.is_some(), "rule code {c}");
    r.unwrap_or(RuleId::ALL[0])
}

/// A verdict as one byte: its rule's code, with [`COUNTED_CODE`] when it
/// counts.
fn verdict_code(v: Verdict) -> u8 {
    match v {
        Verdict::Counted(r) => COUNTED_CODE | rule_code(r),
        Verdict::Excluded(r) => rule_code(r),
    }
}

/// The verdict of [`verdict_code`] `c`.
fn verdict_of(c: u8) -> Verdict {
    if c & COUNTED_CODE != 0 {
        Verdict::Counted(rule_of(c))
    } else {
        Verdict::Excluded(rule_of(c))
    }
}

impl Bucket {
    const fn new(bucket: u16) -> Bucket {
        Bucket {
            first_date: None,
            counted_date: None,
            counted_bits: 0,
            bucket,
            first_verdict: 0,
            counted_rule: 0,
        }
    }

    /// A bucket holding these (reading a saved state back).
    fn of(bucket: u16, first: Option<(Date, Verdict)>, counted: Option<FirstCounted>) -> Bucket {
        let mut b = Bucket::new(bucket);
        if let Some((d, v)) = first {
            b.first_date = Some(d);
            b.first_verdict = verdict_code(v);
        }
        if let Some(f) = counted {
            b.set_first_counted(f);
        }
        b
    }

    /// The first attendance (by date, then seq) and its verdict.
    #[inline]
    fn first(&self) -> Option<(Date, Verdict)> {
        self.first_date.map(|d| (d, verdict_of(self.first_verdict)))
    }

    /// The first counted attendance's date.
    #[inline]
    fn first_counted_date(&self) -> Option<Date> {
        self.counted_date
    }

    /// The first counted attendance.
    #[inline]
    fn first_counted(&self) -> Option<FirstCounted> {
        self.counted_date.map(|date| FirstCounted {
            terms: PackedTerms {
                date,
                bits: self.counted_bits & !IN_REGION_BIT,
            },
            rule: rule_of(self.counted_rule),
            in_region: self.counted_bits & IN_REGION_BIT != 0,
        })
    }

    fn set_first_counted(&mut self, f: FirstCounted) {
        debug_assert_eq!(f.terms.bits & IN_REGION_BIT, 0);
        self.counted_date = Some(f.terms.date);
        self.counted_bits = f.terms.bits | if f.in_region { IN_REGION_BIT } else { 0 };
        self.counted_rule = rule_code(f.rule);
    }

    fn add(&mut self, t: &AttendanceTerms, verdict: Verdict, in_region: bool) {
        if self.first_date.is_none_or(|d| t.date < d) {
            self.first_date = Some(t.date);
            self.first_verdict = verdict_code(verdict);
        }
        if verdict.counts() && self.counted_date.is_none_or(|d| t.date < d) {
            self.set_first_counted(FirstCounted {
                terms: PackedTerms::pack(t),
                rule: verdict.rule(),
                in_region,
            });
        }
    }
}

/// The attendances of one menu on one day.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Day {
    all: u64,
    counted: u64,
}

/// Days kept in the dense table: a year before the contract start to
/// eleven after it. Other dates go to a map.
const DENSE_DAYS: i32 = 12 * 366;

/// [`Day`]s by (menu, date): a dense table per menu over the dates a
/// project uses (no hashing per attendance), and a map for the rest.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Days {
    /// The day at index 0 of each menu's table (a year before the contract
    /// start), once the project is known.
    base: Option<i32>,
    /// `DENSE_DAYS` entries per menu.
    dense: Vec<Day>,
    sparse: HashMap<(u16, Date), Day>,
}

impl Days {
    /// Adds to the (menu, date) entry; `contract_start` fixes the dense
    /// table's first day the first time it is known.
    fn add(&mut self, mi: u16, date: Date, contract_start: Option<Date>, all: u64, counted: u64) {
        if self.base.is_none() && self.dense.is_empty() {
            self.base = contract_start.map(|c| days(c) - 366);
        }
        let slot = self.base.and_then(|b| {
            let off = days(date) - b;
            (0..DENSE_DAYS)
                .contains(&off)
                .then(|| usize::from(mi) * DENSE_DAYS as usize + off as usize)
        });
        let d = match slot {
            Some(i) => {
                if self.dense.len() <= i {
                    self.dense
                        .resize((usize::from(mi) + 1) * DENSE_DAYS as usize, Day::default());
                }
                &mut self.dense[i]
            }
            None => self.sparse.entry((mi, date)).or_default(),
        };
        d.all += all;
        d.counted += counted;
    }

    /// Every non-empty entry: menu, date, counts.
    fn iter(&self) -> impl Iterator<Item = (u16, Date, Day)> + '_ {
        let dense = self.base.into_iter().flat_map(move |b| {
            self.dense.iter().enumerate().filter_map(move |(i, d)| {
                if d.all == 0 {
                    return None;
                }
                let mi = (i / DENSE_DAYS as usize) as u16;
                let date = Date::from_days_from_ce(b + (i % DENSE_DAYS as usize) as i32)?;
                Some((mi, date, *d))
            })
        });
        dense.chain(self.sparse.iter().map(|(&(mi, date), d)| (mi, date, *d)))
    }
}

/// No further buckets (`Agg::more`).
const NO_MORE: u32 = u32::MAX;

/// One (menu, subject) pair: the bucket it last used inline, any others
/// (a subject attending one menu in several fiscal years) in the span
/// `more..more + more_len` of `Pairs::more`, which has room for
/// `more_cap` buckets there.
#[derive(Debug, Clone, Copy)]
struct Agg {
    main: Bucket,
    more: u32,
    more_len: u16,
    more_cap: u16,
}

impl Agg {
    /// An aggregate of no attendance.
    #[cfg(test)]
    const EMPTY: Agg = Agg {
        main: Bucket::new(0),
        more: NO_MORE,
        more_len: 0,
        more_cap: 0,
    };
}

/// A judged attendance on its way to its (menu, subject) pair.
#[derive(Debug, Clone, Copy)]
struct PairOp {
    key: u64,
    bucket: u16,
    terms: AttendanceTerms,
    verdict: Verdict,
    in_region: bool,
}

/// The (menu, subject) pairs: what [`Tally`] keeps per pair, apart from
/// the rest of the fold so that another thread can own it while the events
/// are read and judged ([`Tally::pipelined`]).
#[derive(Default)]
struct Pairs {
    aggs: flat::AggTable,
    /// The buckets of pairs beyond their inline one, each pair's together
    /// in a block of a power-of-two size; a pair that outgrows its block
    /// moves to one twice the size, and its old block is reused by the
    /// next pair that needs one of that size (`free`).
    more: Vec<Bucket>,
    /// Free blocks by size: `free[k]` holds the starts of blocks of `2^k`.
    free: Vec<Vec<u32>>,
    /// The buckets in `free`'s blocks.
    free_buckets: usize,
}

impl Pairs {
    /// Applies `ops` in order, bringing the lane entry of the op
    /// `LANE_AHEAD` places on, and the pair of the one `PAIR_AHEAD` places
    /// on, into the cache while one is applied: at millions of pairs each
    /// is a cache miss, and this lets them overlap.
    fn apply_all(&mut self, ops: &[PairOp]) {
        const LANE_AHEAD: usize = 16;
        const PAIR_AHEAD: usize = 8;
        for (i, op) in ops.iter().enumerate() {
            if let Some(next) = ops.get(i + LANE_AHEAD) {
                self.aggs.prefetch(next.key);
            }
            if let Some(next) = ops.get(i + PAIR_AHEAD) {
                self.aggs.prefetch_pair(next.key);
            }
            self.apply(op);
        }
    }

    /// A block for `cap` buckets (a power of two): a free one, else new
    /// at the end.
    fn block(&mut self, cap: usize) -> usize {
        let k = cap.trailing_zeros() as usize;
        if let Some(start) = self.free.get_mut(k).and_then(Vec::pop) {
            self.free_buckets -= cap;
            return start as usize;
        }
        let start = self.more.len();
        // Grown by a quarter, not doubled: the arena is one of the
        // fold's largest tables.
        if self.more.capacity() - start < cap {
            self.more.reserve_exact((start / 4).max(cap).max(1024));
        }
        self.more.resize(start + cap, Bucket::new(0));
        start
    }

    /// The buckets of `agg` beyond its inline one.
    fn more_of(&self, agg: &Agg) -> &[Bucket] {
        match agg.more {
            NO_MORE => &[],
            start => {
                let start = start as usize;
                self.more
                    .get(start..start + usize::from(agg.more_len))
                    .unwrap_or(&[])
            }
        }
    }

    /// Gives back the block at `start` of `cap` buckets (only blocks of a
    /// power-of-two size are reused).
    fn release(&mut self, start: usize, cap: usize) {
        if cap.is_power_of_two() {
            let k = cap.trailing_zeros() as usize;
            if self.free.len() <= k {
                self.free.resize_with(k + 1, Vec::new);
            }
            self.free[k].push(start as u32);
            self.free_buckets += cap;
        }
    }

    fn apply(&mut self, op: &PairOp) {
        let (t, verdict, in_region, bucket) = (&op.terms, op.verdict, op.in_region, op.bucket);
        let agg = self.aggs.entry(op.key, || Agg {
            main: Bucket::new(bucket),
            more: NO_MORE,
            more_len: 0,
            more_cap: 0,
        });
        if agg.main.bucket == bucket {
            agg.main.add(t, verdict, in_region);
            return;
        }
        let (start, len, cap) = (
            agg.more as usize,
            usize::from(agg.more_len),
            usize::from(agg.more_cap),
        );
        let span = match agg.more {
            NO_MORE => &mut [][..],
            _ => self.more.get_mut(start..start + len).unwrap_or(&mut [][..]),
        };
        if let Some(i) = span.iter().position(|b| b.bucket == bucket) {
            std::mem::swap(&mut agg.main, &mut span[i]);
            agg.main.add(t, verdict, in_region);
            return;
        }
        let old = std::mem::replace(&mut agg.main, Bucket::new(bucket));
        agg.main.add(t, verdict, in_region);
        if agg.more != NO_MORE && len < cap {
            self.more[start + len] = old;
            agg.more_len += 1;
            return;
        }
        // A new block, twice the size (the first holds one bucket).
        let key = op.key;
        let new_cap = (len + 1).next_power_of_two();
        let new_start = self.block(new_cap);
        if len > 0 {
            self.more.copy_within(start..start + len, new_start);
        }
        self.more[new_start + len] = old;
        if let Some(agg) = self.aggs.get_mut(key) {
            agg.more = new_start as u32;
            agg.more_len = (len + 1) as u16;
            agg.more_cap = new_cap as u16;
        }
        if len > 0 {
            self.release(start, cap);
        }
    }

    /// Puts every pair's other buckets together, in the order of their
    /// spans, leaving out the spans a pair left behind when its own grew
    /// (moved to the end), and frees the room. Changes no figure.
    fn compact(&mut self) {
        let mut spans: Vec<(u32, usize)> = self
            .aggs
            .slots()
            .filter(|(_, a)| a.more != NO_MORE)
            .map(|(i, a)| (a.more, i))
            .collect();
        spans.sort_unstable();
        let mut to = 0usize;
        for (start, slot) in spans {
            let Some(agg) = self.aggs.at_mut(slot) else {
                continue;
            };
            let (start, len) = (start as usize, usize::from(agg.more_len));
            if start + len > self.more.len() {
                continue;
            }
            self.more.copy_within(start..start + len, to);
            agg.more = to as u32;
            agg.more_cap = agg.more_len;
            to += len;
        }
        self.more.truncate(to);
        self.more.shrink_to_fit();
        self.free.clear();
        self.free_buckets = 0;
    }
}

/// One (menu, subject) pair as of a query's date and window.
#[derive(Default, Clone, Copy)]
struct AggNow {
    /// The first counted attendance up to the as-of date.
    first_counted: Option<FirstCounted>,
    /// The first attendance in the window.
    window_first: Option<(Date, Verdict)>,
    /// The first counted attendance in the window.
    window_first_counted: Option<(Date, Verdict)>,
}

/// What a query asks of the buckets.
#[derive(Clone, Copy)]
struct Lens {
    as_of: Date,
    /// The bucket of the fiscal year the window covers; `None`: every
    /// bucket from the contract start (F-2).
    fiscal_bucket: Option<u16>,
}

impl Lens {
    fn in_window(&self, bucket: u16) -> bool {
        bucket != 0 && self.fiscal_bucket.is_none_or(|b| b == bucket)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutcomeTerms {
    Hire(HireTerms),
    Conversion(ConversionTerms),
    Startup(StartupTerms),
}

/// An outcome event, kept until every first use is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OutcomeRow {
    seq: u64,
    person: u32,
    employer: Option<u32>,
    /// Index into `Tally::named`, or `u32::MAX` when no menus are named.
    named: u32,
    terms: OutcomeTerms,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Menu {
    state: MenuState,
    /// The first date of an attendance excluded under XO-7 that carried a
    /// student status (the XO-7 interpretation is then cited).
    xo7_student: i32,
}

/// The most persons [`Tally::expect_events`] makes room for ahead: a
/// table of 2^22 slots, 128 MB.
const PERSONS_RESERVED_MAX: usize = 2_000_000;

/// The streaming fold (see the module documentation).
pub struct Tally {
    project: Option<ProjectDefined>,
    menus: Vec<Menu>,
    /// Looked up for every attendance, so not with SipHash.
    menu_index: hashbrown::HashMap<String, u16>,
    /// Menus referred to before (or without) being defined.
    unknown_menus: HashSet<String>,
    persons: Interner,
    establishments: Interner,
    /// The (menu, subject) pairs. Attendances reach them through
    /// `pending`, so that a long fold can update them on another core.
    pairs: Pairs,
    /// Judged attendances not yet applied to `pairs`: every method that
    /// folds events applies them before it returns, except inside
    /// [`Tally::pipelined`], which hands them to its worker.
    pending: Vec<PairOp>,
    /// Attendances per (menu, date): all of them, for sessions (warnings),
    /// and the counted ones (延べ).
    days: Days,
    named: Vec<Vec<Option<u16>>>,
    outcomes: Vec<OutcomeRow>,
    saw_reference: bool,
    /// A definition came after what refers to it, or twice.
    broken: bool,
    /// The seq of the last event folded (0: none).
    last_seq: u64,
    /// The id hashes of the event being folded, worked out ahead
    /// ([`Pipeline::events_hashed`]); only ever for that event's own body.
    hint: Option<IdHashes>,
}

/// The hashes of an attendance's ids ([`id_hashes`]), worked out on the
/// thread that reads the chunks so that the one that interns them neither
/// hashes nor, to prefetch, reads them (0: no such id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdHashes {
    person: u64,
    establishment: u64,
}

/// The hashes the fold will look an event's ids up by: the person and
/// establishment of an attendance, the person and employer of an outcome
/// (definitions intern nothing).
pub fn id_hashes(body: &BodyView<'_>) -> IdHashes {
    let hash = |s: Option<&str>| s.map_or(0, |s| flat::hash_bytes(s.as_bytes()));
    let (person, establishment) = match body {
        BodyView::Attendance {
            person,
            establishment,
            ..
        } => (*person, *establishment),
        BodyView::Hire {
            person, employer, ..
        } => (Some(*person), *employer),
        BodyView::Conversion {
            person, employer, ..
        } => (Some(*person), Some(*employer)),
        BodyView::Startup { person, .. } => (Some(*person), None),
        _ => (None, None),
    };
    IdHashes {
        person: hash(person),
        establishment: hash(establishment),
    }
}

/// `table`'s number for `s`, by the hash worked out ahead when there is
/// one ([`id_hashes`]; 0: none).
fn intern_in<'t>(table: &'t mut Interner, s: &str, hash: u64) -> (u32, &'t mut SubjectState) {
    if hash == 0 {
        table.intern(s)
    } else {
        table.intern_hashed(s, hash)
    }
}

/// What the fold gives a report.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The project, if defined.
    pub project: Option<ProjectDefined>,
    /// The figures, with empty `subjects` and `outcomes` lists.
    pub figures: Figures,
    /// The number of data-entry warnings ([`super::warnings`]).
    pub warnings: usize,
}

/// Pair updates handed to [`Tally::pipelined`]'s worker at a time.
const HANDOFF_OPS: usize = 16 * 1024;

/// A fold in progress under [`Tally::pipelined`].
pub struct Pipeline<'t> {
    tally: &'t mut Tally,
    /// Pair updates handed over at a time ([`HANDOFF_OPS`]).
    handoff_ops: usize,
    /// The channel to the thread that owns the pairs, and the batches it
    /// hands back for reuse; `None`: the pairs are updated here.
    #[allow(clippy::type_complexity)]
    worker: Option<(
        std::sync::mpsc::SyncSender<Vec<PairOp>>,
        std::sync::mpsc::Receiver<Vec<PairOp>>,
    )>,
}

impl Pipeline<'_> {
    /// Folds a run of events in seq order ([`Tally::events`]).
    pub fn events<'a>(
        &mut self,
        events: impl ExactSizeIterator<Item = (u64, &'a BodyView<'a>)> + Clone,
        standings: &Standings,
    ) -> Result<(), NeedsReplay> {
        self.events_hinted(events, None, standings)
    }

    /// [`Pipeline::events`] with each event's [`id_hashes`] worked out
    /// ahead (`hashes[i]` for the `i`-th event): the same state.
    pub fn events_hashed<'a>(
        &mut self,
        events: impl ExactSizeIterator<Item = (u64, &'a BodyView<'a>)> + Clone,
        hashes: &[IdHashes],
        standings: &Standings,
    ) -> Result<(), NeedsReplay> {
        self.events_hinted(events, Some(hashes), standings)
    }

    /// Folds the events ([`Tally::events_hinted`]), then hands the pair
    /// updates on when enough have gathered (or applies them, with no
    /// worker).
    fn events_hinted<'a>(
        &mut self,
        events: impl ExactSizeIterator<Item = (u64, &'a BodyView<'a>)> + Clone,
        hashes: Option<&[IdHashes]>,
        standings: &Standings,
    ) -> Result<(), NeedsReplay> {
        let r = self.tally.events_hinted(events, hashes, standings);
        if self.worker.is_none() {
            self.tally.flush();
        } else if self.tally.pending.len() >= self.handoff_ops {
            self.hand_off();
        }
        r
    }

    /// Sends the pending pair updates to the worker (or applies them).
    fn hand_off(&mut self) {
        let Some((to_worker, spares)) = &self.worker else {
            self.tally.flush();
            return;
        };
        if self.tally.pending.is_empty() {
            return;
        }
        let next = spares
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(HANDOFF_OPS + crate::journal::CHUNK_EVENTS_MAX));
        let ops = std::mem::replace(&mut self.tally.pending, next);
        // A send fails only when the worker has panicked; joining it then
        // passes the panic on.
        let _ = to_worker.send(ops);
    }
}

const NONE_DAY: i32 = i32::MAX;

fn days(d: Date) -> i32 {
    d.days_from_ce()
}

impl Default for Tally {
    fn default() -> Self {
        Tally::new()
    }
}

impl Tally {
    /// An empty fold.
    pub fn new() -> Tally {
        Tally {
            project: None,
            menus: Vec::new(),
            menu_index: hashbrown::HashMap::new(),
            unknown_menus: HashSet::new(),
            persons: Interner::default(),
            establishments: Interner::default(),
            pairs: Pairs::default(),
            pending: Vec::new(),
            days: Days::default(),
            named: Vec::new(),
            outcomes: Vec::new(),
            saw_reference: false,
            broken: false,
            last_seq: 0,
            hint: None,
        }
    }

    /// The seq of the last event folded (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Whether the stream so far can be folded in one pass (else
    /// [`Tally::finish`] answers [`NeedsReplay`]).
    pub fn is_sound(&self) -> bool {
        !self.broken
    }

    fn menu_of(&mut self, id: &str) -> Option<u16> {
        match self.menu_index.get(id) {
            Some(&i) => Some(i),
            None => {
                if !self.unknown_menus.contains(id) {
                    self.unknown_menus.insert(id.to_string());
                }
                None
            }
        }
    }

    /// Folds the event at `seq` as it stands: left out when retracted, its
    /// replacement when corrected. (Corrections and retractions of
    /// corrections or retractions change nothing, as in `resolve`.)
    pub fn event(
        &mut self,
        seq: u64,
        body: &BodyView<'_>,
        standings: &Standings,
    ) -> Result<(), NeedsReplay> {
        let r = self.event_deferred(seq, body, standings);
        self.flush();
        r
    }

    /// [`Tally::event`], leaving its pair update in `pending`.
    fn event_deferred(
        &mut self,
        seq: u64,
        body: &BodyView<'_>,
        standings: &Standings,
    ) -> Result<(), NeedsReplay> {
        let plain = !matches!(
            body,
            BodyView::Retraction { .. } | BodyView::Correction { .. }
        );
        let standing = if standings.is_empty() {
            None
        } else {
            standings.get(&seq)
        };
        match standing {
            Some(Standing::Retracted) if plain => {
                self.last_seq = self.last_seq.max(seq);
                Ok(())
            }
            Some(Standing::Corrected(b)) if plain => {
                // The hashes were of the body replaced.
                self.hint = None;
                self.fact_deferred(seq, &b.view())
            }
            _ => self.fact_deferred(seq, body),
        }
    }

    /// Folds a run of events in seq order, as [`Tally::event`] does one by
    /// one, looking ahead: while event `i` is folded, the id slots that
    /// event `i + ID_AHEAD` will intern are brought into the cache, and the
    /// pair updates are applied together at the end, each prefetching the
    /// slot of the one a few places on ([`Pairs::apply_all`]). At millions
    /// of subjects those slots are cache misses, and this lets them
    /// overlap instead of waiting one after another. Prefetching changes no
    /// state, and the pairs see their updates in seq order, so the result
    /// is [`Tally::event`]'s.
    pub fn events<'a>(
        &mut self,
        events: impl ExactSizeIterator<Item = (u64, &'a BodyView<'a>)> + Clone,
        standings: &Standings,
    ) -> Result<(), NeedsReplay> {
        let r = self.events_hinted(events, None, standings);
        self.flush();
        r
    }

    /// [`Tally::events`], leaving the pair updates in `pending`, with each
    /// event's id hashes when given (one for each event).
    fn events_hinted<'a>(
        &mut self,
        events: impl ExactSizeIterator<Item = (u64, &'a BodyView<'a>)> + Clone,
        hashes: Option<&[IdHashes]>,
        standings: &Standings,
    ) -> Result<(), NeedsReplay> {
        const ID_AHEAD: usize = 16;
        let hashes = hashes.filter(|h| h.len() == events.len());
        let mut ids_ahead = events.clone().skip(ID_AHEAD);
        let mut result = Ok(());
        for (i, (seq, body)) in events.enumerate() {
            match hashes {
                Some(h) => {
                    if let Some(ahead) = h.get(i + ID_AHEAD) {
                        self.prefetch_hashed(ahead);
                    }
                }
                None => {
                    if let Some((_, b)) = ids_ahead.next() {
                        self.prefetch_ids(b);
                    }
                }
            }
            if result.is_ok() {
                self.hint = hashes.map(|h| h[i]);
                result = self.event_deferred(seq, body, standings);
                self.hint = None;
            }
        }
        result
    }

    /// Applies the pending pair updates.
    fn flush(&mut self) {
        if !self.pending.is_empty() {
            self.pairs.apply_all(&self.pending);
            self.pending.clear();
        }
    }

    /// Runs `f`, which folds events through the [`Pipeline`] it is given,
    /// with the (menu, subject) pairs updated on a second thread when
    /// `parallel` (and a thread can be started): this thread decodes,
    /// interns and judges each attendance, the other applies it to its
    /// pair. The two halves touch different tables, so each core waits on
    /// its own cache misses. The pairs see their updates in seq order, so
    /// the state at the end is the one [`Tally::events`] makes.
    pub fn pipelined<R>(&mut self, parallel: bool, f: impl FnOnce(&mut Pipeline<'_>) -> R) -> R {
        self.flush();
        if !parallel {
            return f(&mut Pipeline {
                tally: self,
                handoff_ops: HANDOFF_OPS,
                worker: None,
            });
        }
        // The pairs go to the worker once it runs, so that they stay here
        // if no thread can be started.
        let (give, take) = std::sync::mpsc::sync_channel::<Pairs>(1);
        // Batches in flight: room for the folder to run ahead while the
        // worker waits for a core (4 left the two waiting on each other).
        let (to_worker, from_folder) = std::sync::mpsc::sync_channel::<Vec<PairOp>>(16);
        let (to_folder, spares) = std::sync::mpsc::channel::<Vec<PairOp>>();
        std::thread::scope(|scope| {
            let builder = std::thread::Builder::new().name("jisseki-pairs".into());
            let spawned = crate::par::start_scoped(scope, builder, move || {
                let mut pairs = take.recv().unwrap_or_default();
                for mut ops in from_folder {
                    pairs.apply_all(&ops);
                    ops.clear();
                    // The folder may be gone; the batch is then freed.
                    let _ = to_folder.send(ops);
                }
                pairs
            });
            let Ok(worker) = spawned else {
                return f(&mut Pipeline {
                    tally: self,
                    handoff_ops: HANDOFF_OPS,
                    worker: None,
                });
            };
            // The worker waits for them; it is gone only if it panicked,
            // and joining it then passes the panic on.
            let _ = give.send(std::mem::take(&mut self.pairs));
            let out = {
                let mut p = Pipeline {
                    tally: &mut *self,
                    handoff_ops: HANDOFF_OPS,
                    worker: Some((to_worker, spares)),
                };
                let out = f(&mut p);
                p.hand_off();
                out
            };
            match worker.join() {
                Ok(pairs) => self.pairs = pairs,
                Err(panic) => std::panic::resume_unwind(panic),
            }
            // A long fold leaves room behind: the spans that pairs moved
            // out of. Given back when it is a good part of the arena.
            if self.pairs.free_buckets > self.pairs.more.len() / 4 {
                self.pairs.compact();
            }
            out
        })
    }

    /// Reserves room ahead for a fold of about `events` more events: the
    /// outcomes and the pairs' other buckets then grow in place instead of
    /// being copied to a larger array again and again (each copy also
    /// faulted in fresh pages while the old ones were given back). The
    /// room is address space only: a page takes memory when first written,
    /// so an estimate too large costs nothing. Past it the arrays grow as
    /// before; where the room cannot be had, nothing is reserved. The
    /// estimates are generous for councils' data: about one event in ten
    /// is an outcome, and fewer than one attendance in three a subject's
    /// second fiscal year in a menu (`synth::bulk`: 13% and 26%).
    ///
    /// The persons' table is different: it is written whole when made
    /// (an empty slot is not zero), so its room is not free. It is made
    /// once for one person in eight events (`synth::bulk`: one in 8.0),
    /// at most [`PERSONS_RESERVED_MAX`], instead of being doubled into
    /// from 16 slots: each doubling wrote a table twice the size and put
    /// every id in again, a random write each (at 10M events 64 MB and
    /// 2M ids moved; docs/PERFORMANCE.md, "eighth pass"). A ledger of
    /// fewer people per event pays for slots it does not fill; one of
    /// more grows the table as before.
    pub fn expect_events(&mut self, events: u64) {
        let part = |d: u64| usize::try_from(events / d).unwrap_or(usize::MAX);
        let room = |len: usize, want: usize| want.saturating_sub(len);
        let _ = self
            .outcomes
            .try_reserve_exact(room(self.outcomes.len(), part(4)));
        let _ = self
            .pairs
            .more
            .try_reserve_exact(room(self.pairs.more.len(), part(2)));
        self.persons.reserve(
            self.persons
                .len()
                .saturating_add(part(8).min(PERSONS_RESERVED_MAX)),
        );
        // At most one pair for each attendance.
        self.pairs
            .aggs
            .reserve(self.pairs.aggs.len().saturating_add(part(2)));
    }

    /// Brings the id slots an attendance will intern into the cache.
    fn prefetch_ids(&self, body: &BodyView<'_>) {
        self.prefetch_hashed(&id_hashes(body));
    }

    /// Brings the id slots of hashes `h` into the cache.
    fn prefetch_hashed(&self, h: &IdHashes) {
        if h.person != 0 {
            self.persons.prefetch_hashed(h.person);
        }
        if h.establishment != 0 {
            self.establishments.prefetch_hashed(h.establishment);
        }
    }

    /// Folds one fact: an event as it stands (corrections applied by the
    /// caller, retracted events left out), in seq order.
    pub fn fact(&mut self, seq: u64, body: &BodyView<'_>) -> Result<(), NeedsReplay> {
        let r = self.fact_deferred(seq, body);
        self.flush();
        r
    }

    /// [`Tally::fact`], leaving its pair update in `pending`.
    fn fact_deferred(&mut self, seq: u64, body: &BodyView<'_>) -> Result<(), NeedsReplay> {
        self.last_seq = self.last_seq.max(seq);
        let r = self.fact_inner(seq, body);
        if r.is_err() {
            self.broken = true;
        }
        r
    }

    fn fact_inner(&mut self, seq: u64, body: &BodyView<'_>) -> Result<(), NeedsReplay> {
        // The hashes of this body's ids, when worked out ahead.
        let h = self.hint.take().unwrap_or_default();
        match body {
            BodyView::Attendance {
                menu,
                person,
                establishment,
                terms,
            } => {
                self.attendance(menu, *person, *establishment, terms, h);
                Ok(())
            }
            BodyView::Hire {
                person,
                employer,
                menus,
                terms,
            } => {
                let employer =
                    employer.map(|e| intern_in(&mut self.establishments, e, h.establishment).0);
                let person = intern_in(&mut self.persons, person, h.person).0;
                self.outcome(seq, person, employer, menus, OutcomeTerms::Hire(*terms));
                Ok(())
            }
            BodyView::Conversion {
                person,
                employer,
                menus,
                terms,
            } => {
                let employer =
                    Some(intern_in(&mut self.establishments, employer, h.establishment).0);
                let person = intern_in(&mut self.persons, person, h.person).0;
                self.outcome(
                    seq,
                    person,
                    employer,
                    menus,
                    OutcomeTerms::Conversion(*terms),
                );
                Ok(())
            }
            BodyView::Startup {
                person,
                menus,
                terms,
            } => {
                let person = intern_in(&mut self.persons, person, h.person).0;
                self.outcome(seq, person, None, menus, OutcomeTerms::Startup(*terms));
                Ok(())
            }
            BodyView::SurveyResponse
            | BodyView::Retraction { .. }
            | BodyView::Correction { .. } => Ok(()),
            BodyView::Other(b) => self.definition(b),
        }
    }

    fn definition(&mut self, b: &EventBody) -> Result<(), NeedsReplay> {
        match b {
            EventBody::ProjectDefined(p) => {
                if self.project.is_some() || self.saw_reference {
                    return Err(NeedsReplay);
                }
                self.project = Some(p.clone());
            }
            EventBody::MenuDefined(m) => {
                if self.menu_index.contains_key(m.menu.as_str())
                    || self.unknown_menus.contains(m.menu.as_str())
                {
                    return Err(NeedsReplay);
                }
                let i = u16::try_from(self.menus.len()).map_err(|_| NeedsReplay)?;
                self.menu_index.insert(m.menu.0.clone(), i);
                self.menus.push(Menu {
                    state: MenuState {
                        menu: m.menu.0.clone(),
                        category: m.category,
                        kind: m.kind,
                        def: m.clone(),
                        revisions: Vec::new(),
                        sessions: Vec::new(),
                    },
                    xo7_student: NONE_DAY,
                });
            }
            EventBody::TargetsRevised(t) => {
                if let Some(i) = self.menu_of(t.menu.as_str()) {
                    self.menus[usize::from(i)].state.revisions.push(t.clone());
                }
            }
            EventBody::SessionHeld(s) => {
                if let Some(i) = self.menu_of(s.menu.as_str()) {
                    self.menus[usize::from(i)].state.sessions.push(s.date);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn attendance(
        &mut self,
        menu: &str,
        person: Option<&str>,
        establishment: Option<&str>,
        t: &AttendanceTerms,
        h: IdHashes,
    ) {
        self.saw_reference = true;
        let day = days(t.date);
        // Warnings look at every attendance, whatever its date.
        let mut p = person.map(|p| intern_in(&mut self.persons, p, h.person));
        let mut e = establishment.map(|e| intern_in(&mut self.establishments, e, h.establishment));
        if let Some((_, st)) = &mut p {
            st.first_attendance = st.first_attendance.min(day);
        }
        if let (Some((_, st)), Some(place)) = (&mut e, t.establishment_location) {
            st.places |= match place {
                Place::InRegion => 1,
                Place::OutRegion => 2,
                Place::Unknown => 0,
            };
        }
        let p = p.map(|(id, _)| id);
        let e = e.map(|(id, _)| id);
        let Some(&mi) = self.menu_index.get(menu) else {
            if !self.unknown_menus.contains(menu) {
                self.unknown_menus.insert(menu.to_string());
            }
            return;
        };
        let counted = self.judge_attendance(mi, p, e, t);
        let base = self.project.as_ref().map(|p| p.contract_start);
        self.days.add(mi, t.date, base, 1, u64::from(counted));
    }

    /// Folds a dated attendance of menu `mi` into its subject's buckets;
    /// whether it counts (XO-1…XO-7).
    fn judge_attendance(
        &mut self,
        mi: u16,
        p: Option<u32>,
        e: Option<u32>,
        t: &AttendanceTerms,
    ) -> bool {
        let day = days(t.date);
        let Some(contract_start) = self.project.as_ref().map(|p| p.contract_start) else {
            return false;
        };
        let m = &mut self.menus[usize::from(mi)];
        let (category, kind) = (m.state.category, m.state.kind);
        let Some(which) = subject_kind(category, t.role, p.is_some(), e.is_some()) else {
            return false;
        };
        let Some(id) = (match which {
            SubjectKind::Person => p,
            SubjectKind::Establishment => e,
        }) else {
            return false;
        };
        let verdict = output::verdict(category, kind, t, fiscal_year(t.date));
        if verdict == Verdict::Excluded(RuleId::XO7) && t.student.is_some() {
            m.xo7_student = m.xo7_student.min(day);
        }
        let in_region = match which {
            SubjectKind::Establishment => t.establishment_location == Some(Place::InRegion),
            SubjectKind::Person => t.residence == Some(Place::InRegion),
        };
        self.pending.push(PairOp {
            key: agg_key(mi, subject_key(which, id)),
            bucket: bucket_of(t.date, contract_start),
            terms: *t,
            verdict,
            in_region,
        });
        verdict.counts()
    }

    fn outcome(
        &mut self,
        seq: u64,
        person: u32,
        employer: Option<u32>,
        menus: &Option<Vec<&str>>,
        terms: OutcomeTerms,
    ) {
        self.saw_reference = true;
        let named = match menus {
            None => u32::MAX,
            Some(list) => {
                let ids = list
                    .iter()
                    .map(|m| self.menu_of(m))
                    .collect::<Vec<Option<u16>>>();
                self.named.push(ids);
                (self.named.len() - 1) as u32
            }
        };
        // Grown by a quarter, not doubled: at national scale this is
        // one of the fold's largest tables.
        if self.outcomes.len() == self.outcomes.capacity() {
            self.outcomes
                .reserve_exact((self.outcomes.len() / 4).max(1024));
        }
        self.outcomes.push(OutcomeRow {
            seq,
            person,
            employer,
            named,
            terms,
        });
    }

    /// The buckets of one (menu, subject) pair.
    fn buckets<'a>(&'a self, agg: &'a Agg) -> impl Iterator<Item = &'a Bucket> {
        std::iter::once(&agg.main).chain(self.pairs.more_of(agg))
    }

    /// One pair as of the lens's date and window.
    fn now(&self, agg: &Agg, lens: &Lens) -> AggNow {
        let mut now = AggNow::default();
        for b in self.buckets(agg) {
            let in_window = lens.in_window(b.bucket);
            // Bucket 0 (before the contract start) is no use of the
            // programme: never a first counted attendance (as `figures`).
            let fc = b
                .first_counted_date()
                .filter(|&d| b.bucket != 0 && d <= lens.as_of)
                .and_then(|_| b.first_counted());
            if let Some(fc) = fc {
                if now
                    .first_counted
                    .is_none_or(|f| fc.terms.date < f.terms.date)
                {
                    now.first_counted = Some(fc);
                }
                if in_window
                    && now
                        .window_first_counted
                        .is_none_or(|(d, _)| fc.terms.date < d)
                {
                    now.window_first_counted = Some((fc.terms.date, Verdict::Counted(fc.rule)));
                }
            }
            if let Some((d, v)) = b.first().filter(|(d, _)| *d <= lens.as_of) {
                if in_window && now.window_first.is_none_or(|(w, _)| d < w) {
                    now.window_first = Some((d, v));
                }
            }
        }
        now
    }

    /// Whether [`Tally::finish`] answers: not if a definition came after
    /// what refers to it, or a menu was referred to before its definition
    /// (it would have been judged without it).
    fn finishes(&self) -> bool {
        !self.broken
            && !self
                .unknown_menus
                .iter()
                .any(|m| self.menu_index.contains_key(m.as_str()))
    }

    /// The figures and the warning count as of `q`.
    pub fn finish(&self, q: Query) -> Result<Summary, NeedsReplay> {
        self.finish_split(q, Split::default())
    }

    /// [`Tally::finish`], reading the pairs and judging the outcomes in
    /// parts as `split` says (the figures are the same however it splits).
    fn finish_split(&self, q: Query, split: Split) -> Result<Summary, NeedsReplay> {
        if !self.finishes() {
            return Err(NeedsReplay);
        }
        let states = States {
            persons: self.persons.states(),
            establishments: self.establishments.states(),
        };
        let Some(project) = self.project.clone() else {
            return Ok(Summary {
                project: None,
                figures: Figures::none(q.as_of),
                warnings: self.warnings(&states, &[]),
            });
        };
        let w = Window::new(q.as_of, project.contract_start, q.scope);
        let fy = (q.scope == Scope::FiscalYear).then(|| fiscal_year(q.as_of));
        let lens = Lens {
            as_of: q.as_of,
            fiscal_bucket: fy,
        };
        let mut figs: Vec<MenuFigures> = self
            .menus
            .iter()
            .map(|m| {
                let (output_target, outcome_target) = targets(&m.state, w.as_of, fy);
                MenuFigures {
                    menu: m.state.menu.clone(),
                    category: m.state.category,
                    kind: m.state.kind,
                    name: m.state.def.name.0.clone(),
                    output: 0,
                    outcome: 0,
                    output_target,
                    outcome_target,
                    outcome_breakdown: Breakdown::default(),
                    excluded: BTreeMap::new(),
                    attendances: 0,
                    in_region: 0,
                    output_establishments: 0,
                    subjects: Vec::new(),
                    outcomes: Vec::new(),
                }
            })
            .collect();
        let mut interpretations = BTreeSet::new();
        // Outputs (XO-1: one subject per menu), and each subject's first
        // counted attendance of the programme (XC-2, XC-3).
        // The pairs are read in parts, on every core when there are many.
        let parts: Vec<usize> = if self.pairs.aggs.len() >= split.pairs_per_part_min * 2 {
            (0..2).collect()
        } else {
            vec![0]
        };
        // Both parts write into one table of subjects (a first date kept
        // by `fetch_min`, menus by `fetch_or`), not each into its own to be
        // merged after: 15 MB less memory written at 1.25M people.
        let mut subjects = SubjectsNow::new(states.persons.len(), states.establishments.len());
        let shared = subjects.shared();
        let counts = crate::par::parallel_map(&parts, 2, |&part| {
            self.pair_pass(part, parts.len(), &lens, &shared)
        })
        .into_iter()
        .reduce(|mut a, b| {
            absorb(&mut a, b);
            a
        })
        .unwrap_or_default();
        for (m, c) in figs.iter_mut().zip(counts) {
            m.output += c.output;
            m.in_region += c.in_region;
            m.output_establishments += c.output_establishments;
            for (rule, n) in c.excluded {
                *m.excluded.entry(rule).or_insert(0) += n;
            }
        }
        let subjects = &mut subjects;
        // 延べ: the counted attendances in the window.
        for (mi, date, d) in self.days.iter() {
            if w.holds(date) {
                figs[usize::from(mi)].attendances += d.counted;
            }
        }
        if self.menus.iter().any(|m| m.xo7_student <= days(q.as_of)) {
            interpretations.insert(RuleId::XO7);
        }
        // Outcomes, menu by menu (C-ATTR), then each counted once in the
        // totals (C-DEDUP). Which menus each outcome's subjects attended is
        // read once for all menus (a random read per outcome, not one per
        // outcome and menu). The menus are judged on every core when there
        // are many outcomes; each menu's are judged alone.
        subjects.outcome_menus(&self.outcomes, &self.named, split.outcomes_per_part_min);
        let subjects = &*subjects;
        // (Menus are numbered below 2^16; `as u16` of the count itself
        // would be 0 for 65,536 of them.)
        let menu_ids: Vec<u16> = (0..figs.len()).map(|i| i as u16).collect();
        let cores = if self.outcomes.len() >= split.outcomes_per_part_min {
            2
        } else {
            usize::MAX
        };
        let judged = crate::par::parallel_map(&menu_ids, cores, |&mi| {
            self.menu_outcomes(mi, subjects, &lens, &w, states.persons.len())
        });
        // Each outcome once in the totals: a bit per seq.
        let mut counted = vec![0u64; (self.last_seq as usize).div_ceil(64) + 1];
        let mut counted_units = 0u64;
        let mut total_employees: HashMap<u64, u64> = HashMap::new();
        for (m, j) in figs.iter_mut().zip(judged) {
            m.outcome += j.outcome;
            let b = &mut m.outcome_breakdown;
            b.hires += j.breakdown.hires;
            b.conversions += j.breakdown.conversions;
            b.founders += j.breakdown.founders;
            b.startup_employees += j.breakdown.startup_employees;
            for (rule, n) in j.excluded {
                *m.excluded.entry(rule).or_insert(0) += n;
            }
            interpretations.extend(j.interpretations);
            for seq in j.counted {
                let (word, bit) = ((seq / 64) as usize, seq % 64);
                if word >= counted.len() {
                    counted.resize(word + 1, 0);
                }
                if counted[word] >> bit & 1 == 0 {
                    counted[word] |= 1 << bit;
                    counted_units += 1;
                }
            }
            total_employees.extend(j.employees);
        }
        // Menus in id order, as `figures` gives them.
        figs.sort_by(|a, b| a.menu.cmp(&b.menu));
        let total_output = figs.iter().map(|m| m.output).sum();
        let total_outcome = counted_units + total_employees.values().sum::<u64>();
        let warnings = self.warnings(&states, &figs);
        Ok(Summary {
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

    /// Part `part` of `parts` of the pairs (by key) as of the lens: each
    /// subject's first counted attendance and menus (`SubjectsNow`), and
    /// the output per menu (XO-1: one subject per menu).
    fn pair_pass(
        &self,
        part: usize,
        parts: usize,
        lens: &Lens,
        subjects: &SharedSubjects<'_>,
    ) -> Vec<MenuCounts> {
        let mut menus = vec![MenuCounts::default(); self.menus.len()];
        for (key, agg) in self.pairs_ahead(part, parts) {
            let now = self.now(agg, lens);
            let id = (key & u64::from(u32::MAX)) as usize;
            let mi = key >> 40;
            let (first, menu_bits) = if key & (1 << 32) != 0 {
                (subjects.establishments, subjects.establishment_menus)
            } else {
                (subjects.persons, subjects.person_menus)
            };
            if let Some(bits) = menu_bits.get(id).filter(|_| mi < 64) {
                bits.fetch_or(1 << mi, Relaxed);
            }
            if let Some(f) = now.first_counted {
                if let Some(slot) = first.get(id) {
                    slot.fetch_min(days(f.terms.date), Relaxed);
                }
            }
            let Some(m) = menus.get_mut(mi as usize) else {
                continue;
            };
            match pair_count(key, &now) {
                PairCount::Counted {
                    in_region,
                    establishment,
                } => {
                    m.output += 1;
                    m.in_region += u64::from(in_region);
                    m.output_establishments += u64::from(establishment);
                }
                PairCount::Excluded(rule) => *m.excluded.entry(rule).or_insert(0) += 1,
                PairCount::None => {}
            }
        }
        menus
    }

    /// Part `part` of `parts` of the pairs, by key (lane, then subject),
    /// each with its aggregate. The subjects' entries are read in order,
    /// the pairs themselves at random (they lie in the order they first
    /// came). So the lanes are read once, into a ring of the next `AHEAD`
    /// pairs, each prefetched as it goes in; a pair's other buckets, which
    /// lie elsewhere again, are prefetched when it is `NEAR` from the
    /// front (its own line long in the cache by then). (Three readers of
    /// the lanes, one per distance, cost more in mispredicted empty
    /// entries than they saved.)
    fn pairs_ahead(&self, part: usize, parts: usize) -> impl Iterator<Item = (u64, &Agg)> + '_ {
        const AHEAD: usize = 24;
        const NEAR: usize = 4;
        let mut entries = self.pairs.aggs.entries_part(part, parts);
        let mut ring: std::collections::VecDeque<(u64, usize)> =
            std::collections::VecDeque::with_capacity(AHEAD + 1);
        std::iter::from_fn(move || loop {
            while ring.len() < AHEAD {
                let Some((k, i)) = entries.next() else { break };
                self.pairs.aggs.prefetch_index(i);
                ring.push_back((k, i));
            }
            let (key, i) = ring.pop_front()?;
            if let Some(a) = ring.get(NEAR).and_then(|&(_, j)| self.pairs.aggs.at(j)) {
                if a.more != NO_MORE {
                    flat::prefetch(self.pairs.more.as_ptr().wrapping_add(a.more as usize));
                }
            }
            if let Some(agg) = self.pairs.aggs.at(i) {
                return Some((key, agg));
            }
        })
    }

    fn first_use(
        &self,
        programme_first: &SubjectsNow,
        lens: &Lens,
        mi: u16,
        (kind, id): (SubjectKind, u32),
        dates: &mut DayCache,
    ) -> Result<FirstUse, bool> {
        let Some(agg) = self.pairs.aggs.get(agg_key(mi, subject_key(kind, id))) else {
            return Err(false);
        };
        let now = self.now(agg, lens);
        let Some(f) = now.first_counted else {
            // Attended the menu; counted only after the as-of date, or
            // never.
            return Err(self.attended_by(agg, lens.as_of));
        };
        let of = match kind {
            SubjectKind::Person => &programme_first.persons,
            SubjectKind::Establishment => &programme_first.establishments,
        };
        let programme_first = of
            .get(id as usize)
            .and_then(|&d| dates.date(d))
            .unwrap_or(f.terms.date);
        Ok(FirstUse {
            date: f.terms.date,
            rule: f.rule,
            attendance: f.terms.unpack(),
            programme_first,
        })
    }

    /// Whether the pair has an attendance on or before `as_of`.
    fn attended_by(&self, agg: &Agg, as_of: Date) -> bool {
        self.buckets(agg)
            .any(|b| b.first_date.is_some_and(|d| d <= as_of))
    }

    /// What the outcomes give menu `mi` (C-ATTR): each outcome is judged
    /// for the menus it names, else for the menus its subjects attended
    /// (the others do not consider it), and in (date, seq) order each
    /// person's first counted outcome counts.
    fn menu_outcomes(
        &self,
        mi: u16,
        subjects: &SubjectsNow,
        lens: &Lens,
        w: &Window,
        persons: usize,
    ) -> MenuOutcomes {
        let mut judged = self.judge_outcomes(mi, subjects, lens, w);
        // The persons counted in the menu so far, a bit each.
        let mut people = PersonBits::new(persons);
        fold_outcomes(&mut judged, |p| people.insert(p))
    }

    /// Whether outcome `o` (index `i`) concerns menu `mi` (C-ATTR): the
    /// menus it names, else those its subjects attended (with more than 64
    /// menus, every menu, unless it names some).
    fn concerns(&self, subjects: &SubjectsNow, (i, o): (usize, &OutcomeRow), mi: u16) -> bool {
        if self.menus.len() <= 64 {
            subjects
                .outcome_menus
                .get(i)
                .is_some_and(|m| m >> mi & 1 == 1)
        } else {
            match self.named.get(o.named as usize) {
                Some(list) => list.contains(&Some(mi)),
                None => true,
            }
        }
    }

    /// What each outcome gives menu `mi` ([`Tally::menu_outcomes`]),
    /// unordered.
    fn judge_outcomes(&self, mi: u16, subjects: &SubjectsNow, lens: &Lens, w: &Window) -> Judged {
        let mut entries = Judged {
            entries: Vec::new(),
            excluded: vec![0; RuleId::ALL.len()],
        };
        let Some(menu) = self.menus.get(usize::from(mi)) else {
            return entries;
        };
        // Each outcome looks up its subject's pair in this menu, cache
        // misses at millions of pairs: the lane entry of the outcome a few
        // places on, and the pair of a nearer one, are brought into the
        // cache meanwhile.
        const AHEAD: usize = 16;
        let is_a = menu.state.category == Category::A;
        let pair_of = |o: &OutcomeRow| match (is_a, o.employer) {
            (true, Some(e)) => Some(agg_key(mi, subject_key(SubjectKind::Establishment, e))),
            (true, None) => None,
            (false, _) => Some(agg_key(mi, subject_key(SubjectKind::Person, o.person))),
        };
        // The outcomes that concern this menu first, so that only their
        // pairs are brought in (most outcomes concern few of the menus).
        // With 64 menus or fewer, each outcome's menus are a mask of bits,
        // read without reading the outcome.
        // Counted first, so that the list is made once at its size (it
        // was doubled as it grew, on both cores at once: a sixth of a
        // report's peak memory at 10M events).
        let concerns = |(i, o): (usize, &OutcomeRow)| self.concerns(subjects, (i, o), mi);
        let many = self
            .outcomes
            .iter()
            .enumerate()
            .filter(|&x| concerns(x))
            .count();
        let mut concerned: Vec<&OutcomeRow> = Vec::with_capacity(many);
        concerned.extend(
            self.outcomes
                .iter()
                .enumerate()
                .filter(|&x| concerns(x))
                .map(|(_, o)| o),
        );
        // Room for every one counted (pages are taken only as written).
        entries.entries.reserve_exact(many);
        let mut dates = DayCache::new();
        for (i, o) in concerned.iter().enumerate() {
            if let Some(&far) = concerned.get(i + 2 * AHEAD) {
                flat::prefetch(far);
            }
            if let Some(key) = concerned.get(i + AHEAD).and_then(|o| pair_of(o)) {
                self.pairs.aggs.prefetch(key);
            }
            if let Some(near) = concerned.get(i + AHEAD / 2) {
                if let Some(key) = pair_of(near) {
                    self.pairs.aggs.prefetch_pair(key);
                }
                // And its subject's first use of the programme.
                let first = match (is_a, near.employer) {
                    (true, Some(e)) => subjects.establishments.as_ptr().wrapping_add(e as usize),
                    _ => subjects.persons.as_ptr().wrapping_add(near.person as usize),
                };
                flat::prefetch(first);
            }
            // And the other buckets of a nearer one's pair (in the cache
            // by now), which lie elsewhere.
            if let Some(agg) = concerned
                .get(i + AHEAD / 4)
                .and_then(|o| pair_of(o))
                .and_then(|key| self.pairs.aggs.get(key))
            {
                if agg.more != NO_MORE {
                    flat::prefetch(self.pairs.more.as_ptr().wrapping_add(agg.more as usize));
                }
            }
            self.judge_outcome(subjects, lens, o, (mi, menu), w, &mut dates, &mut entries);
        }
        entries
    }

    /// What outcome `o` gives menu `mi`; mirrors `menu_outcomes` of
    /// `figures`.
    #[allow(clippy::too_many_arguments)]
    fn judge_outcome(
        &self,
        programme_first: &SubjectsNow,
        lens: &Lens,
        o: &OutcomeRow,
        (mi, menu): (u16, &Menu),
        w: &Window,
        dates: &mut DayCache,
        entries: &mut Judged,
    ) {
        let is_a = menu.state.category == Category::A;
        let Some((kind, id, date, offer, regular)) = outcome_subject(o, menu) else {
            return;
        };
        // C-ATTR: the menus an outcome names narrow its attribution.
        let names = self.named.get(o.named as usize);
        if let Some(named) = names {
            if !named.contains(&Some(mi)) {
                return;
            }
        }
        match date {
            Some(d) => {
                if w.outcome(d, offer, regular).is_none() {
                    return;
                }
            }
            None if offer.is_none_or(|o| w.holds(o)) => {}
            None => return,
        }
        let entry = |kind: u8, verdict, units| Entry {
            seq: o.seq,
            date,
            kind,
            person: o.person,
            verdict,
            units,
        };
        let first = match self.first_use(programme_first, lens, mi, (kind, id), dates) {
            Ok(f) => f,
            // XC-8: attended but never counted in the menu. A subject
            // who never attended the menu is not considered (C-ATTR).
            Err(attended) => {
                if attended || names.is_some() {
                    let k = match o.terms {
                        OutcomeTerms::Conversion(_) => KIND_CONVERSION,
                        OutcomeTerms::Startup(_) => KIND_FOUNDER,
                        OutcomeTerms::Hire(_) => KIND_HIRE,
                    };
                    entries.add(entry(k, Verdict::Excluded(RuleId::XC8), 0));
                }
                return;
            }
        };
        match o.terms {
            OutcomeTerms::Hire(h) => {
                let v = if is_a {
                    outcome::hire_a(&h, &first)
                } else {
                    outcome::hire_bc(menu.state.category, &h, &first)
                };
                entries.add(entry(KIND_HIRE, v, 1));
            }
            OutcomeTerms::Conversion(c) => {
                let v = if is_a {
                    outcome::conversion_a(&c, &first)
                } else {
                    outcome::conversion_bc(&c, &first)
                };
                entries.add(entry(KIND_CONVERSION, v, 1));
            }
            OutcomeTerms::Startup(s) => {
                let v = outcome::startup_a(&s, &first);
                entries.add(entry(KIND_FOUNDER, v.founder, 1));
                if v.employee_count > 0 {
                    entries.add(entry(KIND_EMPLOYEES, v.employees, v.employee_count));
                }
            }
        }
    }

    /// The number of warnings `warnings` would list.
    fn warnings(&self, states: &States, figs: &[MenuFigures]) -> usize {
        let mut n = 0usize;
        for (mi, date, d) in self.days.iter() {
            if !self.menus[usize::from(mi)].state.sessions.contains(&date) {
                n += d.all as usize;
            }
        }
        for o in &self.outcomes {
            let date = match o.terms {
                OutcomeTerms::Hire(h) => h.start_date.or(h.offer_date),
                OutcomeTerms::Conversion(c) => Some(c.date),
                OutcomeTerms::Startup(s) => Some(s.date),
            };
            let first = states
                .persons
                .get(o.person as usize)
                .map(|st| st.first_attendance)
                .filter(|&d| d != NONE_DAY);
            match (first, date) {
                (None, _) => n += 1,
                (Some(first), Some(d)) if days(d) < first => n += 1,
                _ => {}
            }
        }
        n += states
            .establishments
            .iter()
            .filter(|st| st.places == 3)
            .count();
        n += figs
            .iter()
            .filter(|m| m.category != Category::A && m.outcome > m.output)
            .count();
        n
    }
}

/// Who outcome `o` is judged by in `menu` (C-ATTR): the subject whose
/// pair in the menu decides it, with the outcome's date, offer date and
/// whether it is regular recruitment; `None` when the menu cannot count it.
#[allow(clippy::type_complexity)]
fn outcome_subject(
    o: &OutcomeRow,
    menu: &Menu,
) -> Option<(SubjectKind, u32, Option<Date>, Option<Date>, bool)> {
    let is_a = menu.state.category == Category::A;
    Some(match o.terms {
        OutcomeTerms::Hire(h) if is_a => match o.employer {
            Some(e) => (
                SubjectKind::Establishment,
                e,
                h.start_date,
                h.offer_date,
                h.regular_recruitment == Some(true),
            ),
            None => return None,
        },
        OutcomeTerms::Hire(h) => (
            SubjectKind::Person,
            o.person,
            h.start_date,
            h.offer_date,
            h.regular_recruitment == Some(true),
        ),
        OutcomeTerms::Conversion(c) if is_a => match o.employer {
            Some(e) => (SubjectKind::Establishment, e, Some(c.date), None, false),
            None => return None,
        },
        OutcomeTerms::Conversion(c) => (SubjectKind::Person, o.person, Some(c.date), None, false),
        OutcomeTerms::Startup(s) if is_a && menu.state.kind == MenuKind::Seminar => {
            (SubjectKind::Person, o.person, Some(s.date), None, false)
        }
        OutcomeTerms::Startup(_) => return None,
    })
}

/// What the outcomes judged for one menu give it (C-ATTR, C-DEDUP): in
/// (date, seq) order, each person's first counted outcome counts, for
/// whom `first_time(person)` says so (the first time it is asked).
fn fold_outcomes(judged: &mut Judged, mut first_time: impl FnMut(u32) -> bool) -> MenuOutcomes {
    let Judged { entries, excluded } = judged;
    let mut out = MenuOutcomes::default();
    // An outcome excluded is excluded wherever it falls in the order.
    for (&rule, &n) in RuleId::ALL.iter().zip(excluded.iter()) {
        if n > 0 {
            out.excluded.insert(rule, n);
            if matches!(rule, RuleId::XC7 | RuleId::CRES) {
                out.interpretations.insert(rule);
            }
        }
    }
    // Only a start-up's two entries (founder, employees) share a date
    // and seq, and neither's count depends on the other's place.
    entries.sort_unstable_by_key(|e| (e.date, e.seq));
    for e in entries.iter() {
        match e.verdict {
            Verdict::Counted(_) if e.kind == KIND_EMPLOYEES => {
                out.interpretations.insert(RuleId::CATTR);
                let units = u64::from(e.units);
                out.outcome += units;
                out.breakdown.startup_employees += units;
                out.employees.push((e.seq, units));
            }
            Verdict::Counted(_) => {
                out.interpretations.insert(RuleId::CATTR);
                if first_time(e.person) {
                    out.outcome += 1;
                    match e.kind {
                        KIND_HIRE => out.breakdown.hires += 1,
                        KIND_CONVERSION => out.breakdown.conversions += 1,
                        _ => out.breakdown.founders += 1,
                    }
                    out.counted.push(e.seq);
                }
            }
            // (`Judged::add` keeps none.)
            Verdict::Excluded(_) => {}
        }
    }
    out
}

/// What one pair gives its menu's output as of a query (XO-1: one
/// subject per menu), from [`Tally::now`]: nothing (no attendance in the
/// window), one subject counted, or one excluded under the rule of its
/// first attendance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PairCount {
    None,
    Counted {
        in_region: bool,
        establishment: bool,
    },
    Excluded(RuleId),
}

fn pair_count(key: u64, now: &AggNow) -> PairCount {
    let Some((_, first)) = now.window_first else {
        return PairCount::None;
    };
    let verdict = now.window_first_counted.map_or(first, |(_, v)| v);
    if verdict.counts() {
        PairCount::Counted {
            in_region: now.first_counted.is_some_and(|f| f.in_region),
            establishment: key & (1 << 32) != 0,
        }
    } else {
        PairCount::Excluded(verdict.rule())
    }
}

/// Every subject's state, by id.
struct States {
    persons: Vec<SubjectState>,
    establishments: Vec<SubjectState>,
}

/// What a query needs of every subject, by id: its first counted
/// attendance of the programme up to the as-of date (`NONE_DAY`: none), and
/// the menus it attended (bit `mi`, for the first 64 menus).
struct SubjectsNow {
    persons: Vec<i32>,
    establishments: Vec<i32>,
    person_menus: Vec<u64>,
    establishment_menus: Vec<u64>,
    /// For each outcome (by its index in `Tally::outcomes`), the menus it
    /// concerns: those it names, else those its person or employer
    /// attended (`person_menus | establishment_menus`), worked out once for
    /// all the menus ([`SubjectsNow::outcome_menus`]).
    outcome_menus: Vec<u64>,
}

/// [`SubjectsNow`]'s tables of subjects, shared between the threads of
/// [`Tally::pair_pass`], which write them with atomic minimums and ors:
/// the result does not depend on the order of the writes.
struct SharedSubjects<'a> {
    persons: &'a [AtomicI32],
    establishments: &'a [AtomicI32],
    person_menus: &'a [AtomicU64],
    establishment_menus: &'a [AtomicU64],
}

/// `v` as atomics, for as long as it is borrowed.
fn atomic_i32s(v: &mut [i32]) -> &[AtomicI32] {
    // SAFETY: `AtomicI32` has the size, alignment and bit validity of
    // `i32` (as its documentation guarantees); the slice is borrowed
    // mutably for the lifetime of the result, so nothing else reads or
    // writes it except through these atomics.
    unsafe { &*(v as *mut [i32] as *const [AtomicI32]) }
}

// `atomic_u64s` casts `u64`s to `AtomicU64`s: only sound where the two
// are aligned alike (not on 32-bit targets, where `u64` is 4-aligned).
const _: () = assert!(std::mem::align_of::<AtomicU64>() == std::mem::align_of::<u64>());

/// `v` as atomics, for as long as it is borrowed.
fn atomic_u64s(v: &mut [u64]) -> &[AtomicU64] {
    // SAFETY: as for `atomic_i32s`: `AtomicU64` has the size, alignment
    // (on the 64-bit targets that have it) and bit validity of `u64`, and
    // the unique borrow lasts as long as the result.
    unsafe { &*(v as *mut [u64] as *const [AtomicU64]) }
}

impl SubjectsNow {
    /// The tables of subjects, for writing from several threads.
    fn shared(&mut self) -> SharedSubjects<'_> {
        SharedSubjects {
            persons: atomic_i32s(&mut self.persons),
            establishments: atomic_i32s(&mut self.establishments),
            person_menus: atomic_u64s(&mut self.person_menus),
            establishment_menus: atomic_u64s(&mut self.establishment_menus),
        }
    }

    fn new(persons: usize, establishments: usize) -> SubjectsNow {
        SubjectsNow {
            persons: flat::filled(persons, NONE_DAY),
            establishments: flat::filled(establishments, NONE_DAY),
            person_menus: flat::filled(persons, 0),
            establishment_menus: flat::filled(establishments, 0),
            outcome_menus: Vec::new(),
        }
    }

    /// Fills `outcome_menus` for `outcomes`, in `parts` on every core: the
    /// menus an outcome's subjects attended, or, for an outcome that names
    /// its menus (C-ATTR), those (of the first 64; `named` lists them).
    fn outcome_menus(
        &mut self,
        outcomes: &[OutcomeRow],
        named: &[Vec<Option<u16>>],
        per_part_min: usize,
    ) {
        let this = &*self;
        // Each written once, into its place (no halves to join).
        self.outcome_menus =
            crate::par::parallel_map(outcomes, per_part_min * 2, |o| this.menus_of(o, named));
    }

    /// The menus outcome `o` concerns (of the first 64), as a mask: those
    /// it names, else those its person or employer attended.
    fn menus_of(&self, o: &OutcomeRow, named: &[Vec<Option<u16>>]) -> u64 {
        match named.get(o.named as usize) {
            Some(list) => list
                .iter()
                .flatten()
                .filter(|&&m| m < 64)
                .fold(0u64, |mask, &m| mask | 1 << m),
            None => {
                self.person_menus
                    .get(o.person as usize)
                    .copied()
                    .unwrap_or(0)
                    | o.employer
                        .and_then(|e| self.establishment_menus.get(e as usize).copied())
                        .unwrap_or(0)
            }
        }
    }
}

/// How [`Tally::finish`] divides its work between the cores.
#[derive(Debug, Clone, Copy)]
struct Split {
    /// The fewest pairs in each part (fewer: one part).
    pairs_per_part_min: usize,
    /// The fewest outcomes in each part.
    outcomes_per_part_min: usize,
}

impl Default for Split {
    /// Parts large enough to be worth a thread.
    fn default() -> Split {
        Split {
            pairs_per_part_min: 100_000,
            outcomes_per_part_min: 50_000,
        }
    }
}

/// The output of some menus' pairs, before it is added to the figures.
#[derive(Debug, Default, Clone)]
struct MenuCounts {
    output: u64,
    in_region: u64,
    output_establishments: u64,
    excluded: BTreeMap<RuleId, u64>,
}

/// Adds another part's counts per menu to `to`'s.
fn absorb(to: &mut [MenuCounts], other: Vec<MenuCounts>) {
    for (a, b) in to.iter_mut().zip(other) {
        a.output += b.output;
        a.in_region += b.in_region;
        a.output_establishments += b.output_establishments;
        for (rule, n) in b.excluded {
            *a.excluded.entry(rule).or_insert(0) += n;
        }
    }
}

const KIND_HIRE: u8 = 0;
const KIND_CONVERSION: u8 = 1;
const KIND_FOUNDER: u8 = 2;
const KIND_EMPLOYEES: u8 = 3;

/// A set of persons by interned id, a bit each.
struct PersonBits(Vec<u64>);

impl PersonBits {
    fn new(persons: usize) -> PersonBits {
        PersonBits(vec![0; persons.div_ceil(64)])
    }

    /// Adds `person`; whether it was not there.
    fn insert(&mut self, person: u32) -> bool {
        let (word, bit) = (person as usize / 64, 1u64 << (person % 64));
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        let new = self.0[word] & bit == 0;
        self.0[word] |= bit;
        new
    }
}

/// What one outcome gives one menu.
/// What the outcomes give one menu ([`Tally::menu_outcomes`]).
#[derive(Default)]
struct MenuOutcomes {
    outcome: u64,
    breakdown: Breakdown,
    excluded: BTreeMap<RuleId, u64>,
    /// The interpretations relied on (C-ATTR, XC-7, C-RES).
    interpretations: BTreeSet<RuleId>,
    /// The seqs of the outcomes counted (not start-ups' employees).
    counted: Vec<u64>,
    /// Start-ups' employees counted: (seq, how many).
    employees: Vec<(u64, u64)>,
}

/// What outcomes give a menu, before they are put in order: the entries
/// counted, and how many were excluded under each rule (by `RuleId as
/// usize`, the order of `RuleId::ALL`), whose order matters to nothing.
#[derive(Default)]
struct Judged {
    entries: Vec<Entry>,
    excluded: Vec<u64>,
}

impl Judged {
    fn add(&mut self, e: Entry) {
        match e.verdict {
            Verdict::Counted(_) => self.entries.push(e),
            Verdict::Excluded(rule) => {
                if let Some(n) = self.excluded.get_mut(rule as usize) {
                    *n += 1;
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    seq: u64,
    date: Option<Date>,
    kind: u8,
    person: u32,
    verdict: Verdict,
    units: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo council, larger, as (seq, body).
    fn council() -> Vec<(u64, EventBody)> {
        council_of(&crate::synth::SynthConfig {
            participants: 3_000,
            establishments: 300,
            ..crate::synth::SynthConfig::default()
        })
    }

    /// The council `config` generates, as (seq, body).
    pub(super) fn council_of(config: &crate::synth::SynthConfig) -> Vec<(u64, EventBody)> {
        let text = crate::synth::generate_jsonl(config);
        let events = crate::io::read_events(
            text.as_bytes(),
            "council.jsonl",
            crate::io::InputFormat::JsonLines,
            crate::io::Mode::Append,
        )
        .expect("the generated council reads");
        (1u64..).zip(events.into_iter().map(|e| e.body)).collect()
    }

    fn fold(events: &[(u64, EventBody)], parallel: bool, handoff_ops: usize) -> Tally {
        let views: Vec<(u64, BodyView<'_>)> = events.iter().map(|(s, b)| (*s, b.view())).collect();
        let none = Standings::default();
        let mut t = Tally::new();
        t.pipelined(parallel, |p| {
            p.handoff_ops = handoff_ops;
            for chunk in views.chunks(97) {
                p.events(chunk.iter().map(|(s, b)| (*s, b)), &none)
                    .expect("one pass");
            }
        });
        t
    }

    #[test]
    fn a_pipelined_fold_makes_the_state_of_a_fold_on_one_thread() {
        let events = council();
        assert!(events.len() > 5_000, "{}", events.len());
        // A saved state leaves out the room in the pairs' arena, so the
        // same whether or not a fold compacted it.
        let settled = |mut t: Tally| {
            let before = t.encode();
            t.pairs.compact();
            assert_eq!(t.encode(), before, "compacting changes no saved byte");
            before
        };
        let one = fold(&events, false, HANDOFF_OPS);
        assert!(one.pairs.aggs.len() > 1_000);
        assert!(one.pairs.more.len() > 100, "{}", one.pairs.more.len());
        assert!(
            one.pairs.free_buckets > 0,
            "some pairs moved to larger blocks"
        );
        let one = settled(one);
        for handoff in [1, 50, 1_000, HANDOFF_OPS] {
            let two = fold(&events, true, handoff);
            assert_eq!(two.encode(), one, "handing off {handoff}");
        }
        // Event by event too.
        let none = Standings::default();
        let mut each = Tally::new();
        for (seq, body) in &events {
            each.event(*seq, &body.view(), &none).expect("one pass");
        }
        assert_eq!(settled(each), one);
    }

    #[test]
    fn a_saved_state_reads_back_to_the_same_state() {
        let mut t = fold(&council(), false, HANDOFF_OPS);
        // Ids too long for a slot, kept aside.
        let day = days(Date::parse_iso("2025-01-01").expect("a date"));
        for n in 0..50 {
            t.persons
                .intern(&format!("P-とても長い参加者の識別子-{n:04}"))
                .1
                .first_attendance = day + n;
        }
        let bytes = t.encode();
        let back = Tally::decode(&bytes).expect("reads back");
        // The same ids with the same numbers and states (a table read
        // back may place a wrapped-around id in another slot).
        let ids = |i: &Interner| {
            let mut v: Vec<(u32, Vec<u8>, SubjectState)> =
                i.iter().map(|(n, k, s)| (n, k.to_vec(), s)).collect();
            v.sort_by_key(|e| e.0);
            v
        };
        assert_eq!(ids(&back.persons), ids(&t.persons));
        assert_eq!(ids(&back.establishments), ids(&t.establishments));
        assert_eq!(back.pairs.aggs.len(), t.pairs.aggs.len());
        assert_eq!(back.outcomes, t.outcomes);
        // An outcome past the state's last seq is refused, not counted in
        // a table sized by it.
        let mut past = Tally::decode(&bytes).expect("reads back");
        past.outcomes[0].seq = past.last_seq + 1;
        assert!(Tally::decode(&past.encode()).is_err());
        // A subject number past the subjects' count is refused where it is
        // read: in a pair (before a lane is sized by it; a lane of the
        // highest number, 2^32 entries, would be 16 GiB) or an outcome.
        let refused = |t: &Tally| Tally::decode(&t.encode()).err().map(|e| e.what);
        let mut far = Tally::decode(&bytes).expect("reads back");
        let persons = far.persons.len() as u64;
        far.pairs.aggs.entry(agg_key(0, persons), || Agg::EMPTY);
        assert_eq!(refused(&far), Some("a pair out of range"));
        let mut far = Tally::decode(&bytes).expect("reads back");
        let establishments = far.establishments.len() as u32;
        far.pairs.aggs.entry(
            agg_key(1, subject_key(SubjectKind::Establishment, establishments)),
            || Agg::EMPTY,
        );
        assert_eq!(refused(&far), Some("a pair out of range"));
        let mut far = Tally::decode(&bytes).expect("reads back");
        far.outcomes[3].person = persons as u32;
        assert_eq!(refused(&far), Some("a person out of range"));
        let mut far = Tally::decode(&bytes).expect("reads back");
        far.outcomes[3].employer = Some(far.establishments.len() as u32);
        assert_eq!(refused(&far), Some("an employer out of range"));
        // Bucket spans that overlap (two pairs would count each other's
        // attendances) or leave a gap are refused.
        let spans = |place: &mut dyn FnMut(usize, usize) -> (usize, usize)| {
            Tally::decode(&t.encode_placing(place))
                .err()
                .map(|e| e.what)
        };
        assert_eq!(spans(&mut |at, len| (at, len)), None);
        assert_eq!(
            spans(&mut |at, len| (at.saturating_sub(1), len)),
            Some("a bucket span out of place")
        );
        assert_eq!(
            spans(&mut |at, len| (at + 1, len)),
            Some("a bucket span out of place")
        );
        // Spans one after another, the first a bucket short: the first
        // part's spans end before its buckets do.
        let (mut next, mut short) = (0, true);
        let mut shortened = |_, len: usize| {
            let len = match short && len > 0 {
                true => {
                    short = false;
                    len - 1
                }
                false => len,
            };
            next += len;
            (next - len, len)
        };
        assert_eq!(spans(&mut shortened), Some("a bucket span out of range"));
        let q = Query {
            as_of: Date::parse_iso("2026-01-31").expect("a date"),
            scope: Scope::Cumulative,
        };
        assert_eq!(
            back.finish(q).expect("figures").figures,
            t.finish(q).expect("figures").figures
        );
    }

    /// `Judged` counts exclusions by `rule as usize`, read back in the
    /// order of `RuleId::ALL`.
    #[test]
    fn rule_ids_are_numbered_in_the_order_of_all() {
        for (i, &rule) in RuleId::ALL.iter().enumerate() {
            assert_eq!(rule as usize, i, "{rule:?}");
        }
    }

    #[test]
    fn finish_gives_the_same_figures_however_it_splits_the_work() {
        let t = fold(&council(), false, HANDOFF_OPS);
        let whole = Split {
            pairs_per_part_min: usize::MAX / 4,
            outcomes_per_part_min: usize::MAX / 4,
        };
        let halves = Split {
            pairs_per_part_min: 1,
            outcomes_per_part_min: 1,
        };
        assert!(t.outcomes.len() > 100, "{}", t.outcomes.len());
        for (as_of, scope) in [
            ("2025-02-28", Scope::FiscalYear),
            ("2026-01-31", Scope::FiscalYear),
            ("2027-09-30", Scope::Cumulative),
        ] {
            let q = Query {
                as_of: Date::parse_iso(as_of).expect("a date"),
                scope,
            };
            let a = t.finish_split(q, whole).expect("figures");
            let b = t.finish_split(q, halves).expect("figures");
            assert!(a.figures.total_output > 0 && a.figures.total_outcome > 0);
            assert_eq!(a.figures, b.figures, "{as_of} {scope:?}");
            assert_eq!(a.warnings, b.warnings);
        }
    }

    #[test]
    fn packed_terms_give_back_every_attendance_they_were_given() {
        let places = [
            None,
            Some(Place::InRegion),
            Some(Place::OutRegion),
            Some(Place::Unknown),
        ];
        let flags = [None, Some(false), Some(true)];
        let mut students = vec![None];
        for school in School::ALL {
            for year in [0, 1989, 2025, 2199, u16::MAX] {
                students.push(Some(Student {
                    school: *school,
                    graduating_year: FiscalYear(year),
                }));
            }
        }
        let date = Date::parse_iso("2025-04-01").expect("a date");
        let mut n = 0;
        for role in Role::ALL {
            for residence in places {
                for establishment_location in places {
                    let triples = flags.iter().flat_map(|a| {
                        flags
                            .iter()
                            .flat_map(move |b| flags.map(move |c| (*a, *b, c)))
                    });
                    for (wants_in_region, intent_confirmed, freelance) in triples {
                        for student in &students {
                            let t = AttendanceTerms {
                                date,
                                role: *role,
                                residence,
                                establishment_location,
                                wants_in_region,
                                intent_confirmed,
                                freelance,
                                student: *student,
                            };
                            assert_eq!(PackedTerms::pack(&t).unpack(), t);
                            n += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(n, 7 * 4 * 4 * 27 * 11);
    }

    /// The fold keeps one slot per (menu, subject) pair and one bucket per
    /// extra fiscal year, millions of each at national scale: their size
    /// is the report's memory.
    #[test]
    fn a_pair_slot_is_32_bytes_and_a_bucket_16() {
        assert_eq!(std::mem::size_of::<Bucket>(), 16);
        assert_eq!(std::mem::size_of::<(u64, Agg)>(), 32);
    }

    #[test]
    fn a_bucket_gives_back_every_verdict_and_first_counted_attendance() {
        let date = Date::parse_iso("2025-06-01").expect("a date");
        let terms = AttendanceTerms {
            date,
            role: Role::JobSeeker,
            residence: Some(Place::InRegion),
            establishment_location: None,
            wants_in_region: Some(true),
            intent_confirmed: None,
            freelance: Some(false),
            student: Some(Student {
                school: School::HighSchool,
                graduating_year: FiscalYear(u16::MAX),
            }),
        };
        for &rule in RuleId::ALL {
            for v in [Verdict::Counted(rule), Verdict::Excluded(rule)] {
                assert_eq!(verdict_of(verdict_code(v)), v);
                for in_region in [false, true] {
                    let counted = FirstCounted {
                        terms: PackedTerms::pack(&terms),
                        rule,
                        in_region,
                    };
                    let b = Bucket::of(2025, Some((date, v)), Some(counted));
                    assert_eq!(b.first(), Some((date, v)));
                    assert_eq!(b.first_counted(), Some(counted));
                    assert_eq!(b.first_counted().map(|f| f.terms.unpack()), Some(terms));
                }
            }
        }
        let empty = Bucket::of(0, None, None);
        assert_eq!((empty.first(), empty.first_counted()), (None, None));
    }

    #[test]
    fn the_interner_gives_one_id_per_string_short_or_long() {
        let mut i = Interner::default();
        let long = "E-とても長い事業所の識別子-0001";
        assert!(long.len() > flat::INLINE);
        let names = [
            "P-1",
            long,
            "P-2",
            "x".repeat(16).leak(),
            "x".repeat(17).leak(),
        ];
        let ids: Vec<u32> = names.iter().map(|s| i.intern(s).0).collect();
        assert_eq!(ids, vec![0, 1, 2, 3, 4]);
        for _ in 0..3 {
            let again: Vec<u32> = names.iter().map(|s| i.intern(s).0).collect();
            assert_eq!(again, ids);
        }
        i.intern(long).1.first_attendance = 7;
        i.intern("P-2").1.places = 3;
        let st = i.states();
        assert_eq!(
            (st[1].first_attendance, st[2].places, st[0].places),
            (7, 3, 0)
        );
        // Enough ids to make the table grow several times.
        for n in 0..10_000 {
            assert_eq!(i.intern(&format!("id-{n}")).0, 5 + n);
        }
        assert_eq!(i.intern(long).0, 1);
    }
}
