//! A synthetic council (地域雇用創造協議会): a deterministic generator of a
//! realistic three-year project's events, as the JSON Lines that
//! `jisseki import` reads (CONTRACT.md §2). `jisseki demo` and
//! `cargo xtask gen` build their ledgers from it.
//!
//! The project is modelled on 釧路市's 「互いの想いに寄り添う出会いの場。雇用創造
//! in 釧路」: eight menus in categories A, B and C, their sessions over three
//! fiscal years, several hundred attendances, and the hires, regular
//! conversions and start-ups that follow. The population is deliberately
//! mixed (residents outside the region with and without a wish to work in
//! it, unknown residence, unconfirmed intent, employed people after skills
//! only, government staff and promoters, freelancers, students of every kind,
//! prior offers, short hours, regular recruitment, unknown start dates...) so
//! that every counting rule of RULES.md has cases to decide.
//!
//! Same seed, same bytes: every draw comes from one seeded [`ChaCha8Rng`],
//! whose stream is fixed across platforms and versions; indices are drawn as
//! `u32` (never `usize`), arithmetic is integer, only vectors are iterated,
//! and [`generate_jsonl`] writes keys in its own fixed order, whatever map
//! features `serde_json` was built with.

pub mod bc;
pub mod bulk;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthConfig {
    /// Seed of the random stream: the same seed gives the same events;
    /// default 2024, as `jisseki demo`.
    pub seed: u64,
    /// Number of persons (`P-0001`…), default 300.
    pub participants: u32,
    /// Number of establishments (`E-0001`…), default 40.
    pub establishments: u32,
    /// First day of project year 1, default 2024-10-01.
    pub contract_start: NaiveDate,
    /// Project id, default `demo-kushiro`.
    pub project: String,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 2024,
            participants: 300,
            establishments: 40,
            contract_start: ymd(2024, 10, 1),
            project: "demo-kushiro".to_string(),
        }
    }
}

/// Generates the council's events in append order: definitions first, then
/// roughly chronological, as the council would have recorded them. Each is a
/// JSON object exactly as an input line of CONTRACT.md §2 (no `seq`,
/// `recorded_at` or `hash`); only the targets of the correction and the
/// retraction carry an `id`.
pub fn generate(cfg: &SynthConfig) -> Vec<Value> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let world = World::plan(&mut rng, cfg);
    let mut timeline = Timeline::default();
    define_project(&world, cfg, &mut timeline);
    hold_sessions(&world, &mut timeline);
    record_attendance(&mut rng, &world, &mut timeline);
    record_surveys(&mut rng, &world, &mut timeline);
    record_outcomes(&mut rng, &world, &mut timeline);
    record_revision_and_plan(&mut rng, &world, &mut timeline);
    timeline.into_events()
}

/// [`generate`] as JSON Lines: one compact object a line, `type` first and
/// `id` second, then the other keys in alphabetical order; every line ends
/// with a newline.
pub fn generate_jsonl(cfg: &SynthConfig) -> String {
    let mut out = String::new();
    for event in generate(cfg) {
        write_json(&mut out, &event);
        out.push('\n');
    }
    out
}

/// The number of events of each `type`.
pub fn summary(events: &[Value]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for event in events {
        let ty = event.get("type").and_then(Value::as_str).unwrap_or("?");
        *counts.entry(ty.to_string()).or_insert(0) += 1;
    }
    counts
}

// ---------------------------------------------------------------------------
// Calendar

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date that exists")
}

/// `d` moved by `days` (negative: earlier).
fn plus(d: NaiveDate, days: i64) -> NaiveDate {
    d + Duration::days(days)
}

/// The Japanese fiscal year (April–March) containing `d`, named by the
/// calendar year it starts in.
fn fiscal_year(d: NaiveDate) -> i32 {
    if d.month() >= 4 {
        d.year()
    } else {
        d.year() - 1
    }
}

/// The project's three fiscal years, the first starting at the contract.
struct Calendar {
    start: NaiveDate,
    first_fy: i32,
}

impl Calendar {
    fn new(start: NaiveDate) -> Self {
        Calendar {
            start,
            first_fy: fiscal_year(start),
        }
    }

    fn fiscal_years(&self) -> [i32; 3] {
        [self.first_fy, self.first_fy + 1, self.first_fy + 2]
    }

    /// The last day of project year 3.
    fn end(&self) -> NaiveDate {
        ymd(self.first_fy + 3, 3, 31)
    }

    /// The days of fiscal year `fy` on which sessions can be held. Year 1
    /// leaves three weeks after the contract to recruit and advertise.
    fn session_window(&self, fy: i32) -> (NaiveDate, NaiveDate) {
        let first = ymd(fy, 4, 1).max(plus(self.start, 21));
        (first, ymd(fy + 1, 3, 31))
    }

    fn contains(&self, d: NaiveDate) -> bool {
        (self.start..=self.end()).contains(&d)
    }
}

// ---------------------------------------------------------------------------
// Random draws. Everything goes through these so that the stream never
// depends on the platform (no usize ranges, no floating point).

type Draw = ChaCha8Rng;

/// An index below `len` (> 0).
fn index(rng: &mut Draw, len: usize) -> usize {
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    rng.gen_range(0..len) as usize
}

/// One of `items`, or none when there are none.
fn pick<T: Copy>(rng: &mut Draw, items: &[T]) -> Option<T> {
    if items.is_empty() {
        None
    } else {
        Some(items[index(rng, items.len())])
    }
}

/// True with probability `percent` / 100.
fn chance(rng: &mut Draw, percent: u32) -> bool {
    rng.gen_range(0..100u32) < percent
}

/// A whole number in `lo..=hi`.
fn between(rng: &mut Draw, lo: i64, hi: i64) -> i64 {
    rng.gen_range(lo..=hi)
}

/// One value of a table of (value, weight).
fn weighted<T: Copy>(rng: &mut Draw, table: &[(T, u32)]) -> T {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen_range(0..total);
    for &(value, w) in table {
        if x < w {
            return value;
        }
        x -= w;
    }
    table[table.len() - 1].0
}

/// A day in `lo..=hi` (or `lo` when the range is empty).
fn day_in(rng: &mut Draw, lo: NaiveDate, hi: NaiveDate) -> NaiveDate {
    if hi <= lo {
        lo
    } else {
        plus(lo, between(rng, 0, (hi - lo).num_days()))
    }
}

/// A UUID from the stream, so that explicit ids are reproducible too.
fn uuid(rng: &mut Draw) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

// ---------------------------------------------------------------------------
// Menus

const IN: &str = "in_region";
const OUT: &str = "out_region";
const UNKNOWN: &str = "unknown";

/// One menu of the project, as the council's proposal describes it.
struct MenuSpec {
    id: &'static str,
    category: &'static str,
    kind: &'static str,
    name: &'static str,
    /// Output target of a full fiscal year (社 for A, 人 for B/C).
    output: u32,
    /// Sessions in a full fiscal year.
    sessions: u32,
    /// The year's last session falls in March (spring UIJ-turn fairs). In
    /// the short year 1 that is its only session, so the menu is not judged
    /// that year but in year 2 (E-2).
    march: bool,
    places: &'static [&'static str],
    capacity: Option<u32>,
    /// Budget over the three years.
    budget_yen: u64,
}

const KUSHIRO_HALLS: &[&str] = &[
    "釧路市生涯学習センター（まなぼっと幣舞）",
    "釧路市観光国際交流センター",
    "釧路商工会議所 会議室",
    "釧路市交流プラザさいわい",
];

const MENUS: &[MenuSpec] = &[
    MenuSpec {
        id: "A-01",
        category: "A",
        kind: "seminar",
        name: "事業所魅力向上セミナー（人材確保・定着）",
        output: 18,
        sessions: 4,
        march: false,
        places: KUSHIRO_HALLS,
        capacity: Some(30),
        budget_yen: 9_000_000,
    },
    MenuSpec {
        id: "A-02",
        category: "A",
        kind: "seminar",
        name: "創業・第二創業支援セミナー",
        output: 10,
        sessions: 3,
        march: false,
        places: &["釧路商工会議所 会議室", "釧路市交流プラザさいわい"],
        capacity: Some(20),
        budget_yen: 6_000_000,
    },
    MenuSpec {
        id: "A-03",
        category: "A",
        kind: "accompaniment",
        name: "専門家派遣による伴走型支援",
        output: 10,
        sessions: 8,
        march: false,
        places: &["支援先事業所（専門家訪問）"],
        capacity: None,
        budget_yen: 12_000_000,
    },
    MenuSpec {
        id: "B-01",
        category: "B",
        kind: "seminar",
        name: "ＩＴ人材育成セミナー",
        output: 24,
        sessions: 4,
        march: false,
        places: &[
            "釧路市生涯学習センター（まなぼっと幣舞）",
            "釧路市交流プラザさいわい",
        ],
        capacity: Some(20),
        budget_yen: 15_000_000,
    },
    MenuSpec {
        id: "B-02",
        category: "B",
        kind: "seminar",
        name: "介護職員初任者研修",
        output: 20,
        sessions: 4,
        march: false,
        places: &["釧路市交流プラザさいわい"],
        capacity: Some(20),
        budget_yen: 12_000_000,
    },
    MenuSpec {
        id: "B-03",
        category: "B",
        kind: "seminar",
        name: "水産加工・観光サービス人材育成講座",
        output: 20,
        sessions: 3,
        march: false,
        places: &["釧路市観光国際交流センター", "釧路商工会議所 会議室"],
        capacity: Some(20),
        budget_yen: 10_000_000,
    },
    MenuSpec {
        id: "C-01",
        category: "C",
        kind: "seminar",
        name: "合同企業説明会",
        output: 40,
        sessions: 3,
        march: false,
        places: &[
            "釧路市観光国際交流センター",
            "釧路市生涯学習センター（まなぼっと幣舞）",
        ],
        capacity: Some(200),
        budget_yen: 9_000_000,
    },
    MenuSpec {
        id: "C-02",
        category: "C",
        kind: "seminar",
        name: "UIJターン就職相談会",
        output: 20,
        sessions: 2,
        march: true,
        places: &[
            "ふるさと回帰支援センター（東京都千代田区）",
            "かでる2・7（札幌市中央区）",
        ],
        capacity: Some(50),
        budget_yen: 8_000_000,
    },
];

/// The project's budget over three years: the menus plus the promoters'
/// salaries and the council's running costs.
const PROJECT_BUDGET_YEN: u64 = 120_000_000;

/// The position of menu `id` in [`MENUS`].
fn menu_index(id: &str) -> usize {
    MENUS
        .iter()
        .position(|m| m.id == id)
        .expect("a menu of MENUS")
}

/// One fiscal year's targets of a menu.
#[derive(Clone, Copy)]
struct Target {
    fiscal_year: i32,
    output: u32,
    outcome: u32,
}

/// Targets as a proposal would set them: a full year's output for years 2
/// and 3, prorated for the half year 1, give or take 15 %, kept within what
/// councils usually promise; outcomes about 30 % of output.
fn plan_targets(rng: &mut Draw, cal: &Calendar, menu: &MenuSpec) -> Vec<Target> {
    let (lo, hi) = if menu.category == "A" {
        (10, 30)
    } else {
        (20, 60)
    };
    cal.fiscal_years()
        .iter()
        .map(|&fy| {
            let days = (ymd(fy + 1, 3, 31) - ymd(fy, 4, 1).max(cal.start)).num_days() + 1;
            let prorated = u64::from(menu.output) * u64::try_from(days).unwrap_or(365) / 365;
            let jitter = rng.gen_range(85..=115u64);
            let output = u32::try_from(prorated * jitter / 100)
                .unwrap_or(hi)
                .clamp(lo, hi);
            let outcome = (output * rng.gen_range(25..=35u32) / 100).max(1);
            Target {
                fiscal_year: fy,
                output,
                outcome,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Sessions

struct Session {
    menu: usize,
    date: NaiveDate,
    place: &'static str,
}

/// Moves a weekend day to the next Monday (or, at the end of the window,
/// back to Friday): the council's venues run seminars on weekdays.
fn weekday_within(d: NaiveDate, lo: NaiveDate, hi: NaiveDate) -> NaiveDate {
    let ahead = match d.weekday() {
        Weekday::Sat => 2,
        Weekday::Sun => 1,
        _ => return d,
    };
    let monday = plus(d, ahead);
    if monday <= hi {
        return monday;
    }
    let friday = plus(d, ahead - 3);
    if friday >= lo {
        friday
    } else {
        d
    }
}

/// Sessions of one menu in one fiscal year: the window is cut into equal
/// slots and one day drawn in each, so sessions spread over the year. In
/// year 1 the council holds them by the end of February, in time for its
/// first evaluation (E-1); a `march` menu adds its spring fair in March.
fn sessions_of_year(rng: &mut Draw, cal: &Calendar, spec: &MenuSpec, fy: i32) -> Vec<NaiveDate> {
    let (lo, hi) = cal.session_window(fy);
    if lo > hi {
        // A contract signed in the last weeks of a fiscal year.
        return Vec::new();
    }
    let march = ymd(fy + 1, 3, 1);
    let share = (hi - lo).num_days() + 1;
    let n = ((i64::from(spec.sessions) * share + 182) / 365).max(1);
    let (spread_hi, spread_n) = match (spec.march, fy == cal.first_fy) {
        (true, _) => (plus(march, -1), n - 1),
        (false, true) => (plus(march, -1), n),
        (false, false) => (hi, n),
    };
    // A contract starting in March leaves no room before it.
    let spread_hi = if spread_hi < lo { hi } else { spread_hi };
    let mut dates = Vec::new();
    let slot = ((spread_hi - lo).num_days() + 1) / spread_n.max(1);
    for i in 0..spread_n {
        let from = plus(lo, i * slot);
        let to = plus(from, slot - 1).min(spread_hi);
        dates.push(weekday_within(day_in(rng, from, to), lo, spread_hi));
    }
    if spec.march || dates.is_empty() {
        let first = march.max(lo);
        dates.push(weekday_within(day_in(rng, first, hi), first, hi));
    }
    dates.dedup();
    dates
}

/// Every session of every menu over the three years, by date.
fn schedule_sessions(rng: &mut Draw, cal: &Calendar) -> Vec<Session> {
    let mut sessions = Vec::new();
    for (menu, spec) in MENUS.iter().enumerate() {
        for fy in cal.fiscal_years() {
            for date in sessions_of_year(rng, cal, spec, fy) {
                let place = pick(rng, spec.places).unwrap_or("釧路市");
                sessions.push(Session { menu, date, place });
            }
        }
    }
    sessions.sort_by_key(|s| (s.date, s.menu));
    sessions
}

/// A session of one menu in fiscal year `fy`, drawn at random, and the
/// `k - 1` sessions that follow it: a course is followed in order, and a
/// series may run on into the next year (repeat attendance).
fn sessions_in_year(
    rng: &mut Draw,
    list: &[usize],
    sessions: &[Session],
    fy: i32,
    k: usize,
) -> Vec<usize> {
    let in_year: Vec<usize> = (0..list.len())
        .filter(|&i| fiscal_year(sessions[list[i]].date) == fy)
        .collect();
    let Some(first) = pick(rng, &in_year) else {
        return Vec::new();
    };
    list[first..(first + k.max(1)).min(list.len())].to_vec()
}

/// The session of one menu in fiscal year `fy` nearest to `day`, and the
/// `k - 1` that follow it: the menus someone signs up for in a year.
fn sessions_near(
    list: &[usize],
    sessions: &[Session],
    fy: i32,
    day: NaiveDate,
    k: usize,
) -> Vec<usize> {
    let nearest = (0..list.len())
        .filter(|&i| fiscal_year(sessions[list[i]].date) == fy)
        .min_by_key(|&i| (sessions[list[i]].date - day).num_days().abs());
    match nearest {
        Some(first) => list[first..(first + k.max(1)).min(list.len())].to_vec(),
        None => Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Establishments and people

struct Establishment {
    /// Where it is; `None` when the council did not record it.
    location: Option<&'static str>,
    /// Outside the region: whether it wants to open a site in it (O-A2).
    wants_expansion: Option<bool>,
    /// Receives the accompaniment support of A-03.
    accompanied: bool,
    /// The persons who attend on its behalf.
    staff: Vec<usize>,
}

fn make_establishment(rng: &mut Draw) -> Establishment {
    let (location, wants_expansion) = weighted(
        rng,
        &[
            ((Some(IN), None), 76),
            ((Some(OUT), Some(true)), 8),
            ((Some(OUT), Some(false)), 6),
            ((Some(UNKNOWN), None), 5),
            ((None, None), 5),
        ],
    );
    // Accompaniment is offered to member establishments in the region.
    let accompanied = location == Some(IN) && chance(rng, 45);
    Establishment {
        location,
        wants_expansion,
        accompanied,
        staff: Vec::new(),
    }
}

/// The kinds of people who come to a council's sessions. Most are the job
/// seekers the programme is for; the rest are there so that every
/// exclusion rule meets a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Attends for an establishment.
    Staff,
    /// Resident job seeker, intent confirmed: the programme's core user.
    LocalSeeker,
    /// Resident whose wish to work was not confirmed (XO-3).
    Unconfirmed,
    /// Lives outside, wants a job in the region (O-BC2, UIJ-turn).
    UTurn,
    /// Lives outside and does not want a job in the region.
    OutsideNoWish,
    /// Residence never recorded (XO-3).
    UnknownResidence,
    /// Non-regular employee hoping for a regular post (O-BC1).
    ConversionHopeful,
    /// Employed, attending only to improve skills (XO-3).
    SkillUp,
    /// Resident start-up hopeful (O-A3).
    LocalFounder,
    /// Start-up hopeful living outside (O-A4 when wanting the region).
    OutsideFounder,
    /// Wants to work alone (XO-4).
    Freelancer,
    /// 行政機関 staff (XO-2).
    Government,
    /// The council's promoter (XO-2).
    Promoter,
    /// University etc. student in the graduating year.
    Graduating,
    /// University etc. student not in the graduating year (XO-6).
    Undergraduate,
    /// High-school student in the graduating year (XO-5 in C).
    HighSchool,
}

const KIND_WEIGHTS: &[(Kind, u32)] = &[
    (Kind::LocalSeeker, 38),
    (Kind::Unconfirmed, 4),
    (Kind::UTurn, 10),
    (Kind::OutsideNoWish, 3),
    (Kind::UnknownResidence, 4),
    (Kind::ConversionHopeful, 7),
    (Kind::SkillUp, 4),
    (Kind::LocalFounder, 8),
    (Kind::OutsideFounder, 4),
    (Kind::Freelancer, 3),
    (Kind::Government, 2),
    (Kind::Promoter, 2),
    (Kind::Graduating, 6),
    (Kind::Undergraduate, 2),
    (Kind::HighSchool, 3),
];

/// The menus a kind of person signs up for, each with its chance in %.
fn wishes(kind: Kind) -> &'static [(&'static str, u32)] {
    match kind {
        // Staff come with their establishment (plan_establishment_visits).
        Kind::Staff => &[("A-01", 100)],
        Kind::LocalSeeker => &[
            ("C-01", 60),
            ("B-01", 45),
            ("B-02", 35),
            ("B-03", 40),
            ("A-01", 5),
        ],
        Kind::Unconfirmed => &[("C-01", 60), ("B-01", 30), ("B-03", 30)],
        Kind::UTurn => &[("C-02", 85), ("C-01", 30), ("B-01", 20)],
        Kind::OutsideNoWish => &[("C-02", 60), ("B-01", 50)],
        Kind::UnknownResidence => &[("C-01", 60), ("B-02", 30), ("B-03", 30)],
        Kind::ConversionHopeful => &[("B-01", 50), ("B-02", 40), ("B-03", 30)],
        Kind::SkillUp => &[("B-01", 60), ("B-02", 40)],
        Kind::LocalFounder => &[("A-02", 95), ("A-01", 20)],
        Kind::OutsideFounder | Kind::Freelancer => &[("A-02", 100)],
        Kind::Government => &[("A-01", 60), ("C-01", 50), ("B-01", 20)],
        Kind::Promoter => &[("C-01", 70), ("A-01", 50), ("C-02", 40)],
        Kind::Graduating | Kind::Undergraduate => &[("C-01", 80), ("B-01", 30)],
        Kind::HighSchool => &[("C-01", 60), ("B-03", 50)],
    }
}

/// How many sessions of one menu a person attends.
const SESSIONS_PER_MENU: &[(usize, u32)] = &[(1, 62), (2, 26), (3, 12)];

struct Person {
    kind: Kind,
    role: &'static str,
    /// `None`: not recorded (defaults to unknown).
    residence: Option<&'static str>,
    wants_in_region: Option<bool>,
    intent_confirmed: Option<bool>,
    freelance: Option<bool>,
    /// School and years left after the year of attendance (0: graduating).
    school: Option<(&'static str, i32)>,
    /// Fixed by the fiscal year of the student's sessions.
    graduating_year: Option<i32>,
}

/// A person of `kind`, with the attributes the council registers.
fn make_person(rng: &mut Draw, kind: Kind) -> Person {
    let mut p = Person {
        kind,
        role: "job_seeker",
        residence: Some(IN),
        wants_in_region: None,
        intent_confirmed: Some(true),
        freelance: None,
        school: None,
        graduating_year: None,
    };
    match kind {
        Kind::Staff => {
            p.role = "establishment";
            p.residence = None;
            p.intent_confirmed = None;
        }
        Kind::LocalSeeker => {
            if chance(rng, 30) {
                p.wants_in_region = Some(true);
            }
        }
        Kind::Unconfirmed => {
            // Half say "false", half leave the field out (default false).
            p.intent_confirmed = if chance(rng, 50) { Some(false) } else { None };
        }
        Kind::UTurn => {
            p.residence = Some(OUT);
            p.wants_in_region = Some(true);
        }
        Kind::OutsideNoWish => {
            p.residence = Some(OUT);
            p.wants_in_region = Some(false);
        }
        Kind::UnknownResidence => {
            p.residence = if chance(rng, 50) { Some(UNKNOWN) } else { None };
        }
        Kind::ConversionHopeful => p.role = "conversion_hopeful",
        Kind::SkillUp => {
            p.role = "employed_skillup";
            p.intent_confirmed = None;
        }
        Kind::LocalFounder => p.role = "startup_hopeful",
        Kind::OutsideFounder => {
            p.role = "startup_hopeful";
            p.residence = Some(OUT);
            p.wants_in_region = Some(chance(rng, 70));
        }
        Kind::Freelancer => {
            p.role = "startup_hopeful";
            p.freelance = Some(true);
        }
        Kind::Government | Kind::Promoter => {
            p.role = if kind == Kind::Government {
                "government"
            } else {
                "promoter"
            };
            p.intent_confirmed = None;
        }
        Kind::Graduating => {
            p.school = Some(("university", 0));
            if chance(rng, 15) {
                p.residence = Some(OUT);
            }
            p.wants_in_region = Some(chance(rng, 75));
        }
        Kind::Undergraduate => {
            p.school = Some(("university", between(rng, 1, 2) as i32));
            p.wants_in_region = Some(true);
        }
        Kind::HighSchool => {
            p.school = Some(("high_school", 0));
            p.wants_in_region = Some(true);
        }
    }
    p
}

/// Establishments first, each sending one to three staff (up to a fifth
/// of all persons), then everyone else by [`KIND_WEIGHTS`].
fn make_population(rng: &mut Draw, cfg: &SynthConfig) -> (Vec<Establishment>, Vec<Person>) {
    let mut establishments: Vec<Establishment> = (0..cfg.establishments)
        .map(|_| make_establishment(rng))
        .collect();
    // Even a small register has an outside establishment planning a site
    // in the region, the case of O-A2 and C-A2.
    if establishments.len() >= 10
        && !establishments
            .iter()
            .any(|e| e.wants_expansion == Some(true))
    {
        let e = index(rng, establishments.len());
        establishments[e] = Establishment {
            location: Some(OUT),
            wants_expansion: Some(true),
            accompanied: false,
            staff: Vec::new(),
        };
    }
    let total = cfg.participants as usize;
    let mut people = Vec::with_capacity(total);
    for est in &mut establishments {
        let staff = weighted(rng, &[(1usize, 45), (2, 35), (3, 20)]);
        for _ in 0..staff {
            if people.len() >= total / 5 {
                break;
            }
            est.staff.push(people.len());
            people.push(make_person(rng, Kind::Staff));
        }
    }
    while people.len() < total {
        let kind = weighted(rng, KIND_WEIGHTS);
        people.push(make_person(rng, kind));
    }
    (establishments, people)
}

// ---------------------------------------------------------------------------
// The plan: who attended what

/// One attendance: a person, an establishment, or a person for an
/// establishment.
#[derive(Clone, Copy)]
struct Visit {
    session: usize,
    person: Option<usize>,
    establishment: Option<usize>,
}

/// Everything decided before any event is written.
struct World {
    cal: Calendar,
    targets: Vec<Vec<Target>>,
    sessions: Vec<Session>,
    establishments: Vec<Establishment>,
    people: Vec<Person>,
    /// In date order.
    visits: Vec<Visit>,
    /// Person codes, numbered in order of first attendance as a council's
    /// register would be.
    person_codes: Vec<String>,
}

impl World {
    fn plan(rng: &mut Draw, cfg: &SynthConfig) -> World {
        let cal = Calendar::new(cfg.contract_start);
        let targets = MENUS.iter().map(|m| plan_targets(rng, &cal, m)).collect();
        let sessions = schedule_sessions(rng, &cal);
        let (establishments, mut people) = make_population(rng, cfg);
        let mut visits = plan_establishment_visits(rng, &cal, &sessions, &establishments);
        visits.extend(plan_person_visits(rng, &cal, &sessions, &mut people));
        // Stable: within a session, the order of planning is kept.
        visits.sort_by_key(|v| (sessions[v.session].date, v.session));
        let person_codes = number_people(people.len(), &visits);
        World {
            cal,
            targets,
            sessions,
            establishments,
            people,
            visits,
            person_codes,
        }
    }

    fn establishment_code(e: usize) -> String {
        format!("E-{:04}", e + 1)
    }

    fn date_of(&self, v: &Visit) -> NaiveDate {
        self.sessions[v.session].date
    }

    fn menu_of(&self, v: &Visit) -> &'static MenuSpec {
        &MENUS[self.sessions[v.session].menu]
    }
}

/// Session indices of each menu, by date.
fn sessions_by_menu(sessions: &[Session]) -> Vec<Vec<usize>> {
    let mut by_menu = vec![Vec::new(); MENUS.len()];
    for (i, s) in sessions.iter().enumerate() {
        by_menu[s.menu].push(i);
    }
    by_menu
}

/// How newcomers spread over the project years (%). Year 1 is half a year,
/// but the council recruits hard to meet its first evaluation.
const NEWCOMERS_PER_YEAR: [u32; 3] = [36, 35, 29];

/// Most establishments chosen for accompaniment start in year 1: the
/// council picks them as it forms.
const ACCOMPANIMENT_STARTS_PER_YEAR: [u32; 3] = [55, 35, 10];

/// The project year (named by its fiscal year) in which someone starts
/// using the programme.
fn project_year(rng: &mut Draw, cal: &Calendar, weights: [u32; 3]) -> i32 {
    let years = cal.fiscal_years();
    weighted(
        rng,
        &[
            (years[0], weights[0]),
            (years[1], weights[1]),
            (years[2], weights[2]),
        ],
    )
}

/// Establishments at A seminars (several staff at once, some again in a
/// later year), in accompaniment support, and exhibiting at job fairs (an
/// establishment in a C menu: recorded, never counted).
fn plan_establishment_visits(
    rng: &mut Draw,
    cal: &Calendar,
    sessions: &[Session],
    establishments: &[Establishment],
) -> Vec<Visit> {
    let by_menu = sessions_by_menu(sessions);
    let (seminar, support, fair) = (
        &by_menu[menu_index("A-01")],
        &by_menu[menu_index("A-03")],
        &by_menu[menu_index("C-01")],
    );
    let mut visits = Vec::new();
    for (e, est) in establishments.iter().enumerate() {
        let staff = |n: usize| -> Vec<Option<usize>> {
            if est.staff.is_empty() {
                vec![None]
            } else {
                est.staff.iter().take(n).map(|&p| Some(p)).collect()
            }
        };
        let visit = |session, person| Visit {
            session,
            person,
            establishment: Some(e),
        };
        if chance(rng, 80) {
            let fy = project_year(rng, cal, NEWCOMERS_PER_YEAR);
            let sent = staff(1 + index(rng, est.staff.len().max(1)));
            for s in sessions_in_year(rng, seminar, sessions, fy, 1) {
                visits.extend(sent.iter().map(|&p| visit(s, p)));
            }
            // Some come back in a later year (none when that is past the end).
            let later = fy + between(rng, 1, 2) as i32;
            if chance(rng, 45) {
                for s in sessions_in_year(rng, seminar, sessions, later, 1) {
                    visits.extend(staff(1).into_iter().map(|p| visit(s, p)));
                }
            }
        }
        if est.accompanied {
            // Support goes on from its start to the end of the project:
            // one to three expert visits a year.
            let from = project_year(rng, cal, ACCOMPANIMENT_STARTS_PER_YEAR);
            for fy in cal.fiscal_years().into_iter().filter(|&fy| fy >= from) {
                let mut visited: Vec<usize> = support
                    .iter()
                    .copied()
                    .filter(|&s| fiscal_year(sessions[s].date) == fy)
                    .collect();
                let k = between(rng, 1, 3) as usize;
                while visited.len() > k {
                    visited.remove(index(rng, visited.len()));
                }
                for s in visited {
                    visits.extend(staff(1).into_iter().map(|p| visit(s, p)));
                }
            }
        }
        if est.location == Some(IN) && chance(rng, 20) {
            let fy = project_year(rng, cal, NEWCOMERS_PER_YEAR);
            for s in sessions_in_year(rng, fair, sessions, fy, 1) {
                visits.extend(staff(1).into_iter().map(|p| visit(s, p)));
            }
        }
    }
    visits
}

/// Everyone but staff: the menus their kind signs up for in the year they
/// come, one to three sessions each. Students keep to one menu in one
/// fiscal year, which fixes their graduating year.
fn plan_person_visits(
    rng: &mut Draw,
    cal: &Calendar,
    sessions: &[Session],
    people: &mut [Person],
) -> Vec<Visit> {
    let by_menu = sessions_by_menu(sessions);
    let mut visits = Vec::new();
    for (p, person) in people.iter_mut().enumerate() {
        if person.kind == Kind::Staff {
            continue;
        }
        let fy = project_year(rng, cal, NEWCOMERS_PER_YEAR);
        let table = wishes(person.kind);
        let mut menus: Vec<usize> = table
            .iter()
            .filter(|(_, pct)| chance(rng, *pct))
            .map(|(id, _)| menu_index(id))
            .collect();
        if menus.is_empty() {
            menus.push(menu_index(table[0].0));
        }
        if let Some((_, years_left)) = person.school {
            menus.truncate(1);
            person.graduating_year = Some(fy + years_left);
        }
        // The first menu at a random session of the year, the others as
        // near it as their schedules allow.
        let mut start: Option<NaiveDate> = None;
        for m in menus {
            let k = weighted(rng, SESSIONS_PER_MENU);
            let mut picked = match start {
                None => sessions_in_year(rng, &by_menu[m], sessions, fy, k),
                Some(day) => sessions_near(&by_menu[m], sessions, fy, day, k),
            };
            if person.school.is_some() {
                picked.retain(|&s| fiscal_year(sessions[s].date) == fy);
            }
            if let Some(&first) = picked.first() {
                start.get_or_insert(sessions[first].date);
            }
            visits.extend(picked.into_iter().map(|session| Visit {
                session,
                person: Some(p),
                establishment: None,
            }));
        }
    }
    visits
}

/// `P-0001` for the first person to attend, and so on; people who never
/// attended come last.
fn number_people(count: usize, visits: &[Visit]) -> Vec<String> {
    let mut codes = vec![String::new(); count];
    let mut next = 1;
    let order = visits.iter().filter_map(|v| v.person).chain(0..count);
    for p in order {
        if codes[p].is_empty() {
            codes[p] = format!("P-{next:04}");
            next += 1;
        }
    }
    codes
}

// ---------------------------------------------------------------------------
// Writing events

/// Events with the day the council would record them, put in append order
/// at the end.
#[derive(Default)]
struct Timeline {
    entries: Vec<(NaiveDate, Rank, Value)>,
}

/// Within one day: what the council records first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Definition,
    Revision,
    Session,
    Attendance,
    Survey,
    Outcome,
    Plan,
    Fix,
}

impl Timeline {
    fn push(&mut self, day: NaiveDate, rank: Rank, event: Value) {
        self.entries.push((day, rank, event));
    }

    /// By day, then rank (definitions carry the earliest day); a stable
    /// sort keeps the order of pushing within a day and rank.
    fn into_events(mut self) -> Vec<Value> {
        self.entries.sort_by_key(|(day, rank, _)| (*day, *rank));
        self.entries
            .into_iter()
            .map(|(_, _, event)| event)
            .collect()
    }
}

/// A JSON object under construction.
struct Obj(Map<String, Value>);

impl Obj {
    fn new(ty: &str) -> Self {
        let mut m = Map::new();
        m.insert("type".into(), ty.into());
        Obj(m)
    }

    fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    fn opt(self, key: &str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    fn date(self, key: &str, d: NaiveDate) -> Self {
        self.set(key, d.to_string())
    }

    fn opt_date(self, key: &str, d: Option<NaiveDate>) -> Self {
        self.opt(key, d.map(|d| d.to_string()))
    }

    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

/// The project and its menus with their targets (CONTRACT.md §2).
fn define_project(w: &World, cfg: &SynthConfig, t: &mut Timeline) {
    let day = NaiveDate::MIN;
    let project = Obj::new("project_defined")
        .set("project", cfg.project.as_str())
        .set("name", "互いの想いに寄り添う出会いの場。雇用創造 in 釧路")
        .set("region_kind", "depopulated")
        .set("municipalities", vec!["釧路市"])
        .date("contract_start", w.cal.start)
        .set("years", 3)
        .set("budget_yen", PROJECT_BUDGET_YEN);
    t.push(day, Rank::Definition, project.done());
    for (spec, targets) in MENUS.iter().zip(&w.targets) {
        let targets: Vec<Value> = targets
            .iter()
            .map(|x| {
                let mut m = Map::new();
                m.insert("fiscal_year".into(), x.fiscal_year.into());
                m.insert("output".into(), x.output.into());
                m.insert("outcome".into(), x.outcome.into());
                Value::Object(m)
            })
            .collect();
        let menu = Obj::new("menu_defined")
            .set("menu", spec.id)
            .set("category", spec.category)
            .set("kind", spec.kind)
            .set("name", spec.name)
            .set("targets", targets)
            .set("budget_yen", spec.budget_yen);
        t.push(day, Rank::Definition, menu.done());
    }
}

/// Every session, recorded on the day it is held.
fn hold_sessions(w: &World, t: &mut Timeline) {
    for s in &w.sessions {
        let spec = &MENUS[s.menu];
        let event = Obj::new("session_held")
            .set("menu", spec.id)
            .date("date", s.date)
            .set("place", s.place)
            .opt("capacity", spec.capacity);
        t.push(s.date, Rank::Session, event.done());
    }
}

/// The attendance line of a visit, with the subject's attributes as the
/// council registered them.
fn attendance(w: &World, v: &Visit) -> Obj {
    let event = Obj::new("attendance")
        .set("menu", w.menu_of(v).id)
        .date("date", w.date_of(v));
    if let Some(e) = v.establishment {
        let est = &w.establishments[e];
        return event
            .set("role", "establishment")
            .set("establishment", World::establishment_code(e))
            .opt("establishment_location", est.location)
            .opt("wants_in_region", est.wants_expansion)
            .opt("person", v.person.map(|p| w.person_codes[p].clone()));
    }
    let Some(p) = v.person else { return event };
    let person = &w.people[p];
    let student = person
        .school
        .zip(person.graduating_year)
        .map(|((school, _), year)| {
            let mut m = Map::new();
            m.insert("school".into(), school.into());
            m.insert("graduating_year".into(), year.into());
            Value::Object(m)
        });
    event
        .set("role", person.role)
        .set("person", w.person_codes[p].as_str())
        .opt("residence", person.residence)
        .opt("wants_in_region", person.wants_in_region)
        .opt("intent_confirmed", person.intent_confirmed)
        .opt("freelance", person.freelance)
        .opt("student", student)
}

/// Every attendance, with two clerical slips fixed later (T-3): one
/// resident entered as living outside the region and corrected, and one
/// attendance entered twice and the copy retracted.
fn record_attendance(rng: &mut Draw, w: &World, t: &mut Timeline) {
    let slips: Vec<usize> = (0..w.visits.len())
        .filter(|&i| {
            let v = &w.visits[i];
            v.person
                .is_some_and(|p| w.people[p].kind == Kind::LocalSeeker)
                && w.menu_of(v).category != "A"
        })
        .collect();
    let corrected = pick(rng, &slips);
    let doubled = if w.visits.len() < 2 {
        None
    } else {
        let i = index(rng, w.visits.len());
        (Some(i) != corrected).then_some(i)
    };
    for (i, v) in w.visits.iter().enumerate() {
        let day = w.date_of(v);
        let right = attendance(w, v).done();
        if Some(i) == corrected {
            let id = uuid(rng);
            let wrong = attendance(w, v)
                .set("residence", OUT)
                .set("id", id.as_str());
            t.push(day, Rank::Attendance, wrong.done());
            let fix = Obj::new("correction")
                .set("target", id)
                .set("replacement", right)
                .set(
                    "reason",
                    "居住地の入力誤り（本人確認書類により釧路市内在住を確認）",
                );
            t.push(plus(day, between(rng, 3, 20)), Rank::Fix, fix.done());
            continue;
        }
        t.push(day, Rank::Attendance, right.clone());
        if Some(i) == doubled {
            let id = uuid(rng);
            t.push(
                day,
                Rank::Attendance,
                attendance(w, v).set("id", id.as_str()).done(),
            );
            let fix = Obj::new("retraction")
                .set("target", id)
                .set("reason", "同一の出席を二重に登録したため取消");
            t.push(plus(day, between(rng, 1, 10)), Rank::Fix, fix.done());
        }
    }
}

/// A menus ask every attendee whether the seminar was useful (E-5); most
/// answer, some anonymously. The start-up seminar sits near the 85 % line.
fn record_surveys(rng: &mut Draw, w: &World, t: &mut Timeline) {
    let mut respondents: Vec<BTreeSet<String>> = vec![BTreeSet::new(); w.sessions.len()];
    for v in &w.visits {
        if w.menu_of(v).category != "A" {
            continue;
        }
        let who = match (v.establishment, v.person) {
            (Some(e), _) => World::establishment_code(e),
            // Government staff and promoters do not rate the seminars.
            (None, Some(p)) if matches!(w.people[p].kind, Kind::Government | Kind::Promoter) => {
                continue
            }
            (None, Some(p)) => w.person_codes[p].clone(),
            (None, None) => continue,
        };
        respondents[v.session].insert(who);
    }
    for (s, who) in respondents.iter().enumerate() {
        let session = &w.sessions[s];
        let useful_pct = match MENUS[session.menu].id {
            "A-02" => 86,
            "A-03" => 96,
            _ => 92,
        };
        for respondent in who {
            if !chance(rng, 80) {
                continue;
            }
            let named = chance(rng, 80).then_some(respondent.as_str());
            let answer = Obj::new("survey_response")
                .set("menu", MENUS[session.menu].id)
                .date("date", session.date)
                .set("useful", chance(rng, useful_pct))
                .opt("respondent", named);
            t.push(session.date, Rank::Survey, answer.done());
        }
    }
}

// ---------------------------------------------------------------------------
// Outcomes

/// What the plan knows of each person when outcomes are drawn.
struct History {
    /// Each person's first and last attendance.
    span: Vec<Option<Span>>,
    menus: Vec<BTreeSet<usize>>,
    /// Establishments that came to an A menu: they hire most of the
    /// programme's job seekers, which is what A outcomes count.
    a_users: Vec<bool>,
}

/// When a person used the programme.
#[derive(Clone, Copy)]
struct Span {
    first: NaiveDate,
    last: NaiveDate,
}

impl Span {
    /// The day an outcome follows: mostly the end of the person's sessions,
    /// sometimes a job comes up while they are still attending.
    fn outcome_base(self, rng: &mut Draw) -> NaiveDate {
        if chance(rng, 70) {
            self.last
        } else {
            self.first
        }
    }
}

impl History {
    fn of(w: &World) -> History {
        let mut h = History {
            span: vec![None; w.people.len()],
            menus: vec![BTreeSet::new(); w.people.len()],
            a_users: vec![false; w.establishments.len()],
        };
        for v in &w.visits {
            if let Some(e) = v.establishment {
                h.a_users[e] |= w.menu_of(v).category == "A";
            } else if let Some(p) = v.person {
                let day = w.date_of(v);
                h.span[p]
                    .get_or_insert(Span {
                        first: day,
                        last: day,
                    })
                    .last = day;
                h.menus[p].insert(w.sessions[v.session].menu);
            }
        }
        h
    }
}

/// Deals values from a fixed cycle, starting at a random place: even a
/// handful of draws shows every case, which independent draws would not
/// guarantee.
struct Dealer<T: Copy + 'static> {
    cycle: &'static [T],
    next: usize,
}

impl<T: Copy + 'static> Dealer<T> {
    fn new(rng: &mut Draw, cycle: &'static [T]) -> Self {
        Dealer {
            cycle,
            next: index(rng, cycle.len()),
        }
    }

    fn deal(&mut self) -> T {
        let value = self.cycle[self.next % self.cycle.len()];
        self.next += 1;
        value
    }
}

/// Founders' staff sizes: freelancers (0) and small employers (2, 3...).
const EMPLOYEES: &[u32] = &[2, 0, 3, 1, 2, 5, 3, 0];

/// Which conversions only fill a regular employee's vacancy (XC-1).
const VACANCY_FILL: &[bool] = &[false, false, true, false];

/// Where residents found their businesses: mostly at home, some elsewhere
/// (C-A3 counts the founder either way, the employees only in the region).
const RESIDENT_SITES: &[&str] = &[IN, IN, OUT, IN, IN];

/// What became of each person: founders found, conversion hopefuls are
/// made regular, job seekers are hired, each with the share of its kind.
fn record_outcomes(rng: &mut Draw, w: &World, t: &mut Timeline) {
    let h = History::of(w);
    let mut deals = Deals {
        employees: Dealer::new(rng, EMPLOYEES),
        vacancy_fill: Dealer::new(rng, VACANCY_FILL),
        resident_sites: Dealer::new(rng, RESIDENT_SITES),
    };
    // In order of person code, so the drawing order reads like the register.
    let mut order: Vec<usize> = (0..w.people.len()).collect();
    order.sort_by(|&a, &b| w.person_codes[a].cmp(&w.person_codes[b]));
    for p in order {
        let Some(span) = h.span[p] else { continue };
        let kind = w.people[p].kind;
        let outcome = match kind {
            Kind::LocalFounder | Kind::OutsideFounder | Kind::Freelancer if chance(rng, 60) => {
                startup(rng, w, p, span, &mut deals)
            }
            Kind::ConversionHopeful if chance(rng, 75) => {
                conversion(rng, w, &h, p, span, &mut deals)
            }
            _ if chance(rng, hire_chance(kind)) => hire(rng, w, &h, p, span),
            _ => None,
        };
        if let Some((day, event)) = outcome {
            t.push(day, Rank::Outcome, event);
        }
    }
}

/// The cycles outcomes are dealt from, drawn only for outcomes recorded.
struct Deals {
    employees: Dealer<u32>,
    vacancy_fill: Dealer<bool>,
    resident_sites: Dealer<&'static str>,
}

/// The share (%) of each kind that finds a job during the project.
fn hire_chance(kind: Kind) -> u32 {
    match kind {
        Kind::LocalSeeker | Kind::UTurn => 60,
        Kind::Graduating | Kind::HighSchool => 60,
        Kind::Unconfirmed | Kind::OutsideNoWish | Kind::UnknownResidence => 30,
        Kind::SkillUp => 15,
        Kind::Undergraduate | Kind::ConversionHopeful => 5,
        _ => 0,
    }
}

/// The dates of a hire (each optional, as councils report them).
struct HireDates {
    interviewed: Option<NaiveDate>,
    offer: Option<NaiveDate>,
    start: Option<NaiveDate>,
    regular: bool,
}

#[derive(Clone, Copy)]
enum Timing {
    /// Offer some weeks after the person's sessions, start a few weeks later.
    Usual,
    /// Only the start date was reported.
    NoOffer,
    /// The offer predates the programme (XC-3).
    PriorOffer,
    /// Interviewed before the first session, offered after (XC-3).
    InterviewedBefore,
    /// Offered, start date not yet known (XC-4).
    StartUnknown,
}

const TIMINGS: &[(Timing, u32)] = &[
    (Timing::Usual, 66),
    (Timing::NoOffer, 10),
    (Timing::PriorOffer, 10),
    (Timing::InterviewedBefore, 6),
    (Timing::StartUnknown, 8),
];

/// When a person was interviewed, offered a job and started: new
/// graduates on 1 April, everyone else by one of the [`TIMINGS`].
fn hire_dates(rng: &mut Draw, person: &Person, span: Span) -> HireDates {
    if let (Some((_, 0)), Some(fy)) = (person.school, person.graduating_year) {
        // New graduates are offered a place in their last school year and
        // start on 1 April, mostly through regular recruitment (XC-1).
        let offer = plus(span.last, between(rng, 7, 75)).min(ymd(fy + 1, 3, 31));
        let regular = chance(
            rng,
            if person.kind == Kind::HighSchool {
                80
            } else {
                55
            },
        );
        return HireDates {
            interviewed: None,
            offer: Some(offer),
            start: Some(ymd(fy + 1, 4, 1)),
            regular,
        };
    }
    let regular = chance(rng, 3);
    let after = span.outcome_base(rng);
    match weighted(rng, TIMINGS) {
        Timing::Usual => {
            let offer = plus(after, between(rng, 5, 60));
            let interviewed =
                chance(rng, 30).then(|| plus(offer, -between(rng, 3, 10)).max(plus(after, 1)));
            let start = Some(plus(offer, between(rng, 7, 30)));
            HireDates {
                interviewed,
                offer: Some(offer),
                start,
                regular,
            }
        }
        Timing::NoOffer => HireDates {
            interviewed: None,
            offer: None,
            start: Some(plus(after, between(rng, 14, 90))),
            regular,
        },
        Timing::PriorOffer => {
            let offer = plus(span.first, -between(rng, 3, 40));
            let interviewed = Some(plus(offer, -between(rng, 7, 21)));
            let start = Some(plus(span.first, between(rng, 3, 40)));
            HireDates {
                interviewed,
                offer: Some(offer),
                start,
                regular,
            }
        }
        Timing::InterviewedBefore => {
            let offer = plus(span.first, between(rng, 3, 20));
            let interviewed = Some(plus(span.first, -between(rng, 2, 14)));
            let start = Some(plus(offer, between(rng, 7, 30)));
            HireDates {
                interviewed,
                offer: Some(offer),
                start,
                regular,
            }
        }
        Timing::StartUnknown => HireDates {
            interviewed: None,
            offer: Some(plus(after, between(rng, 7, 60))),
            start: None,
            regular,
        },
    }
}

/// Contracted weekly hours in hundredths: mostly full time, some part time,
/// some under the 20 hours that count (XC-6).
const HOURS: &[(u32, u32)] = &[
    (4000, 50),
    (3750, 14),
    (3500, 8),
    (3000, 10),
    (2500, 4),
    (2000, 3),
    (1600, 7),
    (1200, 4),
];

/// Hours as JSON: whole hours as integers, others as decimals (37.5).
fn hours(h: u32) -> Value {
    if h % 100 == 0 {
        (h / 100).into()
    } else {
        (f64::from(h) / 100.0).into()
    }
}

/// Where the job is, given where the person lives and wants to work.
fn workplace(rng: &mut Draw, person: &Person) -> &'static str {
    let table: &[(&'static str, u32)] = match (person.residence, person.wants_in_region) {
        (Some(OUT), Some(true)) => &[(IN, 85), (OUT, 15)],
        (Some(OUT), _) => &[(OUT, 65), (IN, 30), (UNKNOWN, 5)],
        (Some(IN), _) => &[(IN, 80), (OUT, 14), (UNKNOWN, 6)],
        _ => &[(IN, 60), (OUT, 20), (UNKNOWN, 20)],
    };
    weighted(rng, table)
}

/// An employer from the council's register that fits the workplace, or
/// none (a firm the council does not know). An outside establishment that
/// hires in the region does so at its new site (C-A2).
fn employer(rng: &mut Draw, w: &World, h: &History, place: &str) -> (Option<usize>, bool) {
    let all = 0..w.establishments.len();
    let expanders: Vec<usize> = all
        .clone()
        .filter(|&e| w.establishments[e].wants_expansion == Some(true))
        .collect();
    if place == IN && chance(rng, 12) {
        if let Some(e) = pick(rng, &expanders) {
            return (Some(e), true);
        }
    }
    let fits = |e: &Establishment| match place {
        IN => e.location == Some(IN),
        OUT => e.location == Some(OUT) && e.wants_expansion != Some(true),
        _ => !matches!(e.location, Some(IN) | Some(OUT)),
    };
    let candidates: Vec<usize> = all.filter(|&e| fits(&w.establishments[e])).collect();
    let users: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&e| h.a_users[e])
        .collect();
    if !chance(rng, if place == IN { 85 } else { 45 }) {
        return (None, false);
    }
    let chosen = if chance(rng, 65) {
        pick(rng, &users)
    } else {
        None
    };
    (chosen.or_else(|| pick(rng, &candidates)), false)
}

/// Now and then the council names the menu it judges caused an outcome
/// (C-ATTR); otherwise attribution is left to the rules.
fn narrowed(rng: &mut Draw, h: &History, p: usize) -> Option<Vec<&'static str>> {
    let menus: Vec<usize> = h.menus[p].iter().copied().collect();
    if menus.len() < 2 || !chance(rng, 15) {
        return None;
    }
    pick(rng, &menus).map(|m| vec![MENUS[m].id])
}

/// A job found after (mostly) the person's sessions, with the employer,
/// workplace and hours the council was told.
fn hire(
    rng: &mut Draw,
    w: &World,
    h: &History,
    p: usize,
    span: Span,
) -> Option<(NaiveDate, Value)> {
    let person = &w.people[p];
    let d = hire_dates(rng, person, span);
    if ![d.interviewed, d.offer, d.start]
        .iter()
        .flatten()
        .all(|&x| w.cal.contains(x))
    {
        return None;
    }
    let place = workplace(rng, person);
    let (employer, new_site) = employer(rng, w, h, place);
    let weekly = weighted(rng, HOURS);
    let start = d.start.map_or(Value::Null, |s| s.to_string().into());
    let event = Obj::new("hire")
        .set("person", w.person_codes[p].as_str())
        .set("start_date", start)
        .set("workplace", place)
        .set("weekly_hours", hours(weekly))
        .opt("employer", employer.map(World::establishment_code))
        .opt_date("offer_date", d.offer)
        .opt_date("interviewed_on", d.interviewed)
        .opt("regular_recruitment", d.regular.then_some(true))
        .opt(
            "employed_before_use",
            (person.kind == Kind::SkillUp).then_some(true),
        )
        .opt("new_site_in_region", new_site.then_some(true))
        .opt("menus", narrowed(rng, h, p));
    let day = d.start.or(d.offer)?;
    Some((day, event.done()))
}

/// A non-regular employee made regular, mostly by an establishment that
/// uses the A menus; some only fill a regular employee's vacancy (XC-1).
fn conversion(
    rng: &mut Draw,
    w: &World,
    h: &History,
    p: usize,
    span: Span,
    deals: &mut Deals,
) -> Option<(NaiveDate, Value)> {
    let local: Vec<usize> = (0..w.establishments.len())
        .filter(|&e| w.establishments[e].location == Some(IN))
        .collect();
    let supported: Vec<usize> = local
        .iter()
        .copied()
        .filter(|&e| w.establishments[e].accompanied)
        .collect();
    let chosen = if chance(rng, 40) {
        pick(rng, &supported)
    } else {
        None
    };
    let employer = chosen.or_else(|| pick(rng, &local))?;
    let date = plus(span.outcome_base(rng), between(rng, 14, 150));
    let weekly = weighted(rng, &[(4000, 70), (3750, 20), (3200, 10)]);
    if !w.cal.contains(date) {
        return None;
    }
    let vacancy = deals.vacancy_fill.deal();
    let event = Obj::new("conversion")
        .set("person", w.person_codes[p].as_str())
        .set("employer", World::establishment_code(employer))
        .date("date", date)
        .set("weekly_hours", hours(weekly))
        .opt("vacancy_fill", vacancy.then_some(true))
        .opt("menus", narrowed(rng, h, p));
    Some((date, event.done()))
}

/// Where an outsider or a freelancer founds: outsiders mostly where they
/// said they would (C-A4 counts only a start-up in the region).
fn founding_site(rng: &mut Draw, person: &Person) -> &'static str {
    let table: &[(&'static str, u32)] = match (person.kind, person.wants_in_region) {
        (Kind::Freelancer, _) => &[(IN, 100)],
        (_, Some(true)) => &[(IN, 75), (OUT, 25)],
        _ => &[(OUT, 80), (IN, 20)],
    };
    weighted(rng, table)
}

/// A business founded some months after the person's sessions: a
/// freelancer alone, others with a few staff.
fn startup(
    rng: &mut Draw,
    w: &World,
    p: usize,
    span: Span,
    deals: &mut Deals,
) -> Option<(NaiveDate, Value)> {
    let date = plus(span.outcome_base(rng), between(rng, 30, 270));
    if !w.cal.contains(date) {
        return None;
    }
    let person = &w.people[p];
    let employees = if person.kind == Kind::Freelancer {
        0
    } else {
        deals.employees.deal()
    };
    let location = match person.kind {
        Kind::LocalFounder => deals.resident_sites.deal(),
        _ => founding_site(rng, person),
    };
    let event = Obj::new("startup")
        .set("person", w.person_codes[p].as_str())
        .date("date", date)
        .set("location", location)
        .set("employees", employees);
    Some((date, event.done()))
}

// ---------------------------------------------------------------------------
// The committee

/// One revision of targets in year 2 (the care course fills more slowly
/// than planned) and one improvement plan approved in May of year 2, after
/// the year-1 evaluation, for the menus that drew fewest people.
fn record_revision_and_plan(rng: &mut Draw, w: &World, t: &mut Timeline) {
    let fy = w.cal.first_fy + 1;
    let care = menu_index("B-02");
    if let Some(old) = w.targets[care].iter().find(|x| x.fiscal_year == fy) {
        let output = (old.output * 80 / 100).max(1);
        let date = weekday_within(
            plus(ymd(fy, 9, 1), between(rng, 0, 45)),
            ymd(fy, 9, 1),
            ymd(fy, 10, 31),
        );
        let revision = Obj::new("targets_revised")
            .set("menu", MENUS[care].id)
            .set("fiscal_year", fy)
            .set("output", output)
            .set("outcome", (output * 30 / 100).max(1))
            .date("date", date)
            .set(
                "reason",
                "受講希望者数の実績を踏まえ、選定・評価委員会の承認を得て目標を見直し",
            );
        t.push(date, Rank::Revision, revision.done());
    }
    // The committee meets on a weekday in May.
    let date = weekday_within(
        plus(ymd(fy, 5, 7), between(rng, 0, 21)),
        ymd(fy, 5, 7),
        ymd(fy, 5, 31),
    );
    let plan = Obj::new("plan_approved")
        .set("menus", weakest_menus(w))
        .date("date", date)
        .set("scope", "menus");
    t.push(date, Rank::Plan, plan.done());
}

/// The menus the committee asks to improve after year 1: the one with the
/// fewest people (or establishments) at its sessions up to the end of
/// February against its year-1 output target, and the next one too if it
/// is under 70 %. A head count, not the counting rules: the council's own
/// impression, which the ledger's evaluation may not share.
fn weakest_menus(w: &World) -> Vec<&'static str> {
    let fy = w.cal.first_fy;
    let cutoff = plus(ymd(fy + 1, 3, 1), -1);
    let mut seen: Vec<BTreeSet<(bool, usize)>> = vec![BTreeSet::new(); MENUS.len()];
    let mut held = vec![false; MENUS.len()];
    for s in w
        .sessions
        .iter()
        .filter(|s| fiscal_year(s.date) == fy && s.date <= cutoff)
    {
        held[s.menu] = true;
    }
    for v in w
        .visits
        .iter()
        .filter(|v| fiscal_year(w.date_of(v)) == fy && w.date_of(v) <= cutoff)
    {
        let subject = match (v.establishment, v.person) {
            (Some(e), _) => (true, e),
            (None, Some(p)) => (false, p),
            (None, None) => continue,
        };
        seen[w.sessions[v.session].menu].insert(subject);
    }
    // Per mille of the target, so that no floating point is involved.
    let mut shares: Vec<(usize, usize)> = (0..MENUS.len())
        .filter(|&m| held[m])
        .filter_map(|m| {
            let target = w.targets[m].iter().find(|x| x.fiscal_year == fy)?.output as usize;
            Some((seen[m].len() * 1000 / target.max(1), m))
        })
        .collect();
    shares.sort_unstable();
    let mut menus: Vec<&'static str> = shares
        .iter()
        .enumerate()
        .filter(|&(i, &(share, _))| i == 0 || (i == 1 && share < 700))
        .map(|(_, &(_, m))| MENUS[m].id)
        .collect();
    if menus.is_empty() {
        // No session before the first evaluation (a contract signed late
        // in a fiscal year): the plan is for the skills menus.
        menus.push("B-01");
    }
    menus.sort_unstable();
    menus
}

// ---------------------------------------------------------------------------
// Fixed-order JSON

/// Writes compact JSON with object keys in a fixed order (`type`, `id`,
/// then alphabetical), so that the bytes do not depend on whether
/// `serde_json` keeps insertion order.
fn write_json(out: &mut String, v: &Value) {
    match v {
        Value::Object(m) => {
            let rank = |k: &str| match k {
                "type" => 0,
                "id" => 1,
                _ => 2,
            };
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| (rank(a.0), a.0).cmp(&(rank(b.0), b.0)));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EVENT_TYPES;
    use crate::error::Location;
    use crate::io::parse::parse_object;
    use crate::io::Mode;
    use std::collections::BTreeMap;

    fn default_events() -> Vec<Value> {
        generate(&SynthConfig::default())
    }

    fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
        v.get(key).and_then(Value::as_str)
    }

    fn date_of(v: &Value, key: &str) -> Option<NaiveDate> {
        str_of(v, key).map(|s| s.parse().expect("an ISO date"))
    }

    fn of_type<'a>(events: &'a [Value], ty: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        events.iter().filter(move |e| str_of(e, "type") == Some(ty))
    }

    fn assert_all_parse(events: &[Value]) {
        for (n, event) in events.iter().enumerate() {
            let Value::Object(obj) = event.clone() else {
                panic!("line {} is not an object", n + 1)
            };
            let at = Location::line("synth", n as u64 + 1);
            if let Err(errors) = parse_object(obj, &at, Mode::Append, Vec::new()) {
                panic!("line {} refused: {errors:?}\n{event}", n + 1);
            }
        }
    }

    #[test]
    fn every_line_is_accepted_by_the_parser() {
        let jsonl = generate_jsonl(&SynthConfig::default());
        let events: Vec<Value> = jsonl
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        assert_eq!(events, default_events());
        assert_all_parse(&events);
    }

    #[test]
    fn small_and_odd_configs_still_give_valid_ledgers() {
        let configs = [
            SynthConfig {
                participants: 0,
                establishments: 0,
                ..Default::default()
            },
            SynthConfig {
                participants: 7,
                establishments: 1,
                seed: 3,
                ..Default::default()
            },
            SynthConfig {
                contract_start: ymd(2025, 4, 1),
                seed: 9,
                ..Default::default()
            },
            SynthConfig {
                contract_start: ymd(2026, 1, 5),
                participants: 50,
                ..Default::default()
            },
            SynthConfig {
                contract_start: ymd(2025, 3, 20),
                seed: 5,
                ..Default::default()
            },
        ];
        for cfg in configs {
            let events = generate(&cfg);
            assert_all_parse(&events);
            assert_dated_in_order(&cfg, &events);
            assert_eq!(str_of(&events[0], "type"), Some("project_defined"));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let cfg = SynthConfig {
            seed: 42,
            ..Default::default()
        };
        let a = generate_jsonl(&cfg);
        assert_eq!(a, generate_jsonl(&cfg));
        assert!(a.ends_with('\n'));
        assert!(a
            .lines()
            .all(|l| l.starts_with("{\"type\":\"") && !l.contains(": ")));
        let first = a.lines().next().unwrap_or_default();
        assert!(first.starts_with("{\"type\":\"project_defined\",\"budget_yen\":120000000,"));
    }

    /// Same seed, same bytes on every platform and build: the default
    /// output is pinned. Ledgers built by `jisseki demo` and `cargo xtask
    /// gen` depend on it, so change this only with a deliberate change of
    /// the generator, and say so.
    #[test]
    fn the_default_output_is_pinned() {
        use sha2::{Digest, Sha256};
        let jsonl = generate_jsonl(&SynthConfig::default());
        let digest = hex::encode(Sha256::digest(jsonl.as_bytes()));
        assert_eq!(
            digest,
            "7fcd3144650c66aae35152f311d76e46d4ae0ddebb5d3b6af3ebeeb0c7f7f6e9"
        );
    }

    #[test]
    fn a_different_seed_gives_different_events() {
        let a = generate_jsonl(&SynthConfig {
            seed: 1,
            ..Default::default()
        });
        let b = generate_jsonl(&SynthConfig {
            seed: 2,
            ..Default::default()
        });
        assert_ne!(a, b);
    }

    #[test]
    fn every_event_type_appears() {
        let counts = summary(&default_events());
        let types: Vec<&str> = counts.keys().map(String::as_str).collect();
        let mut expected = EVENT_TYPES.to_vec();
        expected.sort_unstable();
        assert_eq!(types, expected);
        assert!(counts.values().all(|&n| n > 0));
        assert_eq!(counts["project_defined"], 1);
        assert!((200..=1500).contains(&counts["attendance"]), "{counts:?}");
    }

    #[test]
    fn menus_and_sessions_come_before_their_use() {
        let events = default_events();
        assert_eq!(str_of(&events[0], "type"), Some("project_defined"));
        let mut menus = BTreeSet::new();
        let mut held = BTreeSet::new();
        for e in &events {
            let menu = str_of(e, "menu").map(str::to_string);
            match str_of(e, "type") {
                Some("menu_defined") => {
                    menus.insert(menu.clone().unwrap_or_default());
                }
                Some("session_held") => {
                    assert!(menus.contains(menu.as_deref().unwrap_or_default()), "{e}");
                    held.insert((
                        menu.clone().unwrap_or_default(),
                        str_of(e, "date").unwrap_or_default().to_string(),
                    ));
                }
                Some("attendance") => {
                    let key = (
                        menu.clone().unwrap_or_default(),
                        str_of(e, "date").unwrap_or_default().to_string(),
                    );
                    assert!(
                        held.contains(&key),
                        "attendance without an earlier session: {e}"
                    );
                }
                Some("survey_response" | "targets_revised") => {
                    assert!(menus.contains(menu.as_deref().unwrap_or_default()), "{e}");
                }
                _ => {}
            }
            for named in e
                .get("menus")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                assert!(menus.contains(named.as_str().unwrap_or_default()), "{e}");
            }
        }
    }

    #[test]
    fn fixes_name_earlier_events_of_the_same_type() {
        let events = default_events();
        let mut seen: BTreeMap<String, (String, Value)> = BTreeMap::new();
        let (mut corrections, mut retractions) = (0, 0);
        for e in &events {
            if let Some(target) = str_of(e, "target") {
                let (ty, original) = seen
                    .get(target)
                    .unwrap_or_else(|| panic!("target not earlier: {e}"));
                if str_of(e, "type") == Some("correction") {
                    corrections += 1;
                    let replacement = &e["replacement"];
                    assert_eq!(str_of(replacement, "type"), Some(ty.as_str()));
                    assert!(replacement.get("id").is_none());
                    assert_ne!(
                        str_of(replacement, "residence"),
                        str_of(original, "residence")
                    );
                } else {
                    retractions += 1;
                    // The copy is the same attendance as an earlier one.
                    let mut copy = original.clone();
                    copy.as_object_mut().map(|m| m.remove("id"));
                    let earlier = events
                        .iter()
                        .take_while(|x| *x != original)
                        .any(|x| *x == copy);
                    assert!(earlier, "the retracted line duplicates nothing: {original}");
                }
            }
            if let Some(id) = str_of(e, "id") {
                assert!(uuid::Uuid::parse_str(id).is_ok());
                seen.insert(
                    id.to_string(),
                    (str_of(e, "type").unwrap_or_default().to_string(), e.clone()),
                );
            }
        }
        assert_eq!((corrections, retractions), (1, 1));
    }

    /// Every date lies within the project's three fiscal years, and dated
    /// events come in order (survey answers, dated by their session, aside).
    fn assert_dated_in_order(cfg: &SynthConfig, events: &[Value]) {
        let cal = Calendar::new(cfg.contract_start);
        let mut last = cfg.contract_start;
        for e in events {
            for key in ["date", "start_date", "offer_date", "interviewed_on"] {
                if let Some(d) = date_of(e, key) {
                    assert!(cal.contains(d), "{key} outside the project: {e}");
                }
            }
            if let Some(d) = date_of(e, "date") {
                if str_of(e, "type") != Some("survey_response") {
                    assert!(d >= last, "out of order: {e}");
                    last = d;
                }
            }
        }
    }

    #[test]
    fn dates_fall_within_the_project_and_the_order_is_chronological() {
        let cfg = SynthConfig::default();
        let events = generate(&cfg);
        assert_dated_in_order(&cfg, &events);
        // Some sessions in March, and each fiscal year has sessions of every menu.
        let sessions: Vec<&Value> = of_type(&events, "session_held").collect();
        assert!(sessions
            .iter()
            .any(|s| date_of(s, "date").is_some_and(|d| d.month() == 3)));
        for fy in Calendar::new(cfg.contract_start).fiscal_years() {
            for m in MENUS {
                let held = |s: &&Value| {
                    str_of(s, "menu") == Some(m.id)
                        && date_of(s, "date").is_some_and(|d| fiscal_year(d) == fy)
                };
                assert!(sessions.iter().any(held), "{} in {fy}", m.id);
            }
        }
    }

    #[test]
    fn only_codes_identify_people_and_establishments() {
        let code = |s: &str, prefix: char| {
            s.len() == 6
                && s.starts_with(prefix)
                && s[1..2] == *"-"
                && s[2..].bytes().all(|b| b.is_ascii_digit())
        };
        for e in default_events() {
            for (key, prefix) in [("person", 'P'), ("establishment", 'E'), ("employer", 'E')] {
                if let Some(v) = str_of(&e, key) {
                    assert!(code(v, prefix), "{key}: {v}");
                }
            }
            if let Some(v) = str_of(&e, "respondent") {
                assert!(code(v, 'P') || code(v, 'E'), "respondent: {v}");
            }
        }
    }

    /// The counting rules must have real work to do: every exclusion and
    /// edge case of RULES.md meets at least one line, whatever the seed.
    #[test]
    fn the_population_exercises_the_rules() {
        for seed in [2024, 0, 1, 2, 3, 4, 5, 6, 7] {
            let missing = cases_missing(&generate(&SynthConfig {
                seed,
                ..Default::default()
            }));
            assert!(missing.is_empty(), "seed {seed} lacks {missing:?}");
        }
    }

    /// The names of the cases that no line of `events` shows.
    fn cases_missing(events: &[Value]) -> Vec<&'static str> {
        let is = |e: &Value, k: &str, v: &str| str_of(e, k) == Some(v);
        let flag = |e: &Value, k: &str, v: bool| e.get(k).and_then(Value::as_bool) == Some(v);
        let att: Vec<&Value> = of_type(events, "attendance").collect();
        let hires: Vec<&Value> = of_type(events, "hire").collect();
        let startups: Vec<&Value> = of_type(events, "startup").collect();
        let any = |lines: &[&Value], f: &dyn Fn(&Value) -> bool| lines.iter().any(|e| f(e));
        let graduating = |e: &Value| {
            let fy = date_of(e, "date").map(fiscal_year).map(i64::from);
            fy == e["student"]["graduating_year"].as_i64()
        };
        let first: BTreeMap<&str, NaiveDate> = att
            .iter()
            .rev()
            .filter_map(|e| Some((str_of(e, "person")?, date_of(e, "date")?)))
            .collect();
        let mut staff_at_session: BTreeMap<[&str; 3], u32> = BTreeMap::new();
        let mut per_person: BTreeMap<&str, u32> = BTreeMap::new();
        for e in &att {
            if let (true, [Some(m), Some(d), Some(x)]) = (
                is(e, "role", "establishment"),
                ["menu", "date", "establishment"].map(|k| str_of(e, k)),
            ) {
                *staff_at_session.entry([m, d, x]).or_default() += 1;
            }
            if let Some(p) = str_of(e, "person") {
                *per_person.entry(p).or_default() += 1;
            }
        }
        let cases: Vec<(&'static str, bool)> = vec![
            (
                "outsider wanting the region",
                any(&att, &|e| {
                    is(e, "residence", OUT) && flag(e, "wants_in_region", true)
                }),
            ),
            (
                "outsider not wanting it",
                any(&att, &|e| {
                    is(e, "residence", OUT) && flag(e, "wants_in_region", false)
                }),
            ),
            (
                "residence unknown",
                any(&att, &|e| is(e, "residence", UNKNOWN)),
            ),
            (
                "residence absent",
                any(&att, &|e| {
                    e.get("residence").is_none() && e.get("establishment").is_none()
                }),
            ),
            (
                "intent not confirmed",
                any(&att, &|e| flag(e, "intent_confirmed", false)),
            ),
            (
                "employed_skillup",
                any(&att, &|e| is(e, "role", "employed_skillup")),
            ),
            ("government", any(&att, &|e| is(e, "role", "government"))),
            ("promoter", any(&att, &|e| is(e, "role", "promoter"))),
            (
                "conversion_hopeful",
                any(&att, &|e| is(e, "role", "conversion_hopeful")),
            ),
            (
                "freelance hopeful",
                any(&att, &|e| flag(e, "freelance", true)),
            ),
            (
                "staff for an establishment",
                any(&att, &|e| {
                    is(e, "role", "establishment") && e.get("person").is_some()
                }),
            ),
            (
                "outside establishment",
                any(&att, &|e| is(e, "establishment_location", OUT)),
            ),
            (
                "job seeker in an A menu",
                any(&att, &|e| {
                    is(e, "role", "job_seeker") && is(e, "menu", "A-01")
                }),
            ),
            (
                "establishment in a C menu",
                any(&att, &|e| {
                    is(e, "role", "establishment") && is(e, "menu", "C-01")
                }),
            ),
            (
                "graduating university student",
                any(&att, &|e| {
                    e["student"]["school"] == "university" && graduating(e)
                }),
            ),
            (
                "other university student",
                any(&att, &|e| {
                    e["student"]["school"] == "university" && !graduating(e)
                }),
            ),
            (
                "high-school student at a fair",
                any(&att, &|e| {
                    e["student"]["school"] == "high_school" && is(e, "menu", "C-01")
                }),
            ),
            (
                "several staff at one session",
                staff_at_session.values().any(|&n| n >= 2),
            ),
            (
                "people attending 3+ times",
                per_person.values().filter(|&&n| n >= 3).count() >= 5,
            ),
            (
                "hire under 20 hours",
                any(&hires, &|e| {
                    e["weekly_hours"].as_f64().is_some_and(|h| h < 20.0)
                }),
            ),
            (
                "hire of 37.5 hours",
                any(&hires, &|e| e["weekly_hours"].as_f64() == Some(37.5)),
            ),
            (
                "hire without start date",
                any(&hires, &|e| e["start_date"].is_null()),
            ),
            (
                "regular recruitment",
                any(&hires, &|e| flag(e, "regular_recruitment", true)),
            ),
            (
                "hire at a new site",
                any(&hires, &|e| flag(e, "new_site_in_region", true)),
            ),
            (
                "job outside the region",
                any(&hires, &|e| is(e, "workplace", OUT)),
            ),
            (
                "hire naming its menus",
                any(&hires, &|e| e.get("menus").is_some()),
            ),
            (
                "offer before first attendance",
                any(&hires, &|e| {
                    let p = str_of(e, "person").unwrap_or_default();
                    date_of(e, "offer_date")
                        .zip(first.get(p))
                        .is_some_and(|(o, f)| o < *f)
                }),
            ),
            (
                "vacancy fill",
                of_type(events, "conversion").any(|e| flag(e, "vacancy_fill", true)),
            ),
            ("founder alone", any(&startups, &|e| e["employees"] == 0)),
            ("founder with 2", any(&startups, &|e| e["employees"] == 2)),
            ("founder with 3", any(&startups, &|e| e["employees"] == 3)),
            (
                "start-up in the region",
                any(&startups, &|e| is(e, "location", IN)),
            ),
            (
                "start-up outside",
                any(&startups, &|e| is(e, "location", OUT)),
            ),
            (
                "useless seminar answer",
                of_type(events, "survey_response").any(|e| flag(e, "useful", false)),
            ),
        ];
        cases
            .into_iter()
            .filter(|(_, ok)| !ok)
            .map(|(name, _)| name)
            .collect()
    }

    #[test]
    fn hires_are_consistent_and_surveys_mostly_positive() {
        let events = default_events();
        for e in of_type(&events, "hire") {
            if let (Some(offer), Some(start)) = (date_of(e, "offer_date"), date_of(e, "start_date"))
            {
                assert!(offer <= start, "{e}");
            }
        }
        let answers: Vec<&Value> = of_type(&events, "survey_response").collect();
        let useful = answers.iter().filter(|e| e["useful"] == true).count();
        assert!(
            useful * 100 >= answers.len() * 80,
            "{useful}/{}",
            answers.len()
        );
    }
}
