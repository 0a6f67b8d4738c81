//! Benchmarks of the journal: import (parse, append, both), durable single
//! appends (`record`), export and verify.
//!
//! `cargo bench --bench journal` runs the criterion groups `import`,
//! `record`, `export` and `verify`.
//!
//! With `JISSEKI_BENCH_FIGURES=1` the binary skips criterion and prints a
//! table of plain figures instead (events/s of the import path and its
//! parts, record latency percentiles of the library and of the CLI, export
//! and verify rates); `tools/bench.sh` runs it that way. Knobs (all
//! optional):
//!
//! | variable | default | what |
//! |---|---|---|
//! | `JISSEKI_BENCH_SIZES` | `100000,1000000` | batch sizes of the import figures |
//! | `JISSEKI_BENCH_RECORD_BASE` | `10000` | events already in the ledger for `record` |
//! | `JISSEKI_BENCH_RECORD_SAMPLES` | `3000` | durable single appends timed (library) |
//! | `JISSEKI_BENCH_RECORD_PART_SAMPLES` | `300` | more appends, on timed storage, broken into parts |
//! | `JISSEKI_BENCH_REPEAT` | `3` | runs of each import size (rows show the median) |
//! | `JISSEKI_BENCH_DETAIL_MAX` | `100000` | largest batch also split into its finer parts |
//! | `JISSEKI_BENCH_RECORD_BIG` | `1000000` | a second, shorter record table on a ledger this big (0: skip) |
//! | `JISSEKI_BENCH_CLI_RUNS` | `200` | `jisseki record` processes timed |
//! | `JISSEKI_BIN` | `$CARGO_TARGET_DIR/release/jisseki` | the CLI binary |
//! | `JISSEKI_BENCH_DIR` | the system temp dir | where ledgers are created |

use criterion::{criterion_group, BatchSize, Criterion, SamplingMode, Throughput};
use jisseki::domain::EVENT_SCHEMA_VERSION;
use jisseki::io::{self, InputEvent, InputFormat, Mode};
use jisseki::journal::codec::{self, Chunk, StoredEvent};
use jisseki::journal::storage::Pairs;
use jisseki::journal::{
    chain, Clock, MemStorage, RecordedEvent, SledStorage, Storage, StorageError, SystemClock,
    WriteBatch, GENESIS,
};
use jisseki::{Access, AppendOptions, Ledger};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// The same allocator as the `jisseki` binary, so that the figures are the
// CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FILE: &str = "bench.jsonl";
const MENUS: [(&str, &str); 4] = [("A-01", "A"), ("B-01", "B"), ("B-02", "B"), ("C-01", "C")];

// ---------------------------------------------------------------------------
// Input generation
// ---------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so every run imports the
/// same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The defining lines: the project, then one `menu_defined` per menu.
fn header_lines() -> String {
    let mut s = String::from(
        r#"{"type":"project_defined","project":"kushiro-2024","name":"互いの想いに寄り添う出会いの場。雇用創造 in 釧路","region_kind":"depopulated","municipalities":["釧路市"],"contract_start":"2024-10-01","years":3}"#,
    );
    s.push('\n');
    for (menu, cat) in MENUS {
        let kind = if cat == "A" {
            "accompaniment"
        } else {
            "seminar"
        };
        s.push_str(&format!(
            r#"{{"type":"menu_defined","menu":"{menu}","category":"{cat}","kind":"{kind}","name":"ＩＴ人材育成セミナー {menu}","targets":[{{"fiscal_year":2024,"output":20,"outcome":6}},{{"fiscal_year":2025,"output":25,"outcome":8}}]}}"#
        ));
        s.push('\n');
    }
    s
}

/// One attendance line of a defined menu, without an id.
fn attendance_line(rng: &mut Rng, i: u64) -> String {
    let (menu, cat) = MENUS[rng.below(MENUS.len() as u64) as usize];
    let month = 1 + rng.below(12);
    let year = if month >= 10 { 2024 } else { 2025 };
    let day = 1 + rng.below(28);
    let residence = ["in_region", "out_region", "unknown"][rng.below(3) as usize];
    let confirmed = rng.below(2) == 1;
    if cat == "A" && rng.below(2) == 0 {
        let loc = ["in_region", "out_region"][rng.below(2) as usize];
        format!(
            r#"{{"type":"attendance","menu":"{menu}","date":"{year}-{month:02}-{day:02}","role":"establishment","establishment":"E-{:05}","establishment_location":"{loc}","wants_in_region":true}}"#,
            i % 20_000
        )
    } else {
        let role = match cat {
            "A" => "startup_hopeful",
            "B" => "job_seeker",
            _ => "employed_skillup",
        };
        format!(
            r#"{{"type":"attendance","menu":"{menu}","date":"{year}-{month:02}-{day:02}","role":"{role}","person":"P-{:06}","residence":"{residence}","intent_confirmed":{confirmed}}}"#,
            i % 300_000
        )
    }
}

/// `n` events as JSON Lines: the project, the menus, then attendance.
fn generate(n: usize, seed: u64) -> Vec<u8> {
    let mut s = header_lines();
    let mut rng = Rng(seed | 1);
    let defs = 1 + MENUS.len();
    s.reserve(n.saturating_sub(defs) * 200);
    for i in 0..n.saturating_sub(defs) {
        s.push_str(&attendance_line(&mut rng, i as u64));
        s.push('\n');
    }
    s.into_bytes()
}

/// Attendance events only (for a ledger whose menus are defined).
fn attendance_only(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let mut s = String::with_capacity(n * 200);
    for i in 0..n {
        s.push_str(&attendance_line(&mut rng, i as u64));
        s.push('\n');
    }
    s.into_bytes()
}

fn parse(bytes: &[u8]) -> Vec<InputEvent> {
    match io::read_events(bytes, FILE, InputFormat::JsonLines, Mode::Append) {
        Ok(v) => v,
        Err(e) => panic!("generated input refused: {e}"),
    }
}

// ---------------------------------------------------------------------------
// Ledgers
// ---------------------------------------------------------------------------

fn bench_root() -> PathBuf {
    std::env::var_os("JISSEKI_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

fn tempdir() -> tempfile::TempDir {
    let root = bench_root();
    std::fs::create_dir_all(&root).expect("bench dir");
    tempfile::Builder::new()
        .prefix("jisseki-bench-")
        .tempdir_in(root)
        .expect("tempdir")
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A fresh, empty ledger directory opened for writing, as the CLI opens it.
fn fresh_ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempdir();
    let path = dir.path().join("ledger");
    Ledger::init(&path).expect("init");
    (dir, open_write(&path))
}

static OPEN_RETRIES: AtomicU64 = AtomicU64::new(0);

/// Opens a ledger for writing. sled releases its file lock only when its
/// background threads have let go of the database, a little after the
/// previous handle (here: `Ledger::init`'s) was dropped; until then the
/// open is refused as `InUse`, so retry for a while.
fn open_write(path: &Path) -> Ledger {
    let started = Instant::now();
    loop {
        match Ledger::open(path, Access::Write, clock()) {
            Ok(l) => return l,
            Err(jisseki::LedgerError::InUse { .. })
                if started.elapsed() < Duration::from_secs(10) =>
            {
                OPEN_RETRIES.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("open {}: {e}", path.display()),
        }
    }
}

fn append(ledger: &mut Ledger, events: Vec<InputEvent>) -> usize {
    let r = ledger
        .append(events, FILE, AppendOptions::default())
        .expect("append");
    r.appended.len()
}

/// Storage that times `apply` and `sync` of the storage it wraps.
struct Timed<S> {
    inner: S,
    t: Arc<Times>,
}

#[derive(Default)]
struct Times {
    apply_ns: AtomicU64,
    apply_cpu_ns: AtomicU64,
    sync_ns: AtomicU64,
    sync_cpu_ns: AtomicU64,
}

impl Times {
    /// Wall and CPU time of `apply`, then of `sync`, since the last take.
    fn take(&self) -> (Tm, Tm) {
        let get = |a: &AtomicU64| Duration::from_nanos(a.swap(0, Ordering::Relaxed));
        let apply = Tm {
            wall: get(&self.apply_ns),
            cpu: get(&self.apply_cpu_ns),
        };
        let sync = Tm {
            wall: get(&self.sync_ns),
            cpu: get(&self.sync_cpu_ns),
        };
        (apply, sync)
    }
}

fn add(wall: &AtomicU64, cpu: &AtomicU64, sw: Stopwatch) {
    let t = sw.stop();
    wall.fetch_add(t.wall.as_nanos() as u64, Ordering::Relaxed);
    cpu.fetch_add(t.cpu.as_nanos() as u64, Ordering::Relaxed);
}

/// Wall time, and CPU time of the whole process (every thread, sled's
/// too). Unlike wall time, CPU time does not grow when other processes
/// compete for the CPUs; it leaves out waiting for the disk.
#[derive(Debug, Clone, Copy, Default)]
struct Tm {
    wall: Duration,
    cpu: Duration,
}

impl Tm {
    fn minus(self, o: Tm) -> Tm {
        Tm {
            wall: self.wall.saturating_sub(o.wall),
            cpu: self.cpu.saturating_sub(o.cpu),
        }
    }
}

/// CPU time of the process (`CLOCK_PROCESS_CPUTIME_ID`), zero elsewhere.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn process_cpu() -> Duration {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec of the platform layout
    // (64-bit Linux: two 64-bit fields); the call writes nothing else.
    let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.sec as u64, ts.nsec as u32)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn process_cpu() -> Duration {
    Duration::ZERO
}

struct Stopwatch {
    wall: Instant,
    cpu: Duration,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        let cpu = process_cpu();
        Stopwatch {
            wall: Instant::now(),
            cpu,
        }
    }
    fn stop(self) -> Tm {
        let wall = self.wall.elapsed();
        Tm {
            wall,
            cpu: process_cpu().saturating_sub(self.cpu),
        }
    }
}

impl<S: Storage> Storage for Timed<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(key)
    }
    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Pairs, StorageError> {
        self.inner.range(start, end, limit)
    }
    fn for_each(
        &self,
        start: &[u8],
        end: &[u8],
        f: jisseki::journal::storage::Visit<'_>,
    ) -> Result<(), StorageError> {
        self.inner.for_each(start, end, f)
    }
    fn last_at_or_before(
        &self,
        start: &[u8],
        at: &[u8],
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>, StorageError> {
        self.inner.last_at_or_before(start, at)
    }
    fn apply(&mut self, batch: WriteBatch) -> Result<(), StorageError> {
        let sw = Stopwatch::start();
        let r = self.inner.apply(batch);
        add(&self.t.apply_ns, &self.t.apply_cpu_ns, sw);
        r
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        let sw = Stopwatch::start();
        let r = self.inner.sync();
        add(&self.t.sync_ns, &self.t.sync_cpu_ns, sw);
        r
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
    fn blob_put(&mut self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        let sw = Stopwatch::start();
        let r = self.inner.blob_put(name, value);
        add(&self.t.apply_ns, &self.t.apply_cpu_ns, sw);
        r
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

/// A fresh sled ledger whose storage is timed (no lock file: the same
/// journal and engine as [`fresh_ledger`]).
fn fresh_timed_ledger() -> (tempfile::TempDir, Ledger, Arc<Times>) {
    let dir = tempdir();
    let store = SledStorage::open(&dir.path().join("journal")).expect("sled");
    let times = Arc::new(Times::default());
    let timed = Timed {
        inner: store,
        t: times.clone(),
    };
    let ledger = Ledger::with_storage(Box::new(timed), clock()).expect("ledger");
    (dir, ledger, times)
}

fn mem_ledger() -> Ledger {
    Ledger::with_storage(Box::new(MemStorage::default()), clock()).expect("ledger")
}

// ---------------------------------------------------------------------------
// Criterion groups
// ---------------------------------------------------------------------------

const IMPORT_N: usize = 100_000;

fn import(c: &mut Criterion) {
    let bytes = generate(IMPORT_N, 1);
    let parsed = parse(&bytes);
    let mut g = c.benchmark_group("import");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(15));
    g.throughput(Throughput::Elements(IMPORT_N as u64));
    g.bench_function("parse_100k", |b| {
        b.iter(|| black_box(parse(black_box(&bytes))).len())
    });
    g.bench_function("append_100k", |b| {
        b.iter_batched(
            || {
                let (dir, ledger) = fresh_ledger();
                (dir, ledger, parsed.clone())
            },
            |(dir, mut ledger, events)| {
                append(&mut ledger, events);
                (dir, ledger)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("end_to_end_100k", |b| {
        b.iter_batched(
            fresh_ledger,
            |(dir, mut ledger)| {
                let events = parse(&bytes);
                append(&mut ledger, events);
                (dir, ledger)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn record(c: &mut Criterion) {
    let (_dir, mut ledger) = fresh_ledger();
    append(&mut ledger, parse(&generate(10_000, 2)));
    let lines = attendance_only(100_000, 3);
    let one: Vec<Vec<InputEvent>> = lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .take(10_000)
        .map(parse)
        .collect();
    let mut next = one.into_iter().cycle();
    let mut g = c.benchmark_group("record");
    g.sample_size(50);
    g.throughput(Throughput::Elements(1));
    g.bench_function("durable_append_1_on_10k", |b| {
        b.iter_batched(
            || next.next().expect("cycle"),
            |e| append(&mut ledger, e),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// A ledger of `n` generated events, imported in one batch.
fn built_ledger(n: usize) -> (tempfile::TempDir, Ledger) {
    let (dir, mut ledger) = fresh_ledger();
    append(&mut ledger, parse(&generate(n, 4)));
    (dir, ledger)
}

fn export(c: &mut Criterion) {
    let (_dir, ledger) = built_ledger(IMPORT_N);
    let mut g = c.benchmark_group("export");
    g.sample_size(10);
    g.throughput(Throughput::Elements(IMPORT_N as u64));
    g.bench_function("export_100k", |b| {
        b.iter(|| ledger.export(&mut std::io::sink()).expect("export"))
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    let (_dir, ledger) = built_ledger(IMPORT_N);
    let mut g = c.benchmark_group("verify");
    g.sample_size(10);
    g.throughput(Throughput::Elements(IMPORT_N as u64));
    g.bench_function("verify_100k", |b| b.iter(|| black_box(ledger.verify())));
    g.finish();
}

criterion_group!(benches, import, record, export, verify);

// ---------------------------------------------------------------------------
// Figures mode
// ---------------------------------------------------------------------------

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn rate(n: usize, d: Duration) -> String {
    if d.is_zero() {
        return "-".into();
    }
    let r = (n as f64 / d.as_secs_f64()).round() as u64;
    let digits = r.to_string();
    let mut s = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            s.push(',');
        }
        s.push(ch);
    }
    s
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

/// Times `f` once.
fn time<T>(f: impl FnOnce() -> T) -> (T, Tm) {
    let sw = Stopwatch::start();
    let v = f();
    (v, sw.stop())
}

fn row(what: &str, n: usize, t: Tm, note: &str) {
    let per = t.wall.as_secs_f64() * 1e6 / n.max(1) as f64;
    let cpu = if t.cpu.is_zero() {
        "-".into()
    } else {
        ms(t.cpu)
    };
    let wall = ms(t.wall);
    let (rw, rc) = (rate(n, t.wall), rate(n, t.cpu));
    println!("| {what} | {n} | {wall} | {cpu} | {per:.2} | {rw} | {rc} | {note} |");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

fn stored(r: &RecordedEvent) -> StoredEvent<&str> {
    StoredEvent {
        seq: r.seq,
        recorded_at_us: r.recorded_at_us,
        id: *r.id.as_bytes(),
        schema_version: r.schema_version,
        hash: r.hash,
        body: (&r.body).into(),
    }
}

type Row = (&'static str, Tm, &'static str);

/// The import path and its parts for a batch of `n` events, run `repeat`
/// times; each row shows the median of its runs. `detail` adds the finer
/// parts (each one more pass over the batch).
fn import_figures(n: usize, detail: bool, repeat: usize) {
    let (bytes, gen) = time(|| generate(n, 1));
    eprintln!(
        "[figures] import {n}: generated {} MB in {} ms",
        bytes.len() / 1_000_000,
        ms(gen.wall)
    );
    let mut runs = Vec::new();
    let mut du = 0;
    for i in 0..repeat.max(1) {
        let (rows, size) = import_once(n, &bytes, detail);
        eprintln!("[figures] import {n}: run {} of {repeat} done", i + 1);
        runs.push(rows);
        du = size;
    }
    let median = |xs: &mut Vec<Duration>| {
        xs.sort();
        xs[xs.len() / 2]
    };
    println!();
    println!(
        "### Import of {n} events ({} MB of JSON Lines; ledger directory {} MB; median of {} runs)",
        bytes.len() / 1_000_000,
        du / 1_000_000,
        runs.len()
    );
    println!();
    println!("| step | events | wall ms | CPU ms | µs/event (wall) | events/s (wall) | events/s (CPU) | note |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for (k, &(what, _, note)) in runs[0].iter().enumerate() {
        let mut wall: Vec<Duration> = runs.iter().map(|r| r[k].1.wall).collect();
        let mut cpu: Vec<Duration> = runs.iter().map(|r| r[k].1.cpu).collect();
        let t = Tm {
            wall: median(&mut wall),
            cpu: median(&mut cpu),
        };
        row(what, n, t, note);
    }
}

/// One run of every measured step: the rows, and the size of the ledger
/// directory.
fn import_once(n: usize, bytes: &[u8], detail: bool) -> (Vec<Row>, u64) {
    let mut rows: Vec<Row> = Vec::new();

    if detail {
        // The parts of parsing, on one thread: JSON syntax to a
        // `serde_json` object per line, then the field layer.
        let (objects, t_json) = time(|| {
            let lines = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty());
            let json = |l: &[u8]| serde_json::from_slice::<serde_json::Map<_, _>>(l).expect("json");
            lines.map(json).collect::<Vec<_>>()
        });
        let (events, t_fields) = time(|| {
            let it = objects.into_iter().enumerate();
            it.map(|(i, obj)| {
                let at = jisseki::error::Location::line(FILE, i as u64 + 1);
                io::parse::parse_object(obj, &at, Mode::Append, Vec::new()).expect("valid")
            })
            .collect::<Vec<_>>()
        });
        drop(events);
        rows.push((
            "  JSON syntax to a `serde_json` object (1 thread)",
            t_json,
            "",
        ));
        rows.push((
            "  field validation (`parse::parse_object`, 1 thread)",
            t_fields,
            "typed event from the object",
        ));
    }
    let (events, t_parse) = time(|| parse(bytes));
    rows.insert(0, ("parse + validate (`io::read_events`)", t_parse, ""));

    if detail {
        // Reference checks only (check_only appends nothing), in memory.
        let plan_events = events.clone();
        let opts = AppendOptions {
            expect_seq: None,
            check_only: true,
        };
        let (_, t_plan) = time(|| mem_ledger().append(plan_events, FILE, opts).expect("plan"));
        // The whole append without the engine: checks, seal, encode.
        let mem_events = events.clone();
        let (_, t_mem) = time(|| append(&mut mem_ledger(), mem_events));
        // Sealing alone: canonical JSON, then SHA-256.
        let bodies: Vec<_> = events.iter().map(|e| e.body.clone()).collect();
        let ids: Vec<_> = (0..bodies.len()).map(|_| uuid::Uuid::now_v7()).collect();
        let now = SystemClock.now_us();
        let (canon, t_canon) = time(|| {
            let v = EVENT_SCHEMA_VERSION;
            let it = bodies.iter().zip(&ids).enumerate();
            it.map(|(i, (b, id))| chain::canonical_bytes(i as u64 + 1, now, *id, v, b))
                .collect::<Vec<_>>()
        });
        let (_, t_sha) = time(|| {
            canon
                .iter()
                .fold(GENESIS, |prev, c| chain::chain_hash(&prev, c))
        });
        drop(canon);
        let (recs, t_seal) = time(|| {
            let mut prev = GENESIS;
            let it = bodies.into_iter().zip(&ids).enumerate();
            it.map(|(i, (b, id))| {
                let r = RecordedEvent::seal(i as u64 + 1, now, *id, b, &prev);
                prev = r.hash;
                r
            })
            .collect::<Vec<_>>()
        });
        // postcard: the chunks the journal writes.
        let (encoded, t_encode) = time(|| {
            let chunks = recs.chunks(jisseki::journal::CHUNK_EVENTS_MAX);
            chunks
                .map(|c| {
                    codec::encode_chunk(&Chunk {
                        events: c.iter().map(stored).collect(),
                    })
                })
                .collect::<Vec<_>>()
        });
        let stored_bytes: usize = encoded.iter().map(Vec::len).sum();
        eprintln!(
            "[figures] import {n}: {} MB of postcard chunks",
            stored_bytes / 1_000_000
        );
        drop((encoded, recs));
        rows.push((
            "  reference checks (`check_only`, MemStorage)",
            t_plan,
            "menus, project, ids",
        ));
        rows.push((
            "  append on MemStorage (checks + seal + encode)",
            t_mem,
            "no engine, no I/O",
        ));
        rows.push((
            "    seal (`RecordedEvent::seal`, 1 thread)",
            t_seal,
            "canonical JSON + SHA-256",
        ));
        rows.push((
            "      canonical JSON bytes (`chain::canonical_bytes`, 1 thread)",
            t_canon,
            "via `serde_json::Value`, keys sorted",
        ));
        rows.push((
            "      SHA-256 chain (`chain::chain_hash`, 1 thread)",
            t_sha,
            "",
        ));
        rows.push(("    postcard encode of the chunks (1 thread)", t_encode, ""));
    }

    // Append only: the journal on sled, as Ledger::open configures it, with
    // the engine's apply and sync timed inside.
    let (dir, mut timed, times) = fresh_timed_ledger();
    let (_, t_append) = time(|| append(&mut timed, events));
    let (t_apply, t_sync) = times.take();
    drop(timed);
    drop(dir);
    rows.push((
        "append of parsed events (`Ledger::append`, sled, fsynced)",
        t_append,
        "",
    ));
    rows.push((
        "  sled `apply_batch` (one atomic batch)",
        t_apply,
        "event chunks, head, index entries",
    ));
    rows.push((
        "  sync (sled flush + fsync of every file)",
        t_sync,
        "once per batch",
    ));
    rows.push((
        "  the rest (checks, seal, encode)",
        t_append.minus(t_apply).minus(t_sync),
        "by difference",
    ));

    // End to end, as `jisseki import` does it: bytes -> read_events ->
    // Ledger::append on a ledger opened with Ledger::open.
    let (dir, mut ledger) = fresh_ledger();
    let (_, t_e2e) = time(|| append(&mut ledger, parse(bytes)));
    let du = dir_size(dir.path());
    let e2e = (
        "**end to end** (`read_events` + `Ledger::append`, fsynced)",
        t_e2e,
        "**goal ≥ 250,000/s**",
    );
    rows.insert(0, e2e);

    let (_, t_export) = time(|| ledger.export(&mut std::io::sink()).expect("export"));
    let (v, t_verify) = time(|| ledger.verify());
    assert!(
        matches!(v, jisseki::journal::Verification::Intact { .. }),
        "{v:?}"
    );
    let (_, t_iter) = time(|| {
        let mut n = 0usize;
        for r in ledger.events() {
            black_box(r.expect("event"));
            n += 1;
        }
        n
    });
    drop(ledger);
    drop(dir);

    // The CLI on the same bytes: process start, reading the file, the
    // same path, and the report it prints.
    if let Some(bin) = cli_bin() {
        let dir = tempdir();
        let (file, path) = (dir.path().join("events.jsonl"), dir.path().join("ledger"));
        std::fs::write(&file, bytes).expect("write events");
        Ledger::init(&path).expect("init");
        let (out, t_cli) = time(|| {
            let mut cmd = Command::new(&bin);
            cmd.arg("import").arg("--ledger").arg(&path).arg(&file);
            cmd.output().expect("spawn jisseki")
        });
        assert!(
            out.status.success(),
            "jisseki import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The child's CPU time is not the bench's: left blank.
        let t_cli = Tm {
            cpu: Duration::ZERO,
            ..t_cli
        };
        rows.insert(
            1,
            (
                "`jisseki import FILE` (whole process, release binary)",
                t_cli,
                "",
            ),
        );
    }
    rows.push(("export (`Ledger::export` to a sink)", t_export, ""));
    rows.push(("verify (`Ledger::verify`)", t_verify, ""));
    rows.push(("  read + decode only (`Ledger::events`)", t_iter, ""));
    (rows, du)
}

fn dir_size(p: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => n += dir_size(&e.path()),
                Ok(_) => n += e.metadata().map(|m| m.len()).unwrap_or(0),
                Err(_) => {}
            }
        }
    }
    n
}

fn stats_line(what: &str, samples: &mut [Duration], note: &str) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len().max(1) as u32;
    let max = samples.last().copied().unwrap_or_default();
    let p = |q| ms(percentile(samples, q));
    println!(
        "| {what} | {} | {} | {} | {} | {} | {} | {note} |",
        samples.len(),
        p(50.0),
        p(90.0),
        p(99.0),
        ms(max),
        ms(mean)
    );
}

/// The device's own floor: append 4 KB to a file and `fdatasync` it (one
/// device flush), on the same file system as the ledgers.
struct Probe {
    _dir: tempfile::TempDir,
    file: std::fs::File,
}

impl Probe {
    fn new() -> Probe {
        let dir = tempdir();
        let file = std::fs::File::create(dir.path().join("probe")).expect("probe");
        Probe { _dir: dir, file }
    }
    fn sample(&mut self) -> Duration {
        use std::io::Write;
        let t = Instant::now();
        self.file.write_all(&[0x5a; 4096]).expect("write");
        self.file.sync_data().expect("fdatasync");
        t.elapsed()
    }
}

fn record_figures() {
    let base = env_usize("JISSEKI_BENCH_RECORD_BASE", 10_000);
    let samples = env_usize("JISSEKI_BENCH_RECORD_SAMPLES", 3000);
    let parts = env_usize("JISSEKI_BENCH_RECORD_PART_SAMPLES", 300).min(samples);
    let runs = env_usize("JISSEKI_BENCH_CLI_RUNS", 200);
    record_table(base, samples, parts, runs, true);
    // The same on a big ledger: does a record slow down as the ledger grows?
    let big = env_usize("JISSEKI_BENCH_RECORD_BIG", 1_000_000);
    if big > 0 {
        record_table(big, samples.min(300), 0, runs.min(50), false);
    }
}

/// Durable single appends on a ledger of `base` events: `samples` through
/// the library (`parts` of them broken down), `runs` through the CLI.
/// `diagnostics` adds the comparison rows.
fn record_table(base: usize, samples: usize, parts: usize, runs: usize, diagnostics: bool) {
    if samples == 0 && runs == 0 {
        return;
    }
    let lines = attendance_only(samples.max(runs), 5);
    let singles: Vec<&[u8]> = lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();

    println!();
    println!("### record: one durable event at a time on a ledger of {base} events");
    println!();
    println!("| what | samples | p50 ms | p90 ms | p99 ms | max ms | mean ms | note |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");

    // One ledger of `base` events, for the library and then the CLI.
    let (dir, mut ledger) = fresh_ledger();
    let path = dir.path().join("ledger");
    append(&mut ledger, parse(&generate(base, 2)));

    // Library, on a ledger opened as the CLI opens it.
    if samples > 0 {
        // Each record is followed by one probe of the device, so that
        // both see the same conditions (other writers on the disk).
        let mut probe = Probe::new();
        let mut lat = Vec::with_capacity(samples);
        let mut floor = Vec::with_capacity(samples);
        for l in singles.iter().take(samples) {
            let e = parse(l);
            let t = Instant::now();
            append(&mut ledger, e);
            lat.push(t.elapsed());
            floor.push(probe.sample());
        }
        let files = count_files(dir.path());
        stats_line(
            "`Ledger::append` of 1 event (fsynced)",
            &mut lat,
            "**goal p99 < 2 ms**",
        );
        stats_line(
            "device floor: append 4 KB + `fdatasync`, between the records",
            &mut floor,
            "one device flush",
        );

        if parts > 0 {
            // The same on timed storage: where a record's time goes.
            let (dir, mut ledger, times) = fresh_timed_ledger();
            append(&mut ledger, parse(&generate(base, 2)));
            times.take();
            let (mut total, mut sync, mut apply, mut rest) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for l in singles.iter().take(parts) {
                let e = parse(l);
                let t = Instant::now();
                append(&mut ledger, e);
                let all = t.elapsed();
                let (a, s) = times.take();
                total.push(all);
                apply.push(a.wall);
                sync.push(s.wall);
                rest.push(all.saturating_sub(a.wall + s.wall));
            }
            stats_line("  same, on timed storage", &mut total, "");
            stats_line("    sync (sled flush + fsync of every file)", &mut sync, "");
            stats_line("    sled `apply_batch`", &mut apply, "");
            stats_line("    the rest (checks, seal, encode)", &mut rest, "");
            eprintln!("[figures] the ledger directory holds {files} files and directories");
            drop(ledger);
            drop(dir);
        }

        if diagnostics {
            let mut lat = Vec::with_capacity(samples);
            for l in singles.iter().take(samples) {
                let t = Instant::now();
                black_box(parse(l));
                lat.push(t.elapsed());
            }
            stats_line("parse + validate of 1 event", &mut lat, "");
        }
    }
    // Release the ledger for the CLI.
    drop(ledger);

    // The CLI: one `jisseki record` process per event.
    if runs == 0 {
        return;
    }
    let Some(bin) = cli_bin() else {
        println!(
            "| `jisseki record` | - | - | - | - | - | - | binary not found: set JISSEKI_BIN |"
        );
        return;
    };
    let run = |args: &[String]| {
        let t = Instant::now();
        let out = Command::new(&bin)
            .args(args)
            .output()
            .expect("spawn jisseki");
        let d = t.elapsed();
        assert!(
            out.status.success(),
            "jisseki {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        d
    };
    let ledger_args = |cmd: &str| {
        vec![
            cmd.to_string(),
            "--ledger".into(),
            path.display().to_string(),
        ]
    };
    let mut lat: Vec<Duration> = (0..runs)
        .map(|i| {
            let mut args = ledger_args("record");
            args.extend(cli_args(i));
            run(&args)
        })
        .collect();
    stats_line(
        "`jisseki record attendance ...` (whole process)",
        &mut lat,
        "release binary",
    );
    if !diagnostics {
        return;
    }
    // Diagnostic: the same with mimalloc's transparent huge pages off
    // (fewer freshly zeroed 2 MB pages at start-up).
    let mut lat: Vec<Duration> = (0..runs.clamp(1, 50))
        .map(|i| {
            let mut args = ledger_args("record");
            args.extend(cli_args(runs + i));
            let t = Instant::now();
            let out = Command::new(&bin)
                .args(&args)
                .env("MIMALLOC_ALLOW_THP", "0")
                .output()
                .expect("spawn jisseki");
            assert!(out.status.success(), "jisseki record failed");
            t.elapsed()
        })
        .collect();
    stats_line("  same with `MIMALLOC_ALLOW_THP=0`", &mut lat, "diagnostic");
    let n = runs.clamp(1, 50);
    let mut lat: Vec<Duration> = (0..n)
        .map(|_| {
            let mut args = ledger_args("log");
            args.extend(["--limit".into(), "1".into()]);
            run(&args)
        })
        .collect();
    stats_line(
        "  for comparison: `jisseki log --limit 1` (open, read, no write)",
        &mut lat,
        "",
    );
    let mut lat: Vec<Duration> = (0..n).map(|_| run(&["--version".to_string()])).collect();
    stats_line(
        "  for comparison: `jisseki --version` (process start)",
        &mut lat,
        "",
    );
    drop(dir);
}

fn cli_bin() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("JISSEKI_BIN").map(PathBuf::from),
        std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("release/jisseki")),
        // benches run from target/release/deps/
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent()?.parent().map(|d| d.join("jisseki"))),
        Some(PathBuf::from("target/release/jisseki")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

fn cli_args(i: usize) -> Vec<String> {
    let menu = ["B-01", "B-02", "C-01"][i % 3];
    let role = if menu == "C-01" {
        "employed_skillup"
    } else {
        "job_seeker"
    };
    let person = format!("P-9{i:05}");
    let args = [
        "attendance",
        "--menu",
        menu,
        "--date",
        "2024-11-20",
        "--role",
        role,
        "--person",
        &person,
    ];
    let more = ["--residence", "in_region", "--intent_confirmed", "true"];
    args.iter()
        .chain(more.iter())
        .map(|s| s.to_string())
        .collect()
}

fn figures() {
    let sizes: Vec<usize> = std::env::var("JISSEKI_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect();
    let detail_max = env_usize("JISSEKI_BENCH_DETAIL_MAX", 100_000);
    let repeat = env_usize("JISSEKI_BENCH_REPEAT", 3);
    println!("## jisseki journal figures");
    println!();
    println!(
        "Ledgers in {}. Import rows are the median of JISSEKI_BENCH_REPEAT runs; rates are events per second.",
        bench_root().display()
    );
    println!(
        "CPU ms is the CPU time of the whole bench process (all threads): unlike wall time \
         it does not grow when other processes compete for the CPUs, and it leaves out \
         waiting for the disk. CPU > wall where a step runs on several threads."
    );
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("Load average at start: {}", l.trim());
    }
    for n in sizes {
        import_figures(n, n <= detail_max, repeat);
    }
    record_figures();
    let retries = OPEN_RETRIES.load(Ordering::Relaxed);
    if retries > 0 {
        eprintln!("[figures] Ledger::open right after Ledger::init was refused as in use {retries} times (retried)");
    }
}

fn main() {
    if std::env::var_os("JISSEKI_BENCH_FIGURES").is_some_and(|v| v != "0" && !v.is_empty()) {
        figures();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

fn count_files(p: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => 1 + count_files(&e.path()),
            _ => 1,
        })
        .sum()
}
