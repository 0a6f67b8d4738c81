//! `cargo xtask load --clients N --seconds S`: `jisseki serve` under load,
//! on loopback only.
//!
//! Starts the release server on a fresh root, creates one project, then
//! runs N clients appending single durable events (each request one event,
//! acknowledged after fsync) and one client asking for the report, for S
//! seconds. Prints throughput, p50/p99/p999 latency and errors, as
//! Markdown. Bounded: at most 600 seconds, 512 clients.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn token(bin: &Path, root: &Path, role: &str, project: Option<&str>) -> anyhow::Result<String> {
    let mut c = Command::new(bin);
    c.args(["token", "create", "--root"])
        .arg(root)
        .args(["--role", role]);
    if let Some(p) = project {
        c.args(["--project", p]);
    }
    let out = c.output()?;
    anyhow::ensure!(out.status.success(), "token create failed");
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

struct Stats {
    latencies: Vec<Duration>,
    errors: u64,
}

/// Runs the load; prints the table.
pub fn run(bin: &Path, clients: usize, seconds: u64) -> anyhow::Result<()> {
    let clients = clients.clamp(1, 512);
    let seconds = seconds.clamp(1, 600);
    let tmp = std::env::temp_dir().join(format!("jisseki-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let root = tmp.join("root");
    let admin = token(bin, &root, "admin", None)?;
    let council = token(bin, &root, "council", Some("p"))?;
    let mut server = Command::new(bin)
        .args(["serve", "--lang", "en", "--listen", "127.0.0.1:0", "--root"])
        .arg(&root)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    if let Some(out) = server.stdout.take() {
        BufReader::new(out).read_line(&mut line)?;
    }
    let base = line
        .split_once("http://")
        .map(|(_, a)| format!("http://{}", a.trim()))
        .ok_or_else(|| anyhow::anyhow!("the server did not start: {line:?}"))?;
    let cpu_before = cpu_seconds(server.id());
    let result = drive(&base, &admin, &council, clients, seconds);
    let cpu = cpu_seconds(server.id()) - cpu_before;
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let status = server.wait()?;
    let _ = std::fs::remove_dir_all(&tmp);
    let (appends, reports, wall) = result?;
    anyhow::ensure!(
        status.success(),
        "the server did not stop cleanly: {status}"
    );
    println!("# jisseki serve under load\n");
    println!(
        "- {clients} clients appending one durable event per request, and 1 client asking for the report, for {seconds} s, on loopback"
    );
    println!(
        "- machine: {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| requests | count | per second | p50 ms | p99 ms | p999 ms | max ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, s) in [
        ("append (1 event, fsynced)", &appends),
        ("report", &reports),
    ] {
        let n = s.latencies.len();
        println!(
            "| {name} | {n} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            n as f64 / wall.as_secs_f64(),
            percentile(&s.latencies, 0.50),
            percentile(&s.latencies, 0.99),
            percentile(&s.latencies, 0.999),
            percentile(&s.latencies, 1.0),
            s.errors
        );
    }
    let requests = appends.latencies.len() + reports.latencies.len();
    println!();
    println!(
        "Server CPU: {cpu:.2} s over {:.1} s ({:.0} % of one CPU), {:.0} µs per request.",
        wall.as_secs_f64(),
        100.0 * cpu / wall.as_secs_f64(),
        1e6 * cpu / requests.max(1) as f64
    );
    println!();
    println!("Goal (issue 7): ≥ 2,000 appends/s with p99 < 20 ms at 64 clients; reports p99 < 50 ms while appends run.");
    Ok(())
}

/// User plus system CPU time of a process so far, from `/proc` (0 where
/// there is none).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line; 12 and 13 here.
    (ticks(11) + ticks(12)) / 100.0
}

fn drive(
    base: &str,
    admin: &str,
    council: &str,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<(Stats, Stats, Duration)> {
    let auth = |t: &str| format!("Bearer {t}");
    ureq::post(&format!("{base}/v1/projects"))
        .set("Authorization", &auth(admin))
        .set("Content-Type", "application/json")
        .send_string(r#"{"project":"p"}"#)?;
    let defs = concat!(
        r#"{"type":"project_defined","project":"p","name":"負荷試験","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}"#,
        "\n",
        r#"{"type":"menu_defined","menu":"B-01","category":"B","kind":"seminar","name":"B","targets":[{"fiscal_year":2024,"output":100,"outcome":30}]}"#,
        "\n"
    );
    ureq::post(&format!("{base}/v1/projects/p/events"))
        .set("Authorization", &auth(council))
        .set("Content-Type", "application/x-ndjson")
        .send_string(defs)?;
    let stop = Arc::new(AtomicBool::new(false));
    let agent = ureq::AgentBuilder::new()
        .max_idle_connections(clients + 4)
        .max_idle_connections_per_host(clients + 4)
        .build();
    let started = Instant::now();
    let writers: Vec<_> = (0..clients)
        .map(|c| {
            let (stop, agent) = (stop.clone(), agent.clone());
            let (url, auth) = (format!("{base}/v1/projects/p/events"), auth(council));
            std::thread::spawn(move || {
                let mut s = Stats {
                    latencies: Vec::new(),
                    errors: 0,
                };
                for i in 0..1_000_000u64 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let line = format!(
                        r#"{{"type":"attendance","menu":"B-01","date":"2025-01-10","role":"job_seeker","person":"P-{c}-{i}","residence":"in_region","intent_confirmed":true}}"#
                    );
                    let t = Instant::now();
                    let r = agent
                        .post(&url)
                        .set("Authorization", &auth)
                        .set("Content-Type", "application/x-ndjson")
                        .send_string(&line);
                    match r {
                        Ok(_) => s.latencies.push(t.elapsed()),
                        Err(_) => s.errors += 1,
                    }
                }
                s
            })
        })
        .collect();
    let reader = {
        let (stop, agent) = (stop.clone(), agent.clone());
        let (url, auth) = (
            format!("{base}/v1/projects/p/report?as_of=2025-02-28"),
            auth(council),
        );
        std::thread::spawn(move || {
            let mut s = Stats {
                latencies: Vec::new(),
                errors: 0,
            };
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match agent.get(&url).set("Authorization", &auth).call() {
                    Ok(r) => {
                        let _ = r.into_string();
                        s.latencies.push(t.elapsed());
                    }
                    Err(_) => s.errors += 1,
                }
            }
            s
        })
    };
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut appends = Stats {
        latencies: Vec::new(),
        errors: 0,
    };
    for w in writers {
        let s = w.join().map_err(|_| anyhow::anyhow!("a client panicked"))?;
        appends.latencies.extend(s.latencies);
        appends.errors += s.errors;
    }
    let wall = started.elapsed();
    let mut reports = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader panicked"))?;
    appends.latencies.sort_unstable();
    reports.latencies.sort_unstable();
    Ok((appends, reports, wall))
}
