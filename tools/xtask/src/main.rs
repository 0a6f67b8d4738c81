//! Project chores: `cargo xtask <command>` (the alias is in `.cargo/config.toml`).
//!
//! | command | does |
//! |---|---|
//! | `schemas` | writes the JSON Schemas of the events into `schemas/` |
//! | `check-schemas` | exits 1, listing the files, when `schemas/` is not what `schemas` would write |

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  schemas         write the JSON Schemas of the events into schemas/
  check-schemas   fail when schemas/ differs from the Rust types (run `cargo xtask schemas`)";

/// The workspace root (this crate lives in `tools/xtask`).
fn workspace_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..");
    root.canonicalize().unwrap_or(root)
}

fn schemas_dir() -> PathBuf {
    workspace_root().join("schemas")
}

fn schemas() -> ExitCode {
    let dir = schemas_dir();
    match jisseki::schema::write_schemas(&dir) {
        Ok(()) => {
            let n = jisseki::schema::event_schemas().len();
            println!("wrote {n} schemas to {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask schemas: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

fn check_schemas() -> ExitCode {
    let dir = schemas_dir();
    match jisseki::schema::check_schemas(&dir) {
        Ok(()) => {
            println!("schemas are up to date ({})", dir.display());
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprintln!("the JSON Schemas do not match the Rust types; run `cargo xtask schemas`:");
            for p in problems {
                eprintln!("  {p}");
            }
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("schemas") => schemas(),
        Some("check-schemas") => check_schemas(),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("xtask: unknown command `{other}`\n\n{USAGE}");
            ExitCode::from(2)
        }
        None => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
