//! The `jisseki` binary: a thin shell over the library's CLI.

// Parsing and hashing allocate many small objects; mimalloc halves the time
// the system allocator spends on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    disable_transparent_huge_pages();
    jisseki::cli::run()
}

/// Transparent huge pages make the kernel zero 2 MB at a time for every
/// fresh page the allocator touches; on a large import or report that cost
/// more system time than the work itself (docs/PERFORMANCE.md). The process
/// opts out; nothing else changes.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory
    // of ours; a failure (an old kernel) only leaves the default in place.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
