//! The append-only journal: a gap-free sequence of hash-chained events in
//! chunks, over a [`Storage`].
//!
//! Layout (all in one keyspace, so one atomic batch covers a whole append):
//!
//! | key | value |
//! |---|---|
//! | `f` | format marker: `jisseki-journal` and the format version (u32 BE) |
//! | `m` | the head: next seq, head hash, last `recorded_at` (postcard) |
//! | `c` + first seq (u64 BE) | a chunk of consecutive events (see [`codec`]), or where it is in a blob ([`codec::ChunkRef`]) |
//! | `i` + id (16 bytes) | the seq of the event with that id (u64 BE) |
//! | `x` + name | an index entry owned by the caller (the ledger) |
//!
//! The chunks of a large append are written to one blob of the storage
//! ([`Storage::blob_put`], durable before the batch that refers to them),
//! and their keys hold [`codec::ChunkRef`]s: sled keeps every page a scan
//! reads in memory, and a chunk file read with plain reads leaves nothing
//! behind (format 2).
//!
//! **Architecture invariant:** the journal knows nothing of counting rules,
//! and nothing of what the caller indexes under `x`.

pub mod canonical;
pub mod chain;
pub mod codec;
pub mod storage;

pub use chain::{hash_text, RecordedEvent, GENESIS};
pub use storage::{
    replace_file, MemStorage, SideBytes, SimCounts, SimDisk, SimFault, SledStorage, Storage,
    StorageError, WriteBatch,
};

use crate::domain::{Event, EventBody, EVENT_SCHEMA_VERSION};
use chain::Hash;
use codec::{Chunk, DecodeError, StoredEvent};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

/// The newest journal format this build reads and writes: 2 once a chunk
/// is in a blob, 1 before (a journal stays 1 until an append writes a
/// blob, so that older builds read it).
pub const JOURNAL_FORMAT: u32 = 2;
/// The format of a journal whose chunks are all under their keys.
const FORMAT_INLINE: u32 = 1;
/// The format once any chunk is in a blob.
const FORMAT_BLOBS: u32 = 2;
/// The fewest events an append writes to a blob rather than under keys.
pub const BLOB_EVENTS_MIN: usize = 8 * CHUNK_EVENTS_MAX;
/// The most events stored under one key.
pub const CHUNK_EVENTS_MAX: usize = 1024;
/// Events `verify` reads before checking their links.
const VERIFY_BLOCK_EVENTS: usize = 16 * 1024;
const FORMAT_MAGIC: &[u8] = b"jisseki-journal";
const KEY_FORMAT: &[u8] = b"f";
const KEY_HEAD: &[u8] = b"m";
const PREFIX_CHUNK: u8 = b'c';
const PREFIX_ID: u8 = b'i';
const PREFIX_INDEX: u8 = b'x';

/// A source of transaction time, injected so tests control it.
pub trait Clock: Send + Sync {
    /// Now, in microseconds since the Unix epoch, UTC.
    fn now_us(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_us(&self) -> i64 {
        chrono::Utc::now().timestamp_micros()
    }
}

/// A clock set by hand, for tests (and `JISSEKI_TEST_NOW`).
#[derive(Debug, Default)]
pub struct ManualClock(pub std::sync::atomic::AtomicI64);

impl ManualClock {
    /// A clock stopped at `us`.
    pub fn at(us: i64) -> Self {
        ManualClock(std::sync::atomic::AtomicI64::new(us))
    }
    /// Moves the clock to `us` (backwards too).
    pub fn set(&self, us: i64) {
        self.0.store(us, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_us(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// What went wrong in the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The storage engine failed; nothing was acknowledged.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Stored bytes are damaged.
    #[error("corrupt journal at {at}: {detail}")]
    Corrupt {
        /// Where: a seq, or a key.
        at: String,
        /// What is wrong.
        detail: String,
    },
    /// The journal was written by a newer jisseki.
    #[error("journal format {found} is newer than this jisseki supports ({supported})")]
    NewerFormat {
        /// Format found.
        found: u32,
        /// Format supported.
        supported: u32,
    },
    /// The storage holds something that is not a journal.
    #[error("not a jisseki journal")]
    NotAJournal,
    /// A restored event does not continue the chain.
    #[error("restored event {seq} does not continue the chain: {detail}")]
    BadLink {
        /// The seq of the event.
        seq: u64,
        /// Why.
        detail: String,
    },
}

/// The head of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The seq the next event will get (1 for an empty journal).
    pub next_seq: u64,
    /// The hash of the last event ([`GENESIS`] when empty).
    pub hash: Hash,
    /// `recorded_at` of the last event, microseconds (0 when empty).
    pub last_recorded_us: i64,
}

impl Head {
    /// Number of events recorded.
    pub fn events(&self) -> u64 {
        self.next_seq - 1
    }
}

/// An event just appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Its seq.
    pub seq: u64,
    /// Its id (the client's, or the one the journal assigned).
    pub id: Uuid,
    /// Its transaction time, microseconds.
    pub recorded_at_us: i64,
}

/// The outcome of [`Journal::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every event decodes and the chain holds to the head.
    Intact {
        /// Number of events.
        events: u64,
        /// The head hash.
        head: Hash,
    },
    /// The first bad event, and why.
    Broken {
        /// The first seq found bad.
        seq: u64,
        /// What is wrong.
        detail: String,
    },
}

/// The 12 bits the journal puts in `rand_a` of the ids it assigns.
const LEDGER_ID_TAG: u16 = 0x15E;
const SEQ_BITS_MASK: u64 = (1 << 62) - 1;
/// Seqs the journal assigns ids for stay below this (281 trillion events).
/// Ids of the ledger's form whose seq bits are at or above it are not the
/// journal's: a client's random UUID v7 that happens to carry the tag
/// (one in 4,096) is an ordinary id, and only one in 2^26 is refused.
pub const SEQ_LIMIT: u64 = 1 << 48;

/// The id the journal assigns to an event that came without one: a UUID v7
/// (RFC 9562) whose 48-bit timestamp is the event's `recorded_at` in
/// milliseconds, whose `rand_a` is a fixed tag, and whose 62-bit `rand_b` is
/// the event's seq (the RFC's "fixed-length dedicated counter"). Such an id
/// leads straight to its event, so the journal needs no index entry for it.
pub fn ledger_id(seq: u64, recorded_at_us: i64) -> Uuid {
    let ms = u64::try_from(recorded_at_us.max(0) / 1000).unwrap_or(0) & ((1 << 48) - 1);
    let mut b = [0u8; 16];
    b[0..6].copy_from_slice(&ms.to_be_bytes()[2..8]);
    b[6..8].copy_from_slice(&(0x7000 | LEDGER_ID_TAG).to_be_bytes());
    b[8..16].copy_from_slice(&((0b10 << 62) | (seq & SEQ_BITS_MASK)).to_be_bytes());
    Uuid::from_bytes(b)
}

/// The seq a [`ledger_id`] names, if `id` has that form. (A client could send
/// an id of the same form; callers confirm that the event at that seq really
/// has this id.)
pub fn ledger_id_seq(id: &Uuid) -> Option<u64> {
    let b = id.as_bytes();
    let tag = u16::from_be_bytes([b[6], b[7]]);
    let low = u64::from_be_bytes(b[8..16].try_into().ok()?);
    let seq = low & SEQ_BITS_MASK;
    (tag == 0x7000 | LEDGER_ID_TAG && low >> 62 == 0b10 && seq < SEQ_LIMIT).then_some(seq)
}

fn chunk_key(seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(PREFIX_CHUNK);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn id_key(id: &Uuid) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(PREFIX_ID);
    k.extend_from_slice(id.as_bytes());
    k
}

/// The first key past every key that starts with `start` (an index key).
fn prefix_end(start: &[u8]) -> Vec<u8> {
    let mut end = start.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![PREFIX_INDEX + 1]
}

fn index_key(name: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + name.len());
    k.push(PREFIX_INDEX);
    k.extend_from_slice(name);
    k
}

fn seq_of_value(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

fn corrupt(at: impl Into<String>, detail: impl ToString) -> JournalError {
    JournalError::Corrupt {
        at: at.into(),
        detail: detail.to_string(),
    }
}

fn to_recorded(e: StoredEvent) -> Result<RecordedEvent, JournalError> {
    let seq = e.seq;
    let body = EventBody::try_from(e.body)
        .map_err(|err: DecodeError| corrupt(format!("seq {seq}"), err))?;
    Ok(RecordedEvent {
        seq,
        recorded_at_us: e.recorded_at_us,
        id: Uuid::from_bytes(e.id),
        schema_version: e.schema_version,
        body,
        hash: e.hash,
    })
}

/// The next block of up to [`SEAL_BLOCK_EVENTS`] of `events`, numbered
/// from `next`, each hash still to be filled in by [`seal_block`] (the
/// canonical bytes it covers do not include it).
fn next_block(
    events: &mut impl Iterator<Item = Event>,
    next: u64,
    recorded_at: i64,
) -> Vec<RecordedEvent> {
    events
        .take(SEAL_BLOCK_EVENTS)
        .zip(next..)
        .map(|(e, seq)| RecordedEvent {
            seq,
            recorded_at_us: recorded_at,
            id: e.id.unwrap_or_else(|| ledger_id(seq, recorded_at)),
            schema_version: EVENT_SCHEMA_VERSION,
            body: e.body,
            hash: GENESIS,
        })
        .collect()
}

/// Seals `block` onto the chain after `prev`: fills in each event's hash
/// (the canonical bytes written on every core while this thread runs the
/// chain, [`chain::expected_hashes`]). Returns the events and the last hash.
fn seal_block(
    mut block: Vec<RecordedEvent>,
    prev: chain::Hash,
) -> (Vec<RecordedEvent>, chain::Hash) {
    let hashes = chain::expected_hashes(&block, prev);
    let last = hashes.last().copied().unwrap_or(prev);
    for (r, hash) in block.iter_mut().zip(hashes) {
        r.hash = hash;
    }
    (block, last)
}

/// The stored form of an event, borrowing its strings (postcard writes
/// borrowed and owned strings alike).
fn to_stored(r: &RecordedEvent) -> StoredEvent<&str> {
    StoredEvent {
        seq: r.seq,
        recorded_at_us: r.recorded_at_us,
        id: *r.id.as_bytes(),
        schema_version: r.schema_version,
        hash: r.hash,
        body: (&r.body).into(),
    }
}

/// The views of one chunk's events in `first..=last`, checking that its
/// seqs run on from `expect`, which is moved past every event read (the
/// walk stops after `last`).
fn chunk_views<'a>(
    v: &'a [u8],
    first: u64,
    last: u64,
    expect: &mut u64,
) -> Result<Vec<EventView<'a>>, JournalError> {
    let mut views = Vec::with_capacity(CHUNK_EVENTS_MAX);
    let walked = codec::for_each_view(v, |h, body| {
        if h.seq != *expect {
            return Err(corrupt(
                format!("seq {expect}"),
                format!("found seq {} instead", h.seq),
            ));
        }
        if h.seq >= first {
            views.push(EventView {
                seq: h.seq,
                recorded_at_us: h.recorded_at_us,
                id: Uuid::from_bytes(h.id),
                hash: h.hash,
                body,
            });
        }
        *expect += 1;
        Ok(*expect <= last)
    });
    match walked {
        Ok(()) => Ok(views),
        Err(codec::ViewError::Decode(e)) => Err(corrupt(format!("seq {expect}"), e)),
        Err(codec::ViewError::Visit(e)) => Err(e),
    }
}

/// The views of one chunk's events together with the bytes they borrow,
/// to be handed to another thread ([`Journal::scan_range_owned`]).
pub struct OwnedViews {
    // Declared first, so dropped before the bytes they point into.
    views: Vec<EventView<'static>>,
    /// Never read: held so that the views' borrow of it stays valid.
    _bytes: Vec<u8>,
}

/// A chunk's bytes as [`Journal::chunk_bytes_in`] found them.
enum ChunkBytes<'a> {
    /// The stored value itself.
    Stored(&'a [u8]),
    /// Read from a blob into the caller's buffer.
    Read(&'a mut Vec<u8>),
}

impl ChunkBytes<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            ChunkBytes::Stored(v) => v,
            ChunkBytes::Read(b) => b,
        }
    }

    /// The bytes as a vector of their own, using `spare`: a buffer read
    /// into is taken, not copied, and `spare` put in its place; a stored
    /// value is copied into `spare`.
    fn into_owned(self, mut spare: Vec<u8>) -> Vec<u8> {
        match self {
            ChunkBytes::Stored(v) => {
                spare.clear();
                spare.extend_from_slice(v);
                spare
            }
            ChunkBytes::Read(b) => std::mem::replace(b, spare),
        }
    }
}

impl OwnedViews {
    /// Decodes views of `bytes` with `decode`, keeping the bytes.
    fn decode<E>(
        bytes: Vec<u8>,
        decode: impl for<'a> FnOnce(&'a [u8]) -> Result<Vec<EventView<'a>>, E>,
    ) -> Result<OwnedViews, E> {
        // SAFETY: the slice is the heap buffer of `bytes`, which this
        // struct owns, never changes (no method takes it mutably) and drops
        // after `views` (field order); moving a `Vec` does not move its
        // buffer. The views are only ever handed out for the lifetime of a
        // borrow of the struct ([`OwnedViews::views`]), never as 'static.
        let whole: &'static [u8] =
            unsafe { std::slice::from_raw_parts(bytes.as_ptr(), bytes.len()) };
        let views = decode(whole)?;
        Ok(OwnedViews {
            views,
            _bytes: bytes,
        })
    }

    /// The views, borrowed from this.
    pub fn views(&self) -> &[EventView<'_>] {
        &self.views
    }

    /// The bytes, the views gone: a buffer to hand back to
    /// [`Journal::scan_range_owned`] for the chunks still to read.
    pub fn into_bytes(self) -> Vec<u8> {
        let OwnedViews { views, _bytes } = self;
        drop(views);
        _bytes
    }
}

/// The journal over a storage engine.
pub struct Journal<S: Storage> {
    store: S,
    clock: Arc<dyn Clock>,
    head: Head,
    chunk_cache: std::sync::Mutex<Option<Arc<Chunk>>>,
    /// The format the marker names.
    format: u32,
    /// The fewest events an append writes to a blob ([`BLOB_EVENTS_MIN`]).
    blob_events_min: usize,
    /// A write failed and the head could not be read back: the store may
    /// or may not hold that batch, so nothing more is appended.
    head_unknown: bool,
}

impl<S: Storage> Journal<S> {
    /// Opens the journal in `store`, creating it if the store is empty.
    pub fn open(mut store: S, clock: Arc<dyn Clock>) -> Result<Self, JournalError> {
        let (head, format) = match store.get(KEY_FORMAT)? {
            None => {
                if !store.range(&[0], &[0xff], 1)?.is_empty() {
                    return Err(JournalError::NotAJournal);
                }
                let head = Head {
                    next_seq: 1,
                    hash: GENESIS,
                    last_recorded_us: 0,
                };
                let mut b = WriteBatch::default();
                b.put(KEY_FORMAT.to_vec(), format_marker(FORMAT_INLINE));
                b.put(KEY_HEAD.to_vec(), encode_head(&head));
                store.apply(b)?;
                store.sync()?;
                (head, FORMAT_INLINE)
            }
            Some(marker) => {
                let version = marker
                    .strip_prefix(FORMAT_MAGIC)
                    .and_then(|v| <[u8; 4]>::try_from(v).ok())
                    .map(u32::from_be_bytes)
                    .ok_or(JournalError::NotAJournal)?;
                if version > JOURNAL_FORMAT {
                    return Err(JournalError::NewerFormat {
                        found: version,
                        supported: JOURNAL_FORMAT,
                    });
                }
                let bytes = store
                    .get(KEY_HEAD)?
                    .ok_or_else(|| corrupt("head", "missing"))?;
                (decode_head(&bytes)?, version)
            }
        };
        Ok(Journal {
            store,
            clock,
            head,
            chunk_cache: std::sync::Mutex::new(None),
            format,
            blob_events_min: BLOB_EVENTS_MIN,
            head_unknown: false,
        })
    }

    fn refuse_if_head_unknown(&self) -> Result<(), JournalError> {
        if self.head_unknown {
            return Err(corrupt(
                "head",
                "unknown since a write failed; open the ledger again",
            ));
        }
        Ok(())
    }

    /// Sets the fewest events an append writes to a blob (tests make it
    /// small to exercise blobs with few events).
    pub fn set_blob_events_min(&mut self, n: usize) {
        self.blob_events_min = n.max(1);
    }

    /// The format the journal's marker names (1, or 2 once a chunk is in a
    /// blob).
    pub fn format(&self) -> u32 {
        self.format
    }

    /// A chunk key's value as chunk bytes: the value itself, or the part
    /// of a blob it refers to, read into `buf` and checked against its
    /// CRC.
    fn chunk_bytes<'a>(
        &self,
        seq: u64,
        value: &'a [u8],
        buf: &'a mut Vec<u8>,
    ) -> Result<&'a [u8], JournalError> {
        Ok(match self.chunk_bytes_in(seq, value, buf)? {
            ChunkBytes::Stored(v) => v,
            ChunkBytes::Read(b) => b,
        })
    }

    /// [`Journal::chunk_bytes`], saying whether the bytes are the value or
    /// were read into `buf`.
    fn chunk_bytes_in<'a>(
        &self,
        seq: u64,
        value: &'a [u8],
        buf: &'a mut Vec<u8>,
    ) -> Result<ChunkBytes<'a>, JournalError> {
        let r = match codec::decode_ref(value) {
            Ok(None) => return Ok(ChunkBytes::Stored(value)),
            Ok(Some(r)) => r,
            Err(e) => return Err(corrupt(format!("seq {seq} (chunk reference)"), e)),
        };
        let at = || format!("seq {seq} (chunk file {})", r.blob);
        let len = usize::try_from(r.len).map_err(|_| corrupt(at(), "length out of range"))?;
        if !self.store.blob_read(&r.blob, r.offset, len, buf)? {
            return Err(corrupt(at(), "the file is missing or too short"));
        }
        if crc32fast::hash(buf) != r.crc32 {
            return Err(corrupt(at(), "the bytes do not match their checksum"));
        }
        Ok(ChunkBytes::Read(buf))
    }

    /// Removes the blobs no chunk key refers to: left by an append that
    /// failed (or a crash) after its blobs were written and before its
    /// batch was. Called under the writer's lock, before blobs are
    /// written, so no reader can be reading them.
    fn remove_orphan_blobs(&mut self) -> Result<(), JournalError> {
        for name in self.store.blob_names()? {
            let first = name
                .split_once('-')
                .and_then(|(f, _)| f.parse::<u64>().ok());
            // Removed only when sure that nothing refers to it: beyond the
            // head, or the chunk that holds its first seq is a chunk under
            // its key, or in another file. A chunk that is missing or
            // cannot be read keeps the file (a damaged journal loses no
            // more).
            let orphan = match first {
                Some(first) if first >= self.head.next_seq => true,
                Some(first) => match self
                    .store
                    .last_at_or_before(&[PREFIX_CHUNK], &chunk_key(first))?
                {
                    Some((k, v)) => match codec::decode_ref(&v) {
                        Ok(Some(r)) => r.blob != name || k != chunk_key(first),
                        Ok(None) => v.first() == Some(&codec::CHUNK_FORMAT),
                        Err(_) => false,
                    },
                    None => false,
                },
                None => false,
            };
            if orphan {
                self.store.blob_remove(&name)?;
            }
        }
        Ok(())
    }

    /// The chunk files (blobs) no chunk key refers to, by name: left by
    /// an import that failed, or was killed, after writing its file and
    /// before its batch (the next large append removes them,
    /// [`Journal::remove_orphan_blobs`]), or put there by hand. No event
    /// is read from them, so no figure depends on them; `verify` names
    /// them so that an auditor knows every file in the ledger.
    pub fn unreferenced_blobs(&self) -> Result<Vec<String>, JournalError> {
        let mut names = self.store.blob_names()?;
        // Without files, the chunks (read whole by `verify` already) are
        // not read again.
        if names.is_empty() {
            return Ok(names);
        }
        let mut named = std::collections::BTreeSet::new();
        let mut damaged = None;
        self.store
            .for_each(&[PREFIX_CHUNK], &[PREFIX_CHUNK + 1], &mut |k, v| {
                // A value that is not a reference is a chunk under its key.
                match codec::decode_ref(v) {
                    Ok(Some(r)) => {
                        named.insert(r.blob);
                        true
                    }
                    Ok(None) => true,
                    // Which file it names is unknown, so which are named
                    // by none is too.
                    Err(e) => {
                        let seq = k.get(1..).and_then(seq_of_value).unwrap_or(0);
                        damaged = Some(corrupt(format!("seq {seq}"), e));
                        false
                    }
                }
            })?;
        if let Some(e) = damaged {
            return Err(e);
        }
        names.retain(|n| !named.contains(n));
        Ok(names)
    }

    /// Puts the chunks of `recs` (encoded on every core) and the index keys
    /// of their client ids into `batch`: under their keys, or, for a large
    /// run, in one blob written now (durable before `batch` is) with
    /// [`codec::ChunkRef`]s under their keys. Returns whether it wrote a
    /// blob.
    fn put_events(
        &mut self,
        batch: &mut WriteBatch,
        recs: &[RecordedEvent],
        blobs_written: &mut bool,
    ) -> Result<(), JournalError> {
        let parts: Vec<&[RecordedEvent]> = recs.chunks(CHUNK_EVENTS_MAX).collect();
        let encoded = crate::par::parallel_map(&parts, 2, |part| {
            codec::encode_chunk(&Chunk {
                events: part.iter().map(to_stored).collect(),
            })
        });
        if let (true, Some(first), Some(last)) = (
            recs.len() >= self.blob_events_min,
            recs.first(),
            recs.last(),
        ) {
            if !*blobs_written {
                self.refuse_if_head_unknown()?;
                self.remove_orphan_blobs()?;
            }
            let name = format!("{:020}-{:020}", first.seq, last.seq);
            let mut blob = Vec::with_capacity(encoded.iter().map(Vec::len).sum());
            for (part, bytes) in parts.iter().zip(&encoded) {
                let r = codec::ChunkRef {
                    blob: name.clone(),
                    offset: blob.len() as u64,
                    len: bytes.len() as u64,
                    crc32: crc32fast::hash(bytes),
                };
                blob.extend_from_slice(bytes);
                batch.put(chunk_key(part[0].seq), codec::encode_ref(&r));
            }
            self.store.blob_put(&name, &blob)?;
            *blobs_written = true;
        } else {
            for (part, bytes) in parts.iter().zip(encoded) {
                batch.put(chunk_key(part[0].seq), bytes);
            }
        }
        // Ids the journal assigned lead to their seq by themselves; only the
        // clients' ids need an index entry.
        for r in recs.iter().filter(|r| ledger_id_seq(&r.id) != Some(r.seq)) {
            batch.put(id_key(&r.id), r.seq.to_be_bytes().to_vec());
        }
        Ok(())
    }

    /// The head of the chain.
    pub fn head(&self) -> Head {
        self.head
    }

    /// The underlying storage (tests inspect it).
    pub fn storage(&self) -> &S {
        &self.store
    }

    /// The transaction time the next batch will get: the clock, but never
    /// earlier than one microsecond after the last batch, so `recorded_at`
    /// never goes back even when the system clock does.
    pub fn next_recorded_at(&self) -> i64 {
        let now = self.clock.now_us();
        if self.head.events() == 0 {
            now
        } else {
            now.max(self.head.last_recorded_us.saturating_add(1))
        }
    }

    /// Seals `events` onto the chain and writes them, with the caller's
    /// `index` entries, in one atomic batch, then syncs. Returns the
    /// recorded events only once they are durable.
    pub fn append<E>(
        &mut self,
        events: E,
        index: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Vec<Appended>, JournalError>
    where
        E: IntoIterator<Item = Event>,
        E::IntoIter: ExactSizeIterator + Send,
    {
        let events = events.into_iter();
        let recorded_at = self.next_recorded_at();
        let mut prev = self.head.hash;
        let mut next = self.head.next_seq;
        if next.saturating_add(events.len() as u64) > SEQ_LIMIT {
            return Err(corrupt(
                format!("seq {next}"),
                "the journal is full (2^48 events)",
            ));
        }
        let mut batch = WriteBatch::default();
        let mut blobs = false;
        let mut appended = Vec::with_capacity(events.len());
        let mut events = events;
        let done = |recs: &[RecordedEvent], appended: &mut Vec<Appended>| {
            appended.extend(recs.iter().map(|r| Appended {
                seq: r.seq,
                id: r.id,
                recorded_at_us: r.recorded_at_us,
            }));
        };
        if events.len() <= SEAL_BLOCK_EVENTS {
            let block = next_block(&mut events, next, recorded_at);
            next += block.len() as u64;
            debug_assert!(
                events.next().is_none(),
                "more events than the iterator's length"
            );
            let (recs, last) = seal_block(block, prev);
            prev = last;
            self.put_events(&mut batch, &recs, &mut blobs)?;
            done(&recs, &mut appended);
        } else {
            // Sealed in blocks, so that canonical bytes and stored forms of
            // a large import never all sit in memory at once: one thread
            // seals block after block while this one writes each as it
            // comes (a block waits for its turn, so at most three are in
            // memory), with no pause between blocks for the two to meet.
            let (first, genesis) = (next, prev);
            let (to_writer, sealed) = std::sync::mpsc::sync_channel::<Vec<RecordedEvent>>(1);
            // Borrowed, so that they are still here if no thread starts.
            let rest = &mut events;
            let piped = std::thread::scope(|s| {
                let sealing = crate::par::start_scoped(s, std::thread::Builder::new(), move || {
                    let (mut next, mut prev) = (first, genesis);
                    loop {
                        let block = next_block(rest, next, recorded_at);
                        if block.is_empty() {
                            break;
                        }
                        next += block.len() as u64;
                        let (recs, last) = seal_block(block, prev);
                        prev = last;
                        // The writer has stopped (an error): stop too.
                        if to_writer.send(recs).is_err() {
                            break;
                        }
                    }
                    (next, prev)
                });
                // No thread (a limit on threads): sealed below, block by
                // block, on this one.
                let Ok(sealer) = sealing else {
                    return None;
                };
                // Ends when the sealer is done (or gone), or at the first
                // failed write, which lets the sealer stop.
                let mut written = Ok(());
                for recs in sealed {
                    written = self.put_events(&mut batch, &recs, &mut blobs);
                    if written.is_err() {
                        break;
                    }
                    done(&recs, &mut appended);
                }
                Some((sealer.join(), written))
            });
            match piped {
                Some((Ok((n, last)), written)) => {
                    (next, prev) = (n, last);
                    written?;
                }
                Some((Err(panic), _)) => std::panic::resume_unwind(panic),
                None => loop {
                    let block = next_block(&mut events, next, recorded_at);
                    if block.is_empty() {
                        break;
                    }
                    next += block.len() as u64;
                    let (recs, last) = seal_block(block, prev);
                    prev = last;
                    self.put_events(&mut batch, &recs, &mut blobs)?;
                    done(&recs, &mut appended);
                },
            }
        }
        let head = Head {
            next_seq: next,
            hash: prev,
            last_recorded_us: recorded_at,
        };
        self.commit(batch, index, head, blobs)?;
        Ok(appended)
    }

    /// Appends events that were already recorded elsewhere (`import
    /// --restore`), checking that each continues the chain: the next seq,
    /// a `recorded_at` that does not go back, and the hash recomputed from
    /// its content.
    pub fn append_recorded(
        &mut self,
        recs: Vec<RecordedEvent>,
        index: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<(), JournalError> {
        let mut last = self.head.last_recorded_us;
        // Each hash as it should be if every one before it is as stored
        // (checked in order below, stopping at the first that is not).
        let expected = chain::expected_hashes(&recs, self.head.hash);
        for ((seq, r), expected) in (self.head.next_seq..).zip(&recs).zip(expected) {
            if r.seq != seq {
                return Err(JournalError::BadLink {
                    seq: r.seq,
                    detail: format!("expected seq {seq}"),
                });
            }
            if r.recorded_at_us < last {
                return Err(JournalError::BadLink {
                    seq: r.seq,
                    detail: "recorded_at goes back".into(),
                });
            }
            if expected != r.hash {
                return Err(JournalError::BadLink {
                    seq: r.seq,
                    detail: "hash does not match".into(),
                });
            }
            last = r.recorded_at_us;
        }
        self.write(&recs, index)
    }

    fn write(
        &mut self,
        recs: &[RecordedEvent],
        index: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<(), JournalError> {
        let Some(last) = recs.last() else {
            return Ok(());
        };
        let head = Head {
            next_seq: last.seq + 1,
            hash: last.hash,
            last_recorded_us: last.recorded_at_us,
        };
        let mut batch = WriteBatch::default();
        let mut blobs = false;
        for block in recs.chunks(SEAL_BLOCK_EVENTS) {
            self.put_events(&mut batch, block, &mut blobs)?;
        }
        self.commit(batch, index, head, blobs)
    }

    /// Writes `batch`, the caller's index entries and the new head
    /// atomically, then syncs. Only then is the head moved.
    fn commit(
        &mut self,
        mut batch: WriteBatch,
        index: Vec<(Vec<u8>, Vec<u8>)>,
        head: Head,
        blobs: bool,
    ) -> Result<(), JournalError> {
        self.refuse_if_head_unknown()?;
        if head == self.head {
            return Ok(());
        }
        for (k, v) in index {
            batch.put(index_key(&k), v);
        }
        // The first chunk in a blob makes the journal format 2, in the
        // same batch, so that no older build misreads it.
        let upgrade = blobs && self.format < FORMAT_BLOBS;
        if upgrade {
            batch.put(KEY_FORMAT.to_vec(), format_marker(FORMAT_BLOBS));
        }
        batch.put(KEY_HEAD.to_vec(), encode_head(&head));
        // The batch is not acknowledged until it is durable.
        let written = self.store.apply(batch).and_then(|()| self.store.sync());
        if let Err(e) = written {
            // The batch may or may not be in the store now (applied but not
            // synced). Take the head from the store, which is consistent with
            // whatever it holds, so the next append neither overwrites nor
            // skips a seq. The caller was told nothing was acknowledged.
            match self
                .store
                .get(KEY_HEAD)
                .ok()
                .flatten()
                .map(|b| decode_head(&b))
            {
                Some(Ok(h)) => self.head = h,
                // The store may hold the batch or not: no append until the
                // journal is opened again and reads its head.
                _ => self.head_unknown = true,
            }
            if let Ok(Some(marker)) = self.store.get(KEY_FORMAT) {
                if marker == format_marker(FORMAT_BLOBS) {
                    self.format = FORMAT_BLOBS;
                }
            }
            return Err(e.into());
        }
        if upgrade {
            self.format = FORMAT_BLOBS;
        }
        self.head = head;
        Ok(())
    }

    /// The seq of the event with `id`, if recorded.
    pub fn seq_of(&self, id: &Uuid) -> Result<Option<u64>, JournalError> {
        if let Some(seq) = ledger_id_seq(id) {
            if self.get(seq)?.is_some_and(|r| r.id == *id) {
                return Ok(Some(seq));
            }
        }
        match self.store.get(&id_key(id))? {
            None => Ok(None),
            Some(v) => seq_of_value(&v)
                .map(Some)
                .ok_or_else(|| corrupt(format!("id {id}"), "bad seq")),
        }
    }

    /// The event at `seq`.
    pub fn get(&self, seq: u64) -> Result<Option<RecordedEvent>, JournalError> {
        if seq == 0 || seq >= self.head.next_seq {
            return Ok(None);
        }
        // Lookups by id come in runs (a re-imported file, a batch of
        // corrections), so the last chunk read is kept. Chunks never change
        // once written.
        let mut cache = match self.chunk_cache.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let hit = cache.as_ref().filter(|c| {
            c.events.first().is_some_and(|e| e.seq <= seq)
                && c.events.last().is_some_and(|e| e.seq >= seq)
        });
        let chunk = match hit {
            Some(c) => c.clone(),
            None => {
                let Some((k, v)) = self
                    .store
                    .last_at_or_before(&[PREFIX_CHUNK], &chunk_key(seq))?
                else {
                    return Err(corrupt(format!("seq {seq}"), "no chunk holds it"));
                };
                let mut buf = Vec::new();
                let bytes = self.chunk_bytes(seq, &v, &mut buf)?;
                let c = codec::decode_chunk(bytes)
                    .map_err(|e| corrupt(format!("chunk {}", hex::encode(&k)), e))?;
                let c = Arc::new(c);
                *cache = Some(c.clone());
                c
            }
        };
        match chunk.events.iter().find(|e| e.seq == seq) {
            Some(e) => to_recorded(e.clone()).map(Some),
            None => Err(corrupt(format!("seq {seq}"), "missing from its chunk")),
        }
    }

    /// The event with `id`.
    pub fn get_by_id(&self, id: &Uuid) -> Result<Option<RecordedEvent>, JournalError> {
        match self.seq_of(id)? {
            Some(seq) => self.get(seq),
            None => Ok(None),
        }
    }

    /// The caller's index entry `name`.
    pub fn index_get(&self, name: &[u8]) -> Result<Option<Vec<u8>>, JournalError> {
        Ok(self.store.get(&index_key(name))?)
    }

    /// The caller's index entry with the greatest name in
    /// `start..=at`, name given whole.
    pub fn index_last_at_or_before(
        &self,
        start: &[u8],
        at: &[u8],
    ) -> Result<Option<storage::Pair>, JournalError> {
        Ok(self
            .store
            .last_at_or_before(&index_key(start), &index_key(at))?
            .map(|(k, v)| (k[1..].to_vec(), v)))
    }

    /// Calls `f` with each of the caller's index entries whose names start
    /// with `prefix` (name without the prefix, value borrowed), in name
    /// order, until `f` returns `false`.
    pub fn index_for_each(
        &self,
        prefix: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), JournalError> {
        let start = index_key(prefix);
        let end = prefix_end(&start);
        self.store
            .for_each(&start, &end, &mut |k, v| f(&k[start.len()..], v))?;
        Ok(())
    }

    /// Writes and removes caller's index entries (derived data such as
    /// checkpoints) in one atomic batch, then syncs. Never touches an
    /// event.
    pub fn write_index(
        &mut self,
        puts: Vec<(Vec<u8>, Vec<u8>)>,
        deletes: Vec<Vec<u8>>,
    ) -> Result<(), JournalError> {
        let mut batch = WriteBatch::default();
        for (name, value) in puts {
            batch.put(index_key(&name), value);
        }
        for name in deletes {
            batch.delete(index_key(&name));
        }
        self.store.apply(batch)?;
        self.store.sync()?;
        Ok(())
    }

    /// Writes a side entry: derived data too large for the index (a
    /// checkpoint's state), kept beside the journal, written atomically,
    /// and durably when `durable` ([`Storage::side_put`]).
    pub fn side_put(
        &mut self,
        name: &str,
        value: &[u8],
        durable: bool,
    ) -> Result<(), JournalError> {
        Ok(self.store.side_put(name, value, durable)?)
    }

    /// [`Journal::side_put`] of pieces written one after another
    /// ([`Storage::side_put_pieces`]).
    pub fn side_put_pieces(
        &mut self,
        name: &str,
        pieces: &[&[u8]],
        durable: bool,
    ) -> Result<(), JournalError> {
        Ok(self.store.side_put_pieces(name, pieces, durable)?)
    }

    /// A side entry's value.
    pub fn side_get(&self, name: &str) -> Result<Option<Vec<u8>>, JournalError> {
        Ok(self.store.side_get(name)?)
    }

    /// A side entry's value, mapped where the storage can
    /// ([`Storage::side_bytes`]).
    pub fn side_bytes(&self, name: &str) -> Result<Option<SideBytes>, JournalError> {
        Ok(self.store.side_bytes(name)?)
    }

    /// Removes a side entry.
    pub fn side_remove(&mut self, name: &str) -> Result<(), JournalError> {
        Ok(self.store.side_remove(name)?)
    }

    /// The side entries' names, in order.
    pub fn side_names(&self) -> Result<Vec<String>, JournalError> {
        Ok(self.store.side_names()?)
    }

    /// The caller's index entries whose names start with `prefix`, in name
    /// order, names given without the prefix.
    pub fn index_range(&self, prefix: &[u8]) -> Result<storage::Pairs, JournalError> {
        let start = index_key(prefix);
        let end = prefix_end(&start);
        let pairs = self.store.range(&start, &end, usize::MAX)?;
        Ok(pairs
            .into_iter()
            .map(|(k, v)| (k[start.len()..].to_vec(), v))
            .collect())
    }

    /// The last seq recorded at or before `t_us` (0 when none): where a
    /// replay known at `t_us` ends (T-2). `recorded_at` never decreases
    /// along seq, so this is a binary search.
    pub fn last_seq_recorded_by(&self, t_us: i64) -> Result<u64, JournalError> {
        let (mut lo, mut hi) = (0u64, self.head.next_seq.saturating_sub(1));
        // Invariant: events ≤ lo are recorded by t; events > hi are not.
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let at = self
                .get(mid)?
                .ok_or_else(|| corrupt(format!("seq {mid}"), "missing"))?
                .recorded_at_us;
            if at <= t_us {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(lo)
    }

    /// Calls `f` with every event up to seq `last` (inclusive), in seq
    /// order, decoding each chunk in place: ids are borrowed from the
    /// stored bytes, so nothing is allocated per attendance. Checks, as
    /// [`Journal::iter`] does, that chunks and seqs follow without gaps.
    /// This is the counting fold's read path.
    pub fn scan(
        &self,
        last: u64,
        f: impl FnMut(EventView<'_>) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        self.scan_range(1, last, f)
    }

    /// [`Journal::scan`] of the events `first..=last` only: what a report
    /// reads after a checkpoint. Starts at the chunk that holds `first`.
    pub fn scan_range(
        &self,
        first: u64,
        last: u64,
        mut f: impl FnMut(EventView<'_>) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        self.scan_range_chunks(first, last, |views| {
            for v in views.drain(..) {
                f(v)?;
            }
            Ok(())
        })
    }

    /// [`Journal::scan_range`] a chunk at a time: `f` gets the views of one
    /// stored chunk (those in `first..=last`), so that a fold can look
    /// ahead within it (the report's fold prefetches what the next events
    /// will touch).
    pub fn scan_range_chunks(
        &self,
        first: u64,
        last: u64,
        mut f: impl FnMut(&mut Vec<EventView<'_>>) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        self.walk_chunks(first, last, |v, (first, last), expect| {
            let mut views = chunk_views(v.bytes(), first, last, expect)?;
            f(&mut views)
        })
    }

    /// [`Journal::scan_range_chunks`] with each chunk's views owning their
    /// bytes ([`OwnedViews`]), so that they can be folded on another
    /// thread while this one reads and decodes the next chunks. A chunk
    /// read from a file is read into a buffer from `spare` (empty: a new
    /// one), so that the buffers of chunks already folded
    /// ([`OwnedViews::into_bytes`]) can be used again.
    pub fn scan_range_owned(
        &self,
        first: u64,
        last: u64,
        mut spare: impl FnMut() -> Vec<u8>,
        mut f: impl FnMut(OwnedViews) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        self.walk_chunks(first, last, |v, (first, last), expect| {
            // Every chunk takes a buffer from `spare`, so that the buffers
            // handed back are used again, never gathered.
            let bytes = v.into_owned(spare());
            f(OwnedViews::decode(bytes, |bytes| {
                chunk_views(bytes, first, last, expect)
            })?)
        })
    }

    /// Walks the stored chunks that hold `first..=last`, in key order,
    /// checking that each key follows the last: `on_chunk` gets a chunk's
    /// bytes, the range (clamped to the journal) and the seq it must start
    /// at, which it moves past the chunk's events ([`chunk_views`]).
    fn walk_chunks(
        &self,
        first: u64,
        last: u64,
        mut on_chunk: impl FnMut(ChunkBytes<'_>, (u64, u64), &mut u64) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let first = first.max(1);
        let last = last.min(self.head.next_seq.saturating_sub(1));
        if last == 0 || first > last {
            return Ok(());
        }
        let start = match self
            .store
            .last_at_or_before(&[PREFIX_CHUNK], &chunk_key(first))?
        {
            Some((k, _)) => k,
            None => return Err(corrupt(format!("seq {first}"), "no chunk holds it")),
        };
        let mut expect = start.get(1..).and_then(seq_of_value).unwrap_or(1);
        let mut failed: Option<JournalError> = None;
        let end = [PREFIX_CHUNK + 1];
        let mut blob_buf = Vec::new();
        self.store.for_each(&start, &end, &mut |k, v| {
            if k.get(1..).and_then(seq_of_value) != Some(expect) {
                failed = Some(corrupt(
                    format!("seq {expect}"),
                    "chunk key out of sequence",
                ));
                return false;
            }
            let chunk_first = expect;
            let v = match self.chunk_bytes_in(expect, v, &mut blob_buf) {
                Ok(bytes) => bytes,
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            };
            if let Err(e) = on_chunk(v, (first, last), &mut expect) {
                failed = Some(e);
                return false;
            }
            if expect == chunk_first {
                failed = Some(corrupt(format!("seq {expect}"), "empty chunk"));
                return false;
            }
            expect <= last
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if expect <= last {
            return Err(corrupt(format!("seq {expect}"), "chunk missing"));
        }
        Ok(())
    }

    /// Every event in seq order, read a chunk at a time.
    pub fn iter(&self) -> JournalIter<'_, S> {
        JournalIter {
            journal: self,
            next_key: chunk_key(1),
            buf: Vec::new().into_iter(),
            done: false,
            expect_seq: 1,
        }
    }

    /// Every event from seq `from` on, in seq order: from the chunk that
    /// holds it, without reading the chunks before.
    pub fn iter_from(
        &self,
        from: u64,
    ) -> Result<impl Iterator<Item = Result<RecordedEvent, JournalError>> + '_, JournalError> {
        let mut it = self.iter();
        if from >= self.head.next_seq {
            // Nothing from there: end at once rather than skip everything.
            it.expect_seq = from;
        } else if from > 1 {
            if let Some((k, _)) = self
                .store
                .last_at_or_before(&[PREFIX_CHUNK], &chunk_key(from))?
            {
                if let Some(first) = k.get(1..).and_then(seq_of_value) {
                    it.next_key = k;
                    it.expect_seq = first;
                }
            }
        }
        Ok(it.skip_while(move |r| r.as_ref().is_ok_and(|e| e.seq < from)))
    }

    /// Walks the whole journal: every chunk decodes, seqs are gap-free,
    /// every hash matches the chain recomputed from the content, and the
    /// last hash is the head's. Names the first bad seq.
    pub fn verify(&self) -> Verification {
        let mut prev = GENESIS;
        let mut expect = 1u64;
        let mut events = self.iter();
        // In blocks, whose canonical bytes are written on every core while
        // this thread runs the chain over them.
        let mut block = Vec::with_capacity(VERIFY_BLOCK_EVENTS);
        loop {
            block.clear();
            let mut unread = None;
            for r in events.by_ref().take(VERIFY_BLOCK_EVENTS) {
                match r {
                    Ok(r) => block.push(r),
                    Err(e) => {
                        unread = Some(e);
                        break;
                    }
                }
            }
            let expected = chain::expected_hashes(&block, prev);
            for (r, expected) in block.iter().zip(expected) {
                if expected != r.hash {
                    return Verification::Broken {
                        seq: r.seq,
                        detail: "hash does not match the content".into(),
                    };
                }
                prev = r.hash;
                expect = r.seq + 1;
            }
            if let Some(e) = unread {
                return Verification::Broken {
                    seq: expect,
                    detail: e.to_string(),
                };
            }
            if block.len() < VERIFY_BLOCK_EVENTS {
                break;
            }
        }
        if expect != self.head.next_seq {
            return Verification::Broken {
                seq: expect,
                detail: "events missing before the head".into(),
            };
        }
        if prev != self.head.hash {
            return Verification::Broken {
                seq: expect.saturating_sub(1),
                detail: "head hash differs".into(),
            };
        }
        Verification::Intact {
            events: self.head.events(),
            head: prev,
        }
    }
}

/// A recorded event as the counting fold reads it (see [`Journal::scan`]).
#[derive(Debug)]
pub struct EventView<'a> {
    /// Its seq.
    pub seq: u64,
    /// Its transaction time.
    pub recorded_at_us: i64,
    /// Its id.
    pub id: Uuid,
    /// Its chain hash.
    pub hash: Hash,
    /// What happened, ids borrowed.
    pub body: crate::domain::BodyView<'a>,
}

/// Iterator over the journal's events, in seq order.
pub struct JournalIter<'a, S: Storage> {
    journal: &'a Journal<S>,
    next_key: Vec<u8>,
    buf: std::vec::IntoIter<StoredEvent>,
    done: bool,
    expect_seq: u64,
}

impl<S: Storage> Iterator for JournalIter<'_, S> {
    type Item = Result<RecordedEvent, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.buf.next() {
                if e.seq != self.expect_seq {
                    self.done = true;
                    return Some(Err(corrupt(
                        format!("seq {}", self.expect_seq),
                        format!("found seq {} instead", e.seq),
                    )));
                }
                self.expect_seq += 1;
                return Some(to_recorded(e));
            }
            if self.done || self.expect_seq >= self.journal.head.next_seq {
                return None;
            }
            let end = [PREFIX_CHUNK + 1];
            let pairs = match self.journal.store.range(&self.next_key, &end, 1) {
                Ok(p) => p,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e.into()));
                }
            };
            let Some((k, v)) = pairs.into_iter().next() else {
                self.done = true;
                return Some(Err(corrupt(
                    format!("seq {}", self.expect_seq),
                    "chunk missing",
                )));
            };
            let first = k.get(1..).and_then(seq_of_value);
            if first != Some(self.expect_seq) {
                self.done = true;
                return Some(Err(corrupt(
                    format!("seq {}", self.expect_seq),
                    "chunk key out of sequence",
                )));
            }
            let mut buf = Vec::new();
            let decoded = self
                .journal
                .chunk_bytes(self.expect_seq, &v, &mut buf)
                .and_then(|bytes| {
                    codec::decode_chunk(bytes)
                        .map_err(|e| corrupt(format!("seq {}", self.expect_seq), e))
                });
            match decoded {
                Ok(c) if !c.events.is_empty() => {
                    self.next_key = chunk_key(self.expect_seq + c.events.len() as u64);
                    self.buf = c.events.into_iter();
                }
                Ok(_) => {
                    self.done = true;
                    return Some(Err(corrupt(
                        format!("seq {}", self.expect_seq),
                        "empty chunk",
                    )));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Events sealed at a time by [`Journal::append`].
const SEAL_BLOCK_EVENTS: usize = 64 * CHUNK_EVENTS_MAX;

fn format_marker(version: u32) -> Vec<u8> {
    let mut marker = FORMAT_MAGIC.to_vec();
    marker.extend_from_slice(&version.to_be_bytes());
    marker
}

fn encode_head(h: &Head) -> Vec<u8> {
    match postcard::to_allocvec(h) {
        Ok(v) => v,
        Err(e) => unreachable!("the head is always encodable: {e}"),
    }
}

fn decode_head(bytes: &[u8]) -> Result<Head, JournalError> {
    let (h, rest) = postcard::take_from_bytes::<Head>(bytes).map_err(|e| corrupt("head", e))?;
    if !rest.is_empty() || h.next_seq == 0 {
        return Err(corrupt("head", "malformed"));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::storage::{Fault, FaultyStorage};
    use super::*;
    use crate::domain::EventBody;
    use serde_json::json;

    fn ev(n: u32) -> Event {
        let body: EventBody = serde_json::from_value(
            json!({"type":"session_held","menu":"B-01","date":"2024-11-20","capacity":n}),
        )
        .unwrap();
        Event { id: None, body }
    }

    type Faults = Arc<std::sync::Mutex<Vec<Fault>>>;

    fn journal(
        clock: Arc<ManualClock>,
    ) -> (Journal<FaultyStorage<MemStorage>>, storage::CallLog, Faults) {
        let s = FaultyStorage::new(MemStorage::default());
        let (calls, faults) = (s.calls.clone(), s.faults.clone());
        (Journal::open(s, clock).unwrap(), calls, faults)
    }

    #[test]
    fn an_append_is_acknowledged_only_after_sync() {
        let (mut j, calls, _) = journal(Arc::new(ManualClock::at(1)));
        calls.lock().unwrap().clear();
        j.append(vec![ev(1), ev(2)], vec![]).unwrap();
        assert_eq!(*calls.lock().unwrap(), vec!["apply", "sync"]);
    }

    #[test]
    fn a_failed_sync_is_not_acknowledged_and_the_next_append_continues_the_chain() {
        let (mut j, _, faults) = journal(Arc::new(ManualClock::at(1)));
        j.append(vec![ev(1)], vec![]).unwrap();
        faults.lock().unwrap().push(Fault::Sync);
        assert!(j.append(vec![ev(2)], vec![]).is_err());
        j.append(vec![ev(3)], vec![]).unwrap();
        assert!(matches!(j.verify(), Verification::Intact { .. }));
        let seqs: Vec<u64> = j.iter().map(|r| r.unwrap().seq).collect();
        assert_eq!(seqs, (1..=j.head().events()).collect::<Vec<_>>());
    }

    #[test]
    fn a_failed_apply_writes_nothing() {
        let (mut j, _, faults) = journal(Arc::new(ManualClock::at(1)));
        j.append(vec![ev(1)], vec![]).unwrap();
        let head = j.head();
        faults.lock().unwrap().push(Fault::Apply);
        assert!(j.append(vec![ev(2), ev(3)], vec![]).is_err());
        assert_eq!(j.head(), head);
        assert_eq!(j.iter().count(), 1);
    }

    #[test]
    fn recorded_at_never_goes_back_when_the_clock_does() {
        let clock = Arc::new(ManualClock::at(1_000_000));
        let (mut j, _, _) = journal(clock.clone());
        let a = j.append(vec![ev(1)], vec![]).unwrap();
        clock.set(5);
        let b = j.append(vec![ev(2)], vec![]).unwrap();
        assert_eq!(a[0].recorded_at_us, 1_000_000);
        assert_eq!(b[0].recorded_at_us, 1_000_001);
    }

    #[test]
    fn verify_names_the_first_altered_seq() {
        let (mut j, _, _) = journal(Arc::new(ManualClock::at(1)));
        j.append((0..5).map(ev), vec![]).unwrap();
        j.append((5..8).map(ev), vec![]).unwrap();
        // Alter event 3 in place, as a hostile edit of the database would.
        let key = chunk_key(1);
        let mut chunk = codec::decode_chunk(&j.store.get(&key).unwrap().unwrap()).unwrap();
        if let codec::SBody::SessionHeld { capacity, .. } = &mut chunk.events[2].body {
            *capacity = Some(99);
        }
        let mut b = WriteBatch::default();
        b.put(key, codec::encode_chunk(&chunk));
        j.store.apply(b).unwrap();
        assert_eq!(
            j.verify(),
            Verification::Broken {
                seq: 3,
                detail: "hash does not match the content".into()
            }
        );
    }

    /// `verify` checks in blocks: an alteration deep in a later block, and
    /// a gap after it, are named by their seq.
    #[test]
    fn verify_names_the_altered_seq_past_its_first_block() {
        let (mut j, _, _) = journal(Arc::new(ManualClock::at(1)));
        for k in 0..40 {
            j.append((k * 1000..(k + 1) * 1000).map(ev), vec![])
                .unwrap();
        }
        assert!(matches!(
            j.verify(),
            Verification::Intact { events: 40_000, .. }
        ));
        // Event 20000 is the last of the chunk that starts at 19001.
        let key = chunk_key(19_001);
        let mut chunk = codec::decode_chunk(&j.store.get(&key).unwrap().unwrap()).unwrap();
        if let codec::SBody::SessionHeld { capacity, .. } = &mut chunk.events[999].body {
            *capacity = Some(99);
        }
        let original = j.store.get(&key).unwrap().unwrap();
        let mut b = WriteBatch::default();
        b.put(key.clone(), codec::encode_chunk(&chunk));
        j.store.apply(b).unwrap();
        assert_eq!(
            j.verify(),
            Verification::Broken {
                seq: 20_000,
                detail: "hash does not match the content".into()
            }
        );
        let mut b = WriteBatch::default();
        b.put(key, original);
        b.put(chunk_key(33_001), vec![9, 9, 9]);
        j.store.apply(b).unwrap();
        assert!(matches!(
            j.verify(),
            Verification::Broken { seq: 33_001, .. }
        ));
    }

    #[test]
    fn a_gap_in_the_chunks_is_found() {
        let (mut j, _, _) = journal(Arc::new(ManualClock::at(1)));
        j.append((0..3).map(ev), vec![]).unwrap();
        j.append((3..6).map(ev), vec![]).unwrap();
        let mut b = WriteBatch::default();
        b.put(chunk_key(4), vec![9, 9, 9]);
        j.store.apply(b).unwrap();
        assert!(matches!(j.verify(), Verification::Broken { seq: 4, .. }));
    }

    #[test]
    fn assigned_ids_are_v7_and_lead_to_their_seq() {
        let id = ledger_id(123_456, 1_732_000_000_123_456);
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(ledger_id_seq(&id), Some(123_456));
        assert_eq!(
            id.get_timestamp().map(|t| t.to_unix().0),
            Some(1_732_000_000)
        );
        assert_eq!(ledger_id_seq(&Uuid::now_v7()), None);
    }

    #[test]
    fn events_are_found_by_assigned_and_by_client_ids() {
        let (mut j, _, _) = journal(Arc::new(ManualClock::at(1)));
        let client = Uuid::now_v7();
        let recs = j
            .append(
                vec![
                    ev(1),
                    Event {
                        id: Some(client),
                        ..ev(2)
                    },
                    ev(3),
                ],
                vec![],
            )
            .unwrap();
        assert_eq!(j.seq_of(&recs[0].id).unwrap(), Some(1));
        assert_eq!(j.seq_of(&client).unwrap(), Some(2));
        assert_eq!(j.seq_of(&recs[2].id).unwrap(), Some(3));
        // The right form with the wrong timestamp is not the event.
        assert_eq!(j.seq_of(&ledger_id(1, 999_999_999)).unwrap(), None);
        // A client's UUID v7 that happens to carry the tag, with random
        // counter bits, is not of the ledger's form.
        let client = Uuid::parse_str("0193a1c0-0000-715e-b3f1-2c9d41e07a55").unwrap();
        assert_eq!(ledger_id_seq(&client), None);
        assert_eq!(j.seq_of(&Uuid::now_v7()).unwrap(), None);
    }

    fn blob_journal<S: Storage>(store: S) -> Journal<S> {
        let mut j = Journal::open(store, Arc::new(ManualClock::at(1_000_000))).unwrap();
        j.set_blob_events_min(100);
        j
    }

    fn events(n: u32) -> Vec<Event> {
        (0..n).map(ev).collect()
    }

    /// Every way of reading gives the events 1..=n, in order.
    fn reads_back<S: Storage>(j: &Journal<S>, n: u64) {
        assert_eq!(j.head().events(), n);
        assert!(matches!(j.verify(), Verification::Intact { events, .. } if events == n));
        let seqs: Vec<u64> = j.iter().map(|r| r.unwrap().seq).collect();
        assert_eq!(seqs, (1..=n).collect::<Vec<_>>());
        for seq in [1, 2, 1023, 1024, 1025, 2047, 2048, 2049, n] {
            if seq <= n {
                assert_eq!(j.get(seq).unwrap().unwrap().seq, seq);
            }
        }
        let mut scanned = Vec::new();
        j.scan_range(1000, n - 3, |v| {
            scanned.push(v.seq);
            Ok(())
        })
        .unwrap();
        assert_eq!(scanned, (1000..=n - 3).collect::<Vec<_>>());
    }

    fn exercise_blobs<S: Storage>(j: &mut Journal<S>) {
        assert_eq!(j.format(), FORMAT_INLINE);
        j.append(events(50), Vec::new()).unwrap();
        assert_eq!(j.format(), FORMAT_INLINE, "a small append stays inline");
        assert!(j.storage().blob_names().unwrap().is_empty());
        j.append(events(2500), Vec::new()).unwrap();
        assert_eq!(j.format(), FORMAT_BLOBS);
        assert_eq!(
            j.storage().get(KEY_FORMAT).unwrap(),
            Some(format_marker(FORMAT_BLOBS))
        );
        // One blob of three chunks, each key holding where its chunk is.
        assert_eq!(
            j.storage().blob_names().unwrap(),
            [format!("{:020}-{:020}", 51, 2550)]
        );
        let mut offsets = Vec::new();
        for first in [51u64, 51 + 1024, 51 + 2048] {
            let v = j.storage().get(&chunk_key(first)).unwrap().unwrap();
            let r = codec::decode_ref(&v).unwrap().expect("a reference");
            offsets.push(r.offset);
        }
        assert!(offsets[0] == 0 && offsets[0] < offsets[1] && offsets[1] < offsets[2]);
        j.append(events(3), Vec::new()).unwrap();
        reads_back(j, 2553);
    }

    #[test]
    fn a_large_append_puts_its_chunks_in_a_blob_and_reads_them_back() {
        let mut j = blob_journal(MemStorage::default());
        exercise_blobs(&mut j);
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("journal");
        {
            let mut j = blob_journal(SledStorage::open(&db).unwrap());
            exercise_blobs(&mut j);
        }
        // The blob is a file beside sled's directory; it reads back after
        // reopening.
        assert!(dir
            .path()
            .join(storage::BLOB_DIR)
            .join(format!("{:020}-{:020}", 51, 2550))
            .is_file());
        let j = blob_journal(SledStorage::open(&db).unwrap());
        assert_eq!(j.format(), FORMAT_BLOBS);
        reads_back(&j, 2553);
    }

    /// Each chunk of an owned scan, stored in the index or in a blob,
    /// is read into a buffer from `spare`, so the buffers handed back are
    /// used again and a long fold holds only the chunks in flight.
    #[test]
    fn an_owned_scan_reads_every_chunk_into_a_spare_buffer() {
        let mut j = blob_journal(MemStorage::default());
        for _ in 0..5 {
            j.append(events(50), Vec::new()).unwrap();
        }
        j.append(events(2500), Vec::new()).unwrap();
        j.append(events(3), Vec::new()).unwrap();
        assert_eq!(j.format(), FORMAT_BLOBS);
        let pool = std::cell::RefCell::new(Vec::<Vec<u8>>::new());
        let (mut taken, mut fresh, mut chunks) = (0, 0, 0);
        let mut seqs = Vec::new();
        j.scan_range_owned(
            1,
            u64::MAX,
            || {
                taken += 1;
                pool.borrow_mut().pop().unwrap_or_else(|| {
                    fresh += 1;
                    Vec::new()
                })
            },
            |chunk| {
                chunks += 1;
                seqs.extend(chunk.views().iter().map(|v| v.seq));
                pool.borrow_mut().push(chunk.into_bytes());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seqs, (1..=2753).collect::<Vec<u64>>());
        assert_eq!(
            (chunks, taken),
            (9, 9),
            "five inline, three in a blob, one inline"
        );
        // One new buffer only (the scan's own read buffer joins the pool
        // at the first blob chunk): the rest were handed back and reused.
        assert_eq!(fresh, 1);
    }

    #[test]
    fn a_damaged_or_missing_blob_is_found_never_read_as_events() {
        let mut j = blob_journal(MemStorage::default());
        j.append(events(2000), Vec::new()).unwrap();
        let name = format!("{:020}-{:020}", 1, 2000);
        let mut bytes = Vec::new();
        assert!(j.storage().blob_read(&name, 0, 1, &mut bytes).unwrap());
        let v = j.storage().get(&chunk_key(1025)).unwrap().unwrap();
        let r = codec::decode_ref(&v).unwrap().unwrap();
        let mut all = Vec::new();
        let total = usize::try_from(r.offset + r.len).unwrap();
        assert!(j.storage().blob_read(&name, 0, total, &mut all).unwrap());
        let good = all.clone();
        all[usize::try_from(r.offset).unwrap() + 40] ^= 0x01;
        j.store.blob_put(&name, &all).unwrap();
        match j.verify() {
            Verification::Broken { seq, detail } => {
                assert_eq!(seq, 1025);
                assert!(detail.contains("checksum"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        let scanned = j.scan_range(1, 2000, |_| Ok(()));
        assert!(matches!(scanned, Err(JournalError::Corrupt { .. })));
        assert!(j.get(1500).is_err());
        assert!(j.get(10).unwrap().is_some(), "the first chunk is intact");
        j.store.blob_put(&name, &good).unwrap();
        assert!(matches!(
            j.verify(),
            Verification::Intact { events: 2000, .. }
        ));
        j.store.blob_remove(&name).unwrap();
        match j.verify() {
            Verification::Broken { seq, detail } => {
                assert_eq!(seq, 1);
                assert!(detail.contains("missing or too short"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_blob_no_batch_refers_to_is_removed_before_the_next_is_written() {
        let s = FaultyStorage::new(MemStorage::default());
        let faults = s.faults.clone();
        let mut j = blob_journal(s);
        // The blob is written, then the batch that refers to it fails.
        faults.lock().unwrap().push(Fault::Apply);
        assert!(j.append(events(300), Vec::new()).is_err());
        assert_eq!(j.head().events(), 0);
        assert_eq!(j.format(), FORMAT_INLINE);
        let orphan = format!("{:020}-{:020}", 1, 300);
        assert_eq!(
            j.storage().blob_names().unwrap(),
            std::slice::from_ref(&orphan)
        );
        assert_eq!(
            j.unreferenced_blobs().unwrap(),
            std::slice::from_ref(&orphan)
        );
        // Its seqs are then taken by small appends, under their keys.
        j.append(events(20), Vec::new()).unwrap();
        // The next large append removes it (its first seq is now an
        // inline chunk) and writes its own.
        j.append(events(400), Vec::new()).unwrap();
        assert_eq!(
            j.storage().blob_names().unwrap(),
            [format!("{:020}-{:020}", 21, 420)]
        );
        assert!(matches!(
            j.verify(),
            Verification::Intact { events: 420, .. }
        ));
        // A file whose first key cannot be read is kept: nothing is known
        // to be orphaned.
        let kept = format!("{:020}-{:020}", 21, 420);
        let good = j.storage().get(&chunk_key(21)).unwrap().unwrap();
        let mut damaged = WriteBatch::default();
        damaged.put(chunk_key(21), vec![codec::CHUNK_REF, 0xff, 0xff]);
        j.store.apply(damaged).unwrap();
        j.store
            .blob_put(&format!("{:020}-{:020}", 900, 950), b"x")
            .unwrap();
        // With a reference that cannot be read, which files are
        // unreferenced is not known.
        assert!(j.unreferenced_blobs().is_err());
        j.append(events(150), Vec::new()).unwrap();
        assert!(j.storage().blob_names().unwrap().contains(&kept));
        let mut repaired = WriteBatch::default();
        repaired.put(chunk_key(21), good);
        j.store.apply(repaired).unwrap();
        // Named as unreferenced (nothing refers to it) before the append
        // that removes it.
        j.store
            .blob_put(&format!("{:020}-{:020}", 950, 960), b"x")
            .unwrap();
        assert_eq!(
            j.unreferenced_blobs().unwrap(),
            [format!("{:020}-{:020}", 950, 960)]
        );
        // A file beyond the head is removed, and one whose first seq is
        // inside a chunk of another file.
        j.store
            .blob_put(&format!("{:020}-{:020}", 800, 900), b"x")
            .unwrap();
        j.store
            .blob_put(&format!("{:020}-{:020}", 500, 510), b"x")
            .unwrap();
        j.append(events(200), Vec::new()).unwrap();
        assert_eq!(
            j.storage().blob_names().unwrap(),
            [
                format!("{:020}-{:020}", 21, 420),
                format!("{:020}-{:020}", 421, 570),
                format!("{:020}-{:020}", 571, 770)
            ]
        );
        assert!(matches!(
            j.verify(),
            Verification::Intact { events: 770, .. }
        ));
        assert!(j.unreferenced_blobs().unwrap().is_empty());
    }

    #[test]
    fn after_a_failed_write_whose_head_cannot_be_read_back_nothing_is_appended() {
        let s = FaultyStorage::new(MemStorage::default());
        let faults = s.faults.clone();
        let mut j = blob_journal(s);
        j.append(events(5), Vec::new()).unwrap();
        faults.lock().unwrap().extend([Fault::Sync, Fault::Get]);
        assert!(j.append(events(5), Vec::new()).is_err());
        // The store holds the batch (applied, not synced); the journal
        // cannot know, so it refuses rather than reuse or skip seqs.
        for n in [1, 300] {
            match j.append(events(n), Vec::new()) {
                Err(JournalError::Corrupt { detail, .. }) => {
                    assert!(detail.contains("open the ledger again"), "{detail}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(j.storage().blob_names().unwrap().is_empty());
    }

    #[test]
    fn a_newer_journal_format_is_refused() {
        let mut s = MemStorage::default();
        let mut b = WriteBatch::default();
        let mut marker = FORMAT_MAGIC.to_vec();
        marker.extend_from_slice(&7u32.to_be_bytes());
        b.put(KEY_FORMAT.to_vec(), marker);
        s.apply(b).unwrap();
        assert!(matches!(
            Journal::open(s, Arc::new(SystemClock)),
            Err(JournalError::NewerFormat { found: 7, .. })
        ));
    }
}
