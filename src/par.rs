//! Work spread over every core, keeping order: a small stand-in for rayon
//! (one function does not justify the dependency).

/// The most threads used.
const THREADS_MAX: usize = 8;

/// The cores to use, asked once: `available_parallelism` reads the
/// cgroup files on every call (tens of microseconds, measured at 12 % of
/// the server's CPU when asked per append).
pub(crate) fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(THREADS_MAX)
    })
}

/// Maps `f` over `items` on every core, keeping the order. With fewer than
/// `items_min` items (where threads would cost more than they save), one
/// thread does the work.
///
/// The items are handed out in blocks, one block at a time, so that a core
/// slowed by another process takes fewer of them instead of leaving the
/// other idle at the end; each result is written once, into its place in
/// the array returned (for an import of 4M lines, nothing gathered or
/// moved after the work).
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    items_min: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads();
    if items.len() < items_min.max(2) || threads == 1 {
        return items.iter().map(&f).collect();
    }
    let block = (items.len() / (threads * 32)).clamp(1, 4096);
    let mut out: Vec<R> = Vec::with_capacity(items.len());
    let slots = &mut out.spare_capacity_mut()[..items.len()];
    let blocks = std::sync::Mutex::new(items.chunks(block).zip(slots.chunks_mut(block)));
    // Set by a worker that panics, so that the others take no more blocks.
    let stop = std::sync::atomic::AtomicBool::new(false);
    /// Sets the flag when its worker unwinds.
    struct StopOnPanic<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for StopOnPanic<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.min(items.len()))
            .map(|_| {
                let (blocks, f, stop) = (&blocks, &f, &stop);
                spawn_or_run(s, move || {
                    let _stop = StopOnPanic(stop);
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        // The lock is let go before the work: no worker
                        // panics while holding it.
                        let next = blocks
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .next();
                        let Some((part, slots)) = next else { break };
                        for (item, slot) in part.iter().zip(slots) {
                            slot.write(f(item));
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            if let Err(panic) = w.join() {
                // The results written so far are leaked (never read, never
                // dropped): a panic here is a bug, and the process ends.
                std::panic::resume_unwind(panic);
            }
        }
    });
    // Stopped without a panic is impossible: only a panicking worker sets
    // the flag, and its panic was passed on above.
    // SAFETY: the first `items.len()` slots are initialised: the blocks
    // cover them all, the workers took blocks until none was left, and
    // every worker wrote each slot of every block it took (none panicked,
    // or this point is not reached).
    unsafe { out.set_len(items.len()) };
    out
}

/// Maps `f` over `items` on every core and hands each result to `consume`
/// on this thread, in order, as soon as it and those before it are ready:
/// a sequential step (a hash chain) overlaps the parallel one. With fewer
/// than `items_min` items, or one core, one thread does both.
pub fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    items_min: usize,
    f: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(R),
) {
    let threads = threads();
    if items.len() < items_min.max(2) || threads == 1 {
        items.iter().map(&f).for_each(consume);
        return;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel::<(usize, R)>();
        let workers: Vec<_> = (0..threads.min(items.len()))
            .map(|_| {
                let tx = tx.clone();
                let (next, f) = (&next, &f);
                spawn_or_run(s, move || loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    if tx.send((i, f(item))).is_err() {
                        break;
                    }
                })
            })
            .collect();
        drop(tx);
        // Results that came before their turn.
        let mut early: std::collections::BTreeMap<usize, R> = Default::default();
        let mut want = 0;
        while want < items.len() {
            let r = match early.remove(&want) {
                Some(r) => r,
                None => match rx.recv() {
                    Ok((i, r)) if i == want => r,
                    Ok((i, r)) => {
                        early.insert(i, r);
                        continue;
                    }
                    // Every worker is gone before the end: one panicked.
                    Err(_) => break,
                },
            };
            consume(r);
            want += 1;
        }
        for w in workers {
            if let Err(panic) = w.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

/// Runs `f` while another thread makes the pages of `ranges` (address,
/// length in bytes) present, as a first write would: on fresh memory the
/// kernel (and on a virtual machine, the host) does its first-touch work
/// page by page, and on this project's test machine that costs more than
/// the writes themselves (about 0.4 GB/s; docs/PERFORMANCE.md). With a
/// second core it is shared instead of done by `f`'s thread as it writes.
///
/// The other thread walks the ranges from their ends backwards in 2 MB
/// steps (`f` usually writes from the start), and stops when `f` returns.
/// It only advises the kernel (`MADV_POPULATE_WRITE`): no byte changes,
/// as a fresh page is zero either way, so the ranges may be written by
/// `f` meanwhile. Ranges that are not mapped are skipped by the kernel.
/// Only ranges `f` will fill should be given, or memory is taken for
/// nothing. Below 8 MB in all, with one core, or off Linux, `f` runs alone.
pub fn with_pages_ready<R>(ranges: &[(usize, usize)], f: impl FnOnce() -> R) -> R {
    const STEP: usize = 2 << 20;
    let total: usize = ranges.iter().map(|&(_, len)| len).sum();
    if total < 8 << 20 || threads() < 2 || !cfg!(target_os = "linux") {
        return f();
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let done = &done;
        // Without a thread, the pages are made ready before `f` runs.
        let _helper = spawn_or_run(s, move || {
            for &(start, len) in ranges {
                let page = 4096;
                let first = start.div_ceil(page) * page;
                let end = (start + len) / page * page;
                let mut at = end;
                while at > first {
                    if done.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    let from = at.saturating_sub(STEP).max(first);
                    populate(from, at - from);
                    at = from;
                }
            }
        });
        let r = f();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        r
    })
}

/// A piece of work started on a thread of a scope, or already done
/// ([`spawn_or_run`]).
pub enum Task<'scope, T> {
    /// Running on its own thread.
    Thread(std::thread::ScopedJoinHandle<'scope, Option<T>>),
    /// Done on the calling thread: no thread could be started.
    Done(Option<T>),
}

impl<T> Task<'_, T> {
    /// The work's result, once done; `Err` with the panic's payload if it
    /// panicked on its thread (pass it on with
    /// `std::panic::resume_unwind`).
    pub fn join(self) -> std::thread::Result<T> {
        let done = match self {
            Task::Thread(h) => h.join()?,
            Task::Done(r) => r,
        };
        done.ok_or_else(|| Box::new("a task's work was taken twice") as Box<_>)
    }
}

/// Starts `f` on a new thread of `scope`; when the system cannot start
/// one (a limit on threads or memory: `EAGAIN`), runs it here and now
/// instead of panicking as `Scope::spawn` does. Threads in jisseki only
/// overlap work, never make it possible, so any `f` given here must be
/// able to finish without anything the caller does after this call (it
/// must not wait on a channel the caller fills, or on a bounded one the
/// caller empties). A result not joined is joined when the scope ends.
pub fn spawn_or_run<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Task<'scope, T> {
    // The work is put where both sides can take it: a failed start drops
    // the closure it was given, and the work must stay here.
    let work = std::sync::Arc::new(std::sync::Mutex::new(Some(f)));
    let theirs = std::sync::Arc::clone(&work);
    let take = |w: &std::sync::Mutex<Option<_>>| {
        w.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    };
    let builder = std::thread::Builder::new();
    match start_scoped(scope, builder, move || take(&theirs).map(|f| f())) {
        Ok(h) => Task::Thread(h),
        Err(_) => Task::Done(take(&work).map(|f| f())),
    }
}

/// Starts `f` on a thread of `scope` made by `builder`, or says why not.
/// Every thread jisseki starts inside a scope starts here, and each caller
/// copes with a refusal (does the work itself, or fails with an error
/// having written nothing), so that a process at a limit on threads
/// never panics. With `JISSEKI_TEST_NO_THREADS` set, every start is
/// refused: the tests run whole commands so (`tests/cli.rs`).
pub fn start_scoped<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    builder: std::thread::Builder,
    f: impl FnOnce() -> T + Send + 'scope,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, T>> {
    static REFUSED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *REFUSED.get_or_init(|| std::env::var_os("JISSEKI_TEST_NO_THREADS").is_some()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            "no thread may be started (JISSEKI_TEST_NO_THREADS)",
        ));
    }
    builder.spawn_scoped(scope, f)
}

/// `madvise(MADV_POPULATE_WRITE)` of page-aligned `[start, start + len)`.
fn populate(start: usize, len: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: MADV_POPULATE_WRITE changes no contents and no access
    // rights: it faults the pages in as a write would (a fresh anonymous
    // page is zero), and fails (harmlessly) on what is not mapped
    // writable. The memory is only named, never read or written here.
    unsafe {
        libc::madvise(start as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, len);
}

/// The `(address, length)` of `n` elements' room at the start of `v`'s
/// buffer (for [`with_pages_ready`]).
pub fn room_of<T>(v: &Vec<T>, n: usize) -> (usize, usize) {
    (
        v.as_ptr() as usize,
        n.min(v.capacity()).saturating_mul(std::mem::size_of::<T>()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_made_ready_keep_their_bytes_and_f_its_result() {
        // Written before, written meanwhile, and room not yet written.
        let mut v = vec![7u8; 24 << 20];
        let mut grown: Vec<u64> = Vec::with_capacity(3 << 20);
        let ready = [room_of(&v, v.len()), room_of(&grown, 3 << 20)];
        let r = with_pages_ready(&ready, || {
            v[5] = 1;
            grown.extend(0..3u64 << 20);
            42
        });
        assert_eq!(r, 42);
        assert_eq!(v[5], 1);
        assert!(v.iter().enumerate().all(|(i, &b)| b == 7 || i == 5));
        assert!(grown.iter().enumerate().all(|(i, &x)| x == i as u64));
        // Below the threshold `f` runs alone, with the same result.
        assert_eq!(with_pages_ready(&[(0, 4096)], || 7), 7);
    }

    #[test]
    fn results_arrive_in_order_whatever_finishes_first() {
        let items: Vec<u64> = (0..2000).collect();
        let mut got = Vec::new();
        map_in_order(
            &items,
            1,
            |&i| {
                // Early items take longest.
                if i % 7 == 0 && i < 100 {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                i * 3
            },
            |r| got.push(r),
        );
        assert_eq!(got, items.iter().map(|i| i * 3).collect::<Vec<_>>());
        let mut few = Vec::new();
        map_in_order(&[1, 2], 10, |&i| i + 1, |r| few.push(r));
        assert_eq!(few, vec![2, 3]);
        assert_eq!(parallel_map(&items, 1, |i| i + 1)[1999], 2000);
    }

    #[test]
    fn parallel_map_keeps_the_order_and_owns_its_results() {
        // Uneven work, results that own memory, and sizes around a block.
        for n in [0usize, 1, 2, 63, 64, 65, 1000, 300_001] {
            let items: Vec<usize> = (0..n).collect();
            let got = parallel_map(&items, 1, |&i| {
                if i % 997 == 0 && i < 5000 {
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                format!("{i}")
            });
            assert_eq!(got.len(), n);
            assert!(got.iter().enumerate().all(|(i, s)| *s == i.to_string()));
        }
    }

    #[test]
    #[should_panic(expected = "item 70000")]
    fn a_panic_in_parallel_map_is_passed_on() {
        let items: Vec<u64> = (0..100_000).collect();
        parallel_map(&items, 1, |&i| {
            assert!(i != 70_000, "item 70000");
            vec![i]
        });
    }

    #[test]
    #[should_panic(expected = "item 5")]
    fn a_panicking_worker_is_passed_on() {
        let items: Vec<u64> = (0..64).collect();
        map_in_order(
            &items,
            1,
            |&i| {
                if i == 5 {
                    panic!("item 5");
                }
                i
            },
            |_| {},
        );
    }
}
