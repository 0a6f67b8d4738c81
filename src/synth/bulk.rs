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

/// A council to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Council {
    /// Project id.
    pub project: String,
    /// Name of the council's region.
    pub name: String,
    /// Its municipalities.
    pub municipalities: Vec<String>,
    /// The three-year employment target of its plan (outcomes), before
    /// scaling; `None` gives targets in proportion to the size.
    pub employment_target: Option<u32>,
}

/// The guide's ten example regions (p.2–3): id, name, municipalities, and
/// the three-year employment target of their plans.
pub const REGIONS: [(&str, &str, &[&str], u32); 10] = [
    ("kushiro", "釧路市", &["釧路市"], 168),
    ("kitami", "北見市", &["北見市"], 102),
    (
        "ninohe",
        "二戸地域",
        &["二戸市", "軽米町", "九戸村", "一戸町"],
        115,
    ),
    (
        "chichibu",
        "ちちぶ地域",
        &["秩父市", "横瀬町", "皆野町", "長瀞町", "小鹿野町"],
        156,
    ),
    ("gotsu", "江津市", &["江津市"], 90),
    ("tsuyama", "津山市", &["津山市"], 114),
    ("seiyo", "西予市", &["西予市"], 70),
    (
        "amakusa",
        "天草地域",
        &["天草市", "上天草市", "苓北町"],
        120,
    ),
    ("taketa", "竹田市", &["竹田市"], 85),
    (
        "amami",
        "奄美大島地域",
        &["奄美市", "大和村", "宇検村", "瀬戸内町", "龍郷町"],
        124,
    ),
];

/// The `i`-th council of a synthetic nation: the ten regions in turn
/// (`kushiro`, …, then `kushiro-2`, …).
pub fn region_council(i: usize) -> Council {
    let (id, name, municipalities, target) = REGIONS[i % REGIONS.len()];
    let round = i / REGIONS.len();
    Council {
        project: if round == 0 {
            id.to_string()
        } else {
            format!("{id}-{}", round + 1)
        },
        // 「二戸地域」 → 二戸地域雇用創造協議会; 「釧路市」 → 釧路市地域雇用創造協議会.
        name: if name.ends_with("地域") {
            format!("{name}雇用創造協議会")
        } else {
            format!("{name}地域雇用創造協議会")
        },
        municipalities: municipalities.iter().map(|m| m.to_string()).collect(),
        employment_target: Some(target),
    }
}

/// The council of [`write`].
fn bulk_council() -> Council {
    Council {
        project: "bulk".into(),
        name: "全国規模の合成協議会".into(),
        municipalities: vec!["甲市".into(), "乙町".into()],
        employment_target: None,
    }
}

/// Writes `events` events (at least the definitions) of one council to
/// `out`.
pub fn write(events: u64, seed: u64, out: &mut impl Write) -> io::Result<()> {
    write_council(&bulk_council(), events, seed, out)
}

/// Writes `councils` councils of `events / councils` events each, one JSON
/// Lines file per council (`<project>.jsonl`) in `dir`: a synthetic nation
/// modelled on the guide's ten regions, their employment targets scaled
/// with their size. Council `i` uses seed `seed + i`. Returns the files.
pub fn write_nation(
    councils: usize,
    events: u64,
    seed: u64,
    dir: &std::path::Path,
) -> io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let each = events / councils.max(1) as u64;
    let mut files = Vec::new();
    for i in 0..councils {
        let c = region_council(i);
        let path = dir.join(format!("{}.jsonl", c.project));
        let mut w = io::BufWriter::new(std::fs::File::create(&path)?);
        write_council(&c, each, seed.wrapping_add(i as u64), &mut w)?;
        w.flush()?;
        files.push(path);
    }
    Ok(files)
}

/// Writes `events` events of council `c` to `out`.
pub fn write_council(c: &Council, events: u64, seed: u64, out: &mut impl Write) -> io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let people = (events / 8).max(10);
    let establishments = (events / 200).max(5);
    let mut buf = String::with_capacity(1 << 20);
    let quoted: Vec<String> = c
        .municipalities
        .iter()
        .map(|m| format!("\"{m}\""))
        .collect();
    let _ = writeln!(
        buf,
        r#"{{"type":"project_defined","project":"{}","name":"{}","region_kind":"shortage","municipalities":[{}],"contract_start":"2024-10-01","years":3}}"#,
        c.project,
        c.name,
        quoted.join(",")
    );
    // Outcome targets a menu and fiscal year: the plan's target spread over
    // the menus and years (FY2024 and FY2027 are half years), scaled with
    // the council's size; outputs four times that.
    let scale = u32::try_from((events / 1000).clamp(1, 1_000_000)).unwrap_or(1);
    let per_year = match c.employment_target {
        Some(t) => {
            let factor = u32::try_from((events / 5_000).clamp(1, 1_000_000)).unwrap_or(1);
            (t * factor / (3 * MENUS.len() as u32)).max(1)
        }
        None => 10 * scale,
    };
    let (half, full) = ((per_year / 2).max(1), per_year);
    for (menu, category, kind, name) in MENUS {
        let _ = writeln!(
            buf,
            r#"{{"type":"menu_defined","menu":"{menu}","category":"{category}","kind":"{kind}","name":"{name}","targets":[{{"fiscal_year":2024,"output":{},"outcome":{}}},{{"fiscal_year":2025,"output":{},"outcome":{}}},{{"fiscal_year":2026,"output":{},"outcome":{}}},{{"fiscal_year":2027,"output":{},"outcome":{}}}]}}"#,
            4 * half,
            half,
            4 * full,
            full,
            4 * full,
            full,
            4 * half,
            half
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
            // One in fifty is recorded late: a session months back.
            let late = if rng.gen_range(0..50) == 0 {
                rng.gen_range(30..120)
            } else {
                0
            };
            let week = (date_n.saturating_sub(late) / 7).min(DAYS / 7 - 1);
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
    fn a_nation_is_ten_regions_in_turn_each_a_council_that_imports() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_nation(12, 24_000, 3, dir.path()).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names[0], "kushiro.jsonl");
        assert_eq!(names[9], "amami.jsonl");
        assert_eq!(names[11], "kitami-2.jsonl");
        let text = std::fs::read(&files[2]).unwrap();
        let events = crate::io::read_events(
            &text,
            "ninohe.jsonl",
            crate::io::InputFormat::JsonLines,
            crate::io::Mode::Append,
        )
        .unwrap();
        assert_eq!(events.len(), 2_000);
        let first = String::from_utf8_lossy(&text[..200]).into_owned();
        assert!(
            first.contains("二戸地域") && first.contains("九戸村"),
            "{first}"
        );
        let again = tempfile::tempdir().unwrap();
        write_nation(12, 24_000, 3, again.path()).unwrap();
        assert_eq!(
            std::fs::read(&files[2]).unwrap(),
            std::fs::read(again.path().join("ninohe.jsonl")).unwrap()
        );
    }

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
