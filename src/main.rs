//! The `jisseki` binary: a thin shell over the library's CLI.

fn main() -> std::process::ExitCode {
    jisseki::cli::run()
}
