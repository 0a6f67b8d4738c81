//! The `jisseki` binary: a thin shell over the library's CLI.

// Parsing and hashing allocate many small objects; mimalloc halves the time
// the system allocator spends on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    jisseki::cli::run()
}
