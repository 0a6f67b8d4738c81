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
                s.spawn(move || {
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
                s.spawn(move || loop {
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

#[cfg(test)]
mod tests {
    use super::*;

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
