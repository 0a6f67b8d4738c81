//! Checkpoints: the report fold's state saved with the seq it reflects, so
//! that a report replays only the events after it (docs/format.md §7).
//!
//! A checkpoint is derived data kept beside the journal under the ledger's
//! index names, never exported and never part of the hash chain:
//!
//! | name | value |
//! |---|---|
//! | `checkpoint/h/` + fingerprint (8) + seq (u64 BE) | the header below |
//!
//! and, as side entries (files beside the journal,
//! [`crate::journal::Storage::side_put`]):
//!
//! | name | value |
//! |---|---|
//! | `tally-` + fingerprint (16 hex) + `-` + seq (20 digits) | the state ([`Tally::encode`]) |
//! | `curves-` + fingerprint (16 hex) + `-` + seq (20 digits) | the figures of the state at every as-of date, in both scopes ([`Curves`]), framed as below: a report of exactly the events up to that seq adds them up instead of reading the state |
//! | `report-` + fingerprint (16 hex) + `-` + seq (20 digits) + `-` + request (32 hex) | a rendered report of the ledger at that seq ([`Ledger::report_rendered`]; the request names the head's chain hash too), framed: `JSKKEPT1`, the SHA-256 of the bytes, the bytes |
//! | `figures-` + fingerprint (16 hex) + `-` + build (16 hex) + `-` + key (32 hex: seq, chain hash, as-of, scope) | the figures of a report (its JSON, without `known_at`) of the events up to a seq, named by that seq and its event's chain hash ([`Ledger::report_kept`]), framed the same way |
//!
//! Header, little-endian: format (u32, 2), seq (u64), the chain hash of the
//! event at seq (32 bytes), its `recorded_at` (i64 µs), 0 (u32; format 1
//! counted parts kept in the index), the state's length (u64) and its
//! SHA-256 (32 bytes). The state is written and synced first, then the
//! header: a header names a whole state, and a state without a header (a
//! crash between the two) is removed by the next save. The fingerprint
//! ([`crate::projection::tally::fingerprint`]) changes with the rules: a
//! checkpoint of another build is never read, and the next save removes it.
//!
//! A report known at T starts from the newest checkpoint at or before the
//! last event recorded by T, unless a correction or retraction recorded
//! after the checkpoint (and by T) targets an event before it: a fold
//! cannot take back what it has counted, so that checkpoint is passed over
//! for an older one, or for a full replay.

use super::{Ledger, LedgerError};
use crate::journal::{self, JournalError};
use crate::projection::tally::{self, fingerprint, Curves, Effect, Tally};
use sha2::{Digest, Sha256};

const HEAD: &[u8] = b"checkpoint/h/";
const PART: &[u8] = b"checkpoint/p/";
/// Where format 1 kept rendered reports (removed by the next save).
const RESULT: &[u8] = b"checkpoint/r/";
/// The side entries holding kept reports start with this.
const RESULT_PREFIX: &str = "report-";
const RESULT_MAGIC: &[u8; 8] = b"JSKKEPT1";
/// Format 1 kept the state in 64 KiB parts under `checkpoint/p/`, inside
/// sled; such checkpoints are passed over, and removed by the next save.
const HEADER_FORMAT: u32 = 2;
/// The fewest events a fold reads for it to update the pairs on a second
/// thread ([`Tally::pipelined`]).
const PIPELINE_EVENTS_MIN: u64 = 100_000;

/// Chunks read and decoded ahead of the thread that folds them (about
/// 5 MB). With 8, three threads on two cores kept waiting for each other
/// (1.63-1.72 cores used, against 1.78-1.81 with 64; a cold 10M report
/// 2.35 s median against 2.46 s, alternated; 256 gained nothing more and
/// took 30 MB: docs/PERFORMANCE.md, "ninth pass").
const FOLD_CHUNKS_AHEAD: usize = 64;
const HEADER_LEN: usize = 4 + 8 + 32 + 8 + 4 + 8 + 32;
/// The side entries holding states start with this.
const STATE_PREFIX: &str = "tally-";
/// The side entries holding a checkpoint's figures as curves start with
/// this.
const CURVES_PREFIX: &str = "curves-";
/// Checkpoints kept (the newest); older ones are removed by a save.
pub const KEEP: usize = 3;
/// Rendered reports kept for the head ([`Ledger::report_rendered`]).
const RESULTS_KEPT: usize = 64;
/// The side entries holding the figures of reports start with this.
const FIGURES_PREFIX: &str = "figures-";
/// Figures kept ([`Ledger::report_kept`]); the next one past this many
/// clears them.
const FIGURES_KEPT: usize = 64;
/// Where an earlier build kept rendered known-at reports (never read;
/// removed by the next report kept, and by `checkpoint --clear`).
const KNOWN_PREFIX: &str = "known-";
/// A report that had to fold at least this many events after the newest
/// checkpoint saves a new one ([`Ledger::report_saving`]).
pub const REPORT_SAVES_AFTER: u64 = 100_000;

/// A checkpoint as listed by [`Ledger::checkpoints`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckpointInfo {
    /// The seq of the last event the state reflects.
    pub seq: u64,
    /// When that event was recorded (µs since the epoch).
    pub recorded_at_us: i64,
    /// The size of the saved state.
    pub bytes: u64,
    /// Written by this build's rules (else ignored, and removed by the next
    /// save).
    pub current: bool,
}

/// What [`Ledger::report_saving`] did about checkpoints.
#[derive(Debug)]
pub enum CheckpointNote {
    /// Nothing saved: the fold was short, or the report was known at a past
    /// time.
    None,
    /// A checkpoint was saved at this seq.
    Saved(u64),
    /// Saving failed (the report itself is sound).
    Failed(LedgerError),
}

impl CheckpointNote {
    /// This note, or, when it has nothing to say, the failure to keep a
    /// report's bytes (the report itself stands).
    fn or_failed(self, kept: Result<(), LedgerError>) -> CheckpointNote {
        match (self, kept) {
            (CheckpointNote::None, Err(e)) => CheckpointNote::Failed(e),
            (note, _) => note,
        }
    }
}

/// A fold of the journal up to a cut, and where it started.
pub(crate) struct Folded {
    pub tally: Tally,
    /// The seq and chain hash of the last event folded.
    pub head: (u64, journal::chain::Hash),
    /// The seq of the checkpoint it started from (0: the beginning).
    pub from: u64,
}

struct Header {
    seq: u64,
    hash: journal::chain::Hash,
    recorded_at_us: i64,
    parts: u32,
    len: u64,
    sha: [u8; 32],
}

impl Header {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER_LEN);
        v.extend_from_slice(&HEADER_FORMAT.to_le_bytes());
        v.extend_from_slice(&self.seq.to_le_bytes());
        v.extend_from_slice(&self.hash);
        v.extend_from_slice(&self.recorded_at_us.to_le_bytes());
        v.extend_from_slice(&self.parts.to_le_bytes());
        v.extend_from_slice(&self.len.to_le_bytes());
        v.extend_from_slice(&self.sha);
        v
    }

    fn decode(b: &[u8]) -> Option<Header> {
        if b.len() != HEADER_LEN || b[..4] != HEADER_FORMAT.to_le_bytes() {
            return None;
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&b[12..44]);
        let mut sha = [0u8; 32];
        sha.copy_from_slice(&b[64..96]);
        Some(Header {
            seq: u64::from_le_bytes(b[4..12].try_into().ok()?),
            hash,
            recorded_at_us: i64::from_le_bytes(b[44..52].try_into().ok()?),
            parts: u32::from_le_bytes(b[52..56].try_into().ok()?),
            len: u64::from_le_bytes(b[56..64].try_into().ok()?),
            sha,
        })
    }
}

fn head_name(fp: &[u8; 8], seq: u64) -> Vec<u8> {
    [HEAD, fp.as_slice(), &seq.to_be_bytes()].concat()
}

/// The side entry holding the state of the checkpoint at `seq`.
fn state_name(fp: &[u8; 8], seq: u64) -> String {
    format!("{STATE_PREFIX}{}-{seq:020}", hex::encode(fp))
}

/// The seq of a report's last event, and its chain hash.
type Head = (u64, journal::chain::Hash);

/// The side entry holding the curves of the checkpoint at `seq`.
fn curves_name(fp: &[u8; 8], seq: u64) -> String {
    format!("{CURVES_PREFIX}{}-{seq:020}", hex::encode(fp))
}

/// The side entry holding the report rendered for `request` (format and
/// language) of the ledger at `seq`, whose event there has chain hash
/// `hash`, as of `as_of` over `scope`, by these rules and this build of
/// jisseki (whose rendering may differ). The hash commits to every event
/// up to `seq`: another ledger, or this one restored from another export,
/// never finds it.
pub(crate) fn result_name(
    fp: &[u8; 8],
    (seq, hash): (u64, &journal::chain::Hash),
    as_of: crate::domain::Date,
    scope: crate::rules::time::Scope,
    request: &str,
) -> String {
    let key = Sha256::digest(
        format!(
            "{as_of}\n{scope:?}\n{request}\n{}\n{}",
            hex::encode(build_id()),
            hex::encode(hash)
        )
        .as_bytes(),
    );
    format!("{}{}", result_prefix(fp, seq), hex::encode(&key[..16]))
}

/// Eight bytes that name this build of jisseki: its version and its
/// executable's size and time of writing. Kept reports are bytes a build
/// rendered, by code the rules' fingerprint does not cover (rendering,
/// the cut, the corrections' index); a kept report of another build is
/// never read, so a fix to any of it is never hidden by a kept result.
/// (Rebuilding the same source also counts as another build: a kept
/// report is only a shortcut.)
pub(super) fn build_id() -> [u8; 8] {
    static ID: std::sync::OnceLock<[u8; 8]> = std::sync::OnceLock::new();
    *ID.get_or_init(|| {
        let mut h = Sha256::new();
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        let exe = std::env::current_exe().and_then(std::fs::metadata);
        if let Ok(m) = exe {
            h.update(m.len().to_le_bytes());
            let written = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            h.update(written.to_le_bytes());
        }
        let d = h.finalize();
        let mut out = [0u8; 8];
        out.copy_from_slice(&d[..8]);
        out
    })
}

/// The side entry holding the figures of a report of the events up to
/// `seq`, whose event there has chain hash `hash`, as of `as_of` over
/// `scope` ([`Ledger::report_kept`]). Those events, and so the figures,
/// are the same whenever they are read, and whatever moment a report is
/// known at that reads just them (T-2, T-3).
fn figures_name(
    fp: &[u8; 8],
    (seq, hash): (u64, &journal::chain::Hash),
    as_of: crate::domain::Date,
    scope: crate::rules::time::Scope,
) -> String {
    let key =
        Sha256::digest(format!("{seq}\n{}\n{as_of}\n{scope:?}", hex::encode(hash)).as_bytes());
    format!("{}{}", figures_prefix(fp), hex::encode(&key[..16]))
}

/// The start of the names of the figures kept by these rules and this
/// build ([`build_id`]).
fn figures_prefix(fp: &[u8; 8]) -> String {
    format!(
        "{FIGURES_PREFIX}{}-{}-",
        hex::encode(fp),
        hex::encode(build_id())
    )
}

/// The start of the names of the reports kept at `seq`.
fn result_prefix(fp: &[u8; 8], seq: u64) -> String {
    format!("{RESULT_PREFIX}{}-{seq:020}-", hex::encode(fp))
}

/// A kept report's bytes, framed so that a damaged or half-written one is
/// never read: magic, SHA-256 of the bytes, the bytes.
fn frame(bytes: &[u8]) -> Vec<u8> {
    [RESULT_MAGIC.as_slice(), &Sha256::digest(bytes), bytes].concat()
}

/// The bytes of a framed kept report, if whole.
pub(crate) fn unframe(v: &[u8]) -> Option<Vec<u8>> {
    let rest = v.strip_prefix(RESULT_MAGIC.as_slice())?;
    let (sha, bytes) = (rest.get(..32)?, rest.get(32..)?);
    (Sha256::digest(bytes).as_slice() == sha).then(|| bytes.to_vec())
}

/// The fingerprint and seq in a header or part name (without the prefix).
fn parse_name(rest: &[u8]) -> Option<([u8; 8], u64)> {
    let fp: [u8; 8] = rest.get(..8)?.try_into().ok()?;
    let seq = u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?);
    Some((fp, seq))
}

impl Ledger {
    /// The checkpoints saved in this ledger, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<CheckpointInfo>, LedgerError> {
        let fp = fingerprint();
        let mut out = Vec::new();
        self.journal.index_for_each(HEAD, &mut |rest, v| {
            if let (Some((f, seq)), Some(h)) = (parse_name(rest), Header::decode(v)) {
                out.push(CheckpointInfo {
                    seq,
                    recorded_at_us: h.recorded_at_us,
                    bytes: h.len,
                    current: f == fp && h.seq == seq,
                });
            }
            true
        })?;
        out.sort_by_key(|c| (c.seq, c.current));
        Ok(out)
    }

    /// The newest usable checkpoint at or before seq `cut`, decoded: one of
    /// this build's rules, of this journal (its chain hash matches), whole
    /// (its SHA-256 matches), and not undermined by a correction or
    /// retraction in `effects` recorded after it that targets an event
    /// before it. `None` when there is none: the fold starts from the
    /// beginning.
    pub(crate) fn newest_checkpoint(
        &self,
        cut: u64,
        effects: &[Effect],
    ) -> Result<Option<(Tally, journal::chain::Hash)>, LedgerError> {
        let fp = fingerprint();
        let start = [HEAD, fp.as_slice()].concat();
        let mut at = head_name(&fp, cut);
        loop {
            let Some((name, v)) = self.journal.index_last_at_or_before(&start, &at)? else {
                return Ok(None);
            };
            let Some((_, seq)) = name.get(HEAD.len()..).and_then(parse_name) else {
                return Ok(None);
            };
            let undermined = effects.iter().any(|e| e.by > seq && e.target <= seq);
            if !undermined {
                if let Some(t) = self.load(&fp, seq, &v)? {
                    return Ok(Some(t));
                }
            }
            if seq == 0 {
                return Ok(None);
            }
            at = head_name(&fp, seq - 1);
        }
    }

    /// The state of the checkpoint at `seq`, if it reads back whole and
    /// belongs to this journal.
    fn load(
        &self,
        fp: &[u8; 8],
        seq: u64,
        header: &[u8],
    ) -> Result<Option<(Tally, journal::chain::Hash)>, LedgerError> {
        let Some(h) = Header::decode(header).filter(|h| h.seq == seq) else {
            return Ok(None);
        };
        match self.journal.get(seq)? {
            Some(e) if e.hash == h.hash => {}
            _ => return Ok(None),
        }
        // A state that cannot be read back is passed over like a damaged
        // one: it is derived data, and the report replays without it.
        let Ok(Some(bytes)) = self.journal.side_bytes(&state_name(fp, seq)) else {
            return Ok(None);
        };
        if h.parts != 0 || bytes.len() as u64 != h.len {
            return Ok(None);
        }
        // The bytes are checked on a second thread while they are read
        // (the reading checks every value itself, so it is safe on any
        // bytes); the state is used only when both agree.
        let (whole, state) = std::thread::scope(|s| {
            let sha = crate::par::spawn_or_run(s, || Sha256::digest(&bytes[..]));
            let state = Tally::decode(&bytes);
            (sha.join().is_ok_and(|d| d.as_slice() == h.sha), state)
        });
        match state {
            Ok(t) if whole && t.last_seq() == seq => Ok(Some((t, h.hash))),
            _ => Ok(None),
        }
    }

    /// The seq of the checkpoint a report known at `known_at_us` (or of the
    /// ledger as it stands) starts from; 0 when it replays from the start.
    pub fn report_start(&self, known_at_us: Option<i64>) -> Result<u64, LedgerError> {
        let cut = self.cut(known_at_us)?;
        let effects = self.supersessions(cut)?.effects;
        Ok(self
            .newest_checkpoint(cut, &effects)?
            .map_or(0, |(t, _)| t.last_seq()))
    }

    /// Folds the journal up to seq `cut` for a report: from the newest
    /// usable checkpoint, then every event after it.
    pub(crate) fn fold(
        &self,
        cut: u64,
        effects: &[Effect],
        standings: &crate::projection::tally::Standings,
    ) -> Result<Folded, LedgerError> {
        let start = match self.take_live(cut, effects) {
            Some(live) => Some(live),
            None => self.newest_checkpoint(cut, effects)?,
        };
        let (mut tally, mut head, from) = match start {
            Some((t, hash)) => {
                let seq = t.last_seq();
                (t, (seq, hash), seq)
            }
            None => (Tally::new(), (0, journal::GENESIS), 0),
        };
        let mut sound = tally.is_sound();
        // A long fold updates the pairs on a second core (`Tally::pipelined`);
        // a short one is not worth the thread.
        let parallel = cut.saturating_sub(from) >= PIPELINE_EVENTS_MIN
            && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
        if !parallel {
            self.fold_chunks((from, cut), &mut head, sound, |views| {
                tally.events(views.iter().map(|e| (e.seq, &e.body)), standings)
            })?;
            return Ok(Folded { tally, head, from });
        }
        // Three threads: this one reads and decodes the chunks, a second
        // interns and judges their events (`fold`), and the pipeline's own
        // worker applies each attendance to its pair; the events reach
        // each in seq order, so the state is the one of a fold on one
        // thread.
        tally.expect_events(cut - from);
        tally.pipelined(true, |fold| {
            let folding = &mut *fold;
            let piped = std::thread::scope(|s| {
                let (to_folder, chunks) = std::sync::mpsc::sync_channel::<(
                    journal::OwnedViews,
                    Vec<tally::IdHashes>,
                )>(FOLD_CHUNKS_AHEAD);
                // The chunks' buffers, handed back once folded.
                let (to_reader, spares) = std::sync::mpsc::channel::<Vec<u8>>();
                let started = crate::par::start_scoped(s, std::thread::Builder::new(), move || {
                    for (chunk, hashes) in chunks {
                        let views = chunk.views();
                        if let Some(e) = views.last() {
                            head = (e.seq, e.hash);
                        }
                        if sound
                            && folding
                                .events_hashed(
                                    views.iter().map(|e| (e.seq, &e.body)),
                                    &hashes,
                                    standings,
                                )
                                .is_err()
                        {
                            sound = false;
                        }
                        // The reader may be done; the buffer is then freed.
                        let _ = to_reader.send(chunk.into_bytes());
                    }
                    head
                });
                // No thread (a limit on threads): folded below, on this one.
                let Ok(folder) = started else {
                    return None;
                };
                let spare = || spares.try_recv().unwrap_or_default();
                let read = self
                    .journal
                    .scan_range_owned(from + 1, cut, spare, |chunk| {
                        // The ids' hashes are worked out here, where the
                        // chunk's bytes are still in this core's cache.
                        let hashes = chunk
                            .views()
                            .iter()
                            .map(|e| tally::id_hashes(&e.body))
                            .collect();
                        // The folder is gone only if it panicked; joining it
                        // then passes the panic on.
                        let _ = to_folder.send((chunk, hashes));
                        Ok(())
                    });
                drop(to_folder);
                match folder.join() {
                    Ok(last) => head = last,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
                Some(read)
            });
            if let Some(read) = piped {
                return read;
            }
            self.fold_chunks((from, cut), &mut head, sound, |views| {
                fold.events(views.iter().map(|e| (e.seq, &e.body)), standings)
            })
        })?;
        Ok(Folded { tally, head, from })
    }

    /// Folds the events after seq `from` up to `cut` on this thread, a
    /// chunk at a time, with `events`, keeping `head` on the last one
    /// read. Once a chunk cannot be folded (or if the fold was not
    /// `sound` to begin with), the rest is only read, for the head.
    fn fold_chunks(
        &self,
        (from, cut): (u64, u64),
        head: &mut (u64, journal::chain::Hash),
        mut sound: bool,
        mut events: impl FnMut(&[journal::EventView<'_>]) -> Result<(), tally::NeedsReplay>,
    ) -> Result<(), JournalError> {
        self.journal.scan_range_chunks(from + 1, cut, |views| {
            if let Some(e) = views.last() {
                *head = (e.seq, e.hash);
            }
            if sound && events(views).is_err() {
                sound = false;
            }
            Ok(())
        })
    }

    /// The seq of the newest checkpoint saved by these rules (0: none), by
    /// its name alone.
    pub(crate) fn newest_saved_checkpoint(&self) -> Result<u64, LedgerError> {
        let fp = fingerprint();
        let start = [HEAD, fp.as_slice()].concat();
        let at = head_name(&fp, u64::MAX);
        Ok(self
            .journal
            .index_last_at_or_before(&start, &at)?
            .and_then(|(name, _)| name.get(HEAD.len()..).and_then(parse_name))
            .map_or(0, |(_, seq)| seq))
    }

    /// The fold kept in memory by the last report, if a report up to seq
    /// `cut` may start from it: sound, at or before the cut, and not
    /// undermined by a correction or retraction in `effects` recorded
    /// after it that targets an event at or before it (the terms of
    /// [`Ledger::newest_checkpoint`]). Taken out: the caller folds it on.
    fn take_live(&self, cut: u64, effects: &[Effect]) -> Option<(Tally, journal::chain::Hash)> {
        let mut live = self.live.lock().ok()?;
        let usable = live.as_ref().is_some_and(|(t, _)| {
            let seq = t.last_seq();
            t.is_sound() && seq <= cut && !effects.iter().any(|e| e.by > seq && e.target <= seq)
        });
        if usable {
            live.take()
        } else {
            None
        }
    }

    /// The seq of the fold kept in memory, if any.
    pub fn live_seq(&self) -> Option<u64> {
        self.live.lock().ok()?.as_ref().map(|(t, _)| t.last_seq())
    }

    /// Keeps a report's fold in memory for the next report, with the chain
    /// hash of its last event (the next fold starts from there without
    /// reading it back), unless the one kept is further on.
    pub(crate) fn keep_live(&self, folded: Folded) {
        let Folded { tally, head, .. } = folded;
        if !tally.is_sound() {
            return;
        }
        if let Ok(mut live) = self.live.lock() {
            if live
                .as_ref()
                .is_none_or(|(t, _)| t.last_seq() <= tally.last_seq())
            {
                *live = Some((tally, head.1));
            }
        }
    }

    /// Saves `tally` (a fold up to the head) as a checkpoint, and removes
    /// checkpoints beyond the newest [`KEEP`] and those of other builds.
    pub(crate) fn save_checkpoint(&mut self, tally: &Tally) -> Result<u64, LedgerError> {
        let seq = tally.last_seq();
        let event = self.journal.get(seq)?.ok_or_else(|| {
            LedgerError::from(JournalError::Corrupt {
                at: format!("seq {seq}"),
                detail: "missing".into(),
            })
        })?;
        let fp = fingerprint();
        // The figures as curves, worked out on another core meanwhile.
        let (pieces, curves) = std::thread::scope(|s| {
            let curves = crate::par::spawn_or_run(s, || {
                Curves::build(tally, event.hash).map(|c| frame(&c.encode()))
            });
            let pieces = tally.encode_pieces();
            (pieces, curves.join())
        });
        let curves = match curves {
            Ok(c) => c,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let mut sha = Sha256::new();
        for p in &pieces {
            sha.update(p);
        }
        let header = Header {
            seq,
            hash: event.hash,
            recorded_at_us: event.recorded_at_us,
            parts: 0,
            len: pieces.iter().map(|p| p.len() as u64).sum(),
            sha: sha.finalize().into(),
        };
        // The state first, durably; then the header that names it.
        let slices: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
        self.journal
            .side_put_pieces(&state_name(&fp, seq), &slices, true)?;
        drop(slices);
        drop(pieces);
        let puts = vec![(head_name(&fp, seq), header.encode())];
        // What to remove: other builds' checkpoints (and those of an older
        // header format), and ours beyond KEEP.
        let mut ours: Vec<u64> = vec![seq];
        let mut stale: Vec<([u8; 8], u64)> = Vec::new();
        self.journal.index_for_each(HEAD, &mut |rest, v| {
            if let Some((f, s)) = parse_name(rest) {
                if f == fp && Header::decode(v).is_some() {
                    if s != seq {
                        ours.push(s);
                    }
                } else {
                    stale.push((f, s));
                }
            }
            true
        })?;
        ours.sort_unstable_by(|a, b| b.cmp(a));
        stale.extend(ours.iter().skip(KEEP).map(|&s| (fp, s)));
        let mut deletes = Vec::new();
        for (f, s) in &stale {
            deletes.push(head_name(f, *s));
        }
        // Format 1's parts and kept reports, wherever they are.
        for prefix in [PART, RESULT] {
            self.journal.index_for_each(prefix, &mut |rest, _| {
                deletes.push([prefix, rest].concat());
                true
            })?;
        }
        self.journal.write_index(puts, deletes)?;
        // The curves after the header, not durably: they are framed, and
        // without them (or if they cannot be written) a report reads the
        // state, so the checkpoint stands either way.
        if let Some(bytes) = &curves {
            let _ = self.journal.side_put(&curves_name(&fp, seq), bytes, false);
        }
        // States and curves no header names any more: removed ones, and
        // any left by a crash between a state and its header.
        let kept: std::collections::HashSet<String> = ours
            .iter()
            .take(KEEP)
            .flat_map(|&s| [state_name(&fp, s), curves_name(&fp, s)])
            .collect();
        for name in self.journal.side_names()? {
            if (name.starts_with(STATE_PREFIX) || name.starts_with(CURVES_PREFIX))
                && !kept.contains(&name)
            {
                self.journal.side_remove(&name)?;
            }
        }
        Ok(seq)
    }

    /// A report rendered by `render`, of the ledger as it stands or known
    /// at `known_at_us`. Of the ledger as it stands, from the results
    /// kept for the head: the same request (`request` names the rendering:
    /// format and language) at the same head, by the same rules, gives the
    /// same bytes, so a repeated request reads them back instead of
    /// folding. A miss takes the report from [`Ledger::report_kept`],
    /// renders it, and keeps the bytes, removing results of earlier seqs.
    /// Known at a moment, from [`Ledger::report_kept`], rendered each time
    /// (the bytes name the moment).
    pub fn report_rendered(
        &mut self,
        as_of: crate::domain::Date,
        known_at_us: Option<i64>,
        scope: crate::rules::time::Scope,
        request: &str,
        render: impl FnOnce(&crate::report::Report) -> Vec<u8>,
    ) -> Result<(Vec<u8>, CheckpointNote), LedgerError> {
        if known_at_us.is_some() {
            let (report, note) = self.report_kept(as_of, known_at_us, scope)?;
            return Ok((render(&report), note));
        }
        let fp = fingerprint();
        let head = self.head();
        let seq = head.next_seq - 1;
        let name = result_name(&fp, (seq, &head.hash), as_of, scope, request);
        if let Some(bytes) = self.journal.side_get(&name)?.and_then(|v| unframe(&v)) {
            return Ok((bytes, CheckpointNote::None));
        }
        let (report, note) = self.report_kept(as_of, None, scope)?;
        let bytes = render(&report);
        // Kept for this seq only, at most `RESULTS_KEPT`: any append moves
        // the head, so those of other seqs are never read again.
        let kept = self.keep(
            RESULT_PREFIX,
            &result_prefix(&fp, seq),
            RESULTS_KEPT,
            &name,
            &bytes,
        );
        Ok((bytes, note.or_failed(kept)))
    }

    /// The report as of `as_of` over `scope`, of the ledger as it stands or
    /// known at `known_at_us`: its figures read back when a report of the
    /// same events (the same last seq and chain hash) was made before, in
    /// any format and whatever moment it was known at; else folded
    /// ([`Ledger::report_saving`]) and its figures kept (not durably).
    /// The chain hash commits to every event it covers, so kept figures
    /// are never those of other events: not after an append, not in
    /// another ledger restored into the same directory.
    pub fn report_kept(
        &mut self,
        as_of: crate::domain::Date,
        known_at_us: Option<i64>,
        scope: crate::rules::time::Scope,
    ) -> Result<(crate::report::Report, CheckpointNote), LedgerError> {
        let fp = fingerprint();
        let cut = self.cut(known_at_us)?;
        let hash = self.hash_at(cut)?;
        let name = figures_name(&fp, (cut, &hash), as_of, scope);
        let kept = self
            .journal
            .side_get(&name)?
            .and_then(|v| unframe(&v))
            .and_then(|b| crate::report::Report::from_json(&b))
            .filter(|r| r.head.seq == cut && r.head.hash == journal::hash_text(&hash));
        if let Some(mut report) = kept {
            report.known_at = known_at_us.map(journal::chain::timestamp_text);
            return Ok((report, CheckpointNote::None));
        }
        let (report, note) = self.report_saving(as_of, known_at_us, scope)?;
        let figures = crate::report::Report {
            known_at: None,
            ..report.clone()
        };
        let kept = match serde_json::to_vec(&figures) {
            Ok(bytes) => self.keep(
                FIGURES_PREFIX,
                &figures_prefix(&fp),
                FIGURES_KEPT,
                &name,
                &bytes,
            ),
            // Not reached (a report is plain data); nothing is kept.
            Err(_) => Ok(()),
        };
        Ok((report, note.or_failed(kept)))
    }

    /// The chain hash of the event at `cut` (the genesis hash at 0).
    fn hash_at(&self, cut: u64) -> Result<journal::chain::Hash, LedgerError> {
        let head = self.head();
        if cut + 1 == head.next_seq {
            return Ok(head.hash);
        }
        match self.journal.get(cut)? {
            Some(e) => Ok(e.hash),
            None if cut == 0 => Ok(journal::GENESIS),
            None => Err(LedgerError::from(JournalError::Corrupt {
                at: format!("seq {cut}"),
                detail: "missing".into(),
            })),
        }
    }

    /// The figures of the events up to `cut` for `q`, from the curves of
    /// a checkpoint at exactly `cut` ([`Curves`]): no state read, no pair
    /// walked. `None` when there are none (or they are damaged, of other
    /// events, or do not cover the fiscal year asked): the caller folds.
    pub(crate) fn curves_summary(
        &self,
        cut: u64,
        q: crate::projection::Query,
    ) -> Result<Option<(tally::Summary, Head)>, LedgerError> {
        if cut == 0 {
            return Ok(None);
        }
        // Unreadable curves are passed over like a damaged state.
        let Ok(Some(v)) = self.journal.side_get(&curves_name(&fingerprint(), cut)) else {
            return Ok(None);
        };
        let Some(curves) = unframe(&v).and_then(|b| Curves::decode(&b).ok()) else {
            return Ok(None);
        };
        let hash = self.hash_at(cut)?;
        if curves.last_seq() != cut || curves.hash() != &hash {
            return Ok(None);
        }
        Ok(curves.summary(q).map(|s| (s, (cut, hash))))
    }

    /// Whether a report known at `known_at_us` (or of the ledger as it
    /// stands) adds up a checkpoint's curves instead of folding: its cut
    /// is exactly a checkpoint's seq, whose curves read back whole.
    pub fn report_adds_up_curves(&self, known_at_us: Option<i64>) -> Result<bool, LedgerError> {
        let cut = self.cut(known_at_us)?;
        let q = crate::projection::Query {
            as_of: crate::domain::Date(crate::domain::values::DATE_MAX),
            scope: crate::rules::time::Scope::Cumulative,
        };
        Ok(self.curves_summary(cut, q)?.is_some())
    }

    /// Keeps rendered report bytes as side entry `name` (not durably: they
    /// are framed, and a lost one is made again). Of the entries named
    /// `family…`, removes those not named `group…`, and every other one
    /// when `most` of the group are kept already.
    fn keep(
        &mut self,
        family: &str,
        group: &str,
        most: usize,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), LedgerError> {
        let names: Vec<String> = self
            .journal
            .side_names()?
            .into_iter()
            // (And rendered known-at reports an earlier build kept: they
            // are never read.)
            .filter(|n| n.starts_with(family) || n.starts_with(KNOWN_PREFIX))
            .collect();
        let here = names.iter().filter(|n| n.starts_with(group)).count();
        for n in &names {
            if !n.starts_with(group) || here >= most {
                self.journal.side_remove(n)?;
            }
        }
        self.journal.side_put(name, &frame(bytes), false)?;
        Ok(())
    }

    /// Removes every checkpoint and kept report (derived data: no figure
    /// changes; the next reports replay from the start). Returns how many
    /// entries were removed.
    pub fn clear_checkpoints(&mut self) -> Result<usize, LedgerError> {
        let mut deletes = Vec::new();
        for prefix in [HEAD, PART, RESULT] {
            self.journal.index_for_each(prefix, &mut |rest, _| {
                deletes.push([prefix, rest].concat());
                true
            })?;
        }
        let mut n = deletes.len();
        if n > 0 {
            self.journal.write_index(Vec::new(), deletes)?;
        }
        for name in self.journal.side_names()? {
            if name.starts_with(STATE_PREFIX)
                || name.starts_with(CURVES_PREFIX)
                || name.starts_with(RESULT_PREFIX)
                || name.starts_with(FIGURES_PREFIX)
                || name.starts_with(KNOWN_PREFIX)
            {
                self.journal.side_remove(&name)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Makes a checkpoint at the head, so that the next report reads only
    /// what is appended after it. Returns its seq (0 on an empty ledger,
    /// when nothing is saved), and the number of events folded to make it.
    pub fn checkpoint(&mut self) -> Result<(u64, u64), LedgerError> {
        let cut = self.head().next_seq - 1;
        if cut == 0 {
            return Ok((0, 0));
        }
        if self.newest_saved_checkpoint()? == cut {
            return Ok((cut, 0));
        }
        let (effects, standings) = self.standings(cut)?;
        let folded = self.fold(cut, &effects, &standings)?;
        let seq = self.save_checkpoint(&folded.tally)?;
        let from = folded.from;
        self.keep_live(folded);
        Ok((seq, cut - from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Date;
    use crate::io::{read_events, InputFormat, Mode};
    use crate::journal::{ManualClock, MemStorage};
    use crate::ledger::AppendOptions;
    use crate::rules::time::Scope;
    use std::sync::Arc;

    /// The demo council in three batches, with a checkpoint after the
    /// first two.
    fn demo() -> Ledger {
        let clock = Arc::new(ManualClock::at(1_730_000_000_000_000));
        let mut l = Ledger::with_storage(Box::new(MemStorage::default()), clock.clone()).unwrap();
        let text = crate::synth::generate_jsonl(&crate::synth::SynthConfig::default());
        let lines: Vec<&str> = text.lines().collect();
        for (i, part) in lines.chunks(lines.len() / 3 + 1).enumerate() {
            clock.set(l.head().last_recorded_us + 1_000_000);
            let events = read_events(
                part.join("\n").as_bytes(),
                "demo.jsonl",
                InputFormat::JsonLines,
                Mode::Append,
            )
            .unwrap();
            l.append(events, "demo.jsonl", AppendOptions::default())
                .unwrap();
            if i < 2 {
                l.checkpoint().unwrap();
            }
        }
        l
    }

    fn reports(l: &Ledger) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for as_of in ["2025-02-28", "2026-01-31", "2027-03-31"] {
            for scope in [Scope::FiscalYear, Scope::Cumulative] {
                let d = Date::parse_iso(as_of).unwrap();
                out.push(serde_json::to_value(l.report(d, None, scope).unwrap()).unwrap());
            }
        }
        out
    }

    fn replayed(l: &Ledger) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for as_of in ["2025-02-28", "2026-01-31", "2027-03-31"] {
            for scope in [Scope::FiscalYear, Scope::Cumulative] {
                let d = Date::parse_iso(as_of).unwrap();
                out.push(serde_json::to_value(l.report_replayed(d, None, scope).unwrap()).unwrap());
            }
        }
        out
    }

    /// A fold long enough to run on three threads (read and decode, intern
    /// and judge, pairs) gives the figures of a full replay.
    #[test]
    fn a_fold_on_three_threads_equals_a_replay() {
        let clock = Arc::new(ManualClock::at(1_730_000_000_000_000));
        let mut l = Ledger::with_storage(Box::new(MemStorage::default()), clock).unwrap();
        let mut text = Vec::new();
        crate::synth::bulk::write(PIPELINE_EVENTS_MIN + 20_000, 7, &mut text).unwrap();
        let events =
            read_events(&text, "bulk.jsonl", InputFormat::JsonLines, Mode::Append).unwrap();
        l.append(events, "bulk.jsonl", AppendOptions::default())
            .unwrap();
        assert_eq!(
            l.report_start(None).unwrap(),
            0,
            "no checkpoint: a full fold"
        );
        let got = reports(&l);
        assert!(got[5]["menus"][0]["output"].as_u64().is_some_and(|n| n > 0));
        assert_eq!(got, replayed(&l));
    }

    #[test]
    fn a_report_starts_from_the_newest_checkpoint_and_equals_a_replay() {
        let mut l = demo();
        let saved = l.checkpoints().unwrap();
        assert_eq!(saved.len(), 2);
        assert!(saved.iter().all(|c| c.current && c.bytes > 0));
        let start = l.report_start(None).unwrap();
        assert_eq!(start, saved[1].seq);
        assert!(
            start < l.head().next_seq - 1,
            "events follow the checkpoint"
        );
        assert_eq!(reports(&l), replayed(&l));
        // Known at the time of the first batch: the first checkpoint.
        let first = l.journal.get(saved[0].seq).unwrap().unwrap().recorded_at_us;
        assert_eq!(l.report_start(Some(first)).unwrap(), saved[0].seq);
        // Known before it: from the beginning.
        assert_eq!(l.report_start(Some(first - 1)).unwrap(), 0);
        // At the head, nothing to fold after it. (The last report's fold,
        // kept in memory, is at the head: nothing more to fold to save it.)
        let (seq, _) = l.checkpoint().unwrap();
        assert_eq!(seq, l.head().next_seq - 1);
        assert!(l.checkpoints().unwrap().iter().any(|c| c.seq == seq));
        assert_eq!(l.checkpoint().unwrap(), (seq, 0));
        assert_eq!(l.report_start(None).unwrap(), seq);
        assert_eq!(reports(&l), replayed(&l));
        // KEEP of them at most.
        assert_eq!(l.checkpoints().unwrap().len(), KEEP);
    }

    /// A report of exactly a checkpoint's events adds up its curves, as of
    /// any date and in both scopes, known now or at the checkpoint's
    /// moment: the figures of a replay. Curves of other events, damaged
    /// ones, or a fiscal year they do not cover, are passed over.
    #[test]
    fn a_report_of_a_checkpoints_events_adds_up_its_curves() {
        let mut l = demo();
        let (seq, _) = l.checkpoint().unwrap();
        let fp = fingerprint();
        let name = curves_name(&fp, seq);
        assert!(l.journal.side_get(&name).unwrap().is_some());
        let q = |as_of: &str, scope| crate::projection::Query {
            as_of: Date::parse_iso(as_of).unwrap(),
            scope,
        };
        let at = l.journal.get(seq).unwrap().unwrap().recorded_at_us;
        for as_of in ["2024-09-30", "2025-02-28", "2026-01-31", "2027-03-31"] {
            for scope in [Scope::FiscalYear, Scope::Cumulative] {
                let d = Date::parse_iso(as_of).unwrap();
                let summed = l.curves_summary(seq, q(as_of, scope)).unwrap();
                let (summary, head) = summed.expect("the curves answer");
                assert_eq!(head.0, seq);
                let from_curves = crate::report::Report::from_summary(&summary, head, d, None);
                let replayed = l.report_replayed(d, None, scope).unwrap();
                assert_eq!(
                    serde_json::to_value(&from_curves).unwrap(),
                    serde_json::to_value(&replayed).unwrap(),
                    "{as_of} {scope:?}"
                );
                assert_eq!(
                    serde_json::to_value(l.report(d, Some(at), scope).unwrap()).unwrap(),
                    serde_json::to_value(l.report_replayed(d, Some(at), scope).unwrap()).unwrap()
                );
            }
        }
        // A fiscal year after the last date they hold: not answered.
        assert!(l
            .curves_summary(seq, q("2031-06-30", Scope::FiscalYear))
            .unwrap()
            .is_none());
        assert!(l.report_adds_up_curves(None).unwrap());
        assert!(l.report_adds_up_curves(Some(at)).unwrap());
        // (Before anything was recorded: nothing to add up.)
        assert!(!l.report_adds_up_curves(Some(0)).unwrap());
        // Not the curves of another seq, even under its name.
        let v = l.journal.side_get(&name).unwrap().unwrap();
        l.journal
            .side_put(&curves_name(&fp, seq - 1), &v, false)
            .unwrap();
        assert!(l
            .curves_summary(seq - 1, q("2026-01-31", Scope::Cumulative))
            .unwrap()
            .is_none());
        l.journal.side_remove(&curves_name(&fp, seq - 1)).unwrap();
        // Damaged: passed over, and the report folds.
        let mut bad = v.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        l.journal.side_put(&name, &bad, false).unwrap();
        assert!(l
            .curves_summary(seq, q("2026-01-31", Scope::Cumulative))
            .unwrap()
            .is_none());
        assert_eq!(reports(&l), replayed(&l));
        // Of another chain (the hash inside differs): passed over.
        let curves = Curves::decode(&unframe(&v).unwrap()).unwrap();
        assert_eq!(curves.last_seq(), seq);
        let mut bytes = curves.encode();
        // The hash follows the magic, the fingerprint and the seq.
        bytes[24] ^= 1;
        l.journal.side_put(&name, &frame(&bytes), false).unwrap();
        assert!(l
            .curves_summary(seq, q("2026-01-31", Scope::Cumulative))
            .unwrap()
            .is_none());
        // Cleared with the checkpoints.
        l.clear_checkpoints().unwrap();
        assert!(l.journal.side_get(&name).unwrap().is_none());
    }

    /// The fold kept in memory: the next report folds only what was
    /// appended since, unless a correction or retraction reaches back
    /// behind it; a report known at an earlier moment cannot use it. Every
    /// report still equals a replay.
    #[test]
    fn the_fold_kept_in_memory_is_continued_and_passed_over_when_undermined() {
        let mut l = demo();
        let head = l.head().next_seq - 1;
        // demo() saved checkpoints, whose folds it kept; none at the head.
        assert!(l.live_seq().is_some_and(|s| s < head));
        let first = reports(&l);
        assert_eq!(l.live_seq(), Some(head));
        assert_eq!(first, replayed(&l));
        // One more attendance: the next report starts from the kept fold.
        let person = "P-LIVE";
        let text = format!(
            r#"{{"type":"attendance","menu":"B-01","date":"2025-01-10","role":"job_seeker","person":"{person}","residence":"in_region","intent_confirmed":true}}"#
        );
        let events = read_events(
            text.as_bytes(),
            "a.jsonl",
            InputFormat::JsonLines,
            Mode::Append,
        )
        .unwrap();
        l.append(events, "a.jsonl", AppendOptions::default())
            .unwrap();
        let second = reports(&l);
        assert_eq!(l.live_seq(), Some(head + 1));
        assert_eq!(second, replayed(&l));
        assert_ne!(second, first, "the new attendance counts");
        // A report known before the kept fold leaves it be.
        let early = l.journal.get(3).unwrap().unwrap().recorded_at_us;
        let d = Date::parse_iso("2025-02-28").unwrap();
        let _ = l.report(d, Some(early), Scope::FiscalYear).unwrap();
        assert_eq!(l.live_seq(), Some(head + 1));
        // A retraction of an early event undermines it: replayed from a
        // checkpoint or the start, and still equal to a replay.
        let target = l
            .events()
            .map(|e| e.unwrap())
            .find(|e| e.body.type_name() == "attendance")
            .unwrap();
        let text = format!(
            r#"{{"type":"retraction","target":"{}","reason":"x"}}"#,
            target.id
        );
        let events = read_events(
            text.as_bytes(),
            "r.jsonl",
            InputFormat::JsonLines,
            Mode::Append,
        )
        .unwrap();
        l.append(events, "r.jsonl", AppendOptions::default())
            .unwrap();
        let fix = l.supersessions(l.head().next_seq - 1).unwrap().effects;
        assert!(l.take_live(l.head().next_seq - 1, &fix).is_none());
        assert_eq!(reports(&l), replayed(&l));
        assert_eq!(l.live_seq(), Some(head + 2));
    }

    /// T-3 against a checkpoint: a retraction recorded after it that
    /// reaches back before it cannot be folded onto it, so the report starts
    /// earlier (here, from the beginning) and still equals a replay.
    #[test]
    fn a_retraction_reaching_behind_a_checkpoint_passes_it_over() {
        let mut l = demo();
        let (seq, _) = l.checkpoint().unwrap();
        let target = l
            .events()
            .map(|e| e.unwrap())
            .find(|e| e.body.type_name() == "attendance")
            .unwrap();
        let before = reports(&l);
        let text = format!(
            r#"{{"type":"retraction","target":"{}","reason":"x"}}"#,
            target.id
        );
        let events = read_events(
            text.as_bytes(),
            "r.jsonl",
            InputFormat::JsonLines,
            Mode::Append,
        )
        .unwrap();
        l.append(events, "r.jsonl", AppendOptions::default())
            .unwrap();
        assert!(target.seq <= seq);
        assert_eq!(l.report_start(None).unwrap(), 0);
        assert_eq!(reports(&l), replayed(&l));
        assert_ne!(reports(&l), before, "the retraction changed a figure");
    }

    #[test]
    fn a_damaged_or_foreign_checkpoint_is_ignored() {
        let mut l = demo();
        let newest = l.checkpoints().unwrap()[1].seq;
        let fp = fingerprint();
        // Damage one byte of the newest checkpoint's state.
        let name = state_name(&fp, newest);
        let mut v = l.journal.side_get(&name).unwrap().unwrap();
        let mid = v.len() / 2;
        v[mid] ^= 0x40;
        l.journal.side_put(&name, &v, true).unwrap();
        let older = l.checkpoints().unwrap()[0].seq;
        assert_eq!(l.report_start(None).unwrap(), older);
        assert_eq!(reports(&l), replayed(&l));
        // A header whose state is gone is passed over too.
        l.journal.side_remove(&name).unwrap();
        assert_eq!(l.report_start(None).unwrap(), older);
        // One written by another build of the rules: listed, never read,
        // removed by the next save.
        let other = [0u8; 8];
        let header = l
            .journal
            .index_get(&head_name(&fp, older))
            .unwrap()
            .unwrap();
        let state = l
            .journal
            .side_get(&state_name(&fp, older))
            .unwrap()
            .unwrap();
        l.journal
            .write_index(vec![(head_name(&other, newest + 1), header)], vec![])
            .unwrap();
        l.journal
            .side_put(&state_name(&other, newest + 1), &state, true)
            .unwrap();
        // And a state no header names (a crash between the two writes).
        l.journal
            .side_put(&state_name(&fp, 1), &state, true)
            .unwrap();
        assert!(l.checkpoints().unwrap().iter().any(|c| !c.current));
        assert_eq!(l.report_start(None).unwrap(), older);
        l.checkpoint().unwrap();
        assert!(l.checkpoints().unwrap().iter().all(|c| c.current));
        let names = l.journal.side_names().unwrap();
        let left = names
            .iter()
            .filter(|n| **n == state_name(&other, newest + 1) || **n == state_name(&fp, 1))
            .count();
        let listed: Vec<String> = l
            .checkpoints()
            .unwrap()
            .iter()
            .flat_map(|c| [state_name(&fp, c.seq), curves_name(&fp, c.seq)])
            .collect();
        assert!(names.iter().all(|n| listed.contains(n)), "{names:?}");
        assert_eq!(left, 0);
        assert_eq!(reports(&l), replayed(&l));
        assert!(l.clear_checkpoints().unwrap() > 0);
        assert!(l.checkpoints().unwrap().is_empty());
        assert!(l.journal.side_names().unwrap().is_empty());
        assert_eq!(l.report_start(None).unwrap(), 0);
        assert_eq!(reports(&l), replayed(&l));
    }

    /// Every single-byte change and every truncation of a saved state is
    /// refused or read without a panic; none reads as the same state with
    /// a different length.
    #[test]
    fn damaged_state_bytes_never_panic() {
        let l = demo();
        let (effects, standings) = l.standings(l.head().next_seq - 1).unwrap();
        let f = l.fold(l.head().next_seq - 1, &effects, &standings).unwrap();
        let bytes = f.tally.encode();
        let back = Tally::decode(&bytes).unwrap();
        let q = crate::projection::Query {
            as_of: Date::parse_iso("2026-01-31").unwrap(),
            scope: Scope::FiscalYear,
        };
        let (a, b) = (f.tally.finish(q).unwrap(), back.finish(q).unwrap());
        assert_eq!(format!("{:?}", a.figures), format!("{:?}", b.figures));
        assert_eq!(a.warnings, b.warnings);
        let step = (bytes.len() / 600).max(1);
        for at in (0..bytes.len()).step_by(step) {
            let mut d = bytes.clone();
            d[at] ^= 0xA5;
            let _ = Tally::decode(&d);
            assert!(Tally::decode(&bytes[..at]).is_err());
        }
    }
}
