//! The binary form of stored events: postcard 1.x inside a versioned
//! envelope.
//!
//! postcard cannot encode serde's internally tagged enums, `flatten` or
//! `skip_serializing_if`, so the journal keeps its own storage types here,
//! plain structs and externally tagged enums, and converts to and from the
//! domain types at the edge. These types are the on-disk format: a change to
//! them is a new [`CHUNK_FORMAT`] with an upcast of the old one, never an edit.
//! `docs/format.md` describes the bytes; golden-byte tests pin them.

use crate::domain::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The first byte of every stored chunk: the envelope version.
pub const CHUNK_FORMAT: u8 = 1;

/// Why stored bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The envelope is empty.
    #[error("empty record")]
    Empty,
    /// The envelope names a format this build does not know.
    #[error("unknown envelope format {0} (written by a newer jisseki?)")]
    UnknownFormat(u8),
    /// postcard refused the bytes.
    #[error("malformed record: {0}")]
    Postcard(String),
    /// Bytes left over after the record.
    #[error("{0} trailing bytes after the record")]
    Trailing(usize),
    /// A value outside its domain (a date, hours, an id).
    #[error("invalid stored value: {0}")]
    Invalid(&'static str),
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent<S = String> {
    /// Global sequence number, from 1, gap-free.
    pub seq: u64,
    /// Transaction time, microseconds since the Unix epoch, UTC.
    pub recorded_at_us: i64,
    /// Event id.
    pub id: [u8; 16],
    /// Event schema version.
    pub schema_version: u16,
    /// `SHA-256(prev_hash ‖ canonical bytes)`.
    pub hash: [u8; 32],
    /// What happened.
    pub body: SBody<S>,
}

/// A run of consecutive events stored under one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk<S = String> {
    /// The events, in `seq` order.
    pub events: Vec<StoredEvent<S>>,
}

/// Stored form of a menu target.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct STarget {
    pub fiscal_year: u16,
    pub output: u32,
    pub outcome: u32,
}

/// Stored form of a student.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SStudent {
    pub school: u8,
    pub graduating_year: u16,
}

/// Stored event bodies. Variant order is part of the format: append, never
/// reorder. `S` is the type of strings: `String` to own them, `&str` to
/// borrow them from the stored bytes (postcard writes both alike).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SBody<S = String> {
    ProjectDefined {
        project: S,
        name: S,
        region_kind: u8,
        municipalities: Vec<S>,
        contract_start: i32,
        years: u8,
        budget_yen: Option<u64>,
    },
    MenuDefined {
        menu: S,
        category: u8,
        kind: u8,
        name: S,
        targets: Vec<STarget>,
        budget_yen: Option<u64>,
    },
    TargetsRevised {
        menu: S,
        fiscal_year: u16,
        output: u32,
        outcome: u32,
        date: i32,
        reason: Option<S>,
    },
    SessionHeld {
        menu: S,
        date: i32,
        place: Option<S>,
        capacity: Option<u32>,
    },
    Attendance {
        menu: S,
        date: i32,
        role: u8,
        person: Option<S>,
        establishment: Option<S>,
        residence: Option<u8>,
        establishment_location: Option<u8>,
        wants_in_region: Option<bool>,
        intent_confirmed: Option<bool>,
        freelance: Option<bool>,
        student: Option<SStudent>,
    },
    Hire {
        person: S,
        start_date: Option<i32>,
        workplace: u8,
        weekly_hours: u32,
        employer: Option<S>,
        offer_date: Option<i32>,
        interviewed_on: Option<i32>,
        regular_recruitment: Option<bool>,
        employed_before_use: Option<bool>,
        new_site_in_region: Option<bool>,
        menus: Option<Vec<S>>,
    },
    Conversion {
        person: S,
        employer: S,
        date: i32,
        weekly_hours: u32,
        vacancy_fill: Option<bool>,
        menus: Option<Vec<S>>,
    },
    Startup {
        person: S,
        date: i32,
        location: u8,
        employees: u32,
        menus: Option<Vec<S>>,
    },
    SurveyResponse {
        menu: S,
        date: i32,
        useful: bool,
        respondent: Option<S>,
    },
    PlanApproved {
        menus: Vec<S>,
        date: i32,
        scope: Option<u8>,
    },
    Retraction {
        target: [u8; 16],
        reason: S,
    },
    Correction {
        target: [u8; 16],
        /// The replacement body, itself postcard-encoded, so that decoding
        /// never recurses (a replacement may not be a correction).
        replacement: Vec<u8>,
        reason: S,
    },
}

/// The first byte of the value under a chunk key when the chunk itself is
/// in a blob ([`ChunkRef`]); never a [`CHUNK_FORMAT`].
pub const CHUNK_REF: u8 = 0x80;

/// Where a chunk stored outside the ordered keys is: `len` bytes of blob
/// `blob` from `offset`, a chunk envelope whose CRC-32 (IEEE) is `crc32`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// The blob's name.
    pub blob: String,
    /// Where the chunk starts in it.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
    /// CRC-32 of those bytes.
    pub crc32: u32,
}

/// Encodes a [`ChunkRef`]: [`CHUNK_REF`], then postcard.
pub fn encode_ref(r: &ChunkRef) -> Vec<u8> {
    match postcard::to_extend(r, vec![CHUNK_REF]) {
        Ok(v) => v,
        Err(e) => unreachable!("storage types are always encodable: {e}"),
    }
}

/// The [`ChunkRef`] a chunk key's value holds, or `None` when the value is
/// the chunk itself.
pub fn decode_ref(bytes: &[u8]) -> Result<Option<ChunkRef>, DecodeError> {
    match bytes.split_first() {
        Some((&CHUNK_REF, rest)) => {
            let (r, left) = postcard::take_from_bytes::<ChunkRef>(rest)
                .map_err(|e| DecodeError::Postcard(e.to_string()))?;
            if !left.is_empty() {
                return Err(DecodeError::Trailing(left.len()));
            }
            Ok(Some(r))
        }
        _ => Ok(None),
    }
}

/// Encodes a chunk: the envelope byte, then postcard.
pub fn encode_chunk<S: Serialize>(chunk: &Chunk<S>) -> Vec<u8> {
    let mut out = vec![CHUNK_FORMAT];
    // postcard only fails on writers that run out of room or on types it
    // cannot encode; a Vec has room and the storage types are all encodable.
    match postcard::to_extend(chunk, out) {
        Ok(v) => {
            out = v;
        }
        Err(e) => unreachable!("storage types are always encodable: {e}"),
    }
    out
}

/// Decodes a chunk, refusing unknown envelopes and trailing bytes.
pub fn decode_chunk(bytes: &[u8]) -> Result<Chunk, DecodeError> {
    let (&format, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if format != CHUNK_FORMAT {
        return Err(DecodeError::UnknownFormat(format));
    }
    let (chunk, left) = postcard::take_from_bytes::<Chunk>(rest)
        .map_err(|e| DecodeError::Postcard(e.to_string()))?;
    if !left.is_empty() {
        return Err(DecodeError::Trailing(left.len()));
    }
    Ok(chunk)
}

fn encode_body<S: Serialize>(b: &SBody<S>) -> Vec<u8> {
    match postcard::to_allocvec(b) {
        Ok(v) => v,
        Err(e) => unreachable!("storage types are always encodable: {e}"),
    }
}

/// A correction's replacement body in the stored form (as inside a stored
/// `correction`): what the ledger's supersession index keeps.
pub fn encode_replacement(b: &EventBody) -> Vec<u8> {
    encode_body(&SBody::from(b))
}

/// Reads what [`encode_replacement`] wrote: a body that is neither a
/// correction nor a retraction, and nothing after it.
pub fn decode_replacement(bytes: &[u8]) -> Result<EventBody, DecodeError> {
    let (body, left) = postcard::take_from_bytes::<SBody>(bytes)
        .map_err(|e| DecodeError::Postcard(e.to_string()))?;
    if !left.is_empty() {
        return Err(DecodeError::Trailing(left.len()));
    }
    if matches!(body, SBody::Correction { .. } | SBody::Retraction { .. }) {
        return Err(DecodeError::Invalid(
            "a replacement cannot be a correction or retraction",
        ));
    }
    EventBody::try_from(body)
}

fn idx<T: Copy + PartialEq>(all: &[T], v: T) -> u8 {
    let i = all.iter().position(|x| *x == v).unwrap_or(0);
    u8::try_from(i).unwrap_or(0)
}

fn from_idx<T: Copy>(all: &[T], i: u8, what: &'static str) -> Result<T, DecodeError> {
    all.get(usize::from(i))
        .copied()
        .ok_or(DecodeError::Invalid(what))
}

fn d(v: Date) -> i32 {
    v.days_from_ce()
}

fn dd(v: i32) -> Result<Date, DecodeError> {
    Date::from_days_from_ce(v).ok_or(DecodeError::Invalid("date"))
}

fn s_id(v: &Id) -> &str {
    v.0.as_str()
}

fn s_ids(v: &Option<Vec<Id>>) -> Option<Vec<&str>> {
    v.as_ref().map(|m| m.iter().map(s_id).collect())
}

fn d_id(v: impl Into<String>) -> Result<Id, DecodeError> {
    Id::new(v.into()).ok_or(DecodeError::Invalid("id"))
}

fn d_text(v: impl Into<String>) -> Result<Text, DecodeError> {
    Text::new(v.into()).ok_or(DecodeError::Invalid("text"))
}

fn d_count(v: u32) -> Result<Count, DecodeError> {
    Count::new(v).ok_or(DecodeError::Invalid("count"))
}

fn d_fy(v: u16) -> Result<FiscalYear, DecodeError> {
    FiscalYear::new(v).ok_or(DecodeError::Invalid("fiscal year"))
}

fn d_yen(v: Option<u64>) -> Result<Option<Yen>, DecodeError> {
    v.map(|y| Yen::new(y).ok_or(DecodeError::Invalid("yen")))
        .transpose()
}

fn d_hours(v: u32) -> Result<WeeklyHours, DecodeError> {
    WeeklyHours::from_hundredths(v).ok_or(DecodeError::Invalid("weekly hours"))
}

fn d_ids<S: Into<String>>(v: Option<Vec<S>>) -> Result<Option<Vec<Id>>, DecodeError> {
    v.map(|m| m.into_iter().map(d_id).collect()).transpose()
}

fn d_place(v: u8) -> Result<Place, DecodeError> {
    from_idx(Place::ALL, v, "place")
}

fn d_student(s: SStudent) -> Result<Student, DecodeError> {
    Ok(Student {
        school: from_idx(School::ALL, s.school, "school")?,
        graduating_year: d_fy(s.graduating_year)?,
    })
}

/// Decodes a chunk borrowing its strings from `bytes`: the read path of
/// the counting fold, which allocates nothing per attendance.
pub fn decode_chunk_view(bytes: &[u8]) -> Result<Chunk<&str>, DecodeError> {
    let (&format, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if format != CHUNK_FORMAT {
        return Err(DecodeError::UnknownFormat(format));
    }
    let (chunk, left) = postcard::take_from_bytes::<Chunk<&str>>(rest)
        .map_err(|e| DecodeError::Postcard(e.to_string()))?;
    if !left.is_empty() {
        return Err(DecodeError::Trailing(left.len()));
    }
    Ok(chunk)
}

/// The fixed part of a stored event, as the fast reader gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Its seq.
    pub seq: u64,
    /// Its transaction time.
    pub recorded_at_us: i64,
    /// Its id.
    pub id: [u8; 16],
    /// Its chain hash.
    pub hash: [u8; 32],
}

/// A reader of postcard 1.x, for the hot path of [`for_each_view`]: the
/// same bytes serde's decoder reads (`docs/format.md`), without building
/// the intermediate structs.
struct Reader<'a> {
    b: &'a [u8],
    /// Dates read (a chunk's events are mostly of a few weeks).
    dates: DayCache<16>,
}

// The errors are made out of line, so that the readers below stay small
// enough to be inlined where each value is read.
#[cold]
#[inline(never)]
fn short() -> DecodeError {
    DecodeError::Postcard("unexpected end of record".into())
}

#[cold]
#[inline(never)]
fn bad(what: &'static str) -> DecodeError {
    DecodeError::Postcard(what.into())
}

impl<'a> Reader<'a> {
    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.b.len() < n {
            return Err(short());
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }

    #[inline]
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self.b.split_first().ok_or_else(short)?;
        self.b = rest;
        Ok(b)
    }

    /// An unsigned LEB128 varint of at most `max_bytes` bytes whose value
    /// fits `bits`.
    #[inline]
    fn varint(&mut self, max_bytes: u32, bits: u32) -> Result<u64, DecodeError> {
        // Most are one byte: tags, lengths, small numbers.
        if let Some((&b, rest)) = self.b.split_first() {
            if b < 0x80 {
                self.b = rest;
                return Ok(u64::from(b));
            }
        }
        self.varint_long(max_bytes, bits)
    }

    /// [`Reader::varint`] of more than one byte (or none left).
    fn varint_long(&mut self, max_bytes: u32, bits: u32) -> Result<u64, DecodeError> {
        // Up to eight bytes at once: the last byte is the first without
        // its high bit, and the 7-bit groups are packed together by masks
        // and shifts instead of a loop.
        if let Some(word) = self.b.get(..8) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            let ends = !word & 0x8080_8080_8080_8080;
            let len = (ends.trailing_zeros() / 8 + 1) as usize;
            if ends != 0 && len as u32 <= max_bytes {
                let mut v = word & (u64::MAX >> (64 - 8 * len));
                v &= 0x7f7f_7f7f_7f7f_7f7f;
                v = (v & 0x007f_007f_007f_007f) | ((v & 0x7f00_7f00_7f00_7f00) >> 1);
                v = (v & 0x0000_3fff_0000_3fff) | ((v & 0x3fff_0000_3fff_0000) >> 2);
                v = (v & 0x0000_0000_0fff_ffff) | ((v & 0x0fff_ffff_0000_0000) >> 4);
                // Only the last byte a type allows can carry bits past its
                // width (see below).
                if len as u32 == max_bytes && bits < 64 && v >> bits != 0 {
                    return Err(DecodeError::Postcard("varint out of range".into()));
                }
                self.b = &self.b[len..];
                return Ok(v);
            }
        }
        let mut v: u64 = 0;
        for i in 0..max_bytes {
            let b = self.byte()?;
            let part = u64::from(b & 0x7f);
            // Bits past the type's width are an error, not dropped (the
            // tenth byte of a u64 may carry one bit only). Only the last
            // byte a type allows can carry them: 7 * (max_bytes - 1) bits
            // fit every width read here (u16: 14, u32: 28, u64: 63).
            if i + 1 == max_bytes && (part >> (bits - 7 * i)) != 0 {
                return Err(DecodeError::Postcard("varint out of range".into()));
            }
            v |= part << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::Postcard("varint too long".into()))
    }

    #[inline]
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(self.varint(3, 16)? as u16)
    }

    #[inline]
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(self.varint(5, 32)? as u32)
    }

    #[inline]
    fn u64(&mut self) -> Result<u64, DecodeError> {
        self.varint(10, 64)
    }

    #[inline]
    fn i32(&mut self) -> Result<i32, DecodeError> {
        let n = self.u32()?;
        Ok(((n >> 1) as i32) ^ -((n & 1) as i32))
    }

    #[inline]
    fn i64(&mut self) -> Result<i64, DecodeError> {
        let n = self.u64()?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    /// A date, stored as days from the common era's first day.
    #[inline]
    fn date(&mut self) -> Result<Date, DecodeError> {
        let days = self.i32()?;
        self.dates.date(days).ok_or(DecodeError::Invalid("date"))
    }

    #[inline]
    fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad("bad bool")),
        }
    }

    #[inline]
    fn some(&mut self) -> Result<bool, DecodeError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad("bad option")),
        }
    }

    #[inline]
    fn opt<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        if self.some()? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }

    #[inline]
    fn len(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(self.u64()?).map_err(|_| short())
    }

    #[inline]
    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.len()?;
        let from = self.b;
        let s = self.take(n)?;
        if let Some(ascii) = short_ascii(from, n) {
            return Ok(ascii);
        }
        std::str::from_utf8(s).map_err(|_| DecodeError::Postcard("string is not UTF-8".into()))
    }

    fn names(&mut self) -> Result<Option<Vec<&'a str>>, DecodeError> {
        self.opt(|r| {
            let n = r.len()?;
            // Each name takes a byte at least: a bad length fails here,
            // not in an allocation.
            if n > r.b.len() {
                return Err(short());
            }
            (0..n).map(|_| r.str()).collect()
        })
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

/// The first `n` bytes of `b` as text when `n` is at most 16, they are
/// ASCII, and `b` has 16 bytes to read them as one word (ids are short
/// and ASCII; std's check goes byte by byte at these lengths). `None`
/// otherwise: the caller checks the bytes the long way.
#[inline]
fn short_ascii(b: &[u8], n: usize) -> Option<&str> {
    const HIGH: u128 = u128::from_le_bytes([0x80; 16]);
    let word = u128::from_le_bytes(b.get(..16)?.try_into().ok()?);
    let mask = match n {
        0..=15 => (1u128 << (8 * n)) - 1,
        16 => u128::MAX,
        _ => return None,
    };
    if word & mask & HIGH != 0 {
        return None;
    }
    let s = b.get(..n)?;
    // SAFETY: every byte of `s` is below 0x80 (checked just above), and
    // ASCII is valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(s) })
}

/// Decodes a chunk straight into views, calling `f` with each event in
/// order. The fast twin of [`decode_chunk_view`] + [`SBody::into_view`]
/// for the counting fold: the same checks, the same results (a test holds
/// them equal), without the intermediate structs. `f` may stop the walk
/// by returning `Ok(false)`.
pub fn for_each_view<'a, E>(
    bytes: &'a [u8],
    mut f: impl FnMut(Header, BodyView<'a>) -> Result<bool, E>,
) -> Result<(), ViewError<E>> {
    let (&format, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if format != CHUNK_FORMAT {
        return Err(DecodeError::UnknownFormat(format).into());
    }
    let mut r = Reader {
        b: rest,
        dates: DayCache::new(),
    };
    let n = r.len()?;
    for _ in 0..n {
        let header = Header {
            seq: r.u64()?,
            recorded_at_us: r.i64()?,
            id: r.array()?,
            hash: {
                // schema_version precedes the hash.
                r.u16()?;
                r.array()?
            },
        };
        let body = read_body(&mut r)?;
        if !f(header, body).map_err(ViewError::Visit)? {
            return Ok(());
        }
    }
    if !r.b.is_empty() {
        return Err(DecodeError::Trailing(r.b.len()).into());
    }
    Ok(())
}

/// Why [`for_each_view`] stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum ViewError<E> {
    /// The bytes do not decode.
    Decode(DecodeError),
    /// The visitor failed.
    Visit(E),
}

impl<E> From<DecodeError> for ViewError<E> {
    fn from(e: DecodeError) -> Self {
        ViewError::Decode(e)
    }
}

/// One body: attendances, outcomes, surveys, retractions and corrections
/// by hand; the rare rest through serde.
fn read_body<'a>(r: &mut Reader<'a>) -> Result<BodyView<'a>, DecodeError> {
    let at = r.b;
    let variant = r.u32()?;
    Ok(match variant {
        4 => {
            let menu = r.str()?;
            let date = r.date()?;
            let role = from_idx(Role::ALL, r.byte()?, "role")?;
            let person = r.opt(|r| r.str())?;
            let establishment = r.opt(|r| r.str())?;
            let residence = r.opt(|r| r.byte().and_then(d_place))?;
            let establishment_location = r.opt(|r| r.byte().and_then(d_place))?;
            let wants_in_region = r.opt(|r| r.bool())?;
            let intent_confirmed = r.opt(|r| r.bool())?;
            let freelance = r.opt(|r| r.bool())?;
            let student = r.opt(|r| {
                let school = r.byte()?;
                let graduating_year = r.u16()?;
                d_student(SStudent {
                    school,
                    graduating_year,
                })
            })?;
            BodyView::Attendance {
                menu,
                person,
                establishment,
                terms: AttendanceTerms {
                    date,
                    role,
                    residence,
                    establishment_location,
                    wants_in_region,
                    intent_confirmed,
                    freelance,
                    student,
                },
            }
        }
        5 => {
            let person = r.str()?;
            let start_date = r.opt(|r| r.date())?;
            let workplace = d_place(r.byte()?)?;
            let weekly_hours = d_hours(r.u32()?)?;
            let employer = r.opt(|r| r.str())?;
            let offer_date = r.opt(|r| r.date())?;
            let interviewed_on = r.opt(|r| r.date())?;
            let regular_recruitment = r.opt(|r| r.bool())?;
            let employed_before_use = r.opt(|r| r.bool())?;
            let new_site_in_region = r.opt(|r| r.bool())?;
            let menus = r.names()?;
            BodyView::Hire {
                person,
                employer,
                menus,
                terms: HireTerms {
                    start_date,
                    workplace,
                    weekly_hours,
                    offer_date,
                    interviewed_on,
                    regular_recruitment,
                    employed_before_use,
                    new_site_in_region,
                },
            }
        }
        6 => {
            let person = r.str()?;
            let employer = r.str()?;
            let date = r.date()?;
            let weekly_hours = d_hours(r.u32()?)?;
            let vacancy_fill = r.opt(|r| r.bool())?;
            let menus = r.names()?;
            BodyView::Conversion {
                person,
                employer,
                menus,
                terms: ConversionTerms {
                    date,
                    weekly_hours,
                    vacancy_fill,
                },
            }
        }
        7 => {
            let person = r.str()?;
            let date = r.date()?;
            let location = d_place(r.byte()?)?;
            let employees = d_count(r.u32()?)?;
            let menus = r.names()?;
            BodyView::Startup {
                person,
                menus,
                terms: StartupTerms {
                    date,
                    location,
                    employees,
                },
            }
        }
        8 => {
            r.str()?;
            r.i32()?;
            r.bool()?;
            r.opt(|r| r.str())?;
            BodyView::SurveyResponse
        }
        10 => {
            let target = Uuid::from_bytes(r.array()?);
            r.str()?;
            BodyView::Retraction { target }
        }
        11 => {
            let target = Uuid::from_bytes(r.array()?);
            let n = r.len()?;
            r.take(n)?;
            r.str()?;
            BodyView::Correction { target }
        }
        _ => {
            let (body, rest) = postcard::take_from_bytes::<SBody<&str>>(at)
                .map_err(|e| DecodeError::Postcard(e.to_string()))?;
            r.b = rest;
            body.into_view()?
        }
    })
}

impl<'a> SBody<&'a str> {
    /// The counting fold's view of the body. Values are checked as in the
    /// owned decode (dates, enumerations, hours); ids are borrowed as
    /// stored (they were validated when appended, and the chain covers
    /// them).
    pub fn into_view(self) -> Result<BodyView<'a>, DecodeError> {
        Ok(match self {
            SBody::Attendance {
                menu,
                date,
                role,
                person,
                establishment,
                residence,
                establishment_location,
                wants_in_region,
                intent_confirmed,
                freelance,
                student,
            } => BodyView::Attendance {
                menu,
                person,
                establishment,
                terms: AttendanceTerms {
                    date: dd(date)?,
                    role: from_idx(Role::ALL, role, "role")?,
                    residence: residence.map(d_place).transpose()?,
                    establishment_location: establishment_location.map(d_place).transpose()?,
                    wants_in_region,
                    intent_confirmed,
                    freelance,
                    student: student.map(d_student).transpose()?,
                },
            },
            SBody::Hire {
                person,
                start_date,
                workplace,
                weekly_hours,
                employer,
                offer_date,
                interviewed_on,
                regular_recruitment,
                employed_before_use,
                new_site_in_region,
                menus,
            } => BodyView::Hire {
                person,
                employer,
                menus,
                terms: HireTerms {
                    start_date: start_date.map(dd).transpose()?,
                    workplace: d_place(workplace)?,
                    weekly_hours: d_hours(weekly_hours)?,
                    offer_date: offer_date.map(dd).transpose()?,
                    interviewed_on: interviewed_on.map(dd).transpose()?,
                    regular_recruitment,
                    employed_before_use,
                    new_site_in_region,
                },
            },
            SBody::Conversion {
                person,
                employer,
                date,
                weekly_hours,
                vacancy_fill,
                menus,
            } => BodyView::Conversion {
                person,
                employer,
                menus,
                terms: ConversionTerms {
                    date: dd(date)?,
                    weekly_hours: d_hours(weekly_hours)?,
                    vacancy_fill,
                },
            },
            SBody::Startup {
                person,
                date,
                location,
                employees,
                menus,
            } => BodyView::Startup {
                person,
                menus,
                terms: StartupTerms {
                    date: dd(date)?,
                    location: d_place(location)?,
                    employees: d_count(employees)?,
                },
            },
            SBody::SurveyResponse { .. } => BodyView::SurveyResponse,
            SBody::Retraction { target, .. } => BodyView::Retraction {
                target: Uuid::from_bytes(target),
            },
            SBody::Correction { target, .. } => BodyView::Correction {
                target: Uuid::from_bytes(target),
            },
            other => BodyView::Other(EventBody::try_from(other)?),
        })
    }
}

impl<'a> From<&'a EventBody> for SBody<&'a str> {
    fn from(b: &'a EventBody) -> SBody<&'a str> {
        match b {
            EventBody::ProjectDefined(e) => SBody::ProjectDefined {
                project: s_id(&e.project),
                name: e.name.0.as_str(),
                region_kind: idx(RegionKind::ALL, e.region_kind),
                municipalities: e.municipalities.iter().map(|m| m.0.as_str()).collect(),
                contract_start: d(e.contract_start),
                years: e.years.0,
                budget_yen: e.budget_yen.map(|y| y.0),
            },
            EventBody::MenuDefined(e) => SBody::MenuDefined {
                menu: s_id(&e.menu),
                category: idx(Category::ALL, e.category),
                kind: idx(MenuKind::ALL, e.kind),
                name: e.name.0.as_str(),
                targets: e
                    .targets
                    .iter()
                    .map(|t| STarget {
                        fiscal_year: t.fiscal_year.0,
                        output: t.output.0,
                        outcome: t.outcome.0,
                    })
                    .collect(),
                budget_yen: e.budget_yen.map(|y| y.0),
            },
            EventBody::TargetsRevised(e) => SBody::TargetsRevised {
                menu: s_id(&e.menu),
                fiscal_year: e.fiscal_year.0,
                output: e.output.0,
                outcome: e.outcome.0,
                date: d(e.date),
                reason: e.reason.as_ref().map(|r| r.0.as_str()),
            },
            EventBody::SessionHeld(e) => SBody::SessionHeld {
                menu: s_id(&e.menu),
                date: d(e.date),
                place: e.place.as_ref().map(|p| p.0.as_str()),
                capacity: e.capacity.map(|c| c.0),
            },
            EventBody::Attendance(e) => SBody::Attendance {
                menu: s_id(&e.menu),
                date: d(e.date),
                role: idx(Role::ALL, e.role),
                person: e.person.as_ref().map(s_id),
                establishment: e.establishment.as_ref().map(s_id),
                residence: e.residence.map(|p| idx(Place::ALL, p)),
                establishment_location: e.establishment_location.map(|p| idx(Place::ALL, p)),
                wants_in_region: e.wants_in_region,
                intent_confirmed: e.intent_confirmed,
                freelance: e.freelance,
                student: e.student.as_ref().map(|s| SStudent {
                    school: idx(School::ALL, s.school),
                    graduating_year: s.graduating_year.0,
                }),
            },
            EventBody::Hire(e) => SBody::Hire {
                person: s_id(&e.person),
                start_date: e.start_date.map(d),
                workplace: idx(Place::ALL, e.workplace),
                weekly_hours: e.weekly_hours.hundredths(),
                employer: e.employer.as_ref().map(s_id),
                offer_date: e.offer_date.map(d),
                interviewed_on: e.interviewed_on.map(d),
                regular_recruitment: e.regular_recruitment,
                employed_before_use: e.employed_before_use,
                new_site_in_region: e.new_site_in_region,
                menus: s_ids(&e.menus),
            },
            EventBody::Conversion(e) => SBody::Conversion {
                person: s_id(&e.person),
                employer: s_id(&e.employer),
                date: d(e.date),
                weekly_hours: e.weekly_hours.hundredths(),
                vacancy_fill: e.vacancy_fill,
                menus: s_ids(&e.menus),
            },
            EventBody::Startup(e) => SBody::Startup {
                person: s_id(&e.person),
                date: d(e.date),
                location: idx(Place::ALL, e.location),
                employees: e.employees.0,
                menus: s_ids(&e.menus),
            },
            EventBody::SurveyResponse(e) => SBody::SurveyResponse {
                menu: s_id(&e.menu),
                date: d(e.date),
                useful: e.useful,
                respondent: e.respondent.as_ref().map(s_id),
            },
            EventBody::PlanApproved(e) => SBody::PlanApproved {
                menus: e.menus.iter().map(s_id).collect(),
                date: d(e.date),
                scope: e.scope.map(|s| idx(PlanScope::ALL, s)),
            },
            EventBody::Retraction(e) => SBody::Retraction {
                target: *e.target.as_bytes(),
                reason: e.reason.0.as_str(),
            },
            EventBody::Correction(e) => SBody::Correction {
                target: *e.target.as_bytes(),
                replacement: encode_body(&SBody::from(e.replacement.as_ref())),
                reason: e.reason.0.as_str(),
            },
        }
    }
}

impl<S: Into<String>> TryFrom<SBody<S>> for EventBody {
    type Error = DecodeError;

    fn try_from(b: SBody<S>) -> Result<EventBody, DecodeError> {
        Ok(match b {
            SBody::ProjectDefined {
                project,
                name,
                region_kind,
                municipalities,
                contract_start,
                years,
                budget_yen,
            } => EventBody::ProjectDefined(ProjectDefined {
                project: d_id(project)?,
                name: d_text(name)?,
                region_kind: from_idx(RegionKind::ALL, region_kind, "region kind")?,
                municipalities: municipalities
                    .into_iter()
                    .map(d_text)
                    .collect::<Result<_, _>>()?,
                contract_start: dd(contract_start)?,
                years: ProjectYears::new(years).ok_or(DecodeError::Invalid("years"))?,
                budget_yen: d_yen(budget_yen)?,
            }),
            SBody::MenuDefined {
                menu,
                category,
                kind,
                name,
                targets,
                budget_yen,
            } => EventBody::MenuDefined(MenuDefined {
                menu: d_id(menu)?,
                category: from_idx(Category::ALL, category, "category")?,
                kind: from_idx(MenuKind::ALL, kind, "menu kind")?,
                name: d_text(name)?,
                targets: targets
                    .into_iter()
                    .map(|t| {
                        Ok(Target {
                            fiscal_year: d_fy(t.fiscal_year)?,
                            output: d_count(t.output)?,
                            outcome: d_count(t.outcome)?,
                        })
                    })
                    .collect::<Result<_, DecodeError>>()?,
                budget_yen: d_yen(budget_yen)?,
            }),
            SBody::TargetsRevised {
                menu,
                fiscal_year,
                output,
                outcome,
                date,
                reason,
            } => EventBody::TargetsRevised(TargetsRevised {
                menu: d_id(menu)?,
                fiscal_year: d_fy(fiscal_year)?,
                output: d_count(output)?,
                outcome: d_count(outcome)?,
                date: dd(date)?,
                reason: reason.map(d_text).transpose()?,
            }),
            SBody::SessionHeld {
                menu,
                date,
                place,
                capacity,
            } => EventBody::SessionHeld(SessionHeld {
                menu: d_id(menu)?,
                date: dd(date)?,
                place: place.map(d_text).transpose()?,
                capacity: capacity.map(d_count).transpose()?,
            }),
            SBody::Attendance {
                menu,
                date,
                role,
                person,
                establishment,
                residence,
                establishment_location,
                wants_in_region,
                intent_confirmed,
                freelance,
                student,
            } => EventBody::Attendance(Attendance {
                menu: d_id(menu)?,
                date: dd(date)?,
                role: from_idx(Role::ALL, role, "role")?,
                person: person.map(d_id).transpose()?,
                establishment: establishment.map(d_id).transpose()?,
                residence: residence.map(d_place).transpose()?,
                establishment_location: establishment_location.map(d_place).transpose()?,
                wants_in_region,
                intent_confirmed,
                freelance,
                student: student.map(d_student).transpose()?,
            }),
            SBody::Hire {
                person,
                start_date,
                workplace,
                weekly_hours,
                employer,
                offer_date,
                interviewed_on,
                regular_recruitment,
                employed_before_use,
                new_site_in_region,
                menus,
            } => EventBody::Hire(Hire {
                person: d_id(person)?,
                start_date: start_date.map(dd).transpose()?,
                workplace: d_place(workplace)?,
                weekly_hours: d_hours(weekly_hours)?,
                employer: employer.map(d_id).transpose()?,
                offer_date: offer_date.map(dd).transpose()?,
                interviewed_on: interviewed_on.map(dd).transpose()?,
                regular_recruitment,
                employed_before_use,
                new_site_in_region,
                menus: d_ids(menus)?,
            }),
            SBody::Conversion {
                person,
                employer,
                date,
                weekly_hours,
                vacancy_fill,
                menus,
            } => EventBody::Conversion(Conversion {
                person: d_id(person)?,
                employer: d_id(employer)?,
                date: dd(date)?,
                weekly_hours: d_hours(weekly_hours)?,
                vacancy_fill,
                menus: d_ids(menus)?,
            }),
            SBody::Startup {
                person,
                date,
                location,
                employees,
                menus,
            } => EventBody::Startup(Startup {
                person: d_id(person)?,
                date: dd(date)?,
                location: d_place(location)?,
                employees: d_count(employees)?,
                menus: d_ids(menus)?,
            }),
            SBody::SurveyResponse {
                menu,
                date,
                useful,
                respondent,
            } => EventBody::SurveyResponse(SurveyResponse {
                menu: d_id(menu)?,
                date: dd(date)?,
                useful,
                respondent: respondent.map(d_id).transpose()?,
            }),
            SBody::PlanApproved { menus, date, scope } => EventBody::PlanApproved(PlanApproved {
                menus: menus.into_iter().map(d_id).collect::<Result<_, _>>()?,
                date: dd(date)?,
                scope: scope
                    .map(|s| from_idx(PlanScope::ALL, s, "plan scope"))
                    .transpose()?,
            }),
            SBody::Retraction { target, reason } => EventBody::Retraction(Retraction {
                target: Uuid::from_bytes(target),
                reason: d_text(reason)?,
            }),
            SBody::Correction {
                target,
                replacement,
                reason,
            } => EventBody::Correction(Correction {
                target: Uuid::from_bytes(target),
                replacement: Box::new(decode_replacement(&replacement)?),
                reason: d_text(reason)?,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: serde_json::Value) -> EventBody {
        serde_json::from_value(v).unwrap()
    }

    fn sample_chunk() -> Chunk {
        let attendance = body(
            json!({"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P-0001","residence":"in_region","intent_confirmed":true}),
        );
        let hire = body(
            json!({"type":"hire","person":"P-0001","employer":"E-0100","start_date":"2025-01-06","offer_date":"2024-12-18","workplace":"in_region","weekly_hours":37.5}),
        );
        let correction = EventBody::Correction(Correction {
            target: Uuid::from_u128(1),
            replacement: Box::new(attendance.clone()),
            reason: Text::new("居住地の誤り").unwrap(),
        });
        fn ev(seq: u64, b: &EventBody) -> StoredEvent<&str> {
            StoredEvent {
                seq,
                recorded_at_us: 1_732_000_000_000_000,
                id: Uuid::from_u128(u128::from(seq)).into_bytes(),
                schema_version: 1,
                hash: [seq as u8; 32],
                body: b.into(),
            }
        }
        // Stored forms borrow the event's strings; the owned chunk is what
        // reading them back gives (postcard writes both alike).
        let borrowed = Chunk {
            events: vec![ev(1, &attendance), ev(2, &hire), ev(3, &correction)],
        };
        decode_chunk(&encode_chunk(&borrowed)).unwrap()
    }

    /// The bytes of a stored chunk are the on-disk format: if this test
    /// fails, a ledger written by an earlier build would no longer read.
    /// Change the format only with a new CHUNK_FORMAT and an upcast.
    #[test]
    fn golden_bytes_of_a_chunk_are_stable() {
        let bytes = encode_chunk(&sample_chunk());
        assert_eq!(hex::encode(&bytes), GOLDEN_CHUNK_HEX);
        assert_eq!(decode_chunk(&bytes).unwrap(), sample_chunk());
    }

    const GOLDEN_CHUNK_HEX: &str = "010301808082ccd5cf9306000000000000000000000000000000010101010101010101010101010101010101010101010101010101010101010101010404422d3031949e5a000106502d3030303100010000000101000002808082ccd5cf9306000000000000000000000000000000020102020202020202020202020202020202020202020202020202020202020202020506502d3030303101f29e5a00a61d0106452d3031303001cc9e5a000000000003808082ccd5cf9306000000000000000000000000000000030103030303030303030303030303030303030303030303030303030303030303030b000000000000000000000000000000011b0404422d3031949e5a000106502d3030303100010000000101000012e5b185e4bd8fe59cb0e381aee8aaa4e3828a";

    /// The borrowed decode reads the same bytes as the owned one: the view
    /// of every event equals the view of the owned event.
    #[test]
    fn the_borrowed_view_reads_the_golden_bytes_alike() {
        let bytes = hex::decode(GOLDEN_CHUNK_HEX).unwrap();
        let owned = decode_chunk(&bytes).unwrap();
        let view = decode_chunk_view(&bytes).unwrap();
        assert_eq!(owned.events.len(), view.events.len());
        for (o, v) in owned.events.into_iter().zip(view.events) {
            assert_eq!(
                (o.seq, o.recorded_at_us, o.id, o.hash),
                (v.seq, v.recorded_at_us, v.id, v.hash)
            );
            let domain = EventBody::try_from(o.body).unwrap();
            assert_eq!(v.body.into_view().unwrap(), domain.view());
        }
        for n in 0..bytes.len() {
            assert!(
                decode_chunk_view(&bytes[..n]).is_err(),
                "prefix of {n} bytes decoded"
            );
        }
    }

    /// Every kind of event, as the demo council records them.
    fn demo_chunk(n: usize) -> Vec<u8> {
        let text = crate::synth::generate_jsonl(&crate::synth::SynthConfig::default());
        let events = crate::io::read_events(
            text.as_bytes(),
            "demo.jsonl",
            crate::io::InputFormat::JsonLines,
            crate::io::Mode::Append,
        )
        .unwrap();
        // With n small, a few events of every kind.
        let mut per_kind: std::collections::HashMap<std::mem::Discriminant<EventBody>, usize> =
            std::collections::HashMap::new();
        let stored = events
            .iter()
            .filter(|e| {
                let k = per_kind.entry(std::mem::discriminant(&e.body)).or_insert(0);
                *k += 1;
                n >= 1024 || *k <= n / 12
            })
            .take(n)
            .enumerate()
            .map(|(i, e)| StoredEvent {
                seq: i as u64 + 1,
                recorded_at_us: 1_732_000_000_000_000 + i as i64,
                id: Uuid::from_u128(i as u128).into_bytes(),
                schema_version: 1,
                hash: [i as u8; 32],
                body: SBody::from(&e.body),
            })
            .collect();
        encode_chunk(&Chunk { events: stored })
    }

    fn fast(bytes: &[u8]) -> Result<Vec<(Header, BodyView<'_>)>, DecodeError> {
        let mut out = Vec::new();
        match for_each_view(bytes, |h, b| {
            out.push((h, b));
            Ok::<_, ()>(true)
        }) {
            Ok(()) => Ok(out),
            Err(ViewError::Decode(e)) => Err(e),
            Err(ViewError::Visit(())) => unreachable!(),
        }
    }

    fn by_serde(bytes: &[u8]) -> Result<Vec<(Header, BodyView<'_>)>, DecodeError> {
        decode_chunk_view(bytes)?
            .events
            .into_iter()
            .map(|e| {
                let h = Header {
                    seq: e.seq,
                    recorded_at_us: e.recorded_at_us,
                    id: e.id,
                    hash: e.hash,
                };
                Ok((h, e.body.into_view()?))
            })
            .collect()
    }

    /// The hand-written reader of the fold reads every kind of event as
    /// serde does, refuses every truncation, and agrees with serde on
    /// damaged bytes (both refuse, or both read the same).
    #[test]
    fn the_fast_reader_reads_what_serde_reads() {
        let golden = hex::decode(GOLDEN_CHUNK_HEX).unwrap();
        assert_eq!(fast(&golden).unwrap(), by_serde(&golden).unwrap());
        let demo = demo_chunk(1024);
        let views = fast(&demo).unwrap();
        assert!(views.len() > 800, "{} events", views.len());
        assert_eq!(views, by_serde(&demo).unwrap());
        for n in 0..golden.len() {
            assert!(fast(&golden[..n]).is_err(), "prefix of {n} bytes read");
        }
        // Four events of every kind.
        let demo = demo_chunk(48);
        let mut damaged = demo.clone();
        for i in 1..demo.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                damaged[i] ^= flip;
                let (a, b) = (fast(&damaged), by_serde(&damaged));
                assert_eq!(a.is_ok(), b.is_ok(), "byte {i} ^ {flip:#x}");
                if let (Ok(a), Ok(b)) = (a, b) {
                    assert_eq!(a, b);
                }
                damaged[i] ^= flip;
            }
        }
    }

    /// Regression (found by the `envelope` fuzz target): the fast reader
    /// dropped the bits of a u64 varint's tenth byte past bit 63, and so
    /// accepted a `recorded_at` that serde's decoder refuses as out of
    /// range. It now refuses it too.
    #[test]
    fn fuzz_envelope_a_u64_varint_overflowing_in_its_tenth_byte_is_refused() {
        let bytes = hex::decode("010301808082ccd5cf9306000000000000000000000000000000010101010101010101010101010101010101010101010101010101010101010101010404422d3031949e5a000106502d3030303100010000000101000002808082ccffffd5cf9306000000000000000000000000000000020102020202020202020202020202020202020202020202020202020202020202020506502d3030303101f29e5a00a61d0106452d3031303001cc9e5a000000000003808082ccd5cf9306000000000000000000000000000000030103030303030303030303030203030303030303030303030303030303030303030b000000000000000000000000000000011b0404422d3031949e5a000106502d3030303100010000000101000012e5b185e4bd8fe59cb0e381aee8aaa4e3828a").unwrap();
        assert!(by_serde(&bytes).is_err());
        assert!(fast(&bytes).is_err());
    }

    /// The fast reader's varints take and refuse what postcard's do, for
    /// each width: every run of up to five bytes drawn from values at the
    /// edges (one byte, continuation, the last byte's spare bits), and
    /// longer runs for u64.
    #[test]
    fn short_ascii_text_is_what_from_utf8_reads() {
        let texts: [&[u8]; 7] = [
            b"P-000123",
            b"",
            b"0123456789abcdef",
            "参加者".as_bytes(),
            b"abc\xff",
            b"A\x80",
            b"establishment-000001",
        ];
        for t in texts {
            for n in 0..=t.len() {
                // With bytes after (read in one word) and without.
                let mut after = t.to_vec();
                after.extend_from_slice(&[0xC3; 20]);
                for b in [&after[..], t] {
                    let fast = short_ascii(b, n);
                    let slow = std::str::from_utf8(&t[..n]).ok();
                    // The fast path answers only for ASCII, and then right.
                    if let Some(s) = fast {
                        assert_eq!(Some(s), slow, "{t:?} {n}");
                        assert!(s.is_ascii());
                    } else {
                        assert!(b.len() < 16 || n > 16 || !t[..n].is_ascii(), "{t:?} {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_fast_varints_read_what_postcard_reads() {
        const EDGES: [u8; 10] = [0x00, 0x01, 0x03, 0x04, 0x0f, 0x10, 0x7f, 0x80, 0x81, 0xff];
        fn same<T: serde::de::DeserializeOwned + Into<u64> + std::fmt::Debug>(
            bytes: &[u8],
            fast: impl Fn(&mut Reader<'_>) -> Result<u64, DecodeError>,
        ) {
            let want =
                postcard::take_from_bytes::<T>(bytes).map(|(v, rest)| (v.into(), rest.len()));
            let mut r = Reader {
                b: bytes,
                dates: DayCache::new(),
            };
            let got = fast(&mut r).map(|v| (v, r.b.len()));
            assert_eq!(
                got.is_ok(),
                want.is_ok(),
                "{bytes:02x?}: {got:?} vs {want:?}"
            );
            if let (Ok(g), Ok(w)) = (got, want) {
                assert_eq!(g, w, "{bytes:02x?}");
            }
        }
        let mut runs: Vec<Vec<u8>> = vec![vec![]];
        for len in 1..=5 {
            let mut next = Vec::new();
            for r in runs.iter().filter(|r| r.len() == len - 1) {
                for b in EDGES {
                    let mut r = r.clone();
                    r.push(b);
                    next.push(r);
                }
            }
            runs.extend(next);
        }
        // u64s of up to eleven bytes: eight or nine continuation bytes,
        // then the edges.
        for lead in [8usize, 9] {
            for b in EDGES {
                for c in EDGES {
                    let mut r = vec![0xffu8; lead];
                    r.push(b);
                    r.push(c);
                    runs.push(r);
                }
            }
        }
        // Each also with bytes after it, so that the reader may take eight
        // at once.
        let padded: Vec<Vec<u8>> = runs
            .iter()
            .flat_map(|r| {
                [0x00u8, 0x80, 0xff].map(|pad| {
                    let mut r = r.clone();
                    r.extend([pad; 9]);
                    r
                })
            })
            .collect();
        for bytes in runs.iter().chain(&padded) {
            same::<u16>(bytes, |r| r.u16().map(u64::from));
            same::<u32>(bytes, |r| r.u32().map(u64::from));
            same::<u64>(bytes, |r| r.u64());
        }
    }

    #[test]
    fn domain_round_trips_through_storage_types() {
        for e in sample_chunk().events {
            let domain = EventBody::try_from(e.body.clone()).unwrap();
            assert_eq!(encode_body(&SBody::from(&domain)), encode_body(&e.body));
        }
    }

    #[test]
    fn trailing_bytes_and_unknown_envelopes_are_refused() {
        let mut bytes = encode_chunk(&sample_chunk());
        bytes.push(0);
        assert_eq!(decode_chunk(&bytes), Err(DecodeError::Trailing(1)));
        assert_eq!(decode_chunk(&[2, 0]), Err(DecodeError::UnknownFormat(2)));
        assert_eq!(decode_chunk(&[]), Err(DecodeError::Empty));
    }

    #[test]
    fn truncated_chunks_are_errors_not_panics() {
        let bytes = encode_chunk(&sample_chunk());
        for n in 0..bytes.len() {
            assert!(
                decode_chunk(&bytes[..n]).is_err(),
                "prefix of {n} bytes decoded"
            );
        }
    }

    #[test]
    fn a_nested_correction_in_storage_is_refused() {
        let inner: SBody = SBody::Retraction {
            target: [0; 16],
            reason: "x".into(),
        };
        let outer: SBody = SBody::Correction {
            target: [0; 16],
            replacement: encode_body(&inner),
            reason: "x".into(),
        };
        assert!(EventBody::try_from(outer).is_err());
    }
}
