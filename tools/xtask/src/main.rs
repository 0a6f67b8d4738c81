//! Project chores: `cargo xtask <command>` (the alias is in `.cargo/config.toml`).
//!
//! | command | does |
//! |---|---|
//! | `schemas` | writes the JSON Schemas of the events into `schemas/` |
//! | `check-schemas` | exits 1, listing the files, when `schemas/` is not what `schemas` would write |
//! | `ci` | every check CI runs: fmt, clippy `-D warnings`, schemas, all tests, jisseki beside SQLite on 40k events, fuzzing |
//! | `gen` | writes a synthetic council's events as JSON Lines |
//! | `bench` | prints the performance figures (`tools/bench.sh`) |
//! | `crash` | many real-crash iterations (`tools/crash.sh`) |
//! | `simulate` | the deterministic fault simulation over N seeds (`tests/simulation.rs`) |
//! | `fuzz` | every cargo-fuzz target for N seconds (`fuzz/`) |
//! | `load` | `jisseki serve` under load on loopback: throughput, p50/p99/p999, errors |
//! | `bench-vs-sqlite` | the same events in jisseki and in SQLite: same figures, times, sizes, memory (`tools/bench_vs_sqlite.py`) |

mod load;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  schemas         write the JSON Schemas of the events into schemas/
  check-schemas   fail when schemas/ differs from the Rust types (run `cargo xtask schemas`)
  ci              every check CI runs: fmt, clippy -D warnings, schemas, all tests
  gen [--seed S] [--participants N] [--establishments N] [--out FILE]
                  a synthetic council's events as JSON Lines (stdout by default)
  gen --events N [--seed S] [--out FILE]
                  a council of N events at national scale, fast (synth::bulk), for benchmarks
  gen --councils C --events N [--seed S] --out DIR
                  a synthetic nation: C councils modelled on the guide's ten regions,
                  N events in all, one JSON Lines file per council in DIR
  bench           print the performance figures (tools/bench.sh)
  crash [N]       N real-crash iterations (tools/crash.sh, default 300)
  simulate [--seeds N] [--seed S] [--steps K]
                  the deterministic fault simulation (tests/simulation.rs), in release
  fuzz [--seconds N] [--target T] [--seed S] [--if-nightly]
                  each cargo-fuzz target (fuzz/) for N seconds (default 60); installs
                  cargo-fuzz if missing; --if-nightly skips without a nightly toolchain
  load [--clients N] [--seconds S]
                  jisseki serve under load on loopback (default 64 clients, 10 s): N clients
                  appending single durable events and one asking for reports; throughput,
                  p50/p99/p999 latency, errors
  bench-vs-sqlite --events N [--seed S] [--work DIR]
                  N events of B/C menus (synth::bc) into jisseki and into SQLite: checks
                  both give the same figures, prints import and report times, disk and
                  memory, and their ratios (tools/bench_vs_sqlite.py)";

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

/// Runs one step of `ci`, echoing it; `false` when it failed.
fn step(name: &str, program: &str, args: &[&str]) -> bool {
    println!("\n== {name}: {program} {}", args.join(" "));
    let status = std::process::Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .status();
    match status {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!("xtask ci: `{name}` failed ({s})");
            false
        }
        Err(e) => {
            eprintln!("xtask ci: could not run {program}: {e}");
            false
        }
    }
}

/// What the web page's browser tests need (`tests/web.rs`): Debian's
/// Chromium and Japanese fonts (installed with apt-get when missing, as
/// root or through sudo), and playwright-core from npm (`npm ci` in
/// `tests/web`). Sets `JISSEKI_E2E=1` so that the tests run rather than
/// skip.
fn browser_tools() -> bool {
    let root = workspace_root();
    let have_chromium = std::path::Path::new("/usr/bin/chromium").exists();
    let have_fonts = std::path::Path::new("/usr/share/fonts/opentype/noto").exists();
    if !have_chromium || !have_fonts {
        let is_root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let (program, prefix): (&str, &[&str]) = if is_root {
            ("apt-get", &[])
        } else {
            ("sudo", &["apt-get"])
        };
        let with = |args: &[&str]| -> Vec<String> {
            prefix.iter().chain(args).map(|s| s.to_string()).collect()
        };
        let update = with(&["update", "-qq"]);
        let install = with(&[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
            "fonts-noto-cjk",
        ]);
        let update: Vec<&str> = update.iter().map(String::as_str).collect();
        let install: Vec<&str> = install.iter().map(String::as_str).collect();
        std::env::set_var("DEBIAN_FRONTEND", "noninteractive");
        if !(step("browser: apt-get update", program, &update)
            && step("browser: install Chromium and fonts", program, &install))
        {
            return false;
        }
    }
    let npm = step(
        "browser: npm ci (playwright-core)",
        "npm",
        &[
            "ci",
            "--prefix",
            &root.join("tests/web").to_string_lossy(),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ],
    );
    std::env::set_var("JISSEKI_E2E", "1");
    npm
}

fn ci() -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = step("format", &cargo, &["fmt", "--all", "--", "--check"])
        && step(
            "lint",
            &cargo,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        )
        && check_schemas() == ExitCode::SUCCESS
        && browser_tools()
        && step("tests", &cargo, &["test", "--workspace"])
        // The same figures from jisseki and from one SQL query over the same
        // events (O-BC1, O-BC2, XO-3, C-BC1, C-BC2, XC-6, XC-7): a check of
        // both, small enough for CI.
        && bench_vs_sqlite(&["--events".into(), "40000".into()]) == ExitCode::SUCCESS
        // A fixed seed: CI replays the same search (a slower machine runs a
        // prefix of it), so a crash found here is found again, not by luck.
        && fuzz(&[
            "--seconds".into(),
            "60".into(),
            "--seed".into(),
            "1".into(),
            "--if-nightly".into(),
        ]) == ExitCode::SUCCESS;
    if ok {
        println!("\nxtask ci: every check passed");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The fuzz targets of `fuzz/` (each has a corpus in `fuzz/corpus/<name>`).
const FUZZ_TARGETS: [&str; 5] = ["jsonl", "csv", "era_date", "envelope", "restore"];

/// A `cargo +nightly` command, free of what the stable cargo that runs
/// xtask put in the environment.
fn nightly_cargo() -> std::process::Command {
    let mut c = std::process::Command::new("cargo");
    c.arg("+nightly");
    for var in [
        "RUSTUP_TOOLCHAIN",
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "CARGO_TARGET_DIR",
    ] {
        c.env_remove(var);
    }
    c
}

/// `cargo xtask fuzz`: runs each target for the seconds asked, new inputs
/// going to a scratch directory (the committed corpora only seed). A crash
/// leaves its input in `fuzz/artifacts/<target>/` and fails.
fn fuzz(args: &[String]) -> ExitCode {
    let mut seconds = 60u64;
    let mut only: Option<String> = None;
    let mut if_nightly = false;
    let mut seed: Option<u64> = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--seconds" => match it.next().and_then(|v| v.parse().ok()) {
                Some(v) => seconds = v,
                None => {
                    eprintln!("xtask fuzz: --seconds needs a number");
                    return ExitCode::from(2);
                }
            },
            "--target" => only = it.next().cloned(),
            "--seed" => match it.next().and_then(|v| v.parse().ok()) {
                Some(v) => seed = Some(v),
                None => {
                    eprintln!("xtask fuzz: --seed needs a number");
                    return ExitCode::from(2);
                }
            },
            "--if-nightly" => if_nightly = true,
            _ => {
                eprintln!("xtask fuzz: unknown flag {flag}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let has_nightly = nightly_cargo()
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_nightly {
        eprintln!("xtask fuzz: no nightly toolchain (cargo-fuzz needs one)");
        return if if_nightly {
            println!("fuzz: skipped (no nightly toolchain)");
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let has_fuzz = nightly_cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_fuzz {
        println!("installing cargo-fuzz ...");
        let installed = std::process::Command::new("cargo")
            .args(["install", "cargo-fuzz"])
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            eprintln!("xtask fuzz: could not install cargo-fuzz");
            return ExitCode::FAILURE;
        }
    }
    let dir = workspace_root().join("fuzz");
    let scratch = std::env::temp_dir().join(format!("jisseki-fuzz-{}", std::process::id()));
    let mut failed = Vec::new();
    for target in FUZZ_TARGETS
        .iter()
        .filter(|t| only.as_deref().is_none_or(|o| o == **t))
    {
        let new_inputs = scratch.join(target);
        if std::fs::create_dir_all(&new_inputs).is_err() {
            return ExitCode::FAILURE;
        }
        println!("\n== fuzz {target} for {seconds} s");
        let ok = nightly_cargo()
            .current_dir(&dir)
            .args(["fuzz", "run", target])
            .arg(&new_inputs)
            .arg(dir.join("corpus").join(target))
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-rss_limit_mb=2048",
                "-timeout=20",
                "-print_final_stats=1",
            ])
            .args(seed.map(|s| format!("-seed={s}")))
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            failed.push(*target);
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if failed.is_empty() {
        println!("\nfuzz: every target ran {seconds} s without a crash");
        ExitCode::SUCCESS
    } else {
        eprintln!("\nfuzz: crashes in {failed:?} (inputs in fuzz/artifacts/)");
        ExitCode::FAILURE
    }
}

/// `cargo xtask simulate --seeds N`: runs `tests/simulation.rs` in release
/// with the seeds and steps asked for.
fn simulate(args: &[String]) -> ExitCode {
    let mut cmd = std::process::Command::new(env!("CARGO"));
    cmd.current_dir(workspace_root()).args([
        "test",
        "--release",
        "--test",
        "simulation",
        "--",
        "--nocapture",
    ]);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let var = match flag.as_str() {
            "--seeds" => "JISSEKI_SIM_SEEDS",
            "--seed" => "JISSEKI_SIM_SEED",
            "--steps" => "JISSEKI_SIM_STEPS",
            _ => {
                eprintln!("xtask simulate: unknown flag {flag}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        };
        match it.next().filter(|v| v.parse::<u64>().is_ok()) {
            Some(v) => {
                cmd.env(var, v);
            }
            None => {
                eprintln!("xtask simulate: {flag} needs a number");
                return ExitCode::from(2);
            }
        }
    }
    match cmd.status() {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask simulate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn gen(args: &[String]) -> ExitCode {
    let mut cfg = jisseki::synth::SynthConfig::default();
    let mut out: Option<PathBuf> = None;
    let mut events: Option<u64> = None;
    let mut councils: Option<usize> = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            eprintln!("xtask gen: {flag} needs a value");
            return ExitCode::from(2);
        };
        let parsed = match flag.as_str() {
            "--seed" => value.parse().map(|v| cfg.seed = v).is_ok(),
            "--participants" => value.parse().map(|v| cfg.participants = v).is_ok(),
            "--establishments" => value.parse().map(|v| cfg.establishments = v).is_ok(),
            "--events" => value.parse().map(|v| events = Some(v)).is_ok(),
            "--councils" => value.parse().map(|v| councils = Some(v)).is_ok(),
            "--out" => {
                out = Some(PathBuf::from(value));
                true
            }
            _ => false,
        };
        if !parsed {
            eprintln!("xtask gen: bad flag or value: {flag} {value}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    if let Some(n) = councils {
        let (Some(dir), Some(events)) = (&out, events) else {
            eprintln!("xtask gen: --councils needs --events and --out DIR\n\n{USAGE}");
            return ExitCode::from(2);
        };
        return match jisseki::synth::bulk::write_nation(n, events, cfg.seed, dir) {
            Ok(files) => {
                println!("wrote {} councils to {}", files.len(), dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("xtask gen: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(n) = events {
        let written = match &out {
            Some(path) => std::fs::File::create(path).and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                jisseki::synth::bulk::write(n, cfg.seed, &mut w)?;
                std::io::Write::flush(&mut w)
            }),
            None => jisseki::synth::bulk::write(n, cfg.seed, &mut std::io::stdout().lock()),
        };
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("xtask gen: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let text = jisseki::synth::generate_jsonl(&cfg);
    let written = match &out {
        Some(path) => std::fs::write(path, text),
        None => std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask gen: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The release binary, built first.
fn release_jisseki() -> Option<PathBuf> {
    if !step(
        "build",
        "cargo",
        &[
            "build",
            "--release",
            "--quiet",
            "--bin",
            "jisseki",
            "-p",
            "jisseki",
        ],
    ) {
        return None;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    Some(target.join("release").join("jisseki"))
}

/// `cargo xtask load [--clients N] [--seconds S]`.
fn load(args: &[String]) -> ExitCode {
    let (mut clients, mut seconds) = (64usize, 10u64);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let ok = match (flag.as_str(), it.next()) {
            ("--clients", Some(v)) => v.parse().map(|v| clients = v).is_ok(),
            ("--seconds", Some(v)) => v.parse().map(|v| seconds = v).is_ok(),
            _ => false,
        };
        if !ok {
            eprintln!("xtask load: bad flag or value: {flag}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let Some(bin) = release_jisseki() else {
        return ExitCode::FAILURE;
    };
    match load::run(&bin, clients, seconds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask bench-vs-sqlite --events N [--seed S] [--work DIR]`.
fn bench_vs_sqlite(args: &[String]) -> ExitCode {
    let mut events: u64 = 10_000_000;
    let mut seed: u64 = 2024;
    let mut work: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next();
        let ok = match (flag.as_str(), value) {
            ("--events", Some(v)) => v.parse().map(|v| events = v).is_ok(),
            ("--seed", Some(v)) => v.parse().map(|v| seed = v).is_ok(),
            ("--work", Some(v)) => {
                work = Some(PathBuf::from(v));
                true
            }
            _ => false,
        };
        if !ok {
            eprintln!("xtask bench-vs-sqlite: bad flag or value: {flag}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let root = workspace_root();
    let work = work
        .unwrap_or_else(|| std::env::temp_dir().join(format!("jisseki-vs-sqlite-{events}-{seed}")));
    if !step(
        "build",
        "cargo",
        &[
            "build",
            "--release",
            "--quiet",
            "--bin",
            "jisseki",
            "-p",
            "jisseki",
        ],
    ) {
        return ExitCode::FAILURE;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("release").join("jisseki");
    let file = work.join("events.jsonl");
    let generated = std::fs::create_dir_all(&work)
        .and_then(|()| std::fs::File::create(&file))
        .and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            jisseki::synth::bc::write(events, seed, &mut w)?;
            std::io::Write::flush(&mut w)
        });
    if let Err(e) = generated {
        eprintln!("xtask bench-vs-sqlite: {}: {e}", file.display());
        return ExitCode::FAILURE;
    }
    let script = root.join("tools").join("bench_vs_sqlite.py");
    let (Some(script), Some(bin), Some(file), Some(dir)) =
        (script.to_str(), bin.to_str(), file.to_str(), work.to_str())
    else {
        eprintln!("xtask bench-vs-sqlite: paths must be UTF-8");
        return ExitCode::FAILURE;
    };
    let as_of = jisseki::synth::bc::AS_OF;
    if step(
        "bench-vs-sqlite",
        "python3",
        &[
            script,
            "--jisseki",
            bin,
            "--events",
            file,
            "--work",
            dir,
            "--as-of",
            as_of,
        ],
    ) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn script(name: &str, args: &[String]) -> ExitCode {
    let path = workspace_root().join("tools").join(name);
    let args: Vec<&str> = std::iter::once(path.to_str().unwrap_or(name))
        .chain(args.iter().map(String::as_str))
        .collect();
    if step(name, "bash", &args) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("schemas") => schemas(),
        Some("check-schemas") => check_schemas(),
        Some("ci") => ci(),
        Some("gen") => gen(&args[2..]),
        Some("bench") => script("bench.sh", &args[2..]),
        Some("crash") => script("crash.sh", &args[2..]),
        Some("simulate") => simulate(&args[2..]),
        Some("fuzz") => fuzz(&args[2..]),
        Some("bench-vs-sqlite") => bench_vs_sqlite(&args[2..]),
        Some("load") => load(&args[2..]),
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
