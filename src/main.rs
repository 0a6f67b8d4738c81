//! The `jisseki` binary: a thin shell over the library's CLI.

// Parsing and hashing allocate many small objects; mimalloc halves the time
// the system allocator spends on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let folds = folds_a_whole_ledger();
    disable_transparent_huge_pages();
    // Unless the user tuned it.
    if folds && std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        return_freed_memory_at_once();
    }
    jisseki::cli::run()
}

/// Whether the command may fold a whole ledger (a report, an explanation,
/// the checks): tables of millions of entries, grown by copying into
/// larger ones. (A false match only changes the allocator's tuning.)
fn folds_a_whole_ledger() -> bool {
    std::env::args()
        .skip(1)
        .any(|a| matches!(a.as_str(), "report" | "explain" | "check" | "judge"))
}

// mimalloc's option setter (in the library the allocator links).
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// mimalloc gives freed memory back to the system 10 ms after it is freed.
/// When a fold's table of hundreds of megabytes is replaced by one twice
/// its size, the old one is then still counted while the next grows: at
/// 10M events the report's peak memory was 487–535 MB with the delay and
/// 428 MB without it, in the same time (docs/PERFORMANCE.md). An import
/// frees and reallocates small blocks all the time and is 20 % slower
/// without the delay, so only folds drop it.
fn return_freed_memory_at_once() {
    /// `mi_option_purge_delay` in mimalloc's `mi_option_e` (v2 and v3).
    const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
    // SAFETY: mi_option_set stores an integer in mimalloc's option table;
    // 15 is a valid option of the mimalloc this binary links (the
    // `mimalloc` crate's bundled v2/v3), and 0 is a valid delay.
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

/// Transparent huge pages make the kernel zero 2 MB at a time for every
/// fresh page the allocator touches. On a large import that cost more
/// system time than the work itself; for a report's tables, on the
/// virtual machine this project is measured on, a huge page taken after
/// the machine sat idle cost about 2.8 ms per MB against 0.4 ms in small
/// pages (its host takes freed memory back and must give it again), more
/// than the TLB misses it saved: a cold 10M report ran 2.13 s against
/// 2.47 s without them (docs/PERFORMANCE.md, "ninth pass"). The process
/// opts out; mimalloc is built not to ask for them either (`no_thp` in
/// Cargo.toml).
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        // Every argument as the kernel reads it, an unsigned long: an
        // `int` passed through prctl's `...` may leave the upper half of
        // its register undefined.
        let (on, none): (libc::c_ulong, libc::c_ulong) = (1, 0);
        // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no
        // memory of ours; a failure only leaves the default in place.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, on, none, none, none);
        }
    }
}
