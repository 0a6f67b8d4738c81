//! A [`Tally`] as bytes: the state a checkpoint saves, so that a report
//! folds only the events after it.
//!
//! The encoding is this module's own, little-endian and fixed-width, with
//! every value checked on the way back in (dates exist, vocabulary codes
//! are known, counts and hours are in range, indices point inside their
//! tables). It is derived data: it is never exported, and a checkpoint
//! that does not decode is ignored and the journal replayed instead. Its
//! layout is tied to [`fingerprint`], which changes whenever the rules,
//! the fold or this encoding change, so a checkpoint written by another
//! build of the rules is never read (docs/format.md §7).

use super::curves::{self, Curves, Step};
use super::{
    Agg, Bucket, Day, FirstCounted, Interner, Menu, OutcomeRow, OutcomeTerms, PackedTerms,
    SubjectState, Tally, NO_MORE,
};
use crate::domain::{
    AttendanceTerms, ConversionTerms, Count, Date, DayCache, FiscalYear, HireTerms, MenuDefined,
    Place, ProjectDefined, Role, School, StartupTerms, Student, TargetsRevised, WeeklyHours,
};
use crate::projection::resolve::MenuState;
use crate::rules::{RuleId, Verdict};
use sha2::{Digest, Sha256};
use std::mem::MaybeUninit;

/// The layout of [`Tally::encode`]. Part of [`fingerprint`].
pub const FORMAT: u32 = 2;

/// Eight bytes that name this build's counting: the layout version and a
/// SHA-256 of the source of the rules and of the fold. A checkpoint is
/// read only by a build with the same fingerprint, so changing a rule
/// invalidates every checkpoint without anyone having to remember to.
pub fn fingerprint() -> [u8; 8] {
    const SOURCES: &[&str] = &[
        include_str!("../../rules/mod.rs"),
        include_str!("../../rules/outcome.rs"),
        include_str!("../../rules/output.rs"),
        include_str!("../../rules/students.rs"),
        include_str!("../../rules/time.rs"),
        include_str!("../../domain/view.rs"),
        include_str!("../mod.rs"),
        include_str!("../resolve.rs"),
        include_str!("../tally.rs"),
        include_str!("checkpoint.rs"),
        include_str!("curves.rs"),
    ];
    let mut h = Sha256::new();
    h.update(FORMAT.to_le_bytes());
    for s in SOURCES {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    }
    let d = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// Why saved state was not read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("checkpoint state unreadable at byte {at}: {what}")]
pub struct StateError {
    /// Offset of the value that failed.
    pub at: usize,
    /// What was wrong.
    pub what: &'static str,
}

const MAGIC: &[u8; 8] = b"JSKTALLY";

/// The parts the pairs are saved in, each read back on its own thread.
const PAIR_PARTS: usize = 2;

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    /// Starts a section: its length, filled in by [`W::end_section`].
    fn section(&mut self) -> usize {
        let at = self.0.len();
        self.u64(0);
        at
    }
    fn end_section(&mut self, at: usize) {
        let n = (self.0.len() - at - 8) as u64;
        self.0[at..at + 8].copy_from_slice(&n.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
    fn date(&mut self, d: Date) {
        self.i32(d.days_from_ce());
    }
    fn opt_date(&mut self, d: Option<Date>) {
        match d {
            Some(d) => {
                self.u8(1);
                self.date(d);
            }
            None => self.u8(0),
        }
    }
    fn opt_bool(&mut self, b: Option<bool>) {
        self.u8(match b {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
    }
    fn code<T: PartialEq>(&mut self, all: &[T], v: &T) {
        self.u8(all.iter().position(|x| x == v).unwrap_or(0) as u8);
    }
    fn opt_code<T: PartialEq>(&mut self, all: &[T], v: Option<&T>) {
        match v {
            Some(v) => self.code(all, v),
            None => self.u8(u8::MAX),
        }
    }
    fn json<T: serde::Serialize>(&mut self, v: &T) {
        // Definitions are few; JSON keeps their own validation on reading.
        let text = serde_json::to_vec(v).unwrap_or_default();
        self.bytes(&text);
    }
    fn project(&mut self, p: Option<&ProjectDefined>) {
        match p {
            Some(p) => {
                self.u8(1);
                self.json(p);
            }
            None => self.u8(0),
        }
    }
    fn menus(&mut self, menus: &[Menu]) {
        self.len(menus.len());
        for m in menus {
            self.json(&m.state.def);
            self.json(&m.state.revisions);
            self.len(m.state.sessions.len());
            for d in &m.state.sessions {
                self.date(*d);
            }
            self.i32(m.xo7_student);
        }
    }
    fn verdict(&mut self, v: Verdict) {
        self.u8(u8::from(v.counts()));
        self.code(RuleId::ALL, &v.rule());
    }
    fn attendance(&mut self, t: &AttendanceTerms) {
        self.date(t.date);
        self.code(Role::ALL, &t.role);
        self.opt_code(Place::ALL, t.residence.as_ref());
        self.opt_code(Place::ALL, t.establishment_location.as_ref());
        self.opt_bool(t.wants_in_region);
        self.opt_bool(t.intent_confirmed);
        self.opt_bool(t.freelance);
        match t.student {
            Some(s) => {
                self.u8(1);
                self.code(School::ALL, &s.school);
                self.u16(s.graduating_year.0);
            }
            None => self.u8(0),
        }
    }
    fn bucket(&mut self, b: &Bucket) {
        self.u16(b.bucket);
        match b.first() {
            Some((d, v)) => {
                self.u8(1);
                self.date(d);
                self.verdict(v);
            }
            None => self.u8(0),
        }
        match &b.first_counted() {
            Some(f) => {
                self.u8(1);
                self.attendance(&f.terms.unpack());
                self.code(RuleId::ALL, &f.rule);
                self.u8(u8::from(f.in_region));
            }
            None => self.u8(0),
        }
    }
    /// In slot order, each with its number: read back in that order, every
    /// id goes where it was, and the table is written nearly in order
    /// rather than at random.
    fn interner(&mut self, i: &Interner) {
        self.len(i.len());
        for (id, key, st) in i.iter() {
            self.bytes(key);
            self.u32(id);
            self.i32(st.first_attendance);
            self.u8(st.places);
        }
    }
}

struct R<'a> {
    b: &'a [u8],
    at: usize,
    /// Dates read (a state's are of a few years, each many times).
    dates: DayCache,
}

type Res<T> = Result<T, StateError>;

impl<'a> R<'a> {
    fn err<T>(&self, what: &'static str) -> Res<T> {
        Err(StateError { at: self.at, what })
    }
    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        match self.b.get(self.at..self.at.saturating_add(n)) {
            Some(s) if self.at.checked_add(n).is_some() => {
                self.at += n;
                Ok(s)
            }
            _ => self.err("truncated"),
        }
    }
    fn arr<const N: usize>(&mut self) -> Res<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u8(&mut self) -> Res<u8> {
        Ok(self.arr::<1>()?[0])
    }
    fn u16(&mut self) -> Res<u16> {
        Ok(u16::from_le_bytes(self.arr()?))
    }
    fn u32(&mut self) -> Res<u32> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Res<u64> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    fn i32(&mut self) -> Res<i32> {
        Ok(i32::from_le_bytes(self.arr()?))
    }
    /// A length, no greater than the bytes left divided by `min_size`
    /// (so a damaged length cannot ask for a huge allocation).
    fn len(&mut self, min_size: usize) -> Res<usize> {
        let n = self.u64()?;
        let left = (self.b.len() - self.at) / min_size.max(1);
        match usize::try_from(n) {
            Ok(n) if n <= left => Ok(n),
            _ => self.err("length beyond the data"),
        }
    }
    fn bytes(&mut self) -> Res<&'a [u8]> {
        let n = self.len(1)?;
        self.take(n)
    }
    fn str(&mut self) -> Res<&'a str> {
        let b = self.bytes()?;
        std::str::from_utf8(b).or_else(|_| self.err("not UTF-8"))
    }
    fn new(b: &'a [u8], at: usize) -> R<'a> {
        R {
            b,
            at,
            dates: DayCache::new(),
        }
    }
    fn date(&mut self) -> Res<Date> {
        let d = self.i32()?;
        self.dates
            .date(d)
            .map_or_else(|| self.err("not a date"), Ok)
    }
    fn opt_date(&mut self) -> Res<Option<Date>> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.date()?)),
            _ => self.err("bad option tag"),
        }
    }
    fn day(&mut self) -> Res<i32> {
        let d = self.i32()?;
        if d == super::NONE_DAY || self.dates.date(d).is_some() {
            Ok(d)
        } else {
            self.err("not a day")
        }
    }
    fn opt_bool(&mut self) -> Res<Option<bool>> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(false)),
            2 => Ok(Some(true)),
            _ => self.err("bad boolean"),
        }
    }
    fn flag(&mut self) -> Res<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => self.err("bad flag"),
        }
    }
    fn code<T: Copy>(&mut self, all: &[T]) -> Res<T> {
        let c = self.u8()?;
        all.get(usize::from(c))
            .copied()
            .map_or_else(|| self.err("unknown code"), Ok)
    }
    fn opt_code<T: Copy>(&mut self, all: &[T]) -> Res<Option<T>> {
        let c = self.u8()?;
        if c == u8::MAX {
            return Ok(None);
        }
        all.get(usize::from(c))
            .copied()
            .map_or_else(|| self.err("unknown code"), |v| Ok(Some(v)))
    }
    fn json<T: serde::de::DeserializeOwned>(&mut self) -> Res<T> {
        let b = self.bytes()?;
        serde_json::from_slice(b).or_else(|_| self.err("bad definition"))
    }
    /// The project [`W::project`] wrote, if any.
    fn project(&mut self) -> Res<Option<ProjectDefined>> {
        Ok(if self.flag()? {
            Some(self.json()?)
        } else {
            None
        })
    }
    /// The menus [`W::menus`] wrote, each id once.
    fn menus(&mut self) -> Res<Vec<Menu>> {
        let n = self.len(8)?;
        let mut ids = std::collections::HashSet::new();
        let mut menus = Vec::with_capacity(n);
        for i in 0..n {
            let def: MenuDefined = self.json()?;
            let revisions: Vec<TargetsRevised> = self.json()?;
            let k = self.len(4)?;
            let mut sessions = Vec::with_capacity(k);
            for _ in 0..k {
                sessions.push(self.date()?);
            }
            let xo7_student = self.day()?;
            if !ids.insert(def.menu.0.clone()) || i > 0xFFFF {
                return self.err("a menu twice");
            }
            menus.push(Menu {
                state: MenuState {
                    menu: def.menu.0.clone(),
                    category: def.category,
                    kind: def.kind,
                    def,
                    revisions,
                    sessions,
                },
                xo7_student,
            });
        }
        Ok(menus)
    }
    fn verdict(&mut self) -> Res<Verdict> {
        let counts = self.flag()?;
        let rule = self.code(RuleId::ALL)?;
        Ok(if counts {
            Verdict::Counted(rule)
        } else {
            Verdict::Excluded(rule)
        })
    }
    fn hours(&mut self) -> Res<WeeklyHours> {
        let h = self.u32()?;
        WeeklyHours::from_hundredths(h).map_or_else(|| self.err("hours out of range"), Ok)
    }
    fn attendance(&mut self) -> Res<AttendanceTerms> {
        Ok(AttendanceTerms {
            date: self.date()?,
            role: self.code(Role::ALL)?,
            residence: self.opt_code(Place::ALL)?,
            establishment_location: self.opt_code(Place::ALL)?,
            wants_in_region: self.opt_bool()?,
            intent_confirmed: self.opt_bool()?,
            freelance: self.opt_bool()?,
            student: if self.flag()? {
                let school = self.code(School::ALL)?;
                let y = self.u16()?;
                let graduating_year =
                    FiscalYear::new(y).map_or_else(|| self.err("year out of range"), Ok)?;
                Some(Student {
                    school,
                    graduating_year,
                })
            } else {
                None
            },
        })
    }
    fn bucket(&mut self) -> Res<Bucket> {
        let bucket = self.u16()?;
        let first = if self.flag()? {
            Some((self.date()?, self.verdict()?))
        } else {
            None
        };
        let first_counted = if self.flag()? {
            Some(FirstCounted {
                terms: PackedTerms::pack(&self.attendance()?),
                rule: self.code(RuleId::ALL)?,
                in_region: self.flag()?,
            })
        } else {
            None
        };
        Ok(Bucket::of(bucket, first, first_counted))
    }
    /// Interned ids, `expected` of them.
    fn interner(&mut self, expected: usize) -> Res<Interner> {
        let n = self.len(17)?;
        if n != expected {
            return self.err("a count of subjects that differs");
        }
        let mut i = Interner::default();
        i.reserve(n);
        // Every number below n, once.
        let mut seen = vec![false; n];
        for _ in 0..n {
            let key = self.str()?;
            let id = self.u32()?;
            let first_attendance = self.day()?;
            let places = self.u8()?;
            if places > 3 {
                return self.err("bad places");
            }
            match seen.get_mut(id as usize) {
                Some(s) if !*s => *s = true,
                _ => return self.err("an id out of range or twice"),
            }
            let state = SubjectState {
                first_attendance,
                places,
            };
            if !i.insert_with_id(key, id, state) {
                return self.err("an id twice");
            }
        }
        Ok(i)
    }
}

impl Tally {
    /// The fold's whole state as bytes (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_placing(|at, len| (at, len))
    }

    /// [`Tally::encode`] in pieces, to be written one after another (the
    /// pairs' parts are written on every core, and not copied together).
    pub fn encode_pieces(&self) -> Vec<Vec<u8>> {
        self.encode_pieces_placing(|at, len| (at, len))
    }

    /// [`Tally::encode`], each pair's bucket span (where it starts, how
    /// long it is) written as `place(start, len)`: the identity, except in
    /// a test of spans out of place.
    pub(super) fn encode_placing(
        &self,
        place: impl FnMut(usize, usize) -> (usize, usize),
    ) -> Vec<u8> {
        self.encode_pieces_placing(place).concat()
    }

    /// [`Tally::encode_pieces`], spans placed as [`Tally::encode_placing`]
    /// says.
    fn encode_pieces_placing(
        &self,
        mut place: impl FnMut(usize, usize) -> (usize, usize),
    ) -> Vec<Vec<u8>> {
        let mut w = W(Vec::new());
        w.0.extend_from_slice(MAGIC);
        w.0.extend_from_slice(&fingerprint());
        w.u64(self.last_seq);
        w.u8(u8::from(self.saw_reference));
        w.u8(u8::from(self.broken));
        w.project(self.project.as_ref());
        w.menus(&self.menus);
        let mut unknown: Vec<&String> = self.unknown_menus.iter().collect();
        unknown.sort();
        w.len(unknown.len());
        for m in unknown {
            w.bytes(m.as_bytes());
        }
        // Sections, each after its length, so that they are read back on
        // separate threads: the subjects, the pairs in `PAIR_PARTS` parts,
        // and the rest.
        // How many subjects of each kind, so that every section can check
        // the subject numbers it reads as it reads them.
        w.len(self.persons.len());
        w.len(self.establishments.len());
        let section = w.section();
        w.interner(&self.persons);
        w.interner(&self.establishments);
        w.end_section(section);
        // The pairs' other buckets are written span after span, in the
        // order of the pairs, leaving out the room a fold left behind: the
        // bytes are a function of the figures' state, not of where in the
        // arena each span happened to be. A span's start counts from the
        // first part's first bucket. The parts are written on every core,
        // each in one walk over its pairs (a random read each) with its
        // spans' buckets gathered aside; the spans' starts, which depend on
        // the parts before, are put in after.
        let mut pieces = vec![std::mem::take(&mut w.0)];
        let parts: Vec<usize> = (0..PAIR_PARTS).collect();
        let written = crate::par::parallel_map(&parts, 2, |&part| self.encode_pairs(part));
        let mut at = 0usize;
        for (mut pairs, spans, fields) in written {
            for (field, len) in fields {
                let (start, placed) = place(at, len);
                pairs[field..field + 4].copy_from_slice(&(start as u32).to_le_bytes());
                pairs[field + 4..field + 6].copy_from_slice(&(placed as u16).to_le_bytes());
                at += len;
            }
            pieces.push(pairs);
            pieces.push(spans);
        }
        let section = w.section();
        let days: Vec<(u16, Date, Day)> = self.days.iter().collect();
        w.len(days.len());
        for (mi, d, n) in days {
            w.u16(mi);
            w.date(d);
            w.u64(n.all);
            w.u64(n.counted);
        }
        w.len(self.named.len());
        for list in &self.named {
            w.len(list.len());
            for m in list {
                w.u16(m.unwrap_or(u16::MAX));
            }
        }
        w.len(self.outcomes.len());
        for o in &self.outcomes {
            w.u64(o.seq);
            w.u32(o.person);
            match o.employer {
                Some(e) => {
                    w.u8(1);
                    w.u32(e);
                }
                None => w.u8(0),
            }
            w.u32(o.named);
            match o.terms {
                OutcomeTerms::Hire(h) => {
                    w.u8(0);
                    w.opt_date(h.start_date);
                    w.code(Place::ALL, &h.workplace);
                    w.u32(h.weekly_hours.hundredths());
                    w.opt_date(h.offer_date);
                    w.opt_date(h.interviewed_on);
                    w.opt_bool(h.regular_recruitment);
                    w.opt_bool(h.employed_before_use);
                    w.opt_bool(h.new_site_in_region);
                }
                OutcomeTerms::Conversion(c) => {
                    w.u8(1);
                    w.date(c.date);
                    w.u32(c.weekly_hours.hundredths());
                    w.opt_bool(c.vacancy_fill);
                }
                OutcomeTerms::Startup(s) => {
                    w.u8(2);
                    w.date(s.date);
                    w.code(Place::ALL, &s.location);
                    w.u32(s.employees.0);
                }
            }
        }
        w.end_section(section);
        pieces.push(w.0);
        pieces
    }

    /// Part `part` of the pairs' section, in two pieces: its length, the
    /// pair count, the count of their other buckets and each pair (key,
    /// main bucket, span); then the spans' buckets. Also, for each span,
    /// where its start and length lie in the first piece (left 0, for the
    /// caller to place) and its length.
    fn encode_pairs(&self, part: usize) -> (Vec<u8>, Vec<u8>, Vec<(usize, usize)>) {
        let mut w = W(Vec::new());
        let mut spans = W(Vec::new());
        let mut fields = Vec::new();
        w.len(0);
        w.len(0);
        w.len(0);
        let (mut pairs, mut buckets) = (0usize, 0usize);
        for (key, agg) in self.pairs.aggs.iter_part(part, PAIR_PARTS) {
            let span = self.pairs.more_of(agg);
            w.u64(key);
            w.bucket(&agg.main);
            if span.is_empty() {
                w.u32(NO_MORE);
                w.u16(0);
            } else {
                fields.push((w.0.len(), span.len()));
                w.u32(0);
                w.u16(0);
                for b in span {
                    spans.bucket(b);
                }
                buckets += span.len();
            }
            pairs += 1;
        }
        let section = (w.0.len() - 8 + spans.0.len()) as u64;
        w.0[..8].copy_from_slice(&section.to_le_bytes());
        w.0[8..16].copy_from_slice(&(pairs as u64).to_le_bytes());
        w.0[16..24].copy_from_slice(&(buckets as u64).to_le_bytes());
        (w.0, spans.0, fields)
    }

    /// The state [`Tally::encode`] wrote, checked value by value; an error
    /// when the bytes are damaged or were written by another build of the
    /// rules ([`fingerprint`]).
    pub fn decode(bytes: &[u8]) -> Result<Tally, StateError> {
        let mut r = R::new(bytes, 0);
        if r.take(8)? != MAGIC {
            return r.err("not a tally");
        }
        if r.arr::<8>()? != fingerprint() {
            return r.err("written by another build of the rules");
        }
        let mut t = Tally::new();
        t.last_seq = r.u64()?;
        t.saw_reference = r.flag()?;
        t.broken = r.flag()?;
        t.project = r.project()?;
        t.menus = r.menus()?;
        for (i, m) in t.menus.iter().enumerate() {
            t.menu_index.insert(m.state.menu.clone(), i as u16);
        }
        let n = r.len(8)?;
        for _ in 0..n {
            t.unknown_menus.insert(r.str()?.to_string());
        }
        // The three sections ([`Tally::encode`]), read on three threads;
        // what one section's values refer to in another (a pair's or an
        // outcome's subject) is checked once all are read.
        let subjects_len = [r.len(17)?, r.len(17)?];
        let mut subjects = r.section()?;
        let mut parts = Vec::with_capacity(PAIR_PARTS);
        for _ in 0..PAIR_PARTS {
            let mut part = r.section()?;
            let counts = (part.len(16)?, part.len(4)?);
            parts.push((part, counts));
        }
        let mut rest = r.section()?;
        if r.at != bytes.len() {
            return r.err("bytes after the end");
        }
        // Room for every part's pairs and buckets, each part read into its
        // own share of it.
        let n: usize = parts.iter().map(|(_, (n, _))| n).sum();
        let m: usize = parts.iter().map(|(_, (_, m))| m).sum();
        let mut keys: Vec<u64> = Vec::with_capacity(n);
        let mut aggs: Vec<Agg> = Vec::with_capacity(n);
        let mut more: Vec<Bucket> = Vec::with_capacity(m);
        let menus = t.menus.len();
        let (interners, read, outcomes) = std::thread::scope(|s| {
            let interners = crate::par::spawn_or_run(s, move || {
                let persons = subjects.interner(subjects_len[0])?;
                let establishments = subjects.interner(subjects_len[1])?;
                subjects.end()?;
                Ok((persons, establishments))
            });
            let (mut keys_left, mut aggs_left, mut more_left) = (
                &mut keys.spare_capacity_mut()[..n],
                &mut aggs.spare_capacity_mut()[..n],
                &mut more.spare_capacity_mut()[..m],
            );
            let mut readers = Vec::with_capacity(PAIR_PARTS);
            // Where each part's buckets start among all the parts'.
            let mut base = 0usize;
            for (mut part, (pn, pm)) in parts {
                let (k, rest_k) = std::mem::take(&mut keys_left).split_at_mut(pn);
                let (a, rest_a) = std::mem::take(&mut aggs_left).split_at_mut(pn);
                let (b, rest_b) = std::mem::take(&mut more_left).split_at_mut(pm);
                (keys_left, aggs_left, more_left) = (rest_k, rest_a, rest_b);
                let first = base;
                base += pm;
                readers.push(crate::par::spawn_or_run(s, move || {
                    part.pairs(menus, subjects_len, first, k, a, b)?;
                    part.end()
                }));
            }
            let outcomes = rest
                .rest(&mut t, subjects_len)
                .and_then(|o| rest.end().map(|()| o));
            let read: Vec<Res<()>> = readers.into_iter().map(joined).collect();
            (joined(interners), read, outcomes)
        });
        let (persons, establishments) = interners?;
        for part in read {
            part?;
        }
        // SAFETY: every part read returned Ok, and a part that returns Ok
        // has written each of its slots of `keys` and `aggs` (its `n`) and
        // of `more` (its `m`); the parts' shares are disjoint and together
        // cover the first `n` (and `m`) slots. The types have no drop.
        unsafe {
            keys.set_len(n);
            aggs.set_len(n);
            more.set_len(m);
        }
        let Some(table) = super::flat::AggTable::from_pairs(keys, aggs) else {
            return r.err("a pair twice");
        };
        t.persons = persons;
        t.establishments = establishments;
        t.pairs.aggs = table;
        t.pairs.more = more;
        t.outcomes = outcomes?;
        Ok(t)
    }
}

/// A section reader's result. A reader never panics, whatever the bytes
/// (`damaged_state_bytes_never_panic`); if one did, the panic goes on
/// here, as it would have on this thread.
fn joined<T>(h: crate::par::Task<'_, Res<T>>) -> Res<T> {
    h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

impl<'a> R<'a> {
    /// A section: its length, then its bytes. Its own reader (offsets
    /// still counted from the start of the state), and this one moved past
    /// it.
    fn section(&mut self) -> Res<R<'a>> {
        let n = self.len(1)?;
        let start = self.at;
        self.take(n)?;
        let b = self
            .b
            .get(..self.at)
            .map_or_else(|| self.err("truncated"), Ok)?;
        Ok(R::new(b, start))
    }

    /// An error unless every byte was read.
    fn end(&self) -> Res<()> {
        if self.at == self.b.len() {
            Ok(())
        } else {
            self.err("bytes after the end")
        }
    }

    /// A part of the (menu, subject) pairs (its counts already read) into
    /// `keys` and `aggs`, and its pairs' other buckets into `more`, every
    /// slot written unless it fails. `subjects` is how many persons and
    /// establishments there are; `first`, where the part's buckets start
    /// among all the parts'. The pairs' bucket spans must follow one
    /// another from `first` and end where the part's buckets do, as
    /// [`Tally::encode`] writes them: two pairs sharing a bucket would
    /// count each other's attendances.
    fn pairs(
        &mut self,
        menus: usize,
        subjects: [usize; 2],
        first: usize,
        keys: &mut [MaybeUninit<u64>],
        aggs: &mut [MaybeUninit<Agg>],
        more: &mut [MaybeUninit<Bucket>],
    ) -> Res<()> {
        // Where the next pair's span must start.
        let mut next = first as u64;
        // The shares' fresh pages made ready on another core meanwhile.
        let ready = [
            (keys.as_ptr() as usize, std::mem::size_of_val(keys)),
            (aggs.as_ptr() as usize, std::mem::size_of_val(aggs)),
            (more.as_ptr() as usize, std::mem::size_of_val(more)),
        ];
        crate::par::with_pages_ready(&ready, || -> Res<()> {
            for (k, a) in keys.iter_mut().zip(aggs.iter_mut()) {
                let key = self.u64()?;
                let kind = usize::from(key & (1 << 32) != 0);
                if !super::flat::is_pair_key(key)
                    || (key >> 40) as usize >= menus
                    || key as u32 as usize >= subjects[kind]
                {
                    return self.err("a pair out of range");
                }
                let main = self.bucket()?;
                let start = self.u32()?;
                let more_len = self.u16()?;
                match start {
                    NO_MORE if more_len != 0 => return self.err("a bucket span without a start"),
                    NO_MORE => {}
                    _ if u64::from(start) != next => {
                        return self.err("a bucket span out of place");
                    }
                    _ => next += u64::from(more_len),
                }
                k.write(key);
                a.write(Agg {
                    main,
                    more: start,
                    more_len,
                    more_cap: more_len,
                });
            }
            if next != (first + more.len()) as u64 {
                return self.err("a bucket span out of range");
            }
            for b in more.iter_mut() {
                b.write(self.bucket()?);
            }
            Ok(())
        })
    }

    /// The days, the named menu lists (into `t`), and the outcomes.
    fn rest(&mut self, t: &mut Tally, subjects: [usize; 2]) -> Res<Vec<OutcomeRow>> {
        let r = self;
        let n = r.len(22)?;
        let contract_start = t.project.as_ref().map(|p| p.contract_start);
        for _ in 0..n {
            let mi = r.u16()?;
            if usize::from(mi) >= t.menus.len() {
                return r.err("a menu out of range");
            }
            let d = r.date()?;
            let all = r.u64()?;
            let counted = r.u64()?;
            if counted > all || all == 0 {
                return r.err("a bad day");
            }
            t.days.add(mi, d, contract_start, all, counted);
        }
        let n = r.len(8)?;
        for _ in 0..n {
            let k = r.len(2)?;
            let mut list = Vec::with_capacity(k);
            for _ in 0..k {
                let m = r.u16()?;
                list.push((m != u16::MAX).then_some(m));
            }
            t.named.push(list);
        }
        let n = r.len(18)?;
        let mut rows = Vec::with_capacity(n);
        // The rows' fresh pages made ready on another core meanwhile.
        let ready = [crate::par::room_of(&rows, n)];
        crate::par::with_pages_ready(&ready, || -> Res<()> {
            for _ in 0..n {
                let seq = r.u64()?;
                // The fold folds nothing past its last seq (and `finish` keeps
                // a bit per seq up to it).
                if seq == 0 || seq > t.last_seq {
                    return r.err("an outcome's seq out of range");
                }
                let person = r.u32()?;
                if person as usize >= subjects[0] {
                    return r.err("a person out of range");
                }
                let employer = if r.flag()? {
                    let e = r.u32()?;
                    if e as usize >= subjects[1] {
                        return r.err("an employer out of range");
                    }
                    Some(e)
                } else {
                    None
                };
                let named = r.u32()?;
                if named != u32::MAX && named as usize >= t.named.len() {
                    return r.err("a menu list out of range");
                }
                let terms = match r.u8()? {
                    0 => OutcomeTerms::Hire(HireTerms {
                        start_date: r.opt_date()?,
                        workplace: r.code(Place::ALL)?,
                        weekly_hours: r.hours()?,
                        offer_date: r.opt_date()?,
                        interviewed_on: r.opt_date()?,
                        regular_recruitment: r.opt_bool()?,
                        employed_before_use: r.opt_bool()?,
                        new_site_in_region: r.opt_bool()?,
                    }),
                    1 => OutcomeTerms::Conversion(ConversionTerms {
                        date: r.date()?,
                        weekly_hours: r.hours()?,
                        vacancy_fill: r.opt_bool()?,
                    }),
                    2 => OutcomeTerms::Startup(StartupTerms {
                        date: r.date()?,
                        location: r.code(Place::ALL)?,
                        employees: {
                            let c = r.u32()?;
                            Count::new(c).map_or_else(|| r.err("count out of range"), Ok)?
                        },
                    }),
                    _ => return r.err("unknown outcome"),
                };
                rows.push(OutcomeRow {
                    seq,
                    person,
                    employer,
                    named,
                    terms,
                });
            }
            Ok(())
        })?;
        Ok(rows)
    }
}

const CURVES_MAGIC: &[u8; 8] = b"JSKCURVE";

impl Curves {
    /// The curves as bytes, in this module's encoding, tied like a state
    /// to [`fingerprint`].
    pub fn encode(&self) -> Vec<u8> {
        let mut w = W(Vec::new());
        w.0.extend_from_slice(CURVES_MAGIC);
        w.0.extend_from_slice(&fingerprint());
        w.u64(self.last_seq);
        w.0.extend_from_slice(&self.hash);
        w.project(self.project.as_ref());
        w.menus(&self.menus);
        w.len(self.days.len());
        for &(mi, day, n) in &self.days {
            w.u16(mi);
            w.i32(day);
            w.u64(n);
        }
        w.u64(self.warnings_base);
        w.u16(self.years.0);
        w.u16(self.years.1);
        w.len(self.curves.len());
        for (&key, steps) in &self.curves {
            w.u16(key);
            w.len(steps.len());
            for s in steps {
                w.i32(s.day);
                w.u32(s.slot);
                w.u64(s.delta as u64);
            }
        }
        w.0
    }

    /// The curves [`Curves::encode`] wrote, checked: every menu, day and
    /// figure in range, each curve's steps in order.
    pub fn decode(bytes: &[u8]) -> Result<Curves, StateError> {
        let mut r = R::new(bytes, 0);
        if r.take(8)? != CURVES_MAGIC {
            return r.err("not curves");
        }
        if r.arr::<8>()? != fingerprint() {
            return r.err("written by another build of the rules");
        }
        let last_seq = r.u64()?;
        let hash = r.arr::<32>()?;
        let project = r.project()?;
        let menus = r.menus()?;
        let n = r.len(14)?;
        let mut days = Vec::with_capacity(n);
        for _ in 0..n {
            let mi = r.u16()?;
            let day = r.date()?.days_from_ce();
            if usize::from(mi) >= menus.len() {
                return r.err("no such menu");
            }
            days.push((mi, day, r.u64()?));
        }
        let warnings_base = r.u64()?;
        let years = (r.u16()?, r.u16()?);
        let slots = curves::Layout { n: menus.len() }.width();
        let mut out = std::collections::BTreeMap::new();
        for _ in 0..r.len(10)? {
            let key = r.u16()?;
            let k = r.len(16)?;
            let mut steps: Vec<Step> = Vec::with_capacity(k);
            for _ in 0..k {
                let day = r.i32()?;
                let slot = r.u32()?;
                let delta = r.u64()? as i64;
                if slot as usize >= slots {
                    return r.err("no such figure");
                }
                if steps.last().is_some_and(|p| (p.day, p.slot) >= (day, slot)) {
                    return r.err("steps out of order");
                }
                steps.push(Step { day, slot, delta });
            }
            if out.insert(key, steps).is_some() {
                return r.err("a curve twice");
            }
        }
        if r.at != bytes.len() {
            return r.err("bytes after the end");
        }
        Ok(Curves {
            last_seq,
            hash,
            project,
            menus,
            days,
            warnings_base,
            years,
            curves: out,
        })
    }
}
