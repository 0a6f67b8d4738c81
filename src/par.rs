//! Work spread over every core, keeping order: a small stand-in for rayon
//! (one function does not justify the dependency).

/// The most threads used.
const THREADS_MAX: usize = 8;

/// The cores to use, asked once: `available_parallelism` reads the
/// cgroup files on every call (tens of microseconds, measured at 12 % of
/// the server's CPU when asked per append).
fn threads() -> usize {
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
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    items_min: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if items.len() < items_min.max(2) {
        return items.iter().map(&f).collect();
    }
    let threads = threads();
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let per = items.len().div_ceil(threads);
    // Each thread fills its own part of one array, so the results are not
    // gathered twice (for an import of 4M lines, 0.6 GB less at the peak).
    let mut out: Vec<Option<R>> = Vec::with_capacity(items.len());
    out.resize_with(items.len(), || None);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .zip(out.chunks_mut(per))
            .map(|(part, slots)| {
                let f = &f;
                s.spawn(move || {
                    for (item, slot) in part.iter().zip(slots) {
                        *slot = Some(f(item));
                    }
                })
            })
            .collect();
        for h in handles {
            if let Err(panic) = h.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    // Every slot was filled; taken in place where `Option<R>` is laid out
    // as `R` is.
    #[allow(clippy::filter_map_identity)] // `flatten` is not collected in place
    out.into_iter().filter_map(|r| r).collect()
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
