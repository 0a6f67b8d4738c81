//! A council of B and C menus only, whose figures depend on no rule but
//! O-BC1, O-BC2, XO-3, C-BC1, C-BC2, XC-6 and XC-7: the data of the
//! side-by-side with SQLite (`cargo xtask bench-vs-sqlite`), where the same
//! figures are computed by one SQL query (`tools/bench_vs_sqlite.py`).
//!
//! So that no other rule decides anything:
//! - every attendance is of a job seeker (or an employed person skilling
//!   up, XO-3) dated from the contract start to [`AS_OF`]; residence,
//!   intent and the wish for in-region work are the person's own, the same
//!   at every attendance (so XC-3's "first use of the programme" is the
//!   person's first attendance); no students, no freelance, no staff;
//! - a person has at most one hire, with a start date on or before
//!   [`AS_OF`], a known workplace, an offer (when given) no earlier than the
//!   person's first attendance, no interview date, no regular recruitment,
//!   never employed before; nothing is corrected or retracted, no outcome
//!   names its menus.
//!
//! The report to compare is cumulative (F-2) as of [`AS_OF`], the end of
//! the project: every date is inside the window.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::io::{self, Write};

/// The as-of date of the comparison: the last day of project year 3.
pub const AS_OF: &str = "2027-09-30";
/// The menus.
pub const MENUS: [&str; 4] = ["B-01", "B-02", "C-01", "C-02"];
const CONTRACT_START: (i32, u32, u32) = (2024, 10, 1);
/// Days from the contract start to [`AS_OF`].
const SPAN_DAYS: u64 = 1094;

/// Writes `events` events (at least the definitions) to `out`; the same
/// seed gives the same bytes.
pub fn write(events: u64, seed: u64, out: &mut impl Write) -> io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start =
        chrono::NaiveDate::from_ymd_opt(CONTRACT_START.0, CONTRACT_START.1, CONTRACT_START.2)
            .unwrap_or_default();
    let mut buf = String::with_capacity(1 << 20);
    buf.push_str(r#"{"type":"project_defined","project":"bc-bench","name":"B・C比較用の合成協議会","region_kind":"shortage","municipalities":["甲市"],"contract_start":"2024-10-01","years":3}"#);
    buf.push('\n');
    for m in MENUS {
        let cat = &m[..1];
        let _ = writeln!(
            buf,
            r#"{{"type":"menu_defined","menu":"{m}","category":"{cat}","kind":"seminar","name":"{m}","targets":[{{"fiscal_year":2024,"output":100,"outcome":30}},{{"fiscal_year":2025,"output":100,"outcome":30}},{{"fiscal_year":2026,"output":100,"outcome":30}},{{"fiscal_year":2027,"output":100,"outcome":30}}]}}"#
        );
    }
    let mut written = 1 + MENUS.len() as u64;
    let mut person = 0u64;
    while written < events {
        person += 1;
        let residence = match rng.gen_range(0..100) {
            0..70 => Some("in_region"),
            70..95 => Some("out_region"),
            _ => None,
        };
        let intent = match rng.gen_range(0..100) {
            0..85 => Some(true),
            85..95 => Some(false),
            _ => None,
        };
        let wants = rng.gen_bool(0.6);
        let role = if rng.gen_bool(0.05) {
            "employed_skillup"
        } else {
            "job_seeker"
        };
        let k = rng.gen_range(1..=8u64);
        let mut day = rng.gen_range(0..SPAN_DAYS);
        let first = day;
        for _ in 0..k {
            if written >= events {
                break;
            }
            let date = start + chrono::Days::new(day);
            let menu = MENUS[rng.gen_range(0..MENUS.len())];
            let _ = write!(
                buf,
                r#"{{"type":"attendance","menu":"{menu}","date":"{date}","role":"{role}","person":"P{person:08}""#
            );
            if let Some(r) = residence {
                let _ = write!(buf, r#","residence":"{r}""#);
            }
            if let Some(i) = intent {
                let _ = write!(buf, r#","intent_confirmed":{i}"#);
            }
            if wants {
                buf.push_str(r#","wants_in_region":true"#);
            }
            buf.push_str("}\n");
            written += 1;
            day = (day + rng.gen_range(0..60)).min(SPAN_DAYS);
        }
        if written < events && rng.gen_bool(0.4) {
            let offer = first + rng.gen_range(0..150);
            let begin = offer + rng.gen_range(1..60);
            if begin <= SPAN_DAYS {
                let hours = match rng.gen_range(0..100) {
                    0..80 => 40,
                    80..92 => 30,
                    _ => 10,
                };
                let place = if rng.gen_bool(0.7) {
                    "in_region"
                } else {
                    "out_region"
                };
                let _ = write!(
                    buf,
                    r#"{{"type":"hire","person":"P{person:08}","employer":"E{:05}","start_date":"{}","workplace":"{place}","weekly_hours":{hours}"#,
                    person % 5000,
                    start + chrono::Days::new(begin)
                );
                if rng.gen_bool(0.9) {
                    let _ = write!(
                        buf,
                        r#","offer_date":"{}""#,
                        start + chrono::Days::new(offer)
                    );
                }
                buf.push_str("}\n");
                written += 1;
            }
        }
        if buf.len() > 1 << 20 {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    out.write_all(buf.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_every_line_is_accepted() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write(3_000, 7, &mut a).unwrap();
        write(3_000, 7, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.iter().filter(|&&c| c == b'\n').count(), 3_000);
        let events = crate::io::read_events(
            &a,
            "bc.jsonl",
            crate::io::InputFormat::JsonLines,
            crate::io::Mode::Append,
        )
        .unwrap();
        assert_eq!(events.len(), 3_000);
    }
}
