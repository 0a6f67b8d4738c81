//! Small validated value types. Each refuses out-of-range input when it is
//! deserialized, with a message that the input layer turns into a typed,
//! located error (see [`crate::io::validate`]).

use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// Messages from our own deserializers start with this marker so the input
/// layer can tell them from serde's and render them in Japanese.
pub(crate) const MARK: char = '\u{1}';

fn range_err<E: de::Error>(
    value: impl fmt::Display,
    min: impl fmt::Display,
    max: impl fmt::Display,
) -> E {
    E::custom(format!("{MARK}range{MARK}{value}{MARK}{min}{MARK}{max}"))
}

/// Earliest date the ledger accepts (the first day of 平成).
pub const DATE_MIN: NaiveDate = match NaiveDate::from_ymd_opt(1989, 1, 8) {
    Some(d) => d,
    None => panic!("valid constant"),
};
/// Latest date the ledger accepts.
pub const DATE_MAX: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(d) => d,
    None => panic!("valid constant"),
};

/// A calendar date (valid time, T-1), written `YYYY-MM-DD`. Dates that do not
/// exist (2023-02-29) are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

impl Date {
    /// Parses exactly `YYYY-MM-DD`, refusing dates that do not exist or fall
    /// outside [`DATE_MIN`]..=[`DATE_MAX`].
    pub fn parse_iso(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let y = i32::try_from(digits(0..4)?).ok()?;
        let d = NaiveDate::from_ymd_opt(y, digits(5..7)?, digits(8..10)?)?;
        Date::new(d)
    }

    /// Wraps a date if it is within the accepted range.
    pub fn new(d: NaiveDate) -> Option<Date> {
        (DATE_MIN..=DATE_MAX).contains(&d).then_some(Date(d))
    }

    /// Days since 0001-01-01 (day 1), the stored form.
    pub fn days_from_ce(self) -> i32 {
        self.0.num_days_from_ce()
    }

    /// The inverse of [`Date::days_from_ce`].
    pub fn from_days_from_ce(days: i32) -> Option<Date> {
        NaiveDate::from_num_days_from_ce_opt(days).and_then(Date::new)
    }
}

/// Dates by their day numbers, remembered in `N` slots (a power of two)
/// by the number's low bits: turning a day number into a date costs chrono
/// a division and table lookups, and a fold or a saved state turns the
/// same days into dates over and over. A chunk's events are mostly of a
/// few weeks (16 slots do); a saved state's dates span years (1,024).
#[derive(Debug, Clone)]
pub struct DayCache<const N: usize = 1024> {
    slots: [Option<(i32, Date)>; N],
}

impl<const N: usize> DayCache<N> {
    /// An empty cache.
    pub fn new() -> DayCache<N> {
        const { assert!(N.is_power_of_two()) };
        DayCache { slots: [None; N] }
    }

    /// [`Date::from_days_from_ce`], remembered.
    #[inline]
    pub fn date(&mut self, days: i32) -> Option<Date> {
        let slot = &mut self.slots[days as usize & (N - 1)];
        match *slot {
            Some((d, date)) if d == days => Some(date),
            _ => {
                let date = Date::from_days_from_ce(days)?;
                *slot = Some((days, date));
                Some(date)
            }
        }
    }
}

impl<const N: usize> Default for DayCache<N> {
    fn default() -> DayCache<N> {
        DayCache::new()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written by hand: chrono's strftime parses its pattern on every call,
        // and dates are formatted for every event hashed.
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            self.0.month(),
            self.0.day()
        )
    }
}

impl Date {
    /// `YYYY-MM-DD` in ASCII, without formatting machinery (every event
    /// hashed or stored writes its dates).
    pub fn iso_bytes(&self) -> [u8; 10] {
        let digit = |v: u32| b'0' + (v % 10) as u8;
        // DATE_MIN..=DATE_MAX keeps the year at four digits.
        let y = self.0.year().clamp(0, 9999) as u32;
        let (m, d) = (self.0.month(), self.0.day());
        [
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            b'-',
            digit(m / 10),
            digit(m),
            b'-',
            digit(d / 10),
            digit(d),
        ]
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.iso_bytes()) {
            Ok(text) => s.serialize_str(text),
            // ASCII digits and dashes are UTF-8; not reached.
            Err(_) => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        Date::parse_iso(&s).ok_or_else(|| de::Error::custom(format!("{MARK}date{MARK}{s}")))
    }
}

impl JsonSchema for Date {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "format": "date", "pattern": "^(19(89|9[0-9])|2[01][0-9][0-9])-[0-9]{2}-[0-9]{2}$", "description": "A date that exists, YYYY-MM-DD (1989-01-08 to 2199-12-31)."})
    }
}

/// Contracted hours a week (XC-6), 0 to 168, with at most two decimals.
/// Kept as hundredths of an hour so that no floating point reaches the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WeeklyHours(u32);

impl WeeklyHours {
    /// The upper bound: the hours in a week.
    pub const MAX_HUNDREDTHS: u32 = 168 * 100;

    /// From hundredths of an hour, if within range.
    pub fn from_hundredths(h: u32) -> Option<Self> {
        (h <= Self::MAX_HUNDREDTHS).then_some(WeeklyHours(h))
    }

    /// Hundredths of an hour.
    pub fn hundredths(self) -> u32 {
        self.0
    }
}

impl Serialize for WeeklyHours {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Whole hours are written as JSON integers, others as the shortest
        // decimal: the canonical form that docs/format.md specifies.
        if self.0 % 100 == 0 {
            s.serialize_u32(self.0 / 100)
        } else {
            s.serialize_f64(f64::from(self.0) / 100.0)
        }
    }
}

impl<'de> Deserialize<'de> for WeeklyHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = f64::deserialize(d)?;
        if !(0.0..=168.0).contains(&x) {
            return Err(range_err(x, 0, 168));
        }
        let scaled = (x * 100.0).round();
        if (scaled - x * 100.0).abs() > 1e-6 {
            return Err(de::Error::custom(format!(
                "{MARK}value{MARK}{x}: at most two decimals"
            )));
        }
        // The range check above bounds `scaled` to 0..=16800, so the
        // conversion cannot truncate.
        let h = scaled as u32;
        Ok(WeeklyHours(h))
    }
}

impl JsonSchema for WeeklyHours {
    fn schema_name() -> Cow<'static, str> {
        "WeeklyHours".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "number", "minimum": 0, "maximum": 168, "multipleOf": 0.01, "description": "Contracted hours a week."})
    }
}

/// Reads any JSON integer, signed or not, so that out-of-range values get a
/// range message rather than a type message.
struct IntVisitor;

impl de::Visitor<'_> for IntVisitor {
    type Value = i128;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i128, E> {
        Ok(i128::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i128, E> {
        Ok(i128::from(v))
    }
    // JSON Schema counts 2.0 as an integer, so the parser does too.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i128, E> {
        if v.fract() == 0.0 && v.abs() < 1e18 {
            // Whole and far inside i128's range: the conversion is exact.
            Ok(v as i128)
        } else {
            Err(de::Error::invalid_type(de::Unexpected::Float(v), &self))
        }
    }
}

macro_rules! bounded_int {
    ($(#[$doc:meta])* $name:ident, $t:ty, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $t);

        impl $name {
            /// The smallest allowed value.
            pub const MIN: $t = $min;
            /// The largest allowed value.
            pub const MAX: $t = $max;
            /// Wraps `v` if it is within range.
            pub fn new(v: $t) -> Option<Self> {
                (Self::MIN..=Self::MAX).contains(&v).then_some($name(v))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = d.deserialize_any(IntVisitor)?;
                <$t>::try_from(v)
                    .ok()
                    .and_then($name::new)
                    .ok_or_else(|| range_err(v, Self::MIN, Self::MAX))
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({"type": "integer", "minimum": Self::MIN, "maximum": Self::MAX})
            }
        }
    };
}

bounded_int!(
    /// A count of people, establishments or places (≥ 0).
    Count, u32, 0, 1_000_000
);
bounded_int!(
    /// The number of project years (1–3).
    ProjectYears, u8, 1, 3
);
bounded_int!(
    /// A Japanese fiscal year, named by the calendar year it starts in.
    FiscalYear, u16, 1989, 2199
);
bounded_int!(
    /// An amount of yen (integer, ≥ 0).
    Yen, u64, 0, 1_000_000_000_000
);

/// The longest identifier accepted (council ids for persons, menus...).
pub const ID_LEN_MAX: usize = 64;
/// The longest free text accepted (names, reasons, places).
pub const TEXT_LEN_MAX: usize = 500;

fn check_text<E: de::Error>(s: &str, max: usize, trim: bool) -> Result<(), E> {
    if s.is_empty() {
        return Err(de::Error::custom(format!("{MARK}value{MARK}empty text")));
    }
    if s.chars().count() > max {
        return Err(de::Error::custom(format!(
            "{MARK}value{MARK}longer than {max} characters"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(de::Error::custom(format!(
            "{MARK}value{MARK}control characters are not allowed"
        )));
    }
    if trim && s.trim() != s {
        return Err(de::Error::custom(format!(
            "{MARK}value{MARK}leading or trailing spaces"
        )));
    }
    Ok(())
}

/// No control characters (what `char::is_control` refuses).
const TEXT_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$";
/// No control characters, and no white space at either end.
const ID_PATTERN: &str = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f]([^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f])?$";

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr, $trim:expr, $desc:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Wraps `s` if it is acceptable.
            pub fn new(s: impl Into<String>) -> Option<Self> {
                let s = s.into();
                check_text::<serde_json::Error>(&s, $max, $trim).ok()?;
                Some($name(s))
            }
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                check_text(&s, $max, $trim)?;
                Ok($name(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let pattern = if $trim { ID_PATTERN } else { TEXT_PATTERN };
                schemars::json_schema!({"type": "string", "minLength": 1, "maxLength": $max, "pattern": pattern, "description": $desc})
            }
        }
    };
}

text_type!(
    /// An identifier the council assigns (person, establishment, menu,
    /// project). Never a name, never My Number.
    Id, ID_LEN_MAX, true, "An identifier assigned by the council (never a name or My Number)."
);
text_type!(
    /// Free text: a name, a place, a reason.
    Text, TEXT_LEN_MAX, false, "Free text."
);

/// Deserializes a field that must be present but may be `null`. (serde
/// treats a missing `Option` field as `None` unless a `deserialize_with` is
/// given.)
pub fn required_nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_cache_gives_what_chrono_gives_whatever_the_order() {
        let mut cache: DayCache = DayCache::new();
        let mut small: DayCache<16> = DayCache::new();
        let base = DATE_MIN.num_days_from_ce();
        // Days 1,024 apart share a slot; out-of-range days are no date.
        let days: Vec<i32> = (0..5_000)
            .map(|i| base - 3 + (i * 1_021) % 90_000)
            .chain([base - 1, i32::MIN, -1, 0, base, base + 1024, base])
            .collect();
        for &d in days.iter().chain(&days) {
            assert_eq!(cache.date(d), Date::from_days_from_ce(d), "{d}");
            assert_eq!(small.date(d), Date::from_days_from_ce(d), "{d}");
        }
    }

    /// docs/limits.md: ids up to `ID_LEN_MAX` characters, texts up to
    /// `TEXT_LEN_MAX`, counted in characters (not bytes).
    #[test]
    fn ids_and_texts_are_limited_in_characters() {
        assert!(Id::new("甲".repeat(ID_LEN_MAX)).is_some());
        assert!(Id::new("甲".repeat(ID_LEN_MAX + 1)).is_none());
        assert!(Text::new("あ".repeat(TEXT_LEN_MAX)).is_some());
        assert!(Text::new("あ".repeat(TEXT_LEN_MAX + 1)).is_none());
        let too_long: Result<Id, _> =
            serde_json::from_str(&format!("\"{}\"", "x".repeat(ID_LEN_MAX + 1)));
        assert!(too_long.is_err());
    }

    /// Dates are written as Display writes them, across the whole range.
    #[test]
    fn dates_serialize_as_they_display() {
        let mut d = DATE_MIN;
        while d <= DATE_MAX {
            let date = Date(d);
            assert_eq!(serde_json::to_string(&date).unwrap(), format!("\"{date}\""));
            d = d + chrono::Days::new(13);
        }
        assert_eq!(
            serde_json::to_string(&Date(DATE_MAX)).unwrap(),
            "\"2199-12-31\""
        );
    }
}
