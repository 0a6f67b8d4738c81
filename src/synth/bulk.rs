//! A council at national scale, for benchmarks: `events` events of one
//! project, written as JSON Lines at about a million lines a second.
//!
//! [`super::generate`] models a council in detail (sessions, surveys,
//! follow-ups, every rule's corner) and is meant for hundreds of people.
//! This generator trades that detail for speed: it draws each event on its
//! own, in roughly chronological order, from fixed proportions (78 %
//! attendances, 10 % hires, 2 % conversions, 1 % start-ups, 8 % survey
//! answers, a correction or retraction in a thousand), over a population of
//! `events / 8` people and `events / 200` establishments, with the mix of
//! residence, intent, students and roles that exercises the rules. People
//! mostly keep to one menu and attend on its weekly session day. Same seed
//! and size, same bytes.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::io::{self, Write};

/// The menus of the generated council: id, category, kind, name.
const MENUS: [(&str, &str, &str, &str); 8] = [
    ("A-01", "A", "seminar", "事業所魅力向上セミナー"),
    ("A-02", "A", "accompaniment", "専門家派遣による伴走型支援"),
    ("B-01", "B", "seminar", "ＩＴ人材育成セミナー"),
    ("B-02", "B", "seminar", "介護職員初任者研修"),
    ("B-03", "B", "seminar", "観光サービス人材育成講座"),
    ("C-01", "C", "seminar", "合同企業説明会"),
    ("C-02", "C", "seminar", "UIJターン就職相談会"),
    ("C-03", "C", "seminar", "高校生向け職場見学会"),
];

/// Project days: three fiscal years from 2024-10-01 (to 2027-09-30).
const DAYS: u32 = 1095;

fn day(d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2024, 10, 1).unwrap_or_default() + chrono::Days::new(d.into())
}

fn place(rng: &mut ChaCha8Rng, p_in: u32, p_out: u32) -> &'static str {
    let x = rng.gen_range(0..100);
    if x < p_in {
        "in_region"
    } else if x < p_in + p_out {
        "out_region"
    } else {
        "unknown"
    }
}

/// Writes `events` events (at least the definitions) to `out`.
pub fn write(events: u64, seed: u64, out: &mut impl Write) -> io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let people = (events / 8).max(10);
    let establishments = (events / 200).max(5);
    let mut buf = String::with_capacity(1 << 20);
    buf.push_str(r#"{"type":"project_defined","project":"bulk","name":"全国規模の合成協議会","region_kind":"shortage","municipalities":["甲市","乙町"],"contract_start":"2024-10-01","years":3}"#);
    buf.push('\n');
    let scale = u32::try_from((events / 1000).clamp(1, 1_000_000)).unwrap_or(1);
    for (menu, category, kind, name) in MENUS {
        let _ = writeln!(
            buf,
            r#"{{"type":"menu_defined","menu":"{menu}","category":"{category}","kind":"{kind}","name":"{name}","targets":[{{"fiscal_year":2024,"output":{},"outcome":{}}},{{"fiscal_year":2025,"output":{},"outcome":{}}},{{"fiscal_year":2026,"output":{},"outcome":{}}},{{"fiscal_year":2027,"output":{},"outcome":{}}}]}}"#,
            20 * scale,
            5 * scale,
            40 * scale,
            10 * scale,
            40 * scale,
            10 * scale,
            20 * scale,
            5 * scale
        );
    }
    let mut written = 1 + MENUS.len() as u64;
    // A session of every menu each week.
    for week in 0..DAYS / 7 {
        for (i, (menu, ..)) in MENUS.iter().enumerate() {
            if written >= events {
                break;
            }
            let d = day(week * 7 + i as u32 % 5);
            let _ = writeln!(
                buf,
                r#"{{"type":"session_held","menu":"{menu}","date":"{d}"}}"#
            );
            written += 1;
        }
    }
    // Client ids on one event in 500, so that later corrections and
    // retractions can name them.
    // Named events: id, and the object's text without its id.
    let mut named: Vec<(String, String)> = Vec::new();
    let mut n: u64 = 0;
    while written < events {
        n += 1;
        // Roughly chronological: the date advances with the count, give
        // or take three weeks.
        let base = (u128::from(n) * u128::from(DAYS) / u128::from(events.max(1))) as u32;
        let date_n = (base + rng.gen_range(0..21))
            .saturating_sub(10)
            .min(DAYS - 1);
        let d = day(date_n);
        let person = rng.gen_range(0..people);
        let est = rng.gen_range(0..establishments);
        let id = if n % 500 == 0 {
            let id = format!("0193a1c0-0000-7000-8000-{n:012x}");
            let _ = write!(buf, r#"{{"id":"{id}","#);
            Some(id)
        } else {
            buf.push('{');
            None
        };
        let fields_at = buf.len();
        let kind = rng.gen_range(0..1000);
        let ty;
        if kind < 780 {
            ty = "attendance";
            // Most people keep to one menu; one attendance in four is of
            // another. They attend on the menu's session day that week.
            let home = (person % MENUS.len() as u64) as usize;
            let mi = if rng.gen_range(0..4) == 0 {
                rng.gen_range(0..MENUS.len())
            } else {
                home
            };
            let (menu, category, ..) = MENUS[mi];
            let week = (date_n / 7).min(DAYS / 7 - 1);
            let d = day(week * 7 + mi as u32 % 5);
            let role = match (category, rng.gen_range(0..20)) {
                ("A", 0..=11) => "establishment",
                ("A", 12..=17) => "startup_hopeful",
                (_, 0..=14) => "job_seeker",
                (_, 15..=16) => "conversion_hopeful",
                (_, 17) => "employed_skillup",
                (_, 18) => "government",
                _ => "promoter",
            };
            let _ = write!(
                buf,
                r#""type":"attendance","menu":"{menu}","date":"{d}","role":"{role}","person":"P-{person:07}""#
            );
            if role == "establishment" {
                let _ = write!(
                    buf,
                    r#","establishment":"E-{est:06}","establishment_location":"{}""#,
                    place(&mut rng, 85, 12)
                );
            } else {
                let _ = write!(buf, r#","residence":"{}""#, place(&mut rng, 82, 14));
            }
            if rng.gen_range(0..10) < 9 {
                buf.push_str(r#","intent_confirmed":true"#);
            }
            if rng.gen_range(0..4) == 0 {
                buf.push_str(r#","wants_in_region":true"#);
            }
            if role == "startup_hopeful" && rng.gen_range(0..5) == 0 {
                buf.push_str(r#","freelance":true"#);
            }
            if role == "job_seeker" && rng.gen_range(0..20) == 0 {
                let school = if rng.gen_range(0..3) == 0 {
                    "high_school"
                } else {
                    "university"
                };
                let _ = write!(
                    buf,
                    r#","student":{{"school":"{school}","graduating_year":{}}}"#,
                    2024 + rng.gen_range(0..4)
                );
            }
        } else if kind < 880 {
            ty = "hire";
            let start = day((date_n + rng.gen_range(0..60)).min(DAYS - 1));
            let hours = [40, 40, 30, 15][rng.gen_range(0..4)];
            let _ = write!(
                buf,
                r#""type":"hire","person":"P-{person:07}","offer_date":"{d}","start_date":"{start}","workplace":"{}","weekly_hours":{hours}"#,
                place(&mut rng, 80, 18)
            );
            if rng.gen_range(0..10) < 7 {
                let _ = write!(buf, r#","employer":"E-{est:06}""#);
            }
            if rng.gen_range(0..20) == 0 {
                buf.push_str(r#","regular_recruitment":true"#);
            }
            if rng.gen_range(0..20) == 0 {
                let (menu, ..) = MENUS[rng.gen_range(0..MENUS.len())];
                let _ = write!(buf, r#","menus":["{menu}"]"#);
            }
        } else if kind < 900 {
            ty = "conversion";
            let _ = write!(
                buf,
                r#""type":"conversion","person":"P-{person:07}","employer":"E-{est:06}","date":"{d}","weekly_hours":40"#
            );
        } else if kind < 910 {
            ty = "startup";
            let _ = write!(
                buf,
                r#""type":"startup","person":"P-{person:07}","date":"{d}","location":"{}","employees":{}"#,
                place(&mut rng, 85, 15),
                rng.gen_range(0..4)
            );
        } else if kind < 999 || named.is_empty() {
            ty = "survey_response";
            let (menu, ..) = MENUS[rng.gen_range(0..MENUS.len())];
            let _ = write!(
                buf,
                r#""type":"survey_response","menu":"{menu}","date":"{d}","useful":{}"#,
                rng.gen_range(0..5) > 0
            );
        } else {
            // Retract an earlier named event, or correct it (the
            // replacement: the same event, residence or location fixed).
            let (target, body) = named.swap_remove(rng.gen_range(0..named.len()));
            if rng.gen_range(0..2) == 0 {
                ty = "retraction";
                let _ = write!(
                    buf,
                    r#""type":"retraction","target":"{target}","reason":"誤登録""#
                );
            } else {
                ty = "correction";
                let fixed = body.replace("out_region", "in_region");
                let _ = write!(
                    buf,
                    r#""type":"correction","target":"{target}","reason":"居住地の誤り","replacement":{{{fixed}}}"#
                );
            }
        }
        if let Some(id) = id {
            if ty != "retraction" && ty != "correction" {
                named.push((id, buf[fields_at..].to_string()));
            }
        }
        buf.push_str("}\n");
        written += 1;
        if buf.len() > (1 << 20) - 4096 {
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
    fn writes_the_number_of_events_asked_for_and_every_line_parses() {
        let mut out = Vec::new();
        write(5_000, 7, &mut out).unwrap();
        let events = crate::io::read_events(
            &out,
            "bulk.jsonl",
            crate::io::InputFormat::JsonLines,
            crate::io::Mode::Append,
        )
        .unwrap();
        assert_eq!(events.len(), 5_000);
        let mut again = Vec::new();
        write(5_000, 7, &mut again).unwrap();
        assert_eq!(out, again);
    }
}
