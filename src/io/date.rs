//! Dates as councils write them.
//!
//! JSON Lines carries dates strictly as `YYYY-MM-DD` ([`parse_iso_date`]); CSV
//! comes out of Excel registers kept by people, so [`parse_date_flexible`] also
//! reads Excel's `2024/1/5` and Japanese era dates (`令和6年11月20日`,
//! `R6.11.20`), typed in full-width characters or not. Both refuse any date that
//! does not exist instead of rolling it over, because a silently shifted date
//! moves an event into another fiscal year and changes the figures.
//!
//! Everything here works on `char`s, ASCII digit runs and `str` methods that
//! split on characters, never on byte offsets, so no input can make it panic.

use crate::io::text::normalize_width;
use chrono::NaiveDate;

/// The years accepted for western dates. The programme started long after 1900
/// and a ledger will not outlive 2999, so anything outside is a typing error
/// (`224-11-20`, `20244-11-20`), not a date to record.
const MIN_YEAR: i32 = 1900;
const MAX_YEAR: i32 = 2999;

/// Parses a date in any form a council's register may hold, after trimming and
/// folding full-width digits and punctuation (`２０２４／１１／２０`) to ASCII:
///
/// - ISO `2024-11-20`, also without zero padding (`2024-1-5`);
/// - Excel `2024/11/20`, `2024/1/5`; also `2024.11.20` and `2024年11月20日`;
/// - Japanese era dates: `令和6年11月20日`, `令和元年5月1日`, `R6.11.20`,
///   `R6/11/20`, `R6-11-20`, `r6.11.20`, `令和6.11.20`, and the same with
///   平成 / `H` / `h` (and the one-character era signs ㋿ and ㍻).
///
/// The three parts must be separated by the same separator (or by 年/月/日).
/// Western years must be four digits in 1900..=2999; era years are one or two
/// digits or 元 (the first year). 平成 runs from 1989-01-08 to 2019-04-30 and
/// 令和 from 2019-05-01: a date outside its era (`平成31年5月1日`,
/// `令和1年4月30日`) is refused, as a wrong era is as likely as a wrong day.
///
/// Returns `None` for anything that is not an existing date (`2024-02-30`,
/// `2023-02-29`, garbage).
pub fn parse_date_flexible(s: &str) -> Option<NaiveDate> {
    let folded = normalize_width(s.trim());
    let s = folded.trim();
    if let Some((era, rest)) = strip_era(s) {
        return parse_era_date(era, rest);
    }
    let (y, m, d) = split_ymd(s)?;
    let year = i32::try_from(digits(y, 4, 4)?).ok()?;
    western_date(year, m, d)
}

/// Parses exactly `YYYY-MM-DD`, zero-padded, as JSON Lines carries dates, with
/// the year in 1900..=2999 as for [`parse_date_flexible`] so that CSV and JSON
/// Lines accept the same dates. Returns `None` for any other form or a date that
/// does not exist.
pub fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    // Checking the bytes first means the `get` ranges below fall on ASCII
    // characters only; `get` would refuse a split character anyway.
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let year = i32::try_from(digits(s.get(0..4)?, 4, 4)?).ok()?;
    western_date(year, s.get(5..7)?, s.get(8..10)?)
}

/// A Japanese era this programme can meet: its events all fall after 2019,
/// and 平成 is kept for dates of birth, past hires and old registers.
#[derive(Debug, Clone, Copy)]
enum Era {
    Heisei,
    Reiwa,
}

impl Era {
    /// The western year of the era's year 0 (平成1年 = 1989, 令和1年 = 2019).
    fn offset(self) -> u32 {
        match self {
            Era::Heisei => 1988,
            Era::Reiwa => 2018,
        }
    }

    /// The first and last day of the era (`None`: still running).
    fn span(self) -> (Option<NaiveDate>, Option<NaiveDate>) {
        match self {
            Era::Heisei => (
                NaiveDate::from_ymd_opt(1989, 1, 8),
                NaiveDate::from_ymd_opt(2019, 4, 30),
            ),
            Era::Reiwa => (NaiveDate::from_ymd_opt(2019, 5, 1), None),
        }
    }
}

/// Splits off an era name or sign, if the text starts with one.
fn strip_era(s: &str) -> Option<(Era, &str)> {
    const PREFIXES: [(&str, Era); 8] = [
        ("令和", Era::Reiwa),
        ("R", Era::Reiwa),
        ("r", Era::Reiwa),
        ("\u{32FF}", Era::Reiwa), // ㋿
        ("平成", Era::Heisei),
        ("H", Era::Heisei),
        ("h", Era::Heisei),
        ("\u{337B}", Era::Heisei), // ㍻
    ];
    PREFIXES
        .iter()
        .find_map(|&(p, era)| s.strip_prefix(p).map(|rest| (era, rest)))
}

/// An era date: `rest` is what follows the era name, such as `6年11月20日`,
/// `元年5月1日` or `6.11.20`.
fn parse_era_date(era: Era, rest: &str) -> Option<NaiveDate> {
    let (y, m, d) = split_ymd(rest)?;
    let era_year = if y == "元" { 1 } else { digits(y, 1, 2)? };
    if era_year == 0 {
        return None;
    }
    let year = i32::try_from(era.offset() + era_year).ok()?;
    let date = NaiveDate::from_ymd_opt(year, digits(m, 1, 2)?, digits(d, 1, 2)?)?;
    let (first, last) = era.span();
    if first.is_some_and(|f| date < f) || last.is_some_and(|l| date > l) {
        return None;
    }
    Some(date)
}

/// A western date from a checked year and unchecked month and day text.
fn western_date(year: i32, m: &str, d: &str) -> Option<NaiveDate> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, digits(m, 1, 2)?, digits(d, 1, 2)?)
}

/// Splits `Y年M月D日` or `Y<sep>M<sep>D` (one separator of `-`, `/`, `.` used
/// twice) into its three parts, unchecked. Mixed separators are refused: a
/// date typed `2024/11-20` is more likely a mistake than a style.
fn split_ymd(s: &str) -> Option<(&str, &str, &str)> {
    if let Some(body) = s.strip_suffix('日') {
        let (y, rest) = body.split_once('年')?;
        let (m, d) = rest.split_once('月')?;
        return Some((y, m, d));
    }
    let sep = ['-', '/', '.'].into_iter().find(|&c| s.contains(c))?;
    let mut parts = s.split(sep);
    let y = parts.next()?;
    let m = parts.next()?;
    let d = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    Some((y, m, d))
}

/// `s` as a number if it is `min..=max` ASCII digits and nothing else (no sign,
/// no spaces: `str::parse` would take a leading `+`).
fn digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn iso_and_excel_forms() {
        assert_eq!(parse_date_flexible("2024-11-20"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("2024/11/20"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("2024/1/5"), d(2024, 1, 5));
        assert_eq!(parse_date_flexible("2024-1-5"), d(2024, 1, 5));
        assert_eq!(parse_date_flexible("2024/01/05"), d(2024, 1, 5));
        assert_eq!(parse_date_flexible("2024.11.20"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("2024年11月20日"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("  2024/11/20 \t"), d(2024, 11, 20));
    }

    #[test]
    fn full_width_input() {
        assert_eq!(parse_date_flexible("２０２４／１１／２０"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("２０２４－１１－２０"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("令和６年１１月２０日"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("Ｒ６．１１．２０"), d(2024, 11, 20));
        // Ideographic spaces around the value, as Japanese input leaves them.
        assert_eq!(
            parse_date_flexible("\u{3000}2024/11/20\u{3000}"),
            d(2024, 11, 20)
        );
    }

    #[test]
    fn era_forms() {
        assert_eq!(parse_date_flexible("令和6年11月20日"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("令和元年5月1日"), d(2019, 5, 1));
        assert_eq!(parse_date_flexible("R6.11.20"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("R6/11/20"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("R6-11-20"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("r6.11.20"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("R06.01.05"), d(2024, 1, 5));
        assert_eq!(parse_date_flexible("令和6.11.20"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("R元.5.1"), d(2019, 5, 1));
        assert_eq!(parse_date_flexible("R6年11月20日"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("㋿6.11.20"), d(2024, 11, 20));
        assert_eq!(parse_date_flexible("平成30年4月1日"), d(2018, 4, 1));
        assert_eq!(parse_date_flexible("H30.4.1"), d(2018, 4, 1));
        assert_eq!(parse_date_flexible("h30/4/1"), d(2018, 4, 1));
        assert_eq!(parse_date_flexible("平成元年1月8日"), d(1989, 1, 8));
        assert_eq!(parse_date_flexible("㍻31.4.30"), d(2019, 4, 30));
    }

    #[test]
    fn era_boundaries() {
        // 平成 ends on 2019-04-30, 令和 starts on 2019-05-01.
        assert_eq!(parse_date_flexible("平成31年4月30日"), d(2019, 4, 30));
        assert_eq!(parse_date_flexible("平成31年5月1日"), None);
        assert_eq!(parse_date_flexible("H31.5.1"), None);
        assert_eq!(parse_date_flexible("令和1年5月1日"), d(2019, 5, 1));
        assert_eq!(parse_date_flexible("令和1年4月30日"), None);
        assert_eq!(parse_date_flexible("R1.4.30"), None);
        assert_eq!(parse_date_flexible("令和元年4月30日"), None);
        // 平成 starts on 1989-01-08.
        assert_eq!(parse_date_flexible("平成元年1月7日"), None);
        assert_eq!(parse_date_flexible("H1.1.8"), d(1989, 1, 8));
        assert_eq!(parse_date_flexible("平成32年1月1日"), None);
        assert_eq!(parse_date_flexible("令和0年5月1日"), None);
        assert_eq!(parse_date_flexible("R0.5.1"), None);
    }

    #[test]
    fn leap_years_and_impossible_dates() {
        assert_eq!(parse_date_flexible("2024-02-29"), d(2024, 2, 29));
        assert_eq!(parse_date_flexible("2023-02-29"), None);
        assert_eq!(parse_date_flexible("2024-02-30"), None);
        assert_eq!(parse_date_flexible("2000/2/29"), d(2000, 2, 29));
        assert_eq!(parse_date_flexible("1900/2/29"), None);
        assert_eq!(parse_date_flexible("令和6年2月29日"), d(2024, 2, 29));
        assert_eq!(parse_date_flexible("R5.2.29"), None);
        assert_eq!(parse_date_flexible("2024-04-31"), None);
        assert_eq!(parse_date_flexible("2024-13-01"), None);
        assert_eq!(parse_date_flexible("2024-00-10"), None);
        assert_eq!(parse_date_flexible("2024-01-00"), None);
    }

    #[test]
    fn year_range() {
        assert_eq!(parse_date_flexible("1900-01-01"), d(1900, 1, 1));
        assert_eq!(parse_date_flexible("2999-12-31"), d(2999, 12, 31));
        assert_eq!(parse_date_flexible("1899-12-31"), None);
        assert_eq!(parse_date_flexible("3000-01-01"), None);
        assert_eq!(parse_date_flexible("224-11-20"), None);
        assert_eq!(parse_date_flexible("20244-11-20"), None);
    }

    #[test]
    fn garbage() {
        for s in [
            "",
            " ",
            "null",
            "不明",
            "2024",
            "2024-11",
            "2024-11-20-1",
            "2024/11-20",
            "2024-011-20",
            "2024-11-020",
            "+2024-11-20",
            "2024-+1-20",
            "2024- 1-20",
            "2024--20",
            "R",
            "R6",
            "R6.11",
            "R123.1.1",
            "R-6.11.20",
            "令和6年11月20",
            "令和6年11月",
            "令和年11月20日",
            "令和六年十一月二十日",
            "S64.1.7",
            "昭和64年1月7日",
            "2024/11/20 10:00",
            "45616", // an Excel serial number: refused rather than guessed
            "2024-11-20T00:00:00Z",
            "日",
            "年月日",
            "é2024-11-20",
            "\u{0}",
        ] {
            assert_eq!(parse_date_flexible(s), None, "{s:?}");
        }
    }

    #[test]
    fn iso_strict() {
        assert_eq!(parse_iso_date("2024-11-20"), d(2024, 11, 20));
        assert_eq!(parse_iso_date("2024-02-29"), d(2024, 2, 29));
        for s in [
            "2024-1-5",
            "2024/11/20",
            "R6.11.20",
            " 2024-11-20",
            "2024-11-20 ",
            "２０２４-11-20",
            "2023-02-29",
            "2024-02-30",
            "1899-12-31",
            "3000-01-01",
            "2024-11-2é",
            "20241-1-20",
            "",
        ] {
            assert_eq!(parse_iso_date(s), None, "{s:?}");
        }
    }

    #[test]
    fn never_panics_on_odd_text() {
        // Multi-byte characters next to every position the parser looks at.
        let pieces = [
            "令和", "平成", "R", "H", "元", "年", "月", "日", "2024", "6", "11", "-", "/", ".",
            "．", "é", "𝟘", "\u{FEFF}", "", " ", "\u{3000}",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let s = format!("{a}{b}{c}{b}{a}");
                    let _ = parse_date_flexible(&s);
                    let _ = parse_iso_date(&s);
                }
            }
        }
    }
}
