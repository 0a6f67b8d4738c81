//! The small storage trait the journal stands on, and its engines.
//!
//! The journal needs only ordered keys, atomic batches and a sync that makes
//! the last batch durable. Keeping it this small lets tests inject failures
//! at every I/O step ([`crate::journal::storage::FaultyStorage`]) and lets a
//! later engine replace sled without touching the journal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A failure of the storage engine (not of the input).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The engine reported an error.
    #[error("storage engine: {0}")]
    Engine(String),
    /// The operating system refused an I/O operation.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A fault injected by a test.
    #[error("injected fault: {0}")]
    Injected(&'static str),
}

/// A set of writes applied atomically: all of them or none.
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    /// Keys to set, with their values.
    pub puts: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keys to remove, after the puts. The journal never removes an event;
    /// only derived data (a superseded checkpoint) is ever removed.
    pub deletes: Vec<Vec<u8>>,
}

impl WriteBatch {
    /// Adds a put.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.puts.push((key, value));
    }

    /// Adds a removal.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.deletes.push(key);
    }

    /// Applies the batch to a map (the in-memory storages).
    fn apply_to(self, map: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
        map.extend(self.puts);
        for k in self.deletes {
            map.remove(&k);
        }
    }
}

/// A key and its value.
pub type Pair = (Vec<u8>, Vec<u8>);
/// Key-value pairs in key order.
pub type Pairs = Vec<Pair>;

/// Ordered key-value storage with atomic batches and an explicit sync.
pub trait Storage: Send {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// Up to `limit` pairs with `start <= key < end`, in key order.
    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Pairs, StorageError>;
    /// Calls `f` with every pair in `start <= key < end`, in key order,
    /// borrowed (nothing copied), until `f` returns `false`.
    fn for_each(&self, start: &[u8], end: &[u8], f: Visit<'_>) -> Result<(), StorageError>;
    /// The pair with the greatest key in `start <= key <= at`.
    fn last_at_or_before(&self, start: &[u8], at: &[u8]) -> Result<Option<Pair>, StorageError>;
    /// Applies every write of `batch` or none of them.
    fn apply(&mut self, batch: WriteBatch) -> Result<(), StorageError>;
    /// Makes every applied batch durable (survives power loss).
    fn sync(&mut self) -> Result<(), StorageError>;
    /// Derived data kept beside the ordered keys (checkpoint states, kept
    /// reports): a whole value under a name of ASCII letters, digits, `-`
    /// and `.`, replaced atomically (a reader sees the old value or the new
    /// one), and durable before this returns when `durable` (otherwise a
    /// crash may lose it, or leave any bytes under its name: callers frame
    /// such values with a checksum). Never part of a batch and never an
    /// event: removing any changes nothing recorded.
    fn side_put(&mut self, name: &str, value: &[u8], durable: bool) -> Result<(), StorageError>;
    /// [`Storage::side_put`] of the pieces one after another, as one
    /// value (a checkpoint's state is written in pieces, hundreds of
    /// megabytes in all). By default, the pieces joined.
    fn side_put_pieces(
        &mut self,
        name: &str,
        pieces: &[&[u8]],
        durable: bool,
    ) -> Result<(), StorageError> {
        self.side_put(name, &pieces.concat(), durable)
    }
    /// The value of a side entry, if any.
    fn side_get(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// [`Storage::side_get`], as bytes an engine may map from where it
    /// keeps them instead of copying (a checkpoint's state is hundreds of
    /// megabytes). By default, the copy.
    fn side_bytes(&self, name: &str) -> Result<Option<SideBytes>, StorageError> {
        Ok(self.side_get(name)?.map(SideBytes::Owned))
    }
    /// Removes a side entry (absent is not an error). Not made durable: a
    /// removed entry may come back after a crash.
    fn side_remove(&mut self, name: &str) -> Result<(), StorageError>;
    /// The names of the side entries, in name order.
    fn side_names(&self) -> Result<Vec<String>, StorageError>;
    /// Recorded data too large for the ordered keys (the journal's chunks
    /// of a large append): a value written once under a name (as for side
    /// entries), durable when this returns, so that a batch applied after
    /// it may refer to it. Read back in parts with [`Storage::blob_read`].
    fn blob_put(&mut self, name: &str, value: &[u8]) -> Result<(), StorageError>;
    /// Reads `len` bytes of blob `name` from `offset` into `buf` (replacing
    /// what it held); `false` when there is no such blob or it is shorter.
    fn blob_read(
        &self,
        name: &str,
        offset: u64,
        len: usize,
        buf: &mut Vec<u8>,
    ) -> Result<bool, StorageError>;
    /// Removes a blob (absent is not an error). The caller removes only
    /// blobs nothing refers to.
    fn blob_remove(&mut self, name: &str) -> Result<(), StorageError>;
    /// The names of the blobs, in name order.
    fn blob_names(&self) -> Result<Vec<String>, StorageError>;
}

/// Whether `name` is a valid side-entry name ([`Storage::side_put`]): it
/// can never name a path outside the side directory.
pub fn side_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn bad_side_name(name: &str) -> StorageError {
    StorageError::Engine(format!("invalid side entry name {name:?}"))
}

/// A side entry's value ([`Storage::side_bytes`]): its own copy, or its
/// file mapped read-only.
pub enum SideBytes {
    /// A copy.
    Owned(Vec<u8>),
    /// The file, mapped.
    Mapped(Mapping),
}

impl std::ops::Deref for SideBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SideBytes::Owned(v) => v,
            SideBytes::Mapped(m) => m.bytes(),
        }
    }
}

/// A whole file mapped read-only and private, unmapped when dropped.
///
/// Only for files that are never written in place: side entries are
/// written aside and renamed over the old ones ([`replace_file`]), so a
/// mapping keeps the file it was made of (removed or replaced, its inode
/// lives on until unmapped) and its bytes never change under it. (A file
/// cut short by another program while mapped would end the process with
/// SIGBUS when the lost part is read; jisseki never shortens one.)
pub struct Mapping {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value alone; reading
// it from any thread is as safe as reading a `&[u8]`.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared access is reads only.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the whole of `file` (`None` for an empty file, which cannot be
    /// mapped), its pages brought in at once (`MAP_POPULATE`): they are
    /// the page cache's own, so nothing is copied and no fresh memory is
    /// taken.
    ///
    /// # Safety
    ///
    /// Nothing may write `file` or shorten it while the mapping lives
    /// (writing would change bytes behind a shared borrow; reading past a
    /// shortened end raises SIGBUS). Files replaced only by renaming a
    /// new one over them, as side entries are, meet this.
    #[cfg(unix)]
    pub(crate) unsafe fn of(file: &std::fs::File) -> std::io::Result<Option<Mapping>> {
        use std::os::fd::AsRawFd;
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::OutOfMemory))?;
        if len == 0 {
            return Ok(None);
        }
        #[cfg(target_os = "linux")]
        let flags = libc::MAP_PRIVATE | libc::MAP_POPULATE;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::MAP_PRIVATE;
        // SAFETY: a fresh read-only private mapping of an open file, of
        // its length; the result is checked before use and unmapped only
        // in `drop`.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                flags,
                file.as_raw_fd(),
                0,
            )
        };
        if at == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let ptr = std::ptr::NonNull::new(at.cast::<u8>())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::Other))?;
        Ok(Some(Mapping { ptr, len }))
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is a live read-only mapping of `len` bytes, valid
        // until `drop`, and no one writes it (see the type's note).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `of` made, once; no borrow of
        // `bytes` outlives `self`.
        #[cfg(unix)]
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// What [`Storage::for_each`] calls with each pair: `false` stops.
pub type Visit<'a> = &'a mut dyn FnMut(&[u8], &[u8]) -> bool;

impl Storage for Box<dyn Storage> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        (**self).get(key)
    }
    fn for_each(&self, start: &[u8], end: &[u8], f: Visit<'_>) -> Result<(), StorageError> {
        (**self).for_each(start, end, f)
    }
    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Pairs, StorageError> {
        (**self).range(start, end, limit)
    }
    fn last_at_or_before(&self, start: &[u8], at: &[u8]) -> Result<Option<Pair>, StorageError> {
        (**self).last_at_or_before(start, at)
    }
    fn apply(&mut self, batch: WriteBatch) -> Result<(), StorageError> {
        (**self).apply(batch)
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        (**self).sync()
    }
    fn side_put(&mut self, name: &str, value: &[u8], durable: bool) -> Result<(), StorageError> {
        (**self).side_put(name, value, durable)
    }
    fn side_put_pieces(
        &mut self,
        name: &str,
        pieces: &[&[u8]],
        durable: bool,
    ) -> Result<(), StorageError> {
        (**self).side_put_pieces(name, pieces, durable)
    }
    fn side_get(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        (**self).side_get(name)
    }
    fn side_bytes(&self, name: &str) -> Result<Option<SideBytes>, StorageError> {
        (**self).side_bytes(name)
    }
    fn side_remove(&mut self, name: &str) -> Result<(), StorageError> {
        (**self).side_remove(name)
    }
    fn side_names(&self) -> Result<Vec<String>, StorageError> {
        (**self).side_names()
    }
    fn blob_put(&mut self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        (**self).blob_put(name, value)
    }
    fn blob_read(
        &self,
        name: &str,
        offset: u64,
        len: usize,
        buf: &mut Vec<u8>,
    ) -> Result<bool, StorageError> {
        (**self).blob_read(name, offset, len, buf)
    }
    fn blob_remove(&mut self, name: &str) -> Result<(), StorageError> {
        (**self).blob_remove(name)
    }
    fn blob_names(&self) -> Result<Vec<String>, StorageError> {
        (**self).blob_names()
    }
}

/// Side entries in memory ([`Storage::side_put`]).
#[derive(Debug, Default, Clone)]
struct SideMap(BTreeMap<String, Vec<u8>>);

impl SideMap {
    fn put(&mut self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        if !side_name_ok(name) {
            return Err(bad_side_name(name));
        }
        self.0.insert(name.to_string(), value.to_vec());
        Ok(())
    }
    fn get(&self, name: &str) -> Option<Vec<u8>> {
        self.0.get(name).cloned()
    }
    fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }
    fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
    fn read(&self, name: &str, offset: u64, len: usize, buf: &mut Vec<u8>) -> bool {
        buf.clear();
        let Some(v) = self.0.get(name) else {
            return false;
        };
        let part = usize::try_from(offset)
            .ok()
            .and_then(|start| v.get(start..start.checked_add(len)?));
        match part {
            Some(p) => {
                buf.extend_from_slice(p);
                true
            }
            None => false,
        }
    }
}

/// Storage in memory: the reference model, and the engine of property tests.
#[derive(Debug, Default, Clone)]
pub struct MemStorage {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    side: SideMap,
    blobs: SideMap,
}

impl Storage for MemStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.map.get(key).cloned())
    }
    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Pairs, StorageError> {
        if start >= end {
            return Ok(Vec::new());
        }
        Ok(self
            .map
            .range(start.to_vec()..end.to_vec())
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
    fn for_each(&self, start: &[u8], end: &[u8], f: Visit<'_>) -> Result<(), StorageError> {
        if start < end {
            for (k, v) in self.map.range(start.to_vec()..end.to_vec()) {
                if !f(k, v) {
                    break;
                }
            }
        }
        Ok(())
    }
    fn last_at_or_before(&self, start: &[u8], at: &[u8]) -> Result<Option<Pair>, StorageError> {
        if start > at {
            return Ok(None);
        }
        Ok(self
            .map
            .range(start.to_vec()..=at.to_vec())
            .next_back()
            .map(|(k, v)| (k.clone(), v.clone())))
    }
    fn apply(&mut self, batch: WriteBatch) -> Result<(), StorageError> {
        batch.apply_to(&mut self.map);
        Ok(())
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        Ok(())
    }
    fn side_put(&mut self, name: &str, value: &[u8], _durable: bool) -> Result<(), StorageError> {
        self.side.put(name, value)
    }
    fn side_get(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.side.get(name))
    }
    fn side_remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.side.remove(name);
        Ok(())
    }
    fn side_names(&self) -> Result<Vec<String>, StorageError> {
        Ok(self.side.names())
    }
    fn blob_put(&mut self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        self.blobs.put(name, value)
    }
    fn blob_read(
        &self,
        name: &str,
        offset: u64,
        len: usize,
        buf: &mut Vec<u8>,
    ) -> Result<bool, StorageError> {
        Ok(self.blobs.read(name, offset, len, buf))
    }
    fn blob_remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.blobs.remove(name);
        Ok(())
    }
    fn blob_names(&self) -> Result<Vec<String>, StorageError> {
        Ok(self.blobs.names())
    }
}

/// Which operation a [`FaultyStorage`] should fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fail the next `apply`, writing nothing.
    Apply,
    /// Fail the next `sync`, after the batch was applied but before it is
    /// durable: a crash between the write and its sync.
    Sync,
    /// Fail the next `get` (a read error).
    Get,
}

/// A log of storage calls, shared with the test that made the storage.
pub type CallLog = Arc<Mutex<Vec<&'static str>>>;

/// What a [`SimDisk`] does to the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimFault {
    /// The next `apply` fails and writes nothing.
    Apply,
    /// The next `sync` fails: what was applied stays volatile.
    Sync,
}

#[derive(Debug, Default)]
struct SimState {
    /// What survives a crash.
    durable: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Batches applied since the last sync, in order: visible to reads,
    /// lost in a crash unless the crash keeps them (a prefix of them: the
    /// engine writes its log in order, each batch atomically).
    pending: Vec<WriteBatch>,
    faults: std::collections::VecDeque<SimFault>,
    counts: SimCounts,
    /// Side entries: written durably at once (as an fsynced file).
    side: SideMap,
    /// Blobs: durable at once, as the trait says.
    blobs: SideMap,
}

/// What a [`SimDisk`] saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimCounts {
    /// Batches applied.
    pub applies: u64,
    /// Syncs that made batches durable.
    pub syncs: u64,
    /// Faults injected and fired.
    pub faults: u64,
    /// Crashes.
    pub crashes: u64,
    /// Applied batches lost in crashes.
    pub batches_lost: u64,
}

/// A disk under power cuts, for the deterministic simulation
/// (`tests/simulation.rs`): an applied batch is readable at once but
/// durable only after `sync`; [`SimDisk::crash`] keeps the synced state and
/// a chosen prefix of the batches applied since. Faults fail the next
/// `apply` (nothing written) or `sync` (the batch stays volatile). Handles
/// share one disk, so a test can "restart" a ledger over what survived.
#[derive(Debug, Clone, Default)]
pub struct SimDisk {
    state: Arc<Mutex<SimState>>,
}

impl SimDisk {
    fn lock(&self) -> std::sync::MutexGuard<'_, SimState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Fails the next call of that kind.
    pub fn inject(&self, fault: SimFault) {
        self.lock().faults.push_back(fault);
    }

    /// Forgets the faults injected and not yet fired.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Batches applied since the last sync.
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    /// A power cut: the first `keep` batches applied since the last sync
    /// survive, the rest are lost; injected faults are forgotten.
    pub fn crash(&self, keep: usize) {
        let mut st = self.lock();
        let pending = std::mem::take(&mut st.pending);
        let lost = pending.len().saturating_sub(keep) as u64;
        for b in pending.into_iter().take(keep) {
            st.durable.extend(b.puts);
        }
        st.faults.clear();
        st.counts.crashes += 1;
        st.counts.batches_lost += lost;
    }

    /// What the disk saw.
    pub fn counts(&self) -> SimCounts {
        self.lock().counts
    }

    fn read<T>(&self, f: impl FnOnce(&BTreeMap<Vec<u8>, Vec<u8>>) -> T) -> T {
        let st = self.lock();
        if st.pending.is_empty() {
            return f(&st.durable);
        }
        let mut view = st.durable.clone();
        for b in &st.pending {
            b.clone().apply_to(&mut view);
        }
        f(&view)
    }

    fn fire(st: &mut SimState, kind: SimFault) -> bool {
        if st.faults.front() == Some(&kind) {
            st.faults.pop_front();
            st.counts.faults += 1;
            return true;
        }
        false
    }
}

impl Storage for SimDisk {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.read(|m| m.get(key).cloned()))
    }
    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Pairs, StorageError> {
        if start >= end {
            return Ok(Vec::new());
        }
        Ok(self.read(|m| {
            m.range(start.to_vec()..end.to_vec())
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }))
    }
    fn for_each(&self, start: &[u8], end: &[u8], f: Visit<'_>) -> Result<(), StorageError> {
        let pairs = self.range(start, end, usize::MAX)?;
        for (k, v) in &pairs {
            if !f(k, v) {
                break;
            }
        }
        Ok(())
    }
    fn last_at_or_before(&self, start: &[u8], at: &[u8]) -> Result<Option<Pair>, StorageError> {
        if start > at {
            return Ok(None);
        }
        Ok(self.read(|m| {
            m.range(start.to_vec()..=at.to_vec())
                .next_back()
                .map(|(k, v)| (k.clone(), v.clone()))
        }))
    }
    fn apply(&mut self, batch: WriteBatch) -> Result<(), StorageError> {
        let mut st = self.lock();
        if Self::fire(&mut st, SimFault::Apply) {
            return Err(StorageError::Injected("simulated write failure"));
        }
        st.pending.push(batch);
        st.counts.applies += 1;
        Ok(())
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        let mut st = self.lock();
        if Self::fire(&mut st, SimFault::Sync) {
            return Err(StorageError::Injected("simulated fsync failure"));
        }
        let pending = std::mem::take(&mut st.pending);
        for b in pending {
            b.apply_to(&mut st.durable);
        }
        st.counts.syncs += 1;
        Ok(())
    }
    fn side_put(&mut self, name: &str, value: &[u8], _durable: bool) -> Result<(), StorageError> {
        self.lock().side.put(name, value)
    }
    fn side_get(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.lock().side.get(name))
    }
    fn side_remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.lock().side.remove(name);
        Ok(())
    }
    fn side_names(&self) -> Result<Vec<String>, StorageError> {
        Ok(self.lock().side.names())
    }
    fn blob_put(&mut self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        let mut st = self.lock();
        if Self::fire(&mut st, SimFault::Apply) {
            return Err(StorageError::Injected("simulated write failure"));
        }
        st.blobs.put(name, value)
    }
    fn blob_read(
        &self,
        name: &str,
        offset: u64,
        len: usize,
        buf: &mut Vec<u8>,
    ) -> Result<bool, StorageError> {
        Ok(self.lock().blobs.read(name, offset, len, buf))
    }
    fn blob_remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.lock().blobs.remove(name);
        Ok(())
    }
    fn blob_names(&self) -> Result<Vec<String>, StorageError> {
        Ok(self.lock().blobs.names())
    }
}

/// Wraps a storage and fails chosen operations: the test double through
/// which tests "crash" the journal between a write and its sync.
pub struct FaultyStorage<S> {
    inner: S,
    /// Faults still to fire, in order.
    pub faults: Arc<Mutex<Vec<Fault>>>,
    /// Every call, in order (`apply`, `sync`).
    pub calls: CallLog,
}

impl<S: Storage> FaultyStorage<S> {
    /// Wraps `inner` with no faults planned.
    pub fn new(inner: S) -> Self {
        FaultyStorage {
            inner,
            faults: Arc::default(),
            calls: Arc::default(),
        }
    }

    fn take_fault(&self, f: Fault) -> bool {
        let mut faults = match self.faults.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if faults.first() == Some(&f) {
            faults.remove(0);
            true
        } else {
            false
        }
    }

    fn log(&self, call: &'static str) {
        match self.calls.lock() {
            Ok(mut g) => g.push(call),
            Err(p) => p.into_inner().push(call),
        }
    }
}

impl<S: Storage> Storage for FaultyStorage<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        if self.take_fault(Fault::Get) {
            return Err(StorageError::Injected("get"));
        }
        self.inner.get(key)
    }
    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Pairs, StorageError> {
        self.inner.range(start, end, limit)
    }
    fn for_each(&self, start: &[u8], end: &[u8], f: Visit<'_>) -> Result<(), StorageError> {
        self.inner.for_each(start, end, f)
    }
    fn last_at_or_before(&self, start: &[u8], at: &[u8]) -> Result<Option<Pair>, StorageError> {
        self.inner.last_at_or_before(start, at)
    }
    fn apply(&mut self, batch: WriteBatch) -> Result<(), StorageError> {
        self.log("apply");
        if self.take_fault(Fault::Apply) {
            return Err(StorageError::Injected("apply"));
        }
        self.inner.apply(batch)
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        self.log("sync");
        if self.take_fault(Fault::Sync) {
            return Err(StorageError::Injected("sync"));
        }
        self.inner.sync()
    }
    fn side_put(&mut self, name: &str, value: &[u8], durable: bool) -> Result<(), StorageError> {
        self.inner.side_put(name, value, durable)
    }
    fn side_get(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.side_get(name)
    }
    fn side_remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.inner.side_remove(name)
    }
    fn side_names(&self) -> Result<Vec<String>, StorageError> {
        self.inner.side_names()
    }
    /// Never fails: the faults are for the batch and its sync, which come
    /// after a blob.
    fn blob_put(&mut self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        self.log("blob_put");
        self.inner.blob_put(name, value)
    }
    fn blob_read(
        &self,
        name: &str,
        offset: u64,
        len: usize,
        buf: &mut Vec<u8>,
    ) -> Result<bool, StorageError> {
        self.inner.blob_read(name, offset, len, buf)
    }
    fn blob_remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.inner.blob_remove(name)
    }
    fn blob_names(&self) -> Result<Vec<String>, StorageError> {
        self.inner.blob_names()
    }
}

/// sled 0.34, with fsync after flush.
///
/// sled's `flush()` on Linux uses `sync_file_range`, which does not make
/// file metadata durable (sled issue 1452). After each flush this engine
/// therefore calls `fsync` on every file of the database, so that an
/// acknowledged batch survives power loss.
pub struct SledStorage {
    /// Dropped by hand: see [`Drop for SledStorage`](#impl-Drop-for-SledStorage).
    db: std::mem::ManuallyDrop<sled::Db>,
    /// A write or sync failed: sled may be wedged.
    failed: bool,
    dir: PathBuf,
    /// Files already made durable that sled never rewrites in place (its
    /// blobs and snapshots are written once under a new name): they need no
    /// second fsync. Only the log (`db`) and new files are synced each time,
    /// so a sync costs the same on a ledger of ten events or ten million.
    synced: std::collections::HashSet<PathBuf>,
    /// The names in each directory at its last fsync.
    dir_names: std::collections::HashMap<PathBuf, std::collections::BTreeSet<std::ffi::OsString>>,
    /// Where side entries are files ([`SledStorage::side_dir_of`]).
    side: PathBuf,
    /// Where blobs are files ([`SledStorage::blob_dir_of`]).
    blobs: PathBuf,
    /// The blob read last, open (a scan reads one blob's parts in a row).
    blob_file: Mutex<Option<(String, Arc<std::fs::File>)>>,
}

fn engine(e: sled::Error) -> StorageError {
    match e {
        sled::Error::Io(io) => StorageError::Io(io),
        other => StorageError::Engine(other.to_string()),
    }
}

/// The sled page cache, bounded so that a ledger of millions of events does
/// not take all memory.
pub const SLED_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// The size of sled's log segments in a new ledger. sled stores a page
/// larger than a quarter of a segment as a separate "blob" file, and on
/// opening reads back every blob written since its last snapshot. Measured
/// on 10M events (docs/PERFORMANCE.md): sled's default 512 KiB segments
/// gave a 3.0 GB ledger that took 0.35 s to open; 2 MiB segments 2.1 GB and
/// 0.08 s; 8 MiB 1.97 GB and 0.16 s. sled refuses to change a database's
/// segment size, so a ledger keeps the size it was created with
/// ([`segment_size_of`]).
pub const SLED_SEGMENT_BYTES: usize = 2 << 20;

/// The segment size a sled database in `dir` was created with (its `conf`
/// file), if it exists.
pub fn segment_size_of(dir: &Path) -> Option<usize> {
    // Text lines, then sled's binary checksum.
    let bytes = std::fs::read(dir.join("conf")).ok()?;
    String::from_utf8_lossy(&bytes)
        .lines()
        .find_map(|l| l.strip_prefix("segment_size: "))
        .and_then(|v| v.trim().parse().ok())
}

impl SledStorage {
    /// Opens (or creates) the sled database in `dir`.
    pub fn open(dir: &Path) -> Result<SledStorage, StorageError> {
        let created = !dir.exists();
        let segment = segment_size_of(dir).unwrap_or(SLED_SEGMENT_BYTES);
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(SLED_CACHE_BYTES)
            .segment_size(segment)
            .open()
            .map_err(engine)?;
        let mut s = SledStorage {
            db: std::mem::ManuallyDrop::new(db),
            failed: false,
            dir: dir.to_path_buf(),
            synced: std::collections::HashSet::new(),
            dir_names: std::collections::HashMap::new(),
            side: Self::side_dir_of(dir),
            blobs: Self::blob_dir_of(dir),
            blob_file: Mutex::new(None),
        };
        if created {
            s.sync()?;
            if let Some(parent) = dir.parent() {
                fsync_dir(parent)?;
            }
        }
        Ok(s)
    }

    /// The directory of the database.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the side entries of the database in `dir` are kept: the
    /// directory `checkpoints` beside it (outside sled: sled rewrites every
    /// free segment of its log on each open, so hundreds of megabytes of
    /// states written and removed inside it would slow every open).
    pub fn side_dir_of(dir: &Path) -> PathBuf {
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join(SIDE_DIR),
            _ => dir.join(SIDE_DIR),
        }
    }

    /// Where the blobs of the database in `dir` are kept: the directory
    /// `chunks` beside it. sled keeps in memory every page a scan reads
    /// (its cache counts a large page at the size of a pointer), so the
    /// journal's large chunks are files of their own, read with plain
    /// reads that leave nothing behind.
    pub fn blob_dir_of(dir: &Path) -> PathBuf {
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join(BLOB_DIR),
            _ => dir.join(BLOB_DIR),
        }
    }

    fn blob_path(&self, name: &str) -> Result<PathBuf, StorageError> {
        if !side_name_ok(name) {
            return Err(StorageError::Engine(format!(
                "invalid chunk file name {name:?}"
            )));
        }
        Ok(self.blobs.join(name))
    }

    fn side_path(&self, name: &str) -> Result<PathBuf, StorageError> {
        if !side_name_ok(name) {
            return Err(bad_side_name(name));
        }
        Ok(self.side.join(name))
    }

    /// The file of side entry `name`, open for reading (`None`: no entry).
    fn open_side(&self, name: &str) -> Result<Option<std::fs::File>, StorageError> {
        match std::fs::File::open(self.side_path(name)?) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// All of `file`, read into memory sized from its length. A checkpoint's
/// state is hundreds of megabytes: its fresh pages are made ready on
/// another core while it is read.
fn read_whole(mut file: std::fs::File) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(0);
    let mut v = Vec::new();
    v.try_reserve_exact(len.saturating_add(1))
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::OutOfMemory))?;
    let ready = [crate::par::room_of(&v, len)];
    crate::par::with_pages_ready(&ready, || file.read_to_end(&mut v))?;
    Ok(v)
}

/// The name of the side directory ([`SledStorage::side_dir_of`]).
pub const SIDE_DIR: &str = "checkpoints";
/// The name of the blob directory ([`SledStorage::blob_dir_of`]).
pub const BLOB_DIR: &str = "chunks";
/// The suffix of a side file being written (never read as an entry).
const SIDE_TMP: &str = ".tmp";

fn fsync_dir(dir: &Path) -> Result<(), StorageError> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// The file sled appends to and rewrites: synced every time.
const SLED_LOG_FILE: &str = "db";

impl SledStorage {
    /// fsyncs sled's log, every file not synced before, and each directory
    /// whose names changed since the last sync (so that new and removed
    /// names are durable too). A sync of an unchanged directory costs no
    /// device flush.
    fn fsync_files(&mut self, dir: &Path) -> Result<(), StorageError> {
        let mut names = std::collections::BTreeSet::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            // sled's own threads delete and rename files (blobs, snapshots)
            // while this runs: a file gone since the listing has nothing
            // left to make durable, and a name that appears is listed by
            // the next sync (the directory's names changed).
            let synced = (|| -> std::io::Result<()> {
                let ty = entry.file_type()?;
                if ty.is_dir() {
                    return Ok(());
                }
                if ty.is_file() {
                    let is_log = dir == self.dir && entry.file_name() == SLED_LOG_FILE;
                    if is_log || !self.synced.contains(&path) {
                        std::fs::File::open(&path)?.sync_all()?;
                        self.synced.insert(path.clone());
                    }
                }
                Ok(())
            })();
            match synced {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                self.fsync_files(&path)?;
            }
            names.insert(entry.file_name());
        }
        if self.dir_names.get(dir) != Some(&names) {
            fsync_dir(dir)?;
            self.dir_names.insert(dir.to_path_buf(), names);
        }
        Ok(())
    }
}

impl Storage for SledStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.db.get(key).map_err(engine)?.map(|v| v.to_vec()))
    }
    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Pairs, StorageError> {
        if start >= end {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for kv in self.db.range(start..end).take(limit) {
            let (k, v) = kv.map_err(engine)?;
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }
    fn for_each(&self, start: &[u8], end: &[u8], f: Visit<'_>) -> Result<(), StorageError> {
        if start < end {
            for kv in self.db.range(start..end) {
                let (k, v) = kv.map_err(engine)?;
                if !f(&k, &v) {
                    break;
                }
            }
        }
        Ok(())
    }
    fn last_at_or_before(&self, start: &[u8], at: &[u8]) -> Result<Option<Pair>, StorageError> {
        if start > at {
            return Ok(None);
        }
        match self.db.range(start..=at).next_back() {
            Some(kv) => {
                let (k, v) = kv.map_err(engine)?;
                Ok(Some((k.to_vec(), v.to_vec())))
            }
            None => Ok(None),
        }
    }
    fn apply(&mut self, batch: WriteBatch) -> Result<(), StorageError> {
        let mut b = sled::Batch::default();
        for (k, v) in batch.puts {
            b.insert(k, v);
        }
        for k in batch.deletes {
            b.remove(k);
        }
        let r = self.db.apply_batch(b).map_err(engine);
        self.failed |= r.is_err();
        r
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        let r = self.db.flush().map_err(engine).and_then(|_| {
            let dir = self.dir.clone();
            self.fsync_files(&dir)
        });
        self.failed |= r.is_err();
        r
    }
    fn side_put(&mut self, name: &str, value: &[u8], durable: bool) -> Result<(), StorageError> {
        self.side_put_pieces(name, &[value], durable)
    }
    fn side_put_pieces(
        &mut self,
        name: &str,
        pieces: &[&[u8]],
        durable: bool,
    ) -> Result<(), StorageError> {
        if !side_name_ok(name) {
            return Err(bad_side_name(name));
        }
        if !self.side.is_dir() {
            std::fs::create_dir_all(&self.side)?;
            if let Some(parent) = self.side.parent() {
                fsync_dir(parent)?;
            }
        }
        // The temporary name is the process's own, so two processes never
        // share one.
        let tmp = format!("{name}.{}{SIDE_TMP}", std::process::id());
        Ok(replace_file_pieces(
            &self.side, name, &tmp, pieces, durable,
        )?)
    }
    fn side_get(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match self.open_side(name)? {
            Some(file) => Ok(Some(read_whole(file)?)),
            None => Ok(None),
        }
    }
    #[cfg(unix)]
    fn side_bytes(&self, name: &str) -> Result<Option<SideBytes>, StorageError> {
        let Some(file) = self.open_side(name)? else {
            return Ok(None);
        };
        // Mapped, not read: reading copied the file into as much fresh
        // memory, which the system must first clear (on this project's
        // virtual machines, 1.5-2.5 ms a megabyte after idle). Where the
        // file cannot be mapped, it is read. (A mapped page the disk fails
        // to read back later ends the process with SIGBUS, where a read
        // would have returned the error: the price of not copying.)
        // SAFETY: side entries are written aside and renamed over the old
        // ones (`side_put`, `replace_file`), never written in place or
        // shortened, so the mapped file never changes.
        match unsafe { Mapping::of(&file) } {
            Ok(Some(m)) => Ok(Some(SideBytes::Mapped(m))),
            Ok(None) => Ok(Some(SideBytes::Owned(Vec::new()))),
            Err(_) => Ok(Some(SideBytes::Owned(read_whole(file)?))),
        }
    }
    fn side_remove(&mut self, name: &str) -> Result<(), StorageError> {
        match std::fs::remove_file(self.side_path(name)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
    fn side_names(&self) -> Result<Vec<String>, StorageError> {
        names_in(&self.side)
    }
    fn blob_put(&mut self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        // Refuses a name that is not one.
        self.blob_path(name)?;
        if !self.blobs.is_dir() {
            std::fs::create_dir_all(&self.blobs)?;
            if let Some(parent) = self.blobs.parent() {
                fsync_dir(parent)?;
            }
        }
        // A blob of that name can only be one no batch refers to (the
        // journal removes those before writing): forget it if open.
        self.forget_blob_file(name);
        // Files half written by a writer that crashed (blobs are written
        // only under the ledger's exclusive lock, so no other is writing).
        for entry in std::fs::read_dir(&self.blobs)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "tmp") && path.is_file() {
                std::fs::remove_file(&path)?;
            }
        }
        let tmp = format!("{name}.{}{SIDE_TMP}", std::process::id());
        let r = replace_file(&self.blobs, name, &tmp, value, true);
        if r.is_err() {
            let _ = std::fs::remove_file(self.blobs.join(&tmp));
        }
        Ok(r?)
    }
    fn blob_read(
        &self,
        name: &str,
        offset: u64,
        len: usize,
        buf: &mut Vec<u8>,
    ) -> Result<bool, StorageError> {
        use std::os::unix::fs::FileExt;
        let file = {
            let mut open = match self.blob_file.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            match open.as_ref().filter(|(n, _)| n == name) {
                Some((_, f)) => f.clone(),
                None => {
                    let f = match std::fs::File::open(self.blob_path(name)?) {
                        Ok(f) => Arc::new(f),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            buf.clear();
                            return Ok(false);
                        }
                        Err(e) => return Err(e.into()),
                    };
                    *open = Some((name.to_string(), f.clone()));
                    f
                }
            }
        };
        // A length beyond the file (a damaged reference) is "too short",
        // not an allocation of that size.
        let size = file.metadata()?.len();
        if offset.checked_add(len as u64).is_none_or(|end| end > size) {
            buf.clear();
            return Ok(false);
        }
        // A buffer handed back for reuse is already long enough: cut to
        // length, not cleared and zeroed again (the read overwrites it).
        buf.truncate(len);
        buf.resize(len, 0);
        match file.read_exact_at(buf, offset) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                buf.clear();
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
    fn blob_remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.forget_blob_file(name);
        match std::fs::remove_file(self.blob_path(name)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
    fn blob_names(&self) -> Result<Vec<String>, StorageError> {
        // Files only: anything else in the directory is not ours.
        Ok(names_in(&self.blobs)?
            .into_iter()
            .filter(|n| self.blobs.join(n).is_file())
            .collect())
    }
}

impl SledStorage {
    fn forget_blob_file(&self, name: &str) {
        let mut open = match self.blob_file.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if open.as_ref().is_some_and(|(n, _)| n == name) {
            *open = None;
        }
    }
}

/// The entry names in `dir` (none when it does not exist), in name order,
/// leaving out files being written.
fn names_in(dir: &Path) -> Result<Vec<String>, StorageError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        if let Some(n) = name.to_str() {
            if side_name_ok(n) && !n.ends_with(SIDE_TMP) {
                out.push(n.to_string());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Replaces the file `dir/name` with `bytes`, atomically: written to
/// `dir/tmp`, then renamed over it, so a crash leaves the old file or the
/// new one, never a part. When `durable`, the file is synced before the
/// rename and the directory after it.
pub fn replace_file(
    dir: &Path,
    name: &str,
    tmp: &str,
    bytes: &[u8],
    durable: bool,
) -> std::io::Result<()> {
    replace_file_pieces(dir, name, tmp, &[bytes], durable)
}

/// [`replace_file`] with the pieces one after another.
fn replace_file_pieces(
    dir: &Path,
    name: &str,
    tmp: &str,
    pieces: &[&[u8]],
    durable: bool,
) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = dir.join(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    for bytes in pieces {
        f.write_all(bytes)?;
    }
    if durable {
        f.sync_all()?;
    }
    drop(f);
    std::fs::rename(&tmp, dir.join(name))?;
    if durable {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl Drop for SledStorage {
    /// sled flushes when its database is dropped, and after a failed write
    /// (a full disk) that flush waits for ever. Nothing unsynced was
    /// acknowledged, so after a failure the database is left as a crash
    /// would leave it (sled recovers on the next open); otherwise it is
    /// closed normally.
    fn drop(&mut self) {
        if !self.failed {
            // SAFETY: `db` is not used after this, and dropped only here.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.db) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(s: &mut dyn Storage) {
        let mut b = WriteBatch::default();
        b.put(b"c\x00\x01".to_vec(), b"one".to_vec());
        b.put(b"c\x00\x05".to_vec(), b"five".to_vec());
        b.put(b"m".to_vec(), b"meta".to_vec());
        s.apply(b).unwrap();
        s.sync().unwrap();
        assert_eq!(s.get(b"m").unwrap(), Some(b"meta".to_vec()));
        assert_eq!(s.range(b"c", b"d", 10).unwrap().len(), 2);
        assert_eq!(s.range(b"c", b"d", 1).unwrap().len(), 1);
        let (k, _) = s.last_at_or_before(b"c", b"c\x00\x04").unwrap().unwrap();
        assert_eq!(k, b"c\x00\x01".to_vec());
        assert!(s.last_at_or_before(b"c", b"c\x00\x00").unwrap().is_none());
        let mut seen = Vec::new();
        s.for_each(b"c", b"n", &mut |k, v| {
            seen.push((k.to_vec(), v.to_vec()));
            seen.len() < 2
        })
        .unwrap();
        assert_eq!(seen, s.range(b"c", b"n", 2).unwrap());
        // Side entries.
        assert!(s.side_names().unwrap().is_empty());
        assert_eq!(s.side_get("tally-1").unwrap(), None);
        s.side_put("tally-2", b"two", true).unwrap();
        s.side_put("tally-1", b"one", false).unwrap();
        s.side_put("tally-1", b"uno", true).unwrap();
        assert_eq!(s.side_get("tally-1").unwrap(), Some(b"uno".to_vec()));
        assert_eq!(
            s.side_bytes("tally-1").unwrap().as_deref(),
            Some(&b"uno"[..])
        );
        assert!(s.side_bytes("tally-9").unwrap().is_none());
        // Bytes read (or mapped) keep what they held when the entry is
        // replaced meanwhile.
        let held = s.side_bytes("tally-1").unwrap().unwrap();
        s.side_put("tally-1", b"eins", true).unwrap();
        assert_eq!(&held[..], b"uno");
        drop(held);
        assert_eq!(
            s.side_bytes("tally-1").unwrap().as_deref(),
            Some(&b"eins"[..])
        );
        s.side_put("tally-0", b"", true).unwrap();
        assert_eq!(s.side_bytes("tally-0").unwrap().as_deref(), Some(&b""[..]));
        // Written in pieces, read as one value.
        s.side_put_pieces("tally-3", &[b"ab", b"", b"cde"], true)
            .unwrap();
        assert_eq!(s.side_get("tally-3").unwrap(), Some(b"abcde".to_vec()));
        assert!(s.side_put_pieces("../x", &[b"x"], true).is_err());
        s.side_remove("tally-3").unwrap();
        s.side_remove("tally-0").unwrap();
        assert_eq!(s.side_names().unwrap(), ["tally-1", "tally-2"]);
        s.side_remove("tally-2").unwrap();
        s.side_remove("tally-2").unwrap();
        assert_eq!(s.side_names().unwrap(), ["tally-1"]);
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(s.side_put(bad, b"x", true).is_err(), "{bad:?}");
            assert!(s.blob_put(bad, b"x").is_err(), "{bad:?}");
        }
        // Blobs: read in parts; a part beyond the end is "no".
        assert!(s.blob_names().unwrap().is_empty());
        s.blob_put("0001-0002", b"hello, chunks").unwrap();
        let mut buf = vec![9; 3];
        assert!(s.blob_read("0001-0002", 7, 6, &mut buf).unwrap());
        assert_eq!(buf, b"chunks");
        assert!(!s.blob_read("0001-0002", 8, 6, &mut buf).unwrap());
        assert!(!s.blob_read("0001-0002", u64::MAX - 2, 6, &mut buf).unwrap());
        assert!(!s
            .blob_read("0001-0002", 0, usize::MAX / 2, &mut buf)
            .unwrap());
        assert!(!s.blob_read("0001-0003", 0, 1, &mut buf).unwrap());
        assert_eq!(s.blob_names().unwrap(), ["0001-0002"]);
        s.blob_remove("0001-0002").unwrap();
        s.blob_remove("0001-0002").unwrap();
        assert!(s.blob_names().unwrap().is_empty());
    }

    #[test]
    fn mem_and_sled_agree_on_the_trait() {
        exercise(&mut MemStorage::default());
        let dir = tempfile::tempdir().unwrap();
        exercise(&mut SledStorage::open(&dir.path().join("db")).unwrap());
        // Side entries are files beside the database, outside sled's.
        assert!(dir.path().join(SIDE_DIR).join("tally-1").is_file());
    }

    #[test]
    fn a_blob_half_written_by_a_crashed_writer_is_removed_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SledStorage::open(&dir.path().join("db")).unwrap();
        s.blob_put("0001-0002", b"first").unwrap();
        let blobs = dir.path().join(BLOB_DIR);
        let left = blobs.join("0003-0004.4242.tmp");
        std::fs::write(&left, b"half").unwrap();
        std::fs::create_dir(blobs.join("not-ours")).unwrap();
        assert_eq!(s.blob_names().unwrap(), ["0001-0002"]);
        s.blob_put("0003-0004", b"second").unwrap();
        assert!(!left.exists());
        assert!(blobs.join("not-ours").is_dir());
        assert_eq!(s.blob_names().unwrap(), ["0001-0002", "0003-0004"]);
    }

    #[test]
    fn faulty_storage_fails_the_planned_call_only() {
        let mut s = FaultyStorage::new(MemStorage::default());
        s.faults.lock().unwrap().push(Fault::Apply);
        let mut b = WriteBatch::default();
        b.put(b"k".to_vec(), b"v".to_vec());
        assert!(s.apply(b.clone()).is_err());
        assert_eq!(s.get(b"k").unwrap(), None);
        s.apply(b).unwrap();
        assert_eq!(s.get(b"k").unwrap(), Some(b"v".to_vec()));
    }
}
