//! Deterministic simulation of the ledger under injected faults and power
//! cuts, in the manner of TigerBeetle's simulator and redb's fault-injecting
//! storage: one seed drives a mix of appends (some invalid, some failing to
//! write or to sync), corrections and retractions, restarts with and
//! without a power cut, reports and export → restore round trips, over a
//! simulated disk ([`SimDisk`]) whose applied batches are durable only once
//! synced.
//!
//! After every restart it checks that:
//! - every acknowledged event is there, and nothing else but whole batches
//!   that reached the disk before the cut (no half batch);
//! - the hash chain verifies;
//! - the report equals that of a plain model: the events that should be
//!   there, in a `Vec`, folded by the same rules (`projection::summarize`,
//!   which reads neither the journal nor its indexes).
//!
//! A failing seed is printed and reproduces exactly:
//! `JISSEKI_SIM_SEED=<seed> cargo test --test simulation -- --nocapture`.
//! `JISSEKI_SIM_SEEDS` sets how many seeds run (default 200; `cargo xtask
//! simulate --seeds N`), `JISSEKI_SIM_STEPS` the steps per seed (default 60).

use jisseki::domain::{Date, EventBody};
use jisseki::io::{read_events, InputFormat, Mode};
use jisseki::journal::{ManualClock, RecordedEvent, SimDisk, SimFault, Verification, GENESIS};
use jisseki::projection::{summarize, Query};
use jisseki::report::Report;
use jisseki::rules::time::Scope;
use jisseki::{AppendOptions, Ledger, LedgerError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

const PREAMBLE: [&str; 4] = [
    r#"{"type":"project_defined","project":"sim","name":"sim","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}"#,
    r#"{"type":"menu_defined","menu":"A-1","category":"A","kind":"seminar","name":"A","targets":[{"fiscal_year":2024,"output":5,"outcome":2}]}"#,
    r#"{"type":"menu_defined","menu":"B-1","category":"B","kind":"seminar","name":"B","targets":[{"fiscal_year":2024,"output":5,"outcome":2}]}"#,
    r#"{"type":"menu_defined","menu":"C-1","category":"C","kind":"seminar","name":"C","targets":[{"fiscal_year":2025,"output":5,"outcome":2}]}"#,
];

/// A batch that reached the disk: its events, and whether the ledger
/// acknowledged it.
#[derive(Debug, Clone)]
struct Landed {
    events: Vec<(Option<Uuid>, EventBody)>,
    acked: bool,
}

#[derive(Debug, Default)]
struct Stats {
    steps: u64,
    appends_acked: u64,
    appends_refused: u64,
    append_faults: u64,
    restarts: u64,
    crashes: u64,
    batches_lost: u64,
    reports_checked: u64,
    restores: u64,
}

fn day(rng: &mut StdRng) -> String {
    (chrono::NaiveDate::from_ymd_opt(2024, 10, 1).unwrap_or_default()
        + chrono::Days::new(rng.gen_range(0..540)))
    .to_string()
}

fn place(rng: &mut StdRng) -> &'static str {
    ["in_region", "out_region", "unknown"][rng.gen_range(0..3)]
}

/// One valid fact with a client id.
fn fact(rng: &mut StdRng, id: Uuid) -> String {
    let p = format!("P{}", rng.gen_range(0..12));
    let e = format!("E{}", rng.gen_range(0..4));
    let d = day(rng);
    match rng.gen_range(0..10) {
        0..=5 => {
            let m = ["B-1", "C-1"][rng.gen_range(0..2)];
            format!(
                r#"{{"id":"{id}","type":"attendance","menu":"{m}","date":"{d}","role":"job_seeker","person":"{p}","residence":"{}","intent_confirmed":{},"wants_in_region":{}}}"#,
                place(rng),
                rng.gen_bool(0.8),
                rng.gen_bool(0.3)
            )
        }
        6 => format!(
            r#"{{"id":"{id}","type":"attendance","menu":"A-1","date":"{d}","role":"establishment","establishment":"{e}","establishment_location":"{}"}}"#,
            place(rng)
        ),
        7 | 8 => format!(
            r#"{{"id":"{id}","type":"hire","person":"{p}","employer":"{e}","offer_date":"{d}","start_date":"{d}","workplace":"{}","weekly_hours":{}}}"#,
            place(rng),
            [10, 20, 40][rng.gen_range(0..3)]
        ),
        _ => format!(
            r#"{{"id":"{id}","type":"startup","person":"{p}","date":"{d}","location":"{}","employees":{}}}"#,
            place(rng),
            rng.gen_range(0..3)
        ),
    }
}

struct Sim {
    seed: u64,
    rng: StdRng,
    disk: SimDisk,
    clock: Arc<ManualClock>,
    ledger: Option<Ledger>,
    /// Batches on the disk, in the order they were applied.
    landed: Vec<Landed>,
    /// How many of `landed` are durable (synced).
    durable: usize,
    next_id: u64,
    stats: Stats,
}

impl Sim {
    fn new(seed: u64) -> Result<Sim, String> {
        let disk = SimDisk::default();
        let clock = Arc::new(ManualClock::at(1_730_000_000_000_000));
        let ledger = Ledger::with_storage(Box::new(disk.clone()), clock.clone())
            .map_err(|e| format!("open: {e}"))?;
        let mut sim = Sim {
            seed,
            rng: StdRng::seed_from_u64(seed),
            disk,
            clock,
            ledger: Some(ledger),
            landed: Vec::new(),
            durable: 0,
            next_id: 0,
            stats: Stats::default(),
        };
        let preamble: Vec<String> = PREAMBLE.iter().map(|s| s.to_string()).collect();
        sim.append(&preamble, None)?;
        if sim.landed.is_empty() {
            return Err("the preamble was not appended".into());
        }
        Ok(sim)
    }

    fn ledger(&mut self) -> &mut Ledger {
        match self.ledger.as_mut() {
            Some(l) => l,
            None => unreachable!("the ledger is open between steps"),
        }
    }

    fn new_id(&mut self) -> Uuid {
        self.next_id += 1;
        // Version 4 form: never the form the journal reserves to itself.
        Uuid::from_u128((0x0193_a1c0_0000_4000_8000u128 << 48) | u128::from(self.next_id))
    }

    /// Every client id of the events on the disk.
    fn ids(&self) -> Vec<Uuid> {
        self.landed
            .iter()
            .flat_map(|b| b.events.iter().filter_map(|(id, _)| *id))
            .collect()
    }

    /// Appends `lines`, with `fault` injected first; records what reached
    /// the disk.
    fn append(&mut self, lines: &[String], fault: Option<SimFault>) -> Result<(), String> {
        let text = lines.join("\n");
        let events = read_events(
            text.as_bytes(),
            "sim.jsonl",
            InputFormat::JsonLines,
            Mode::Append,
        )
        .map_err(|e| format!("seed {}: generated input refused: {e:?}", self.seed))?;
        let bodies: Vec<(Option<Uuid>, EventBody)> =
            events.iter().map(|e| (e.id, e.body.clone())).collect();
        if let Some(f) = fault {
            self.disk.inject(f);
        }
        let before = (self.ledger().head(), self.disk.pending());
        self.clock.set(self.clock_now() + 1_000);
        let result = self
            .ledger()
            .append(events, "sim.jsonl", AppendOptions::default());
        let after_pending = self.disk.pending();
        match result {
            Ok(_) => {
                self.landed.push(Landed {
                    events: bodies,
                    acked: true,
                });
                // A sync makes every applied batch durable.
                self.durable = self.landed.len();
                self.stats.appends_acked += 1;
            }
            Err(LedgerError::Input(_)) => {
                // Refused before anything was written.
                if (self.ledger().head(), self.disk.pending()) != before {
                    return Err(format!(
                        "seed {}: a refused batch changed the ledger",
                        self.seed
                    ));
                }
                self.stats.appends_refused += 1;
            }
            Err(_) => {
                self.stats.append_faults += 1;
                if after_pending > before.1 {
                    // Applied, not synced: on the disk, not acknowledged.
                    self.landed.push(Landed {
                        events: bodies,
                        acked: false,
                    });
                }
            }
        }
        // Faults that did not fire (the batch was refused first) are
        // dropped, so that they do not hit a later call by surprise.
        self.disk.clear_faults();
        Ok(())
    }

    fn clock_now(&self) -> i64 {
        use jisseki::journal::Clock;
        self.clock.now_us()
    }

    fn step_append(&mut self) -> Result<(), String> {
        let n = self.rng.gen_range(1..12);
        let mut lines = Vec::new();
        for _ in 0..n {
            let id = self.new_id();
            lines.push(fact(&mut self.rng, id));
        }
        // Now and then a correction or retraction of an earlier event.
        let ids = self.ids();
        if !ids.is_empty() && self.rng.gen_bool(0.3) {
            let target = ids[self.rng.gen_range(0..ids.len())];
            let target_body = self
                .landed
                .iter()
                .flat_map(|b| b.events.iter())
                .find(|(id, _)| *id == Some(target))
                .map(|(_, b)| b.clone());
            if self.rng.gen_bool(0.5) {
                lines.push(format!(
                    r#"{{"type":"retraction","target":"{target}","reason":"誤登録"}}"#
                ));
            } else if let Some(
                EventBody::Attendance(_) | EventBody::Hire(_) | EventBody::Startup(_),
            ) = target_body
            {
                let id = self.new_id();
                let replacement = fact(&mut self.rng, id);
                let mut v: Value = serde_json::from_str(&replacement).map_err(|e| e.to_string())?;
                if let Some(o) = v.as_object_mut() {
                    o.remove("id");
                }
                let same_type = serde_json::to_value(target_body.as_ref())
                    .ok()
                    .and_then(|t| t.get("type").cloned())
                    == v.get("type").cloned();
                if same_type {
                    lines.push(format!(
                        r#"{{"type":"correction","target":"{target}","reason":"訂正","replacement":{v}}}"#
                    ));
                }
            }
        }
        // An invalid line now and then: the whole batch must be refused.
        if self.rng.gen_bool(0.1) {
            let at = self.rng.gen_range(0..=lines.len());
            lines.insert(
                at,
                r#"{"type":"attendance","menu":"NO-SUCH-MENU","date":"2024-11-01","role":"job_seeker","person":"P1"}"#
                    .to_string(),
            );
        }
        let fault = match self.rng.gen_range(0..100) {
            0..=14 => Some(SimFault::Apply),
            15..=29 => Some(SimFault::Sync),
            _ => None,
        };
        self.append(&lines, fault)
    }

    /// Closes the ledger, perhaps cuts the power, reopens and checks.
    fn step_restart(&mut self) -> Result<(), String> {
        self.ledger = None;
        self.stats.restarts += 1;
        if self.rng.gen_bool(0.6) {
            let pending = self.disk.pending();
            let keep = self.rng.gen_range(0..=pending);
            self.disk.crash(keep);
            self.stats.crashes += 1;
            self.stats.batches_lost += (pending - keep) as u64;
            // Batches past the durable ones: the first `keep` survive.
            let survive = self.durable + keep;
            if self.landed[survive..].iter().any(|b| b.acked) {
                return Err(format!(
                    "seed {}: an acknowledged batch was volatile",
                    self.seed
                ));
            }
            self.landed.truncate(survive);
            self.durable = survive;
        }
        let ledger = Ledger::with_storage(Box::new(self.disk.clone()), self.clock.clone())
            .map_err(|e| format!("seed {}: reopen after restart: {e}", self.seed))?;
        self.ledger = Some(ledger);
        self.check()
    }

    /// The events the ledger must hold, sealed as the model's own.
    fn model(&self) -> Vec<RecordedEvent> {
        let mut prev = GENESIS;
        let mut out = Vec::new();
        for (i, (id, body)) in self.landed.iter().flat_map(|b| b.events.iter()).enumerate() {
            let seq = i as u64 + 1;
            let r = RecordedEvent::seal(
                seq,
                1_000 + i as i64,
                id.unwrap_or_else(|| Uuid::from_u128(u128::from(seq))),
                body.clone(),
                &prev,
            );
            prev = r.hash;
            out.push(r);
        }
        out
    }

    fn check(&mut self) -> Result<(), String> {
        let seed = self.seed;
        let expected: Vec<(Option<Uuid>, EventBody)> = self
            .landed
            .iter()
            .flat_map(|b| b.events.iter().cloned())
            .collect();
        let ledger = self.ledger();
        match ledger.verify() {
            Verification::Intact { events, .. } if events == expected.len() as u64 => {}
            other => {
                return Err(format!(
                    "seed {seed}: verify gave {other:?}, {} events expected",
                    expected.len()
                ))
            }
        }
        let mut held = Vec::new();
        for e in ledger.events() {
            let e = e.map_err(|e| format!("seed {seed}: read: {e}"))?;
            held.push(e);
        }
        for (n, (r, (id, body))) in held.iter().zip(&expected).enumerate() {
            if &r.body != body || id.is_some_and(|id| id != r.id) {
                return Err(format!(
                    "seed {seed}: event {} differs from the model",
                    n + 1
                ));
            }
        }
        self.check_report()
    }

    fn check_report(&mut self) -> Result<(), String> {
        let seed = self.seed;
        let d = day(&mut self.rng);
        let as_of = Date::parse_iso(&d).ok_or_else(|| format!("bad date {d}"))?;
        let scope = if self.rng.gen_bool(0.5) {
            Scope::FiscalYear
        } else {
            Scope::Cumulative
        };
        let model = self.model();
        let summary = summarize(&model, None, Query { as_of, scope });
        let want = figures_json(&Report::from_summary(&summary, (0, GENESIS), as_of, None));
        let got = self
            .ledger()
            .report(as_of, None, scope)
            .map_err(|e| format!("seed {seed}: report: {e}"))?;
        if figures_json(&got) != want {
            return Err(format!(
                "seed {seed}: report as of {d} ({scope:?}) differs from the model:\n{}\n{}",
                figures_json(&got),
                want
            ));
        }
        self.stats.reports_checked += 1;
        Ok(())
    }

    /// Export, restore into a fresh disk, export again: the same bytes.
    fn step_restore(&mut self) -> Result<(), String> {
        let seed = self.seed;
        let mut export = Vec::new();
        self.ledger()
            .export(&mut export)
            .map_err(|e| format!("seed {seed}: export: {e}"))?;
        let disk = SimDisk::default();
        let mut copy = Ledger::with_storage(Box::new(disk), self.clock.clone())
            .map_err(|e| format!("seed {seed}: open copy: {e}"))?;
        let events = read_events(
            &export,
            "export.jsonl",
            InputFormat::JsonLines,
            Mode::Restore,
        )
        .map_err(|e| format!("seed {seed}: read export: {e:?}"))?;
        copy.restore(events, "export.jsonl", false)
            .map_err(|e| format!("seed {seed}: restore: {e}"))?;
        let mut again = Vec::new();
        copy.export(&mut again)
            .map_err(|e| format!("seed {seed}: export copy: {e}"))?;
        if again != export {
            return Err(format!(
                "seed {seed}: the restored ledger exports differently"
            ));
        }
        self.stats.restores += 1;
        Ok(())
    }

    fn run(&mut self, steps: u64) -> Result<(), String> {
        for _ in 0..steps {
            self.stats.steps += 1;
            match self.rng.gen_range(0..100) {
                0..=59 => self.step_append()?,
                60..=79 => self.step_restart()?,
                80..=92 => self.check_report()?,
                _ => self.step_restore()?,
            }
        }
        self.step_restart()
    }
}

/// A report's figures, without what names the ledger's own events (the
/// head) or the moment it was taken.
fn figures_json(r: &Report) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("head");
        o.remove("known_at");
    }
    v
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn the_ledger_survives_faults_and_power_cuts_under_every_seed() {
    let steps = env_u64("JISSEKI_SIM_STEPS", 60);
    let seeds: Vec<u64> = match std::env::var("JISSEKI_SIM_SEED") {
        Ok(s) => vec![s.parse().expect("JISSEKI_SIM_SEED is a number")],
        Err(_) => (0..env_u64("JISSEKI_SIM_SEEDS", 200)).collect(),
    };
    let mut total = Stats::default();
    let mut counts = jisseki::journal::SimCounts::default();
    for &seed in &seeds {
        let mut sim = match Sim::new(seed) {
            Ok(s) => s,
            Err(e) => {
                panic!("{e}\nreproduce: JISSEKI_SIM_SEED={seed} cargo test --test simulation")
            }
        };
        if let Err(e) = sim.run(steps) {
            panic!("{e}\nreproduce: JISSEKI_SIM_SEED={seed} cargo test --test simulation -- --nocapture");
        }
        let s = &sim.stats;
        total.steps += s.steps;
        total.appends_acked += s.appends_acked;
        total.appends_refused += s.appends_refused;
        total.append_faults += s.append_faults;
        total.restarts += s.restarts;
        total.crashes += s.crashes;
        total.batches_lost += s.batches_lost;
        total.reports_checked += s.reports_checked;
        total.restores += s.restores;
        let c = sim.disk.counts();
        counts.faults += c.faults;
        counts.applies += c.applies;
    }
    println!(
        "simulation: {} seeds, {} steps, {} batches acknowledged (none lost), {} refused, {} faults injected, {} restarts ({} power cuts, {} unacknowledged batches lost), {} reports checked against the model, {} export/restore round trips",
        seeds.len(),
        total.steps,
        total.appends_acked,
        total.appends_refused,
        counts.faults,
        total.restarts,
        total.crashes,
        total.batches_lost,
        total.reports_checked,
        total.restores
    );
    assert!(total.appends_acked > 0 && counts.faults > 0 && total.crashes > 0);
}
