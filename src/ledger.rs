//! The one API every front end calls: create and open a ledger directory,
//! check and append batches of events, restore an export, export, verify and
//! list events.
//!
//! A ledger directory holds:
//!
//! | path | what |
//! |---|---|
//! | `JISSEKI` | marker: `jisseki ledger` and the directory format |
//! | `LOCK` | the writer lock (flock), holding the writer's pid |
//! | `journal/` | the sled database of the journal |
//!
//! Validation is layered: format and field values in [`crate::io`], then
//! references here (menus defined, targets exist, one project), then the
//! journal's own checks (ids, chain).

use crate::domain::{BodyView, EventBody};
use crate::error::{InputError, InputErrorKind, InputErrors, Location};
use crate::i18n::Lang;
use crate::io::InputEvent;
use crate::journal::{
    self, Clock, Head, Journal, JournalError, RecordedEvent, SledStorage, Storage, Verification,
};
mod checkpoints;

use crate::projection::tally::{Effect, Standings};
pub use checkpoints::{CheckpointInfo, CheckpointNote};
use fs4::fs_std::FileExt;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

/// The directory format this build writes.
/// Format 2 adds the head file ([`HEAD_FILE`]) and the side directory
/// `checkpoints/`; a format 1 ledger is read and written as before, without
/// a head file.
pub const LEDGER_FORMAT: u32 = 2;
/// The first format with a head file.
const HEAD_FILE_FORMAT: u32 = 2;
const MARKER_FILE: &str = "JISSEKI";
const LOCK_FILE: &str = "LOCK";
const MARKER_TMP: &str = "JISSEKI.tmp";
const JOURNAL_DIR: &str = "journal";
/// Written by a handle as it closes, naming the head it leaves; removed
/// (durably) before a handle's first append. While it exists and a reader
/// holds the shared lock, it is the journal's head, so a report can answer
/// from a kept result without opening the journal
/// ([`Ledger::kept_report_at_rest`]). docs/format.md §3.
const HEAD_FILE: &str = "HEAD";
const HEAD_TMP: &str = "HEAD.tmp";
const HEAD_PREFIX: &str = "jisseki head\n";
const MARKER_PREFIX: &str = "jisseki ledger\nformat ";
/// How long a reader waits for another process to release the ledger.
pub const READ_WAIT_MS_MAX: u64 = 10_000;

/// Errors of the ledger, for people and programs.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The input is invalid; nothing was appended.
    #[error("{0}")]
    Input(InputErrors),
    /// The directory is not a ledger.
    #[error("{} is not a jisseki ledger", path.display())]
    NotALedger {
        /// The directory.
        path: PathBuf,
    },
    /// `init` on a directory that is already a ledger.
    #[error("{} is already a ledger", path.display())]
    AlreadyALedger {
        /// The directory.
        path: PathBuf,
    },
    /// `init` on a non-empty directory that holds something else.
    #[error("{} is not empty and is not a ledger", path.display())]
    ForeignDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// Another process holds the ledger.
    #[error("ledger is in use by process {}", pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()))]
    InUse {
        /// The process, when known.
        pid: Option<u32>,
    },
    /// The storage engine cannot open the ledger's files (damaged,
    /// truncated, unreadable).
    #[error("cannot open the ledger's storage in {path}: it may be damaged; run `jisseki verify`, or restore the latest export into a new ledger ({detail})")]
    Unreadable {
        /// The journal directory.
        path: PathBuf,
        /// What the engine said.
        detail: String,
    },
    /// A ledger written by a newer jisseki.
    #[error("ledger format {found} is newer than this jisseki supports ({supported})")]
    NewerFormat {
        /// Format found.
        found: u32,
        /// Format supported.
        supported: u32,
    },
    /// `--expect-seq` did not match.
    #[error("the ledger is at seq {actual}, not {expected}")]
    ExpectSeq {
        /// What the caller expected.
        expected: u64,
        /// Where the ledger is.
        actual: u64,
    },
    /// The journal failed or is damaged.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A file of the ledger directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl From<InputErrors> for LedgerError {
    fn from(e: InputErrors) -> Self {
        LedgerError::Input(e)
    }
}

impl LedgerError {
    /// The message for people.
    pub fn render(&self, lang: Lang) -> String {
        let ja = lang == Lang::Ja;
        match self {
            LedgerError::Input(e) => e.render(lang),
            LedgerError::NotALedger { path } if ja => format!(
                "{} は jisseki の台帳ではありません（jisseki init で作成してください）",
                path.display()
            ),
            LedgerError::NotALedger { path } => format!(
                "{} is not a jisseki ledger (create one with jisseki init)",
                path.display()
            ),
            LedgerError::AlreadyALedger { path } if ja => {
                format!("{} はすでに台帳です", path.display())
            }
            LedgerError::ForeignDirectory { path } if ja => format!(
                "{} は空でなく、台帳でもありません（別のディレクトリを指定してください）",
                path.display()
            ),
            LedgerError::InUse { pid } if ja => format!(
                "台帳はプロセス {} が使用中です",
                pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
            ),
            LedgerError::NewerFormat { found, supported } if ja => {
                format!("台帳の形式 {found} はこの jisseki（対応: {supported}）より新しい版のものです。jisseki を更新してください")
            }
            LedgerError::ExpectSeq { expected, actual } if ja => format!(
                "台帳は seq {actual} まで進んでいます（指定は {expected}）。何も追加していません"
            ),
            LedgerError::Journal(JournalError::Corrupt { at, detail }) if ja => {
                format!("台帳が壊れています（{at}）: {detail}")
            }
            LedgerError::Journal(JournalError::Storage(e)) if ja => {
                format!("保存データの読み書きに失敗しました（この操作では何も確定していません）: {e}")
            }
            LedgerError::Unreadable { path, detail } if ja => format!(
                "台帳の保存データ（{}）を開けません。破損しているおそれがあります。最新のエクスポートから新しい台帳へ復元してください（jisseki import --restore）: {detail}",
                path.display()
            ),
            // A ledger on read-only media (an archived copy) cannot be
            // opened in place: the storage engine writes when it opens.
            LedgerError::Io { path, source } if source.raw_os_error() == Some(30) && ja => format!(
                "{}: 読み取り専用のファイルシステムです。台帳は開くときにも書き込むため、書き込める場所へコピーしてから使ってください（何も変更していません）",
                path.display()
            ),
            LedgerError::Io { path, source } if source.raw_os_error() == Some(30) => format!(
                "{}: read-only file system. A ledger is written to even when opened to read: copy it somewhere writable first (nothing was changed)",
                path.display()
            ),
            LedgerError::Io { path, source } if ja => format!("{}: {source}", path.display()),
            other => other.to_string(),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LedgerError + '_ {
    move |source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Read-only or read-write access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Readers may share.
    Read,
    /// One writer at a time.
    Write,
}

/// Options of an append.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppendOptions {
    /// Refuse unless the ledger's last seq is this (optimistic concurrency).
    pub expect_seq: Option<u64>,
    /// Validate only; append nothing.
    pub check_only: bool,
}

/// What happened to each event of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppendReport {
    /// Newly appended: line, seq, id.
    pub appended: Vec<(u64, u64, Uuid)>,
    /// Already recorded with the same content (idempotent no-ops): line,
    /// seq, id.
    pub already: Vec<(u64, u64, Uuid)>,
    /// The head after the batch.
    pub head: Option<Head>,
}

/// One request of [`Ledger::append_group`].
#[derive(Debug, Clone)]
pub struct GroupRequest {
    /// Its events.
    pub batch: Vec<InputEvent>,
    /// The name its errors give the input.
    pub file: String,
    /// Its options (`check_only` is ignored).
    pub opts: AppendOptions,
}

/// Filters of [`Ledger::log`].
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Event types to keep (all when empty).
    pub types: Vec<String>,
    /// Keep events naming this menu.
    pub menu: Option<String>,
    /// Keep events about this person.
    pub person: Option<String>,
    /// Keep events about this establishment.
    pub establishment: Option<String>,
    /// Keep events recorded at or after this time (µs).
    pub since_us: Option<i64>,
    /// Keep events recorded at or before this time (µs).
    pub until_us: Option<i64>,
    /// Keep events after this seq (the next page after one that ended there).
    pub after_seq: Option<u64>,
    /// Keep at most this many (the first ones).
    pub limit: Option<usize>,
}

impl LogFilter {
    /// Whether `e` passes the filter.
    pub fn keeps(&self, e: &RecordedEvent) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t == e.body.type_name()))
            && self
                .menu
                .as_ref()
                .is_none_or(|m| e.body.menus().iter().any(|x| x.as_str() == m))
            && self
                .person
                .as_ref()
                .is_none_or(|p| e.body.person().is_some_and(|x| x.as_str() == p))
            && self
                .establishment
                .as_ref()
                .is_none_or(|p| e.body.establishment().is_some_and(|x| x.as_str() == p))
            && self.since_us.is_none_or(|t| e.recorded_at_us >= t)
            && self.until_us.is_none_or(|t| e.recorded_at_us <= t)
    }
}

/// A ledger: one project's journal, opened for reading or writing.
pub struct Ledger {
    journal: Journal<Box<dyn Storage>>,
    // Held for the life of the ledger: dropping it releases the lock.
    _lock: Option<File>,
    /// The fold of the last report, kept in memory: the next report folds
    /// only the events after it (an in-memory checkpoint, passed over on
    /// the same terms as a saved one). A long-lived process (`serve`)
    /// answers each report by folding what was appended since the last.
    live: std::sync::Mutex<Option<(crate::projection::tally::Tally, crate::journal::chain::Hash)>>,
    /// The head file's state, for a ledger in a directory of format 2.
    head_file: Option<HeadFile>,
}

/// What a handle knows of its ledger's head file ([`HEAD_FILE`]).
struct HeadFile {
    dir: PathBuf,
    /// This handle removed it (before its first append).
    removed: bool,
    /// An append failed: the durable head may differ from this handle's,
    /// so the file is not written at close (the next open rewrites it).
    unsure: bool,
}

/// Index entries the ledger keeps in the journal, for reference checks.
/// The corrections and retractions of a ledger ([`Ledger::supersessions`]).
#[derive(Debug, Default)]
pub struct Supersessions {
    /// Each correction or retraction, with the seq of its target.
    pub effects: Vec<Effect>,
    /// The replacement of each correction, by the correction's seq.
    pub replacements: HashMap<u64, EventBody>,
}

mod idx {
    pub const PROJECT: &[u8] = b"project";
    pub fn menu(m: &str) -> Vec<u8> {
        [b"menu/".as_slice(), m.as_bytes()].concat()
    }
    pub fn retracted(id: &uuid::Uuid) -> Vec<u8> {
        [b"retracted/".as_slice(), id.as_bytes()].concat()
    }
    /// Written with a ledger's first events: every correction and
    /// retraction of this ledger is under [`SUPERSEDED`]. (A ledger begun
    /// by an earlier build has no such entry; its supersessions are found
    /// by a scan.)
    pub const SUPERSEDED_COMPLETE: &[u8] = b"superseded-complete";
    /// `superseded/` + target seq (u64 BE) + seq of the correction or
    /// retraction (u64 BE) → `r` (retraction), or `c` and the replacement
    /// body in the journal's stored form (a correction), so that a replay
    /// applies corrections without seeking to them.
    pub const SUPERSEDED: &[u8] = b"superseded/";
    pub fn superseded(target: u64, by: u64) -> Vec<u8> {
        [
            SUPERSEDED,
            target.to_be_bytes().as_slice(),
            by.to_be_bytes().as_slice(),
        ]
        .concat()
    }
}

fn read_marker(dir: &Path) -> Result<Option<u32>, LedgerError> {
    let path = dir.join(MARKER_FILE);
    match fs::read_to_string(&path) {
        Ok(s) => {
            let v = s
                .strip_prefix(MARKER_PREFIX)
                .and_then(|r| r.trim().parse::<u32>().ok());
            v.map(Some).ok_or(LedgerError::NotALedger {
                path: dir.to_path_buf(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path)(e)),
    }
}

/// The seq of the last event named by a ledger's head file, if the file is
/// there and whole.
fn read_head_file(dir: &Path) -> Option<(u64, journal::chain::Hash)> {
    let text = fs::read_to_string(dir.join(HEAD_FILE)).ok()?;
    let rest = text.strip_prefix(HEAD_PREFIX)?;
    let mut lines = rest.lines();
    let seq = lines.next()?.strip_prefix("seq ")?.parse().ok()?;
    let hex_hash = lines.next()?.strip_prefix("hash ")?;
    let mut hash = [0u8; 32];
    hex::decode_to_slice(hex_hash, &mut hash).ok()?;
    (lines.next() == Some("end") && lines.next().is_none()).then_some((seq, hash))
}

impl Ledger {
    /// Writes to the journal with `write`, keeping the head file true:
    /// before a handle's first append the file is removed (durably), and a
    /// failed append leaves the durable head unsure, so the file is not
    /// written at close (the next open rewrites it).
    fn journaled<T>(
        &mut self,
        write: impl FnOnce(&mut Journal<Box<dyn Storage>>) -> Result<T, JournalError>,
    ) -> Result<T, LedgerError> {
        self.remove_head_file()?;
        let written = write(&mut self.journal);
        if written.is_err() {
            if let Some(h) = self.head_file.as_mut() {
                h.unsure = true;
            }
        }
        Ok(written?)
    }

    /// Removes the head file, durably, once per handle (before its first
    /// append), so that no reader takes it for the head while the journal
    /// moves.
    fn remove_head_file(&mut self) -> Result<(), LedgerError> {
        let Some(h) = self.head_file.as_mut().filter(|h| !h.removed) else {
            return Ok(());
        };
        let path = h.dir.join(HEAD_FILE);
        match fs::remove_file(&path) {
            Ok(()) => fsync_dir(&h.dir)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&path)(e)),
        }
        h.removed = true;
        Ok(())
    }

    /// Writes the head file (atomically: aside, synced, renamed) if this
    /// handle removed it or it is missing, and the head is sure.
    fn write_head_file(&self) -> Result<(), LedgerError> {
        let Some(h) = self.head_file.as_ref().filter(|h| !h.unsure) else {
            return Ok(());
        };
        let path = h.dir.join(HEAD_FILE);
        if !h.removed && path.exists() {
            return Ok(());
        }
        let head = self.journal.head();
        let text = format!(
            "{HEAD_PREFIX}seq {}\nhash {}\nend\n",
            head.next_seq - 1,
            hex::encode(head.hash)
        );
        journal::replace_file(&h.dir, HEAD_FILE, HEAD_TMP, text.as_bytes(), true)
            .map_err(io_err(&path))
    }

    /// The report of the ledger in `dir` as it stands, for `request`, if
    /// a kept one can be read without opening the journal: a ledger of
    /// format 2 whose head file names the head (no writer has it open: this
    /// holds the shared lock while it reads) and a kept report at that head
    /// ([`Ledger::report_rendered`]). `None`: open the ledger and report.
    /// Opening the journal of a ledger of millions of events costs tenths
    /// of a second; this costs a few file reads.
    pub fn kept_report_at_rest(
        dir: &Path,
        as_of: crate::domain::Date,
        scope: crate::rules::time::Scope,
        request: &str,
    ) -> Option<Vec<u8>> {
        read_kept_at_rest(dir, |fp| {
            let (seq, hash) = read_head_file(dir)?;
            Some(checkpoints::result_name(
                fp,
                (seq, &hash),
                as_of,
                scope,
                request,
            ))
        })
    }
}

/// The kept report `name` gives the side entry of (from these rules'
/// fingerprint; `None`: no such entry), read from a format 2 ledger in
/// `dir` under the shared lock, without opening the journal; `None` when
/// absent or not whole.
fn read_kept_at_rest(dir: &Path, name: impl FnOnce(&[u8; 8]) -> Option<String>) -> Option<Vec<u8>> {
    match read_marker(dir) {
        Ok(Some(v)) if (HEAD_FILE_FORMAT..=LEDGER_FORMAT).contains(&v) => {}
        _ => return None,
    }
    let _lock = take_lock(dir, Access::Read).ok()?;
    let name = name(&crate::projection::tally::fingerprint())?;
    let side = journal::SledStorage::side_dir_of(&dir.join(JOURNAL_DIR));
    let framed = fs::read(side.join(name)).ok()?;
    checkpoints::unframe(&framed)
}

impl Drop for Ledger {
    /// Leaves the head file naming the head, for reports that need not
    /// open the journal. Best effort: without it a report opens the
    /// journal, as before.
    fn drop(&mut self) {
        let _ = self.write_head_file();
    }
}

fn fsync_dir(dir: &Path) -> Result<(), LedgerError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err(dir))
}

impl Ledger {
    /// Creates an empty ledger in `dir` (created if missing). Refuses a
    /// directory that is already a ledger, or that is not empty.
    pub fn init(dir: &Path) -> Result<(), LedgerError> {
        if dir.exists() {
            if read_marker(dir)?.is_some() {
                return Err(LedgerError::AlreadyALedger {
                    path: dir.to_path_buf(),
                });
            }
            // What an interrupted init leaves (a journal, a lock, a marker
            // being written, but no marker) may be taken over; anything
            // else is someone's data.
            for entry in fs::read_dir(dir).map_err(io_err(dir))? {
                let name = entry.map_err(io_err(dir))?.file_name();
                if ![JOURNAL_DIR, LOCK_FILE, MARKER_TMP]
                    .iter()
                    .any(|n| name == *n)
                {
                    return Err(LedgerError::ForeignDirectory {
                        path: dir.to_path_buf(),
                    });
                }
            }
        } else {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fsync_dir(parent)?;
            }
        }
        let _lock = take_lock(dir, Access::Write)?;
        let journal_dir = dir.join(JOURNAL_DIR);
        if journal_dir.exists() {
            fs::remove_dir_all(&journal_dir).map_err(io_err(&journal_dir))?;
        }
        let store = SledStorage::open(&journal_dir).map_err(JournalError::from)?;
        drop(Journal::open(
            Box::new(store) as Box<dyn Storage>,
            Arc::new(journal::SystemClock),
        )?);
        // The marker is written last, and atomically (written aside, synced,
        // renamed): a directory without it is not a ledger yet, so an
        // interrupted init is simply run again.
        let text = format!("{MARKER_PREFIX}{LEDGER_FORMAT}\n");
        journal::replace_file(dir, MARKER_FILE, MARKER_TMP, text.as_bytes(), true)
            .map_err(io_err(&dir.join(MARKER_FILE)))
    }

    /// Opens the ledger in `dir`.
    pub fn open(dir: &Path, access: Access, clock: Arc<dyn Clock>) -> Result<Ledger, LedgerError> {
        let format = match read_marker(dir)? {
            None => {
                return Err(LedgerError::NotALedger {
                    path: dir.to_path_buf(),
                })
            }
            Some(v) if v > LEDGER_FORMAT => {
                return Err(LedgerError::NewerFormat {
                    found: v,
                    supported: LEDGER_FORMAT,
                })
            }
            Some(v) => v,
        };
        let lock = take_lock(dir, access)?;
        // sled would make an empty database where the journal is missing:
        // a ledger without its journal is damaged, never empty.
        let journal_dir = dir.join(JOURNAL_DIR);
        if !journal_dir.is_dir() {
            return Err(LedgerError::Unreadable {
                path: journal_dir,
                detail: "missing".into(),
            });
        }
        let store = open_sled(&journal_dir, access)?;
        let journal =
            Journal::open(Box::new(store) as Box<dyn Storage>, clock).map_err(|e| match e {
                JournalError::NewerFormat { found, supported } => {
                    LedgerError::NewerFormat { found, supported }
                }
                JournalError::NotAJournal => LedgerError::NotALedger {
                    path: dir.to_path_buf(),
                },
                other => other.into(),
            })?;
        Ok(Ledger {
            journal,
            _lock: Some(lock),
            live: std::sync::Mutex::new(None),
            head_file: (format >= HEAD_FILE_FORMAT).then(|| HeadFile {
                dir: dir.to_path_buf(),
                removed: false,
                unsure: false,
            }),
        })
    }

    /// A ledger over any storage, without a directory (tests, simulations).
    pub fn with_storage(
        store: Box<dyn Storage>,
        clock: Arc<dyn Clock>,
    ) -> Result<Ledger, LedgerError> {
        Ok(Ledger {
            journal: Journal::open(store, clock)?,
            _lock: None,
            live: std::sync::Mutex::new(None),
            head_file: None,
        })
    }

    /// The head of the chain.
    pub fn head(&self) -> Head {
        self.journal.head()
    }

    /// The journal, for projections and tests.
    pub fn journal(&self) -> &Journal<Box<dyn Storage>> {
        &self.journal
    }

    /// Checks a batch against the ledger (references, ids) and appends it,
    /// all or nothing. Events already recorded with the same id and content
    /// are reported, not appended again.
    pub fn append(
        &mut self,
        batch: Vec<InputEvent>,
        file: &str,
        opts: AppendOptions,
    ) -> Result<AppendReport, LedgerError> {
        if let Some(expected) = opts.expect_seq {
            let actual = self.head().events();
            if actual != expected {
                return Err(LedgerError::ExpectSeq { expected, actual });
            }
        }
        let plan = self.plan(batch, file, false)?;
        let mut report = AppendReport {
            already: plan.already,
            ..Default::default()
        };
        if opts.check_only {
            report.head = Some(self.head());
            return Ok(report);
        }
        let lines: Vec<u64> = plan.new.iter().map(|e| e.line).collect();
        // Handed over one by one, not gathered again.
        let events = plan.new.into_iter().map(InputEvent::into_event);
        let recs = self.journaled(|j| j.append(events, plan.index))?;
        report.appended = lines
            .into_iter()
            .zip(recs.iter())
            .map(|(line, r)| (line, r.seq, r.id))
            .collect();
        report.head = Some(self.head());
        Ok(report)
    }

    /// Appends several requests with one write and one sync (group commit):
    /// each request is judged as if appended alone after the ones before it
    /// (all or nothing, idempotent, its own `expect_seq`), and every
    /// accepted request is written in one atomic batch, then synced, before
    /// any is acknowledged. The outer error is a storage failure: then no
    /// request was appended.
    pub fn append_group(
        &mut self,
        requests: Vec<GroupRequest>,
    ) -> Result<Vec<Result<AppendReport, LedgerError>>, LedgerError> {
        // Each event's line carries its request's index above bit 40, so
        // one plan of the accepted requests can be split back per request.
        const SHIFT: u32 = 40;
        let mask = (1u64 << SHIFT) - 1;
        let head = self.head();
        let tagged = |k: usize, req: &GroupRequest| -> Vec<InputEvent> {
            req.batch
                .iter()
                .cloned()
                .map(|mut e| {
                    e.line |= (k as u64) << SHIFT;
                    e
                })
                .collect()
        };
        // The usual case first: every request valid, one plan of them all
        // (what planning them one after another would give).
        if requests.iter().all(|r| r.opts.expect_seq.is_none()) {
            let all: Vec<InputEvent> = requests
                .iter()
                .enumerate()
                .flat_map(|(k, r)| tagged(k, r))
                .collect();
            let file = requests.first().map_or("-", |r| r.file.as_str());
            match self.plan(all, file, false) {
                Ok(plan) => return self.write_group(plan, requests.len(), SHIFT),
                Err(LedgerError::Input(_)) => {}
                Err(other) => return Err(other),
            }
        }
        let mut accepted: Vec<InputEvent> = Vec::new();
        let mut plan: Option<Plan> = None;
        let mut results: Vec<Option<Result<(), LedgerError>>> = Vec::new();
        for (k, req) in requests.iter().enumerate() {
            let planned_events = plan.as_ref().map_or(0, |p| p.new.len() as u64);
            if let Some(expected) = req.opts.expect_seq {
                let actual = head.events() + planned_events;
                if actual != expected {
                    results.push(Some(Err(LedgerError::ExpectSeq { expected, actual })));
                    continue;
                }
            }
            let mut batch = accepted.clone();
            batch.extend(tagged(k, req));
            match self.plan(batch, &req.file, false) {
                Ok(p) => {
                    accepted.extend(tagged(k, req));
                    plan = Some(p);
                    results.push(None);
                }
                Err(LedgerError::Input(errs)) => {
                    // Lines back to the request's own; a conflict with an
                    // earlier request of the group is a conflict with the
                    // seq that request's event is about to get.
                    let errs = errs
                        .0
                        .into_iter()
                        .map(|mut e| {
                            e.at.line = e.at.line.map(|l| l & mask);
                            if let InputErrorKind::IdConflictInBatch { id, first_line } = &e.kind {
                                if first_line >> SHIFT != k as u64 {
                                    let seq = plan.as_ref().and_then(|p| {
                                        p.new
                                            .iter()
                                            .position(|e| e.line == *first_line)
                                            .map(|i| head.next_seq + i as u64)
                                    });
                                    e.kind = InputErrorKind::IdConflict {
                                        id: id.clone(),
                                        seq: seq.unwrap_or(0),
                                    };
                                } else {
                                    e.kind = InputErrorKind::IdConflictInBatch {
                                        id: id.clone(),
                                        first_line: first_line & mask,
                                    };
                                }
                            }
                            e
                        })
                        .collect();
                    results.push(Some(Err(LedgerError::Input(InputErrors(errs)))));
                }
                Err(other) => return Err(other),
            }
        }
        let Some(plan) = plan else {
            return Ok(results
                .into_iter()
                .map(|r| match r {
                    Some(Err(e)) => Err(e),
                    _ => Ok(AppendReport {
                        head: Some(head),
                        ..Default::default()
                    }),
                })
                .collect());
        };
        let reports = self.write_group(plan, requests.len(), SHIFT)?;
        Ok(results
            .into_iter()
            .zip(reports)
            .map(|(r, rep)| match (r, rep) {
                (Some(Err(e)), _) => Err(e),
                (_, rep) => rep,
            })
            .collect())
    }

    /// Writes a group's plan (lines tagged with their request above bit
    /// `shift`) and splits what happened back into one report per request.
    fn write_group(
        &mut self,
        plan: Plan,
        requests: usize,
        shift: u32,
    ) -> Result<Vec<Result<AppendReport, LedgerError>>, LedgerError> {
        let mask = (1u64 << shift) - 1;
        let lines: Vec<u64> = plan.new.iter().map(|e| e.line).collect();
        let events = plan.new.into_iter().map(InputEvent::into_event);
        let recs = if lines.is_empty() {
            Vec::new()
        } else {
            self.journaled(|j| j.append(events, plan.index))?
        };
        let new_head = self.head();
        let mut reports: Vec<AppendReport> = (0..requests)
            .map(|_| AppendReport {
                head: Some(new_head),
                ..Default::default()
            })
            .collect();
        for (line, r) in lines.into_iter().zip(recs.iter()) {
            if let Some(rep) = reports.get_mut((line >> shift) as usize) {
                rep.appended.push((line & mask, r.seq, r.id));
            }
        }
        for (line, seq, id) in plan.already {
            if let Some(rep) = reports.get_mut((line >> shift) as usize) {
                rep.already.push((line & mask, seq, id));
            }
        }
        Ok(reports.into_iter().map(Ok).collect())
    }

    /// Restores an export into this empty ledger: every line must be the
    /// exact canonical bytes of an exported event, continuing the chain from
    /// the first event, and pass every check a new event passes.
    pub fn restore(
        &mut self,
        batch: Vec<InputEvent>,
        file: &str,
        check_only: bool,
    ) -> Result<AppendReport, LedgerError> {
        if self.head().events() != 0 {
            return Err(InputErrors::from(InputError::new(
                Location {
                    file: file.into(),
                    ..Default::default()
                },
                InputErrorKind::RestoreIntoNonEmpty,
            ))
            .into());
        }
        // Lines without what the ledger had assigned, and the events of
        // those with it.
        let mut missing = Vec::new();
        let mut recs = Vec::with_capacity(batch.len());
        let mut raws: Vec<(u64, &[u8])> = Vec::with_capacity(batch.len());
        for e in &batch {
            let (Some(r), Some(id)) = (&e.restored, e.id) else {
                missing.push(InputError::new(
                    Location::line(file, e.line).with_field("seq"),
                    InputErrorKind::MissingField,
                ));
                continue;
            };
            recs.push(RecordedEvent {
                seq: r.seq,
                recorded_at_us: r.recorded_at_us,
                id,
                schema_version: r.schema_version,
                body: e.body.clone(),
                hash: r.hash,
            });
            raws.push((e.line, &r.raw));
        }
        // On every core: each hash as it should be if those before are as
        // stored, and whether each line is the exact bytes of its export.
        let expected = journal::chain::expected_hashes(&recs, journal::GENESIS);
        let pairs: Vec<(&RecordedEvent, &[u8])> =
            recs.iter().zip(raws.iter().map(|(_, raw)| *raw)).collect();
        let exact = crate::par::parallel_map(&pairs, 1024, |(rec, raw)| rec.export_line() == *raw);
        // In order, the first link that does not hold stops the check.
        let mut broken = None;
        let mut last_at = i64::MIN;
        let links = recs.iter().zip(&raws).zip(expected).zip(exact);
        for (expect_seq, (((rec, (line, _)), expected), exact)) in (1u64..).zip(links) {
            let at = Location::line(file, *line);
            let kind = if rec.seq != expect_seq {
                Some((
                    "seq",
                    InputErrorKind::SeqOutOfOrder {
                        expected: expect_seq,
                        found: rec.seq,
                    },
                ))
            } else if rec.recorded_at_us < last_at {
                Some(("recorded_at", InputErrorKind::RecordedAtBackwards))
            } else if expected != rec.hash {
                Some(("hash", InputErrorKind::HashMismatch { seq: rec.seq }))
            } else {
                None
            };
            if let Some((field, kind)) = kind {
                broken = Some(InputError::new(at.with_field(field), kind));
                break;
            }
            if !exact {
                broken = Some(InputError::new(
                    at,
                    InputErrorKind::InvalidValue { detail: "the line is not the exact bytes jisseki export wrote (altered formatting)".into() },
                ));
                break;
            }
            last_at = rec.recorded_at_us;
        }
        // As read in order: the lines without ledger fields before the
        // first broken link, then that link.
        let mut errors = missing;
        if let Some(b) = broken {
            errors.retain(|e| e.at.line < b.at.line);
            errors.push(b);
        }
        if !errors.is_empty() {
            return Err(InputErrors(errors).into());
        }
        let lines: Vec<u64> = batch.iter().map(|e| e.line).collect();
        // The events themselves are in `recs`: the batch (with each line's
        // bytes) is let go at once.
        let Plan { already, index, .. } = self.plan(batch, file, true)?;
        if let Some(&(line, _, _)) = already.first() {
            return Err(InputErrors::from(InputError::new(
                Location::line(file, line).with_field("id"),
                InputErrorKind::InvalidValue {
                    detail: "the same id appears twice in the export".into(),
                },
            ))
            .into());
        }
        let mut report = AppendReport::default();
        if !check_only {
            report.appended = lines
                .into_iter()
                .zip(&recs)
                .map(|(line, r)| (line, r.seq, r.id))
                .collect();
            self.journaled(|j| j.append_recorded(recs, index))?;
        }
        report.head = Some(self.head());
        Ok(report)
    }

    /// Writes every event as JSON Lines (the export format).
    pub fn export(&self, out: &mut dyn Write) -> Result<u64, LedgerError> {
        let mut n = 0;
        for r in self.journal.iter() {
            let r = r?;
            let mut line = r.export_line();
            line.push(b'\n');
            out.write_all(&line).map_err(io_err(Path::new("-")))?;
            n += 1;
        }
        Ok(n)
    }

    /// One page of the export: the JSON Lines of the events after seq
    /// `after` up to seq `until`, appended to `out` until it holds at
    /// least `budget` bytes. Returns the seq of the last event written
    /// (`after` when none). Pages taken one after another, up to a fixed
    /// `until`, join into exactly [`Ledger::export`] as of `until`: events
    /// never change once written.
    pub fn export_page(
        &self,
        after: u64,
        until: u64,
        budget: usize,
        out: &mut Vec<u8>,
    ) -> Result<u64, LedgerError> {
        let mut last = after;
        if after >= until {
            return Ok(last);
        }
        for r in self.journal.iter_from(after + 1)? {
            let r = r?;
            if r.seq > until {
                break;
            }
            out.extend_from_slice(&r.export_line());
            out.push(b'\n');
            last = r.seq;
            if out.len() >= budget {
                break;
            }
        }
        Ok(last)
    }

    /// Walks the journal and checks the chain.
    pub fn verify(&self) -> Verification {
        self.journal.verify()
    }

    /// The chunk files no stored event refers to
    /// ([`crate::journal::Journal::unreferenced_blobs`]): `verify` names
    /// them beside an intact chain.
    pub fn unreferenced_chunk_files(&self) -> Result<Vec<String>, LedgerError> {
        Ok(self.journal.unreferenced_blobs()?)
    }

    /// Every event, in seq order.
    pub fn events(&self) -> impl Iterator<Item = Result<RecordedEvent, LedgerError>> + '_ {
        self.journal.iter().map(|r| r.map_err(LedgerError::from))
    }

    /// The facts as known at `known_at_us` (all when `None`): corrections
    /// applied, retractions removed (T-2, T-3).
    pub fn resolved(
        &self,
        known_at_us: Option<i64>,
    ) -> Result<crate::projection::Resolved, LedgerError> {
        // Streamed into the fold: the events are never all in memory at once.
        let mut failure = None;
        let events = self.events().map_while(|e| match e {
            Ok(e) => Some(e),
            Err(err) => {
                failure = Some(err);
                None
            }
        });
        let resolved = crate::projection::resolve(events, known_at_us);
        match failure {
            Some(err) => Err(err),
            None => Ok(resolved),
        }
    }

    /// The corrections and retractions among the events up to seq `last`,
    /// and the replacement of each correction (by its seq): from the
    /// ledger's index, or, for a ledger begun by an earlier build without
    /// it, by a scan.
    pub fn supersessions(&self, last: u64) -> Result<Supersessions, LedgerError> {
        let mut out = Supersessions::default();
        if self.journal.index_get(idx::SUPERSEDED_COMPLETE)?.is_some() {
            for (name, v) in self.journal.index_range(idx::SUPERSEDED)? {
                let (Some(target), Some(by)) = (
                    name.get(..8)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_be_bytes),
                    name.get(8..16)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_be_bytes),
                ) else {
                    continue;
                };
                if by > last {
                    continue;
                }
                let retraction = v.first() == Some(&b'r');
                if !retraction {
                    let body = journal::codec::decode_replacement(v.get(1..).unwrap_or_default())
                        .map_err(|e| {
                        LedgerError::from(crate::journal::JournalError::Corrupt {
                            at: format!("index of seq {by}"),
                            detail: e.to_string(),
                        })
                    })?;
                    out.replacements.insert(by, body);
                }
                out.effects.push(Effect {
                    target,
                    by,
                    retraction,
                });
            }
            return Ok(out);
        }
        self.supersessions_by_scan(last)
    }

    /// [`Ledger::supersessions`] for a ledger without the index: every
    /// event read.
    fn supersessions_by_scan(&self, last: u64) -> Result<Supersessions, LedgerError> {
        let mut out = Supersessions::default();
        let mut named = Vec::new();
        self.journal.scan(last, |e| {
            match e.body {
                BodyView::Retraction { target } => named.push((target, e.seq, true)),
                BodyView::Correction { target } => named.push((target, e.seq, false)),
                _ => {}
            }
            Ok(())
        })?;
        for (id, by, retraction) in named {
            if let Some(target) = self.journal.seq_of(&id)? {
                if !retraction {
                    if let Some(EventBody::Correction(c)) = self.journal.get(by)?.map(|r| r.body) {
                        out.replacements.insert(by, *c.replacement);
                    }
                }
                out.effects.push(Effect {
                    target,
                    by,
                    retraction,
                });
            }
        }
        Ok(out)
    }

    /// `jisseki report`: the figures as of `as_of`, as known at
    /// `known_at_us`, by the streaming fold over the journal
    /// ([`crate::projection::tally`]): one pass, ids borrowed from the
    /// stored chunks, memory for the subjects and outcomes only.
    pub fn report(
        &self,
        as_of: crate::domain::Date,
        known_at_us: Option<i64>,
        scope: crate::rules::time::Scope,
    ) -> Result<crate::report::Report, LedgerError> {
        let (report, folded) = self.report_folded(as_of, known_at_us, scope)?;
        if let Some(f) = folded {
            self.keep_live(f);
        }
        Ok(report)
    }

    /// [`Ledger::report`], then, when the report had to fold at least
    /// [`checkpoints::REPORT_SAVES_AFTER`] events after the newest
    /// checkpoint and was of the ledger as it stands (no known-at time),
    /// saves its state as a checkpoint so the next report starts there.
    pub fn report_saving(
        &mut self,
        as_of: crate::domain::Date,
        known_at_us: Option<i64>,
        scope: crate::rules::time::Scope,
    ) -> Result<(crate::report::Report, CheckpointNote), LedgerError> {
        let (report, folded) = self.report_folded(as_of, known_at_us, scope)?;
        // Measured from the newest saved checkpoint, not from where this
        // fold started (the fold kept in memory, in a long-lived process).
        let saved = match (&folded, known_at_us) {
            (Some(_), None) => self.newest_saved_checkpoint()?,
            _ => 0,
        };
        let note = match &folded {
            Some(f)
                if known_at_us.is_none()
                    && f.tally.is_sound()
                    && f.head.0 > saved
                    && f.head.0 - saved >= checkpoints::REPORT_SAVES_AFTER =>
            {
                match self.save_checkpoint(&f.tally) {
                    Ok(seq) => CheckpointNote::Saved(seq),
                    Err(e) => CheckpointNote::Failed(e),
                }
            }
            _ => CheckpointNote::None,
        };
        if let Some(f) = folded {
            self.keep_live(f);
        }
        Ok((report, note))
    }

    /// The last seq a report known at `known_at_us` reads (T-2): the last
    /// recorded by then, or the head.
    fn cut(&self, known_at_us: Option<i64>) -> Result<u64, LedgerError> {
        Ok(match known_at_us {
            Some(t) => self.journal.last_seq_recorded_by(t)?,
            None => self.head().next_seq - 1,
        })
    }

    /// The corrections and retractions recorded up to seq `cut`, and how
    /// each target stands.
    fn standings(&self, cut: u64) -> Result<(Vec<Effect>, Standings), LedgerError> {
        let Supersessions {
            effects,
            mut replacements,
        } = self.supersessions(cut)?;
        let standings = crate::projection::tally::standings(effects.clone(), |by| {
            replacements.remove(&by).ok_or_else(|| {
                LedgerError::from(crate::journal::JournalError::Corrupt {
                    at: format!("seq {by}"),
                    detail: "a correction without its replacement".into(),
                })
            })
        })?;
        Ok((effects, standings))
    }

    fn report_folded(
        &self,
        as_of: crate::domain::Date,
        known_at_us: Option<i64>,
        scope: crate::rules::time::Scope,
    ) -> Result<(crate::report::Report, Option<checkpoints::Folded>), LedgerError> {
        let q = crate::projection::Query { as_of, scope };
        let cut = self.cut(known_at_us)?;
        // Exactly the events of a checkpoint: its curves are the figures.
        if let Some((summary, head)) = self.curves_summary(cut, q)? {
            return Ok((
                crate::report::Report::from_summary(&summary, head, as_of, known_at_us),
                None,
            ));
        }
        let (effects, standings) = self.standings(cut)?;
        let folded = self.fold(cut, &effects, &standings)?;
        match folded.tally.finish(q) {
            Ok(summary) => Ok((
                crate::report::Report::from_summary(&summary, folded.head, as_of, known_at_us),
                Some(folded),
            )),
            Err(_) => Ok((self.report_replayed(as_of, known_at_us, scope)?, None)),
        }
    }

    /// The same report by a full replay ([`crate::projection::figures`]
    /// over [`Ledger::resolved`]): what `explain` walks. Slower and larger
    /// than [`Ledger::report`], which it must always equal.
    pub fn report_replayed(
        &self,
        as_of: crate::domain::Date,
        known_at_us: Option<i64>,
        scope: crate::rules::time::Scope,
    ) -> Result<crate::report::Report, LedgerError> {
        let r = self.resolved(known_at_us)?;
        let f = crate::projection::figures(&r, crate::projection::Query { as_of, scope });
        Ok(crate::report::Report::new(&r, &f, as_of, known_at_us))
    }

    /// The events that pass `filter`, in seq order.
    pub fn log(&self, filter: &LogFilter) -> Result<Vec<RecordedEvent>, LedgerError> {
        let mut out = Vec::new();
        let from = filter.after_seq.map_or(1, |s| s.saturating_add(1));
        for r in self.journal.iter_from(from)? {
            let r = r?;
            if filter.keeps(&r) {
                out.push(r);
                if filter.limit.is_some_and(|l| out.len() >= l) {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The reference layer of validation: what a batch would append, or
    /// every error in it.
    fn plan(
        &self,
        mut batch: Vec<InputEvent>,
        file: &str,
        restore: bool,
    ) -> Result<Plan, LedgerError> {
        let mut p = Planner {
            ledger: self,
            batch_by_id: HashMap::new(),
            menus: hashbrown::HashMap::new(),
            project: None,
            retracted: BTreeSet::new(),
            errors: Vec::new(),
        };
        let mut plan = Plan::default();
        let mut next_seq = self.head().next_seq;
        // One location, its line set per event (not a file name copied for
        // each of millions of lines).
        let mut at = Location::line(file, 0);
        if next_seq == 1 {
            plan.index
                .push((idx::SUPERSEDED_COMPLETE.to_vec(), b"1".to_vec()));
        }
        // The events planned stay where they are in `batch` (those dropped,
        // already recorded or refused, are taken out in place): millions of
        // them are not moved to another array.
        let mut failed = None;
        let mut step = |e: &mut InputEvent| -> Result<bool, LedgerError> {
            at.line = (e.line > 0).then_some(e.line);
            if let Some(id) = e.id {
                if let Some(existing) = self.journal.get_by_id(&id)? {
                    if existing.body == e.body {
                        plan.already.push((e.line, existing.seq, id));
                    } else {
                        let kind = InputErrorKind::IdConflict {
                            id: id.to_string(),
                            seq: existing.seq,
                        };
                        p.errors.push(InputError::new(at.with_field("id"), kind));
                    }
                    return Ok(false);
                }
                if let Some((first_line, body, seq)) = p.batch_by_id.get(&id) {
                    if *body == e.body {
                        plan.already.push((e.line, *seq, id));
                    } else {
                        let kind = InputErrorKind::IdConflictInBatch {
                            id: id.to_string(),
                            first_line: *first_line,
                        };
                        p.errors.push(InputError::new(at.with_field("id"), kind));
                    }
                    return Ok(false);
                }
                // Ids of the form the journal assigns are reserved to it: a
                // restored export may carry them at their own seq, a new
                // event may not (it could collide with a future event).
                let own_seq = journal::ledger_id_seq(&id);
                if own_seq.is_some() && !(restore && own_seq == Some(next_seq)) {
                    let detail =
                        "this id has the form jisseki assigns to its own events; use another UUID"
                            .into();
                    p.errors.push(InputError::new(
                        at.with_field("id"),
                        InputErrorKind::InvalidValue { detail },
                    ));
                    return Ok(false);
                }
            }
            let n = p.errors.len();
            p.check_refs(&e.body, &at)?;
            if p.errors.len() > n {
                return Ok(false);
            }
            let seq_bytes = || next_seq.to_be_bytes().to_vec();
            match &e.body {
                EventBody::ProjectDefined(_) => {
                    p.project = Some(true);
                    plan.index.push((idx::PROJECT.to_vec(), seq_bytes()));
                }
                EventBody::MenuDefined(m) => {
                    p.menus.insert(m.menu.0.clone(), true);
                    plan.index.push((idx::menu(m.menu.as_str()), seq_bytes()));
                }
                EventBody::Retraction(r) => {
                    p.retracted.insert(r.target);
                    plan.index.push((idx::retracted(&r.target), seq_bytes()));
                    if let Some(t) = p.target_seq(&r.target)? {
                        plan.index
                            .push((idx::superseded(t, next_seq), b"r".to_vec()));
                    }
                }
                EventBody::Correction(c) => {
                    if let Some(t) = p.target_seq(&c.target)? {
                        let mut v = b"c".to_vec();
                        v.extend(journal::codec::encode_replacement(&c.replacement));
                        plan.index.push((idx::superseded(t, next_seq), v));
                    }
                }
                _ => {}
            }
            // Only clients' ids can be named later in the same batch.
            if let Some(id) = e.id {
                p.batch_by_id.insert(id, (e.line, e.body.clone(), next_seq));
            }
            next_seq += 1;
            Ok(true)
        };
        batch.retain_mut(|e| {
            failed.is_none()
                && step(e).unwrap_or_else(|err| {
                    failed = Some(err);
                    false
                })
        });
        if let Some(err) = failed {
            return Err(err);
        }
        if p.errors.is_empty() {
            plan.new = batch;
            Ok(plan)
        } else {
            Err(InputErrors(p.errors).into())
        }
    }
}

#[derive(Default)]
struct Plan {
    /// The events to append, in order.
    new: Vec<InputEvent>,
    already: Vec<(u64, u64, Uuid)>,
    index: Vec<(Vec<u8>, Vec<u8>)>,
}

struct Planner<'a> {
    ledger: &'a Ledger,
    /// Events of the batch that carry a client id: line, body, seq.
    batch_by_id: HashMap<Uuid, (u64, EventBody, u64)>,
    /// Menus known to be defined or not (batch, or journal looked up once);
    /// looked up for every event, so not with SipHash.
    menus: hashbrown::HashMap<String, bool>,
    /// Whether the project is defined (once looked up).
    project: Option<bool>,
    retracted: BTreeSet<Uuid>,
    errors: Vec<InputError>,
}

impl Planner<'_> {
    fn project_defined(&mut self) -> Result<bool, LedgerError> {
        if let Some(known) = self.project {
            return Ok(known);
        }
        let known = self.ledger.journal.index_get(idx::PROJECT)?.is_some();
        self.project = Some(known);
        Ok(known)
    }

    fn menu_defined(&mut self, menu: &str) -> Result<bool, LedgerError> {
        if let Some(known) = self.menus.get(menu) {
            return Ok(*known);
        }
        let known = self.ledger.journal.index_get(&idx::menu(menu))?.is_some();
        self.menus.insert(menu.to_string(), known);
        Ok(known)
    }

    fn is_retracted(&self, id: &Uuid) -> Result<bool, LedgerError> {
        Ok(self.retracted.contains(id)
            || self
                .ledger
                .journal
                .index_get(&idx::retracted(id))?
                .is_some())
    }

    /// The seq of the event `id`, from the batch or the journal.
    fn target_seq(&self, id: &Uuid) -> Result<Option<u64>, LedgerError> {
        if let Some((_, _, seq)) = self.batch_by_id.get(id) {
            return Ok(Some(*seq));
        }
        Ok(self.ledger.journal.seq_of(id)?)
    }

    /// The body of the event `id`, from the batch or the journal.
    fn target(&self, id: &Uuid) -> Result<Option<EventBody>, LedgerError> {
        if let Some((_, body, _)) = self.batch_by_id.get(id) {
            return Ok(Some(body.clone()));
        }
        Ok(self.ledger.journal.get_by_id(id)?.map(|r| r.body))
    }

    fn err(&mut self, at: &Location, field: &str, kind: InputErrorKind) {
        self.errors
            .push(InputError::new(at.with_field(field), kind));
    }

    fn check_refs(&mut self, body: &EventBody, at: &Location) -> Result<(), LedgerError> {
        if let EventBody::ProjectDefined(_) = body {
            if self.project_defined()? {
                self.err(at, "type", InputErrorKind::ProjectAlreadyDefined);
            }
            return Ok(());
        }
        if !self.project_defined()? {
            self.err(at, "type", InputErrorKind::ProjectNotDefined);
            return Ok(());
        }
        match body {
            EventBody::MenuDefined(m) => {
                if self.menu_defined(m.menu.as_str())? {
                    self.err(
                        at,
                        "menu",
                        InputErrorKind::MenuAlreadyDefined {
                            menu: m.menu.0.clone(),
                        },
                    );
                }
            }
            EventBody::Retraction(r) => self.check_fix(r.target, None, at)?,
            EventBody::Correction(c) => {
                self.check_fix(c.target, Some(&c.replacement), at)?;
                self.check_menus(&c.replacement, at, "replacement.")?;
            }
            other => self.check_menus(other, at, "")?,
        }
        Ok(())
    }

    fn check_menus(
        &mut self,
        body: &EventBody,
        at: &Location,
        prefix: &str,
    ) -> Result<(), LedgerError> {
        if matches!(body, EventBody::MenuDefined(_)) {
            return Ok(());
        }
        let field = match body {
            EventBody::Hire(_)
            | EventBody::Conversion(_)
            | EventBody::Startup(_)
            | EventBody::PlanApproved(_) => "menus",
            _ => "menu",
        };
        // Most events name one menu: checked without making a list.
        let one = body.single_menu();
        for m in one
            .into_iter()
            .chain(one.is_none().then(|| body.menus()).into_iter().flatten())
        {
            if !self.menu_defined(m.as_str())? {
                self.err(
                    at,
                    &format!("{prefix}{field}"),
                    InputErrorKind::UnknownMenu { menu: m.0.clone() },
                );
            }
        }
        Ok(())
    }

    fn check_fix(
        &mut self,
        target: Uuid,
        replacement: Option<&EventBody>,
        at: &Location,
    ) -> Result<(), LedgerError> {
        let id = target.to_string();
        let Some(existing) = self.target(&target)? else {
            self.err(at, "target", InputErrorKind::UnknownTarget { id });
            return Ok(());
        };
        if self.is_retracted(&target)? {
            self.err(at, "target", InputErrorKind::TargetRetracted { id });
            return Ok(());
        }
        let not_fixable = |detail: &str| InputErrorKind::TargetNotFixable {
            id: id.clone(),
            detail: detail.into(),
        };
        match (&existing, replacement) {
            (EventBody::Retraction(_), _) => self.err(
                at,
                "target",
                not_fixable("a retraction cannot be retracted or corrected"),
            ),
            (EventBody::Correction(_), _) => self.err(
                at,
                "target",
                not_fixable("name the original event, not its correction"),
            ),
            (EventBody::ProjectDefined(_), None) => self.err(
                at,
                "target",
                not_fixable("the project cannot be retracted; correct it instead"),
            ),
            (old, Some(new)) if old.type_name() != new.type_name() => self.err(
                at,
                "replacement.type",
                not_fixable(&format!(
                    "a {} can only be replaced by a {}",
                    old.type_name(),
                    old.type_name()
                )),
            ),
            (EventBody::MenuDefined(old), Some(EventBody::MenuDefined(new)))
                if old.menu != new.menu =>
            {
                self.err(
                    at,
                    "replacement.menu",
                    not_fixable("a correction cannot change the menu id"),
                )
            }
            (EventBody::ProjectDefined(old), Some(EventBody::ProjectDefined(new)))
                if old.project != new.project =>
            {
                self.err(
                    at,
                    "replacement.project",
                    not_fixable("a correction cannot change the project id"),
                )
            }
            _ => {}
        }
        Ok(())
    }
}

/// Names this build of jisseki for its kept reports now, from its
/// executable as it is when the process starts, so that a long-lived
/// process whose executable is replaced meanwhile (a server upgraded in
/// place) keeps its own name and never reads the new build's reports as
/// its own, or leaves its own for the new build.
pub fn name_this_build() {
    let _ = checkpoints::build_id();
}

fn take_lock(dir: &Path, access: Access) -> Result<File, LedgerError> {
    let path = dir.join(LOCK_FILE);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err(&path))?;
    let locked = match access {
        Access::Write => FileExt::try_lock_exclusive(&f),
        Access::Read => FileExt::try_lock_shared(&f),
    };
    match locked {
        Ok(true) => {}
        Ok(false) => {
            let mut s = String::new();
            let _ = f.read_to_string(&mut s);
            return Err(LedgerError::InUse {
                pid: s.trim().parse().ok(),
            });
        }
        Err(e) => return Err(io_err(&path)(e)),
    }
    if access == Access::Write {
        f.set_len(0).map_err(io_err(&path))?;
        f.rewind().map_err(io_err(&path))?;
        write!(f, "{}", std::process::id()).map_err(io_err(&path))?;
    }
    Ok(f)
}

/// How long a writer, already holding the lock file, waits for sled's own
/// file lock: only a process that just closed the ledger (sled releases its
/// lock from a background thread a moment after the handle drops) or a
/// reader can hold it.
pub const WRITE_WAIT_MS_MAX: u64 = 3_000;

/// sled allows one process at a time. Readers wait (up to
/// [`READ_WAIT_MS_MAX`]) for another reader to finish; a writer, which the
/// lock file already made the only writer, waits (up to
/// [`WRITE_WAIT_MS_MAX`]) for a closing process or a reader.
fn open_sled(dir: &Path, access: Access) -> Result<SledStorage, LedgerError> {
    let started = std::time::Instant::now();
    let wait_ms = match access {
        Access::Read => READ_WAIT_MS_MAX,
        Access::Write => WRITE_WAIT_MS_MAX,
    };
    loop {
        match SledStorage::open(dir) {
            Ok(s) => return Ok(s),
            Err(journal::StorageError::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("lock") =>
            {
                if started.elapsed().as_millis() > u128::from(wait_ms) {
                    return Err(LedgerError::InUse { pid: None });
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            // A full disk is not damage: say which it is.
            Err(journal::StorageError::Io(e)) if e.raw_os_error() == Some(28) => {
                return Err(LedgerError::Io {
                    path: dir.to_path_buf(),
                    source: e,
                })
            }
            Err(e) => {
                return Err(LedgerError::Unreadable {
                    path: dir.to_path_buf(),
                    detail: e.to_string(),
                })
            }
        }
    }
}

/// Counts of events per type, for summaries.
pub fn count_by_type(events: &[RecordedEvent]) -> BTreeMap<&'static str, u64> {
    let mut m = BTreeMap::new();
    for e in events {
        *m.entry(e.body.type_name()).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{read_events, InputFormat, Mode};
    use crate::journal::{ManualClock, MemStorage};

    fn append(l: &mut Ledger, text: &str) {
        let events = read_events(
            text.as_bytes(),
            "t.jsonl",
            InputFormat::JsonLines,
            Mode::Append,
        )
        .unwrap();
        l.append(events, "t.jsonl", AppendOptions::default())
            .unwrap();
    }

    /// A restore names the first link that does not hold (by its line and
    /// field), and the lines without ledger fields before it, not after.
    #[test]
    fn a_restore_names_the_first_broken_link() {
        let clock = Arc::new(ManualClock::at(1_730_000_000_000_000));
        let mut l = Ledger::with_storage(Box::new(MemStorage::default()), clock.clone()).unwrap();
        let text = crate::synth::generate_jsonl(&crate::synth::SynthConfig::default());
        append(&mut l, &text);
        let mut export = Vec::new();
        l.export(&mut export).unwrap();
        let lines: Vec<String> = String::from_utf8(export)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert!(lines.len() > 850, "{}", lines.len());
        let restore = |lines: &[String]| {
            let text = lines.join("\n");
            let (events, format) = crate::io::read_events_partial(
                text.as_bytes(),
                "x.jsonl",
                InputFormat::JsonLines,
                Mode::Restore,
            );
            let mut errors = format.0;
            let mut fresh =
                Ledger::with_storage(Box::new(MemStorage::default()), clock.clone()).unwrap();
            match fresh.restore(events, "x.jsonl", true) {
                Ok(_) => {}
                Err(LedgerError::Input(e)) => errors.extend(e.0),
                Err(other) => panic!("{other}"),
            }
            errors
                .iter()
                .map(|e| {
                    (
                        e.at.line.unwrap_or(0),
                        e.at.field.clone().unwrap_or_default(),
                        e.code().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(restore(&lines), vec![]);
        // A hash altered at line 600.
        let mut hash = lines.clone();
        let h = hash[599].rfind("\"hash\":\"sha256:").unwrap() + 15;
        let flipped = if &hash[599][h..h + 1] == "0" {
            "1"
        } else {
            "0"
        };
        hash[599].replace_range(h..h + 1, flipped);
        assert_eq!(
            restore(&hash),
            vec![(600, "hash".into(), "hash_mismatch".into())]
        );
        // Two lines swapped: the seq is out of order where the first stands.
        let mut swapped = lines.clone();
        swapped.swap(300, 450);
        assert_eq!(
            restore(&swapped),
            vec![(301, "seq".into(), "seq_out_of_order".into())]
        );
        // A space added: the bytes are not the export's.
        let mut spaced = lines.clone();
        spaced[500] = spaced[500].replacen(",", ", ", 1);
        assert_eq!(restore(&spaced)[0].0, 501);
        // Ledger fields gone from line 150 (a format error, so the line is
        // not restored): the chain breaks at the line after it.
        let mut gone = lines.clone();
        let v: serde_json::Value = serde_json::from_str(&gone[149]).unwrap();
        let mut m = v.as_object().unwrap().clone();
        m.remove("seq");
        gone[149] = serde_json::Value::Object(m).to_string();
        assert_eq!(
            restore(&gone),
            vec![
                (150, "seq".into(), "missing_field".into()),
                (151, "seq".into(), "seq_out_of_order".into())
            ]
        );
    }

    /// Export pages of any size, taken one after another up to a fixed
    /// seq, join into exactly the export as of that seq; events appended
    /// meanwhile are not in it.
    #[test]
    fn export_pages_join_into_the_export() {
        let clock = Arc::new(ManualClock::at(1_730_000_000_000_000));
        let mut l = Ledger::with_storage(Box::new(MemStorage::default()), clock).unwrap();
        let text = crate::synth::generate_jsonl(&crate::synth::SynthConfig::default());
        // In batches of 100, so that the journal holds many chunks and
        // pages start inside and across them.
        let lines: Vec<&str> = text.lines().collect();
        for part in lines.chunks(100) {
            append(&mut l, &part.join("\n"));
        }
        let until = l.head().next_seq - 1;
        assert!(until > 800, "{until}");
        let mut whole = Vec::new();
        l.export(&mut whole).unwrap();
        let one_more = r#"{"type":"attendance","menu":"B-01","date":"2025-01-10","role":"job_seeker","person":"P-NEW","residence":"in_region","intent_confirmed":true}"#;
        for budget in [1, 100, 4_096, 100_000, usize::MAX] {
            let mut joined = Vec::new();
            let mut after = 0;
            loop {
                let last = l.export_page(after, until, budget, &mut joined).unwrap();
                if last == after {
                    break;
                }
                after = last;
                if budget == 4_096 && after > until / 2 && l.head().next_seq - 1 == until {
                    // An append in the middle of the download.
                    append(&mut l, one_more);
                }
            }
            assert_eq!(after, until);
            assert_eq!(joined, whole, "budget {budget}");
        }
        assert_eq!(l.head().next_seq - 1, until + 1);
    }

    /// The supersession index gives what a scan of the events finds (a
    /// ledger begun by an earlier build is read by the scan).
    #[test]
    fn t_3_the_supersession_index_equals_a_scan() {
        let clock = Arc::new(ManualClock::at(1_730_000_000_000_000));
        let mut l = Ledger::with_storage(Box::new(MemStorage::default()), clock).unwrap();
        let att = |id: u32, p: &str| {
            format!(
                r#"{{"id":"0193a1c0-0000-7000-8000-{id:012x}","type":"attendance","menu":"B-1","date":"2024-11-01","role":"job_seeker","person":"{p}","residence":"in_region","intent_confirmed":true}}"#
            )
        };
        append(&mut l, &[
            r#"{"type":"project_defined","project":"p","name":"p","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}"#.to_string(),
            r#"{"type":"menu_defined","menu":"B-1","category":"B","kind":"seminar","name":"B","targets":[]}"#.to_string(),
            att(1, "P"), att(2, "Q"), att(3, "R"),
        ].join("\n"));
        let fix = |id: u32| {
            format!(
                r#"{{"type":"correction","target":"0193a1c0-0000-7000-8000-{id:012x}","reason":"x","replacement":{}}}"#,
                att(id, "S").replacen(
                    &format!(r#""id":"0193a1c0-0000-7000-8000-{id:012x}","#),
                    "",
                    1
                )
            )
        };
        append(&mut l, &[fix(1), fix(2), fix(1)].join("\n"));
        append(
            &mut l,
            r#"{"type":"retraction","target":"0193a1c0-0000-7000-8000-000000000002","reason":"x"}"#,
        );
        let last = l.head().next_seq - 1;
        let mut by_index = l.supersessions(last).unwrap();
        let mut by_scan = l.supersessions_by_scan(last).unwrap();
        by_index.effects.sort();
        by_scan.effects.sort();
        assert_eq!(by_index.effects.len(), 4);
        assert_eq!(by_index.effects, by_scan.effects);
        assert_eq!(by_index.replacements, by_scan.replacements);
        // Known earlier, the later ones are left out.
        assert_eq!(l.supersessions(6).unwrap().effects.len(), 1);
    }

    /// A group commit judges each request as if appended alone after the
    /// ones before it: the same seqs, the same idempotent no-ops, the same
    /// refusals (with each request's own line numbers), the same events.
    /// With refusals and expected seqs (planned one by one), and without
    /// (planned in one go).
    #[test]
    fn a_group_commit_equals_appending_the_requests_one_by_one() {
        let id = |n: u32| format!("0193a1c0-0000-7000-8000-{n:012x}");
        let att = |n: u32, p: &str| {
            format!(
                r#"{{"id":"{}","type":"attendance","menu":"B-1","date":"2024-11-01","role":"job_seeker","person":"{p}","residence":"in_region","intent_confirmed":true}}"#,
                id(n)
            )
        };
        let mixed: Vec<(String, Option<u64>)> = vec![
            (format!("{}\n{}", att(1, "P"), att(2, "Q")), None),
            // An undefined menu on line 2: refused whole.
            (format!("{}\n{}", att(3, "R"), att(4, "S").replace("B-1", "B-9")), None),
            // A retry of the first request's line 2: a no-op; and a new one.
            (format!("{}\n{}", att(5, "T"), att(2, "Q")), None),
            // The id of request 1's first event with other content.
            (att(1, "OTHER"), None),
            // Expects the ledger as it stands after the requests before.
            (att(6, "U"), Some(6)),
            (att(7, "V"), Some(99)),
            (r#"{"type":"retraction","target":"0193a1c0-0000-7000-8000-000000000005","reason":"x"}"#.to_string(), None),
        ];
        let without_seqs: Vec<(String, Option<u64>)> =
            mixed.iter().map(|(t, _)| (t.clone(), None)).collect();
        let all_good: Vec<(String, Option<u64>)> = [0, 2, 4, 6]
            .iter()
            .map(|&i| (mixed[i].0.clone(), None))
            .collect();
        for requests in [mixed, without_seqs, all_good] {
            group_equals_one_by_one(&requests);
        }
    }

    fn group_equals_one_by_one(requests: &[(String, Option<u64>)]) {
        let preamble = [
            r#"{"type":"project_defined","project":"p","name":"p","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}"#,
            r#"{"type":"menu_defined","menu":"B-1","category":"B","kind":"seminar","name":"B","targets":[]}"#,
        ]
        .join("\n");
        let fresh = || {
            let clock = Arc::new(ManualClock::at(1_730_000_000_000_000));
            let mut l = Ledger::with_storage(Box::new(MemStorage::default()), clock).unwrap();
            append(&mut l, &preamble);
            l
        };
        let parse = |t: &str, name: &str| {
            read_events(t.as_bytes(), name, InputFormat::JsonLines, Mode::Append).unwrap()
        };
        let outcome = |r: Result<AppendReport, LedgerError>| match r {
            Ok(rep) => Ok((rep.appended, rep.already)),
            Err(LedgerError::Input(e)) => Err(e
                .0
                .iter()
                .map(|x| (x.code(), x.at.line, x.at.field.clone(), x.render(Lang::En)))
                .collect::<Vec<_>>()),
            Err(e) => Err(vec![("other", None, None, e.to_string())]),
        };
        let mut one = fresh();
        let mut each = Vec::new();
        for (k, (text, expect)) in requests.iter().enumerate() {
            let name = format!("r{k}.jsonl");
            let opts = AppendOptions {
                expect_seq: *expect,
                check_only: false,
            };
            each.push(outcome(one.append(parse(text, &name), &name, opts)));
        }
        let mut group = fresh();
        let got = group
            .append_group(
                requests
                    .iter()
                    .enumerate()
                    .map(|(k, (text, expect))| GroupRequest {
                        batch: parse(text, &format!("r{k}.jsonl")),
                        file: format!("r{k}.jsonl"),
                        opts: AppendOptions {
                            expect_seq: *expect,
                            check_only: false,
                        },
                    })
                    .collect(),
            )
            .unwrap();
        let got: Vec<_> = got.into_iter().map(outcome).collect();
        assert_eq!(got, each);
        assert!(got.iter().any(|r| r.is_ok()));
        assert_eq!(group.head().next_seq, one.head().next_seq);
        let bodies = |l: &Ledger| {
            l.events()
                .map(|e| e.map(|e| (e.seq, e.id, e.body)).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(bodies(&group), bodies(&one));
    }
}
