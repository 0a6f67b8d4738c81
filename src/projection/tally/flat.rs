//! The fold's two big tables. At ten million events their lookups were
//! most of a report's time (docs/PERFORMANCE.md).
//!
//! [`IdTable`] interns the council's ids: an open-addressing array with the
//! key inside the slot, so that a lookup touches one slot (one cache line,
//! usually), where a general hash map reads a control byte and then the
//! slot, two cache misses apiece on tables of hundreds of megabytes.
//! Linear probing over a power-of-two array, grown at 3/4 full; the hashes
//! are fixed (no random seed), so a table's layout is a function of what
//! was inserted. Keys come from the council's own ids: a council could
//! make its ids collide on purpose and slow its own reports, nothing more.
//!
//! [`AggTable`] holds the (menu, subject) pairs, found by the dense numbers
//! the interners give, without hashing.

use super::{Agg, SubjectState};

/// Folded multiply: the high and low halves of the 128-bit product, mixed.
#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const K3: u64 = 0x1656_67B1_9E37_79F9;

/// The hash of an id's bytes.
#[inline]
pub(super) fn hash_bytes(b: &[u8]) -> u64 {
    if b.len() <= 16 {
        let mut buf = [0u8; 16];
        buf[..b.len()].copy_from_slice(b);
        let lo = u64::from_le_bytes(buf[..8].try_into().unwrap_or_default());
        let hi = u64::from_le_bytes(buf[8..].try_into().unwrap_or_default());
        return mix(lo ^ K1, hi ^ K2 ^ (b.len() as u64)).wrapping_mul(K3);
    }
    let mut h = K2 ^ (b.len() as u64);
    for w in b.chunks(8) {
        let mut buf = [0u8; 8];
        buf[..w.len()].copy_from_slice(w);
        h = mix(h ^ u64::from_le_bytes(buf), K1);
    }
    h.wrapping_mul(K3)
}

/// `vec![value; n]`, its fresh pages made ready on another core as it
/// is written ([`crate::par::with_pages_ready`]).
pub(crate) fn filled<T: Clone>(n: usize, value: T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    let ready = [crate::par::room_of(&v, n)];
    crate::par::with_pages_ready(&ready, || v.resize(n, value));
    v
}

/// Hints the CPU to bring `p`'s cache line in (a no-op off x86-64).
#[inline]
pub(super) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address; the pointer
    // is never dereferenced.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// The first slot to probe for `hash` in a table of `2^bits` slots.
#[inline]
fn home(hash: u64, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (hash >> (64 - bits)) as usize
    }
}

/// A slot of an open-addressing table: empty, or holding a key whose
/// hash places it.
trait Slot: Copy {
    /// What fills an empty slot.
    const EMPTY: Self;
    fn is_empty(&self) -> bool;
}

/// Open-addressing slots: linear probing over a power-of-two array, grown
/// at 3/4 full. The tables below say how a slot's key hashes and matches.
struct Slots<T> {
    slots: Vec<T>,
    bits: u32,
    len: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            slots: Vec::new(),
            bits: 0,
            len: 0,
        }
    }
}

impl<T: Slot> Slots<T> {
    /// Room for `n` keys without growing; `hash_of` hashes a full slot.
    fn reserve(&mut self, n: usize, hash_of: impl Fn(&T) -> u64) {
        let mut bits = self.bits.max(4);
        while (1usize << bits) * 3 / 4 < n {
            bits += 1;
        }
        if bits == self.bits && !self.slots.is_empty() {
            return;
        }
        let old = std::mem::replace(&mut self.slots, filled(1 << bits, T::EMPTY));
        self.bits = bits;
        for s in old.into_iter().filter(|s| !s.is_empty()) {
            match self.probe(hash_of(&s), |_| false) {
                Ok(i) | Err(i) => self.slots[i] = s,
            }
        }
    }

    /// Room for one more key.
    #[inline]
    fn room_for_one(&mut self, hash_of: impl Fn(&T) -> u64) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.reserve(self.len + 1, hash_of);
        }
    }

    /// Where the key hashed to `hash` is (`Ok`), or the empty slot where it
    /// would go (`Err`). The table must have slots.
    #[inline]
    fn probe(&self, hash: u64, is_key: impl Fn(&T) -> bool) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = home(hash, self.bits);
        loop {
            let slot = &self.slots[i];
            if slot.is_empty() {
                return Err(i);
            }
            if is_key(slot) {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Brings the slot the key hashed to `hash` would be found at into the
    /// cache.
    #[inline]
    fn prefetch(&self, hash: u64) {
        if !self.slots.is_empty() {
            let at = self.slots.as_ptr().wrapping_add(home(hash, self.bits));
            prefetch(at);
            // And the next line: a probe often runs on past the first.
            prefetch(at.cast::<u8>().wrapping_add(64));
        }
    }

    /// The full slots, in slot order.
    fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.slots.iter().filter(|s| !s.is_empty())
    }
}

/// Ids up to this many bytes are kept inside the slot.
pub(super) const INLINE: usize = 16;
/// `IdSlot::len` of an id kept in [`IdTable::long`] (its index in `key`).
const LONG: u8 = u8::MAX;
/// `IdSlot::id` of an empty slot.
const EMPTY_ID: u32 = u32::MAX;

/// One interned id, its number and its state.
#[derive(Clone, Copy)]
struct IdSlot {
    key: [u8; INLINE],
    id: u32,
    state: SubjectState,
    len: u8,
}

impl Slot for IdSlot {
    const EMPTY: IdSlot = IdSlot {
        key: [0; INLINE],
        id: EMPTY_ID,
        state: SubjectState {
            first_attendance: super::NONE_DAY,
            places: 0,
        },
        len: 0,
    };
    fn is_empty(&self) -> bool {
        self.id == EMPTY_ID
    }
}

/// Ids interned to dense `u32`s, with their [`SubjectState`].
#[derive(Default)]
pub(super) struct IdTable {
    slots: Slots<IdSlot>,
    /// Ids longer than [`INLINE`] bytes.
    long: Vec<Box<str>>,
}

impl IdTable {
    /// How many ids.
    pub fn len(&self) -> usize {
        self.slots.len
    }

    fn key_of<'a>(long: &'a [Box<str>], slot: &'a IdSlot) -> &'a [u8] {
        if slot.len == LONG {
            let i = u32::from_le_bytes([slot.key[0], slot.key[1], slot.key[2], slot.key[3]]);
            long.get(i as usize).map_or(&[], |s| s.as_bytes())
        } else {
            &slot.key[..usize::from(slot.len)]
        }
    }

    /// Room for `n` ids without growing.
    pub fn reserve(&mut self, n: usize) {
        let long = &self.long;
        self.slots.reserve(n, |s| hash_bytes(Self::key_of(long, s)));
    }

    /// Brings the slot of the id whose [`hash_bytes`] is `hash` into the
    /// cache.
    #[inline]
    pub fn prefetch_hashed(&self, hash: u64) {
        self.slots.prefetch(hash);
    }

    /// The id of `s` and its state, interning it when new.
    pub fn intern(&mut self, s: &str) -> (u32, &mut SubjectState) {
        self.intern_hashed(s, hash_bytes(s.as_bytes()))
    }

    /// [`IdTable::intern`] of `s`, whose [`hash_bytes`] is `hash` (worked
    /// out ahead, on another thread).
    pub fn intern_hashed(&mut self, s: &str, hash: u64) -> (u32, &mut SubjectState) {
        debug_assert_eq!(hash, hash_bytes(s.as_bytes()));
        let i = match self.find_or_room_hashed(s, hash) {
            Ok(i) => i,
            Err(i) => {
                let id = self.slots.len as u32;
                self.place(i, s, id, SubjectState::default())
            }
        };
        let slot = &mut self.slots.slots[i];
        (slot.id, &mut slot.state)
    }

    /// Puts `s` in with the number `id` and state `state` (reading a saved
    /// table back: in slot order, each lands at or next to where it was,
    /// so the table is written nearly in order). `false`, and nothing
    /// changed, when `s` is there already.
    pub fn insert_with_id(&mut self, s: &str, id: u32, state: SubjectState) -> bool {
        match self.find_or_room(s) {
            Ok(_) => false,
            Err(i) => {
                self.place(i, s, id, state);
                true
            }
        }
    }

    /// The slot of `s` (`Ok`), or the empty slot it would take (`Err`),
    /// with room made for one more.
    fn find_or_room(&mut self, s: &str) -> Result<usize, usize> {
        self.find_or_room_hashed(s, hash_bytes(s.as_bytes()))
    }

    /// [`IdTable::find_or_room`] of `s`, whose hash is `hash`.
    fn find_or_room_hashed(&mut self, s: &str, hash: u64) -> Result<usize, usize> {
        let long = &self.long;
        self.slots
            .room_for_one(|slot| hash_bytes(Self::key_of(long, slot)));
        let bytes = s.as_bytes();
        if bytes.len() <= INLINE {
            // Compared as one 16-byte array (slots are zero past their
            // length), not byte by byte.
            let mut key = [0u8; INLINE];
            key[..bytes.len()].copy_from_slice(bytes);
            let len = bytes.len() as u8;
            return self
                .slots
                .probe(hash, |slot| slot.len == len && slot.key == key);
        }
        self.slots
            .probe(hash, |slot| Self::key_of(long, slot) == bytes)
    }

    /// Fills the empty slot `i` with `s`; returns `i`.
    fn place(&mut self, i: usize, s: &str, id: u32, state: SubjectState) -> usize {
        let bytes = s.as_bytes();
        let mut key = [0u8; INLINE];
        let len = if bytes.len() <= INLINE {
            key[..bytes.len()].copy_from_slice(bytes);
            bytes.len() as u8
        } else {
            key[..4].copy_from_slice(&(self.long.len() as u32).to_le_bytes());
            self.long.push(s.into());
            LONG
        };
        self.slots.len += 1;
        self.slots.slots[i] = IdSlot {
            key,
            id,
            state,
            len,
        };
        i
    }

    /// Every id: its number, bytes and state, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[u8], SubjectState)> + '_ {
        self.slots
            .iter()
            .map(|s| (s.id, Self::key_of(&self.long, s), s.state))
    }

    /// The states, indexed by id.
    pub fn states(&self) -> Vec<SubjectState> {
        let mut out = filled(self.len(), SubjectState::default());
        for (id, _, st) in self.iter() {
            out[id as usize] = st;
        }
        out
    }
}

/// The bits of an [`AggTable`] key that name its lane: the menu (bits 40
/// and up) and the kind of subject (bit 32). The subject's number is the
/// low 32 bits; the bits between are always 0.
const KEY_LANE_GAP: u64 = 0x7f << 33;

/// Whether `key` is an [`AggTable`] key (bits 33–39 clear).
pub(super) fn is_pair_key(key: u64) -> bool {
    key & KEY_LANE_GAP == 0
}

/// The lane of a pair key: `menu * 2 + kind`.
#[inline]
fn lane_of(key: u64) -> usize {
    (((key >> 40) << 1) | ((key >> 32) & 1)) as usize
}

/// The key of the pair at `subject` in lane `lane`: [`lane_of`]'s
/// inverse.
#[inline]
fn pair_key(lane: usize, subject: usize) -> u64 {
    ((lane as u64 >> 1) << 40) | ((lane as u64 & 1) << 32) | subject as u64
}

/// The most entries a lane is made with at once (1 GiB of address space;
/// [`AggTable::reserve`]).
const LANE_ROOM_MAX: usize = 1 << 28;

/// (menu, subject) pairs and their [`Agg`], without hashing: subjects are
/// numbered densely by the interners, so each lane (a menu and a kind of
/// subject) keeps, by subject number, where that subject's pair is in one
/// array of pairs kept in the order they first came. A lookup reads the
/// lane's entry (4 bytes a subject: a lane of a million people is 4 MB,
/// mostly in cache) and then the pair; nothing is rehashed as the table
/// grows, and the pairs take 40 bytes each with no empty slots (the open
/// table this replaced was a third to a half empty, and every doubling
/// wrote the whole new table; docs/PERFORMANCE.md). The cost: a lane
/// takes 4 bytes for every subject number up to the highest in it, so a
/// menu attended by few of millions of subjects holds a lane mostly empty
/// (with the usual ten or so menus, less than the hash table held; with
/// a hundred menus of a million people each, a few hundred megabytes).
#[derive(Default)]
pub(super) struct AggTable {
    /// By lane, then subject number: 1 + the pair's index (0: none).
    lanes: Vec<Vec<u32>>,
    /// By lane: 1 + the highest subject number in it (0: none), where the
    /// pairs are read from ([`AggTable::iter_part`]). A pair's key is
    /// where its lane entry is, so it is not kept with the pair (21 MB at
    /// 10M events).
    used: Vec<usize>,
    /// Each pair's aggregate, by index.
    aggs: Vec<Agg>,
    /// The room a lane takes when it is made ([`AggTable::reserve`]):
    /// zeroed by the allocator (pages taken only as written), and copied
    /// only if a subject's number goes past it.
    lane_room: usize,
}

impl AggTable {
    /// How many pairs.
    pub fn len(&self) -> usize {
        self.aggs.len()
    }

    /// The index of `key`'s pair.
    #[inline]
    fn index(&self, key: u64) -> Option<usize> {
        debug_assert!(is_pair_key(key), "{key:#x}");
        let at = self.lanes.get(lane_of(key))?.get(key as u32 as usize)?;
        (*at as usize).checked_sub(1)
    }

    /// Every pair's aggregate, with its index ([`AggTable::at_mut`]).
    pub fn slots(&self) -> impl Iterator<Item = (usize, &Agg)> + '_ {
        self.aggs.iter().enumerate()
    }

    /// The aggregate at index `i` (a number [`AggTable::slots`] or
    /// [`AggTable::entries_part`] gave).
    #[inline]
    pub fn at(&self, i: usize) -> Option<&Agg> {
        self.aggs.get(i)
    }

    /// The aggregate at index `i` (a number [`AggTable::slots`] gave).
    pub fn at_mut(&mut self, i: usize) -> Option<&mut Agg> {
        self.aggs.get_mut(i)
    }

    /// Room for `n` pairs without growing (the pairs' array; the lanes
    /// grow with the subjects' numbers).
    pub fn reserve(&mut self, n: usize) {
        // No lane holds more subjects than there are pairs. The room is
        // address space only: a lane's pages are written as its subjects'
        // numbers reach them (they are dense).
        self.lane_room = n;
        let more = n.saturating_sub(self.len());
        let _ = self.aggs.try_reserve_exact(more);
    }

    /// Brings the lane entry of `key` into the cache.
    #[inline]
    pub fn prefetch(&self, key: u64) {
        if let Some(lane) = self.lanes.get(lane_of(key)) {
            let i = key as u32 as usize;
            if i < lane.len() {
                prefetch(lane.as_ptr().wrapping_add(i));
            }
        }
    }

    /// Brings the pair of `key` into the cache, if it has one (reading
    /// its lane entry, best prefetched first: [`AggTable::prefetch`]).
    #[inline]
    pub fn prefetch_pair(&self, key: u64) {
        if let Some(i) = self.index(key) {
            prefetch(self.aggs.as_ptr().wrapping_add(i));
        }
    }

    /// The pair's aggregate, made by `new` when absent.
    pub fn entry(&mut self, key: u64, new: impl FnOnce() -> Agg) -> &mut Agg {
        let i = match self.index(key) {
            Some(i) => i,
            None => self.push(key, new()),
        };
        &mut self.aggs[i]
    }

    /// Adds the pair `key` (absent); its index.
    fn push(&mut self, key: u64, agg: Agg) -> usize {
        let (lane, id) = (lane_of(key), key as u32 as usize);
        if self.lanes.len() <= lane {
            self.lanes.resize_with(lane + 1, Vec::new);
            self.used.resize(lane + 1, 0);
        }
        self.used[lane] = self.used[lane].max(id + 1);
        let entries = &mut self.lanes[lane];
        if entries.len() <= id {
            // Doubled (or, the first time, as long as the table's room for
            // lanes), into zeroed memory whose pages the system gives only
            // as they are written; the old entries copied over.
            let len = (id + 1)
                .next_power_of_two()
                .max(1024)
                .max(self.lane_room.min(LANE_ROOM_MAX));
            let mut grown = vec![0u32; len];
            grown[..entries.len()].copy_from_slice(entries);
            *entries = grown;
        }
        let i = self.aggs.len();
        self.aggs.push(agg);
        entries[id] = (i + 1) as u32;
        i
    }

    /// The table of the pairs `keys[i]`, `aggs[i]`, in any order, or
    /// `None` when a key is twice or the two differ in length. The lanes
    /// are sized first and then filled with each entry's line prefetched
    /// well ahead: pairs in the order they first came put their subjects'
    /// entries at random in the lanes, and inserting them one by one
    /// stalled on each (a saved state of 2.6M pairs spent a third of its
    /// reading there). A saved state lists them by key, so its lanes fill
    /// in order.
    pub fn from_pairs(keys: Vec<u64>, aggs: Vec<Agg>) -> Option<AggTable> {
        if keys.len() != aggs.len() || u32::try_from(keys.len()).is_err() {
            return None;
        }
        // Each lane's length (its highest subject number + 1) and pairs.
        let mut lens: Vec<(usize, usize)> = Vec::new();
        for &key in &keys {
            if !is_pair_key(key) {
                return None;
            }
            let lane = lane_of(key);
            if lens.len() <= lane {
                lens.resize(lane + 1, (0, 0));
            }
            let (len, pairs) = &mut lens[lane];
            *len = (*len).max(key as u32 as usize + 1);
            *pairs += 1;
        }
        // The lengths `push` would have grown them to.
        let mut lanes: Vec<Vec<u32>> = lens
            .iter()
            .map(|&(n, _)| match n {
                0 => Vec::new(),
                n => vec![0u32; n.next_power_of_two().max(1024)],
            })
            .collect();
        const AHEAD: usize = 16;
        // Lanes at least an eighth full are made ready on another core
        // (a sparse lane's untouched pages are left untaken).
        let ready: Vec<(usize, usize)> = lanes
            .iter()
            .zip(&lens)
            .filter(|(_, &(n, pairs))| pairs.saturating_mul(8) >= n)
            .map(|(lane, &(n, _))| crate::par::room_of(lane, n))
            .collect();
        let filled = crate::par::with_pages_ready(&ready, || {
            for (i, &key) in keys.iter().enumerate() {
                if let Some(&next) = keys.get(i + AHEAD) {
                    let lane = &lanes[lane_of(next)];
                    prefetch(lane.as_ptr().wrapping_add(next as u32 as usize));
                }
                let entry = &mut lanes[lane_of(key)][key as u32 as usize];
                if *entry != 0 {
                    return false;
                }
                *entry = (i + 1) as u32;
            }
            true
        });
        if !filled {
            return None;
        }
        Some(AggTable {
            lanes,
            used: lens.iter().map(|&(n, _)| n).collect(),
            aggs,
            lane_room: 0,
        })
    }

    /// Adds a pair; `false` (and nothing changed) when it is there.
    #[cfg(test)]
    pub fn insert(&mut self, key: u64, agg: Agg) -> bool {
        if self.index(key).is_some() {
            return false;
        }
        self.push(key, agg);
        true
    }

    /// The pair's aggregate, to change.
    pub fn get_mut(&mut self, key: u64) -> Option<&mut Agg> {
        let i = self.index(key)?;
        self.aggs.get_mut(i)
    }

    /// The pair's aggregate.
    pub fn get(&self, key: u64) -> Option<&Agg> {
        self.aggs.get(self.index(key)?)
    }

    /// Every pair, by key (lane, then subject number).
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Agg)> + '_ {
        self.iter_part(0, 1)
    }

    /// The keys and indices of part `part` of `parts` near-equal runs of
    /// the lanes' entries (empty ones included); the parts together are
    /// every pair, by key.
    pub fn entries_part(
        &self,
        part: usize,
        parts: usize,
    ) -> impl Iterator<Item = (u64, usize)> + '_ {
        let total: usize = self.used.iter().sum();
        let per = total.div_ceil(parts.max(1));
        let start = part.saturating_mul(per).min(total);
        let end = start.saturating_add(per).min(total);
        let mut at = 0usize;
        self.lanes
            .iter()
            .zip(&self.used)
            .enumerate()
            .flat_map(move |(lane, (entries, &used))| {
                let from = at;
                at += used;
                let lo = start.clamp(from, at) - from;
                let hi = end.clamp(from, at) - from;
                entries
                    .get(lo..hi)
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                    .filter_map(move |(i, &e)| {
                        let key = pair_key(lane, lo + i);
                        (e as usize).checked_sub(1).map(|ix| (key, ix))
                    })
            })
    }

    /// [`AggTable::entries_part`] with each pair's aggregate.
    pub fn iter_part(&self, part: usize, parts: usize) -> impl Iterator<Item = (u64, &Agg)> + '_ {
        self.entries_part(part, parts)
            .filter_map(|(key, i)| self.aggs.get(i).map(|a| (key, a)))
    }

    /// Brings the aggregate at index `i` into the cache.
    #[inline]
    pub fn prefetch_index(&self, i: usize) {
        prefetch(self.aggs.as_ptr().wrapping_add(i.min(self.aggs.len())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_intern_once_each_across_growth_short_and_long() {
        let mut t = IdTable::default();
        let names: Vec<String> = (0..5000)
            .map(|i| {
                if i % 7 == 0 {
                    format!("a-very-long-council-id-{i:08}")
                } else {
                    format!("P{i:07}")
                }
            })
            .collect();
        let ids: Vec<u32> = names.iter().map(|n| t.intern(n).0).collect();
        assert_eq!(ids, (0..5000).collect::<Vec<u32>>());
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.intern(n).0, i as u32);
        }
        assert_eq!(t.len(), 5000);
        t.intern("P0000003").1.places = 2;
        assert_eq!(t.states()[3].places, 2);
        let mut seen: Vec<(u32, Vec<u8>)> = t.iter().map(|(i, k, _)| (i, k.to_vec())).collect();
        seen.sort();
        assert_eq!(seen.len(), 5000);
        assert_eq!(seen[7].1, names[7].as_bytes());
    }

    #[test]
    fn pairs_are_found_inserted_once_and_kept_across_growth() {
        let mut t = AggTable::default();
        assert!(t.get(5).is_none());
        for k in 0..20_000u64 {
            let key = ((k % 8) << 40) | (k / 8);
            assert!(t.insert(key, Agg::EMPTY));
            assert!(!t.insert(key, Agg::EMPTY));
        }
        assert_eq!(t.len(), 20_000);
        assert_eq!(t.iter().count(), 20_000);
        assert!(t.get((3 << 40) | 7).is_some());
        assert!(t.get((9 << 40) | 7).is_none());
        t.entry((3 << 40) | 7, || Agg::EMPTY).more = 11;
        assert_eq!(t.get((3 << 40) | 7).map(|a| a.more), Some(11));
        // Establishments (bit 32) have lanes of their own.
        assert!(t.get((3 << 40) | (1 << 32) | 7).is_none());
        assert!(t.insert((3 << 40) | (1 << 32) | 7, Agg::EMPTY));
        assert_eq!(t.get((3 << 40) | 7).map(|a| a.more), Some(11));
        // By key (lane, then subject), each once, whole or in parts of
        // any number, and each with its own aggregate.
        let keys: Vec<u64> = t.iter().map(|(k, _)| k).collect();
        let mut sorted: Vec<u64> = (0..20_000u64)
            .map(|k| ((k % 8) << 40) | (k / 8))
            .chain([(3 << 40) | (1 << 32) | 7])
            .collect();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        assert_eq!(keys[..3], [0, 1, 2]);
        assert_eq!(keys.last(), Some(&((7 << 40) | 2499)));
        for parts in [1, 2, 3, 7, 50_000] {
            let joined: Vec<u64> = (0..parts)
                .flat_map(|p| t.iter_part(p, parts).map(|(k, _)| k).collect::<Vec<_>>())
                .collect();
            assert_eq!(joined, keys, "{parts} parts");
        }
        assert_eq!(
            t.iter()
                .find(|&(k, _)| k == (3 << 40) | 7)
                .map(|(_, a)| a.more),
            Some(11)
        );
        assert!(is_pair_key((9 << 40) | (1 << 32) | 5));
        assert!(!is_pair_key(1 << 35));
    }

    #[test]
    fn a_reserved_table_makes_its_lanes_with_room_and_finds_every_pair() {
        let mut t = AggTable::default();
        t.reserve(40_000);
        assert!(t.insert(0, Agg::EMPTY));
        let lane = t.lanes[0].as_ptr();
        for id in 1..40_000u64 {
            assert!(t.insert(id, Agg::EMPTY));
        }
        assert_eq!(t.lanes[0].as_ptr(), lane, "the lane was moved");
        assert!(t.lanes[0].len() >= 40_000);
        // Past its room, a lane still grows (moved, or extended where it
        // lies: the allocator may do either, so only the room is checked).
        for id in 40_000..200_000u64 {
            assert!(t.insert(id, Agg::EMPTY));
        }
        assert!(t.lanes[0].len() >= 200_000);
        for id in 0..200_000u64 {
            assert_eq!(t.index(id), Some(id as usize));
        }
        assert!(t.get(200_000).is_none());
    }

    #[test]
    fn pairs_built_at_once_equal_pairs_inserted_one_by_one() {
        let mut one_by_one = AggTable::default();
        let (mut keys, mut aggs) = (Vec::new(), Vec::new());
        for k in 0..20_000u64 {
            // Subjects out of order, lanes of both kinds, a sparse lane.
            let key = ((k % 7) << 40) | ((k % 2) << 32) | ((k * 7919) % 20_011);
            let agg = Agg {
                more: k as u32,
                ..Agg::EMPTY
            };
            assert!(one_by_one.insert(key, agg));
            keys.push(key);
            aggs.push(agg);
        }
        let Some(at_once) = AggTable::from_pairs(keys.clone(), aggs.clone()) else {
            panic!("refused")
        };
        assert_eq!(at_once.lanes, one_by_one.lanes);
        assert_eq!(at_once.used, one_by_one.used);
        let pairs = |t: &AggTable| t.iter().map(|(k, a)| (k, a.more)).collect::<Vec<_>>();
        assert_eq!(pairs(&at_once), pairs(&one_by_one));
        for &key in &keys {
            assert_eq!(
                at_once.get(key).map(|a| a.more),
                one_by_one.get(key).map(|a| a.more)
            );
        }
        // A key twice, a key that is not a pair's, or lists of two lengths.
        let mut twice = keys.clone();
        twice[19_999] = twice[3];
        assert!(AggTable::from_pairs(twice, aggs.clone()).is_none());
        let mut foreign = keys.clone();
        foreign[5] |= 1 << 35;
        assert!(AggTable::from_pairs(foreign, aggs.clone()).is_none());
        assert!(AggTable::from_pairs(keys[1..].to_vec(), aggs).is_none());
    }

    #[test]
    fn hashes_spread_sequential_ids() {
        // Council ids are mostly a prefix and a counter: their home slots
        // must spread over the table, not bunch.
        let bits = 12;
        let mut used = vec![0u32; 1 << bits];
        for i in 0..(1u32 << bits) {
            used[home(hash_bytes(format!("P{i:07}").as_bytes()), bits)] += 1;
        }
        let max = used.iter().max().copied().unwrap_or(0);
        assert!(max <= 10, "a home slot took {max} of 4096 ids");
    }
}
