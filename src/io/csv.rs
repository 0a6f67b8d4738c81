//! The CSV form of events (CONTRACT §2, "CSV form").
//!
//! Councils keep their registers in Excel, so `import` also takes CSV: a header
//! row of field names, one event a row. This module only reshapes each row into
//! the JSON object the same event would be in JSON Lines, so that one validator
//! checks both forms alike and gives the same messages; it converts cell text to
//! the JSON type of its column (dates, numbers, booleans, lists) and reports
//! what cannot be converted, but leaves every rule about events (required
//! fields per type, enumerations, ranges) to that validator.
//!
//! Every error in the file is collected, not just the first: a council fixing a
//! register wants the whole list at once. The input may be anything a user or a
//! fuzzer sends, so nothing here indexes, slices or unwraps in a way that can
//! panic, and the size of the work is bounded.

use crate::error::{InputError, InputErrorKind, InputErrors, Location};
use crate::io::date::parse_date_flexible;
use crate::io::text::normalize_width;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// The longest cell accepted, in bytes. No field of an event needs more; a
/// longer cell is a pasted document or an attack, and refusing it keeps error
/// messages (which quote values) short.
const MAX_CELL_BYTES: usize = 10_000;

/// The most data rows one file may hold. A council's register for a whole
/// project is a few thousand rows; the limit bounds memory for the all-or-nothing
/// import, which holds every row before appending any.
const MAX_ROWS: u64 = 1_000_000;

/// Values of `start_date` that mean "not known yet" in a `hire` row: a hire is
/// often recorded at the offer, before the start date is fixed.
const UNKNOWN_START: [&str; 2] = ["null", "不明"];

/// How a column's cells become JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A JSON string, as written (trimmed).
    Str,
    /// A date in any form [`parse_date_flexible`] reads, as `"YYYY-MM-DD"`.
    Date,
    /// A JSON integer; `1,000` and full-width digits allowed.
    Int,
    /// A JSON number of hours: `40`, `37.5`.
    Hours,
    /// A JSON boolean.
    Bool,
    /// A JSON array of strings, written separated by `;`.
    StrArray,
    /// `targets`: `2024:20:6;2025:25:8`.
    Targets,
    /// `student_school`, half of the `student` object.
    StudentSchool,
    /// `student_graduating_year`, the other half.
    StudentYear,
}

/// The columns a CSV file may have: every field of the events of CONTRACT §2
/// except `replacement` (corrections are JSON Lines only) and `student`, which
/// is split into two columns. `id`, `seq`, `recorded_at` and `hash` are known
/// so that the validator, not this reader, decides about them (the last three
/// are reserved to the ledger).
fn column_kind(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        "project"
        | "name"
        | "menu"
        | "person"
        | "establishment"
        | "employer"
        | "place"
        | "respondent"
        | "reason"
        | "target"
        | "id"
        | "type"
        | "region_kind"
        | "category"
        | "kind"
        | "role"
        | "residence"
        | "establishment_location"
        | "workplace"
        | "location"
        | "scope"
        | "seq"
        | "recorded_at"
        | "hash" => Str,
        "contract_start" | "date" | "start_date" | "offer_date" | "interviewed_on" => Date,
        "years" | "budget_yen" | "fiscal_year" | "output" | "outcome" | "capacity"
        | "employees" => Int,
        "weekly_hours" => Hours,
        "wants_in_region"
        | "intent_confirmed"
        | "freelance"
        | "regular_recruitment"
        | "employed_before_use"
        | "new_site_in_region"
        | "vacancy_fill"
        | "useful" => Bool,
        "municipalities" | "menus" => StrArray,
        "targets" => Targets,
        "student_school" => StudentSchool,
        "student_graduating_year" => StudentYear,
        _ => return None,
    })
}

/// What to do with one column of the file.
#[derive(Debug, Clone)]
enum Column {
    /// A known field, first of its name.
    Field { name: String, kind: Kind },
    /// A column already reported at the header (unknown or repeated): its cells
    /// are skipped so that one bad header cell gives one error, not one a row.
    Skip,
    /// A column whose header cell is empty. Excel writes these when formatting
    /// strays right of the table, with empty cells below; they are ignored as
    /// long as their cells are empty. The number is 1-based, for messages.
    Unnamed(usize),
}

/// The header row, read.
struct Header {
    columns: Vec<Column>,
    /// Index of the `type` column, if there is one.
    type_index: Option<usize>,
}

/// Reads CSV `text` (already decoded, see `io::text::decode_text`) into one
/// JSON object per data row, each paired with the 1-based line of the file on
/// which the row starts, shaped as the same event in JSON Lines.
///
/// - The first non-blank line is the header of field names (trimmed); unknown
///   names are `UnknownField`, repeated names a `Syntax` error, and a header
///   without `type` is `MissingField` for `type`, all at the header's line.
/// - Cells are trimmed; an empty cell is an absent field, except an empty,
///   `null` or `不明` `start_date` in a `hire` row, which is JSON `null`.
/// - Dates in any form `parse_date_flexible` reads become `"YYYY-MM-DD"`;
///   integers (with `,` thousands separators) and `weekly_hours` become JSON
///   numbers; booleans `true`/`false`/`1`/`0`/`はい`/`いいえ` become JSON
///   booleans; `municipalities` and `menus` (split on `;`) arrays of strings;
///   `targets` (`2024:20:6;2025:25:8`) an array of
///   `{fiscal_year, output, outcome}`; `student_school` with
///   `student_graduating_year` the object `student: {school, graduating_year}`.
/// - Every row needs `type`; `correction` rows are refused (JSON Lines only).
/// - Rows whose cells are all empty are skipped, as Excel leaves them below a
///   table. A row with more or fewer cells than the header is a `Syntax` error.
/// - A cell over 10,000 bytes is refused; a file over 1,000,000 data rows is
///   `TooLarge`, and reading stops there.
///
/// All errors of the file are returned together, in file order, each naming
/// `file`, the line, and the column where there is one. An empty file, or a
/// header with no rows, gives `Ok` with no objects: whether that is an error is
/// the importer's decision, the same as for an empty JSON Lines file.
// The return type is spelled out rather than hidden behind an alias: it is the
// shape the importer and the JSON Lines reader share, read at a glance.
#[allow(clippy::type_complexity)]
pub fn csv_to_objects(
    text: &str,
    file: &str,
) -> Result<Vec<(u64, Map<String, Value>)>, InputErrors> {
    let mut reader = csv::ReaderBuilder::new()
        // The header is read as an ordinary record so that its line is known
        // and its errors are collected like the others.
        .has_headers(false)
        .flexible(false)
        .from_reader(text.as_bytes());
    let mut lines = LineCounter::new(text.as_bytes());
    let mut errors = Errors {
        file,
        list: Vec::new(),
    };
    let mut header: Option<Header> = None;
    let mut objects = Vec::new();
    let mut rows: u64 = 0;
    let mut record = csv::StringRecord::new();

    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = lines.line_of(record.position().map(|p| p.byte()));
                match &header {
                    None => header = Some(read_header(&record, line, &mut errors)),
                    Some(h) => {
                        rows += 1;
                        if rows > MAX_ROWS {
                            errors.push(line, None, too_large());
                            break;
                        }
                        if let Some(object) = convert_row(h, &record, line, &mut errors) {
                            objects.push((line, object));
                        }
                    }
                }
            }
            Err(e) => {
                let byte = e.position().map(|p| p.byte());
                let line = lines.line_of(byte);
                match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        rows += 1;
                        if rows > MAX_ROWS {
                            errors.push(line, None, too_large());
                            break;
                        }
                        errors.push(
                            line,
                            None,
                            InputErrorKind::Syntax {
                                detail: format!(
                                    "this row has {len} cells but the header row has {expected_len}"
                                ),
                            },
                        );
                    }
                    // Reading from memory valid UTF-8, no other error is
                    // expected; should one occur, the reader's state is
                    // unknown, so stop rather than risk looping.
                    _ => {
                        errors.push(
                            line,
                            None,
                            InputErrorKind::Syntax {
                                detail: e.to_string(),
                            },
                        );
                        break;
                    }
                }
            }
        }
    }

    if errors.list.is_empty() {
        Ok(objects)
    } else {
        Err(InputErrors(errors.list))
    }
}

fn too_large() -> InputErrorKind {
    InputErrorKind::TooLarge {
        limit: format!("{MAX_ROWS} rows"),
    }
}

/// Errors collected for one file.
struct Errors<'a> {
    file: &'a str,
    list: Vec<InputError>,
}

impl Errors<'_> {
    fn push(&mut self, line: u64, field: Option<&str>, kind: InputErrorKind) {
        let at = Location {
            file: self.file.to_owned(),
            line: Some(line),
            field: field.map(str::to_owned),
        };
        self.list.push(InputError::new(at, kind));
    }
}

/// Finds the line on which a record starts from its byte offset.
///
/// The csv crate's own `Position::line()` is taken before blank lines are
/// skipped, so a record right after a blank line would be reported on the blank
/// line. Counting `\n` up to the first byte that is not a line ending gives the
/// line a person sees in an editor. Offsets only grow, so the count is
/// incremental and the whole file is scanned once.
struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Bytes before `pos` have been counted.
    pos: usize,
    /// The 1-based line at `pos`.
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    /// The line of the record whose reading started at `byte` (`None`, not
    /// expected from the csv crate: the last line known).
    fn line_of(&mut self, byte: Option<u64>) -> u64 {
        let Some(byte) = byte else { return self.line };
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        if start < self.pos {
            // Offsets never go back; if they did, count again from the start
            // rather than give a wrong line.
            self.pos = 0;
            self.line = 1;
        }
        while matches!(self.bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let counted = self.bytes.get(self.pos..start).unwrap_or_default();
        self.line += counted.iter().filter(|&&b| b == b'\n').count() as u64;
        self.pos = start;
        self.line
    }
}

/// Reads the header row, reporting unknown, repeated and missing names.
fn read_header(record: &csv::StringRecord, line: u64, errors: &mut Errors) -> Header {
    let mut columns = Vec::with_capacity(record.len());
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut type_index = None;
    for (i, cell) in record.iter().enumerate() {
        // The importer removes a byte order mark, but text reaching this
        // function by another way (an HTTP body) may still start with one, and
        // it would make the first column `\u{FEFF}type`.
        let cell = if i == 0 {
            cell.trim_start_matches('\u{FEFF}')
        } else {
            cell
        };
        let name = cell.trim();
        if name.is_empty() {
            columns.push(Column::Unnamed(i + 1));
            continue;
        }
        if let Some(first) = seen.get(name) {
            errors.push(
                line,
                Some(&shorten(name)),
                InputErrorKind::Syntax {
                    detail: format!(
                        "column `{}` appears twice in the header row (columns {} and {})",
                        shorten(name),
                        first + 1,
                        i + 1
                    ),
                },
            );
            columns.push(Column::Skip);
            continue;
        }
        seen.insert(name, i);
        match column_kind(name) {
            Some(kind) => {
                if name == "type" {
                    type_index = Some(i);
                }
                columns.push(Column::Field {
                    name: name.to_owned(),
                    kind,
                });
            }
            None => {
                errors.push(line, Some(&shorten(name)), InputErrorKind::UnknownField);
                columns.push(Column::Skip);
            }
        }
    }
    if type_index.is_none() {
        errors.push(line, Some("type"), InputErrorKind::MissingField);
    }
    Header {
        columns,
        type_index,
    }
}

/// Converts one data row, reporting its errors. Returns `None` for a row that
/// is skipped (all empty) or refused as a whole (no usable `type`, or a
/// correction); a row with cell errors still returns what it could convert,
/// which is discarded since the file then fails.
fn convert_row(
    header: &Header,
    record: &csv::StringRecord,
    line: u64,
    errors: &mut Errors,
) -> Option<Map<String, Value>> {
    if record.iter().all(|c| c.trim().is_empty()) {
        return None;
    }

    // `type` first: the row's type changes how `start_date` is read, and a
    // correction row is refused whole rather than cell by cell.
    let mut is_hire = false;
    if let Some(i) = header.type_index {
        let raw = record.get(i).unwrap_or_default();
        let ty = raw.trim();
        if raw.len() > MAX_CELL_BYTES {
            errors.push(line, Some("type"), cell_too_long());
            return None;
        }
        if ty.is_empty() {
            errors.push(line, Some("type"), InputErrorKind::MissingField);
        } else if ty == "correction" {
            errors.push(
                line,
                Some("type"),
                InputErrorKind::InvalidValue {
                    detail: "correction rows are JSON Lines only".to_owned(),
                },
            );
            return None;
        }
        is_hire = ty == "hire";
    }

    let mut object = Map::new();
    let mut school: Option<String> = None;
    // `Some(None)`: the column had a value that was not a year (already
    // reported), so the student is not "missing" its year.
    let mut graduating_year: Option<Option<i64>> = None;

    for (i, column) in header.columns.iter().enumerate() {
        let raw = record.get(i).unwrap_or_default();
        let cell = raw.trim();
        let (name, kind) = match column {
            Column::Skip => continue,
            Column::Unnamed(n) => {
                if !cell.is_empty() {
                    errors.push(
                        line,
                        None,
                        InputErrorKind::Syntax {
                            detail: format!(
                                "column {n} has no name in the header row but holds a value in this row"
                            ),
                        },
                    );
                }
                continue;
            }
            Column::Field { name, kind } => (name.as_str(), *kind),
        };
        if raw.len() > MAX_CELL_BYTES {
            errors.push(line, Some(name), cell_too_long());
            continue;
        }
        if is_hire && name == "start_date" && (cell.is_empty() || is_unknown_start(cell)) {
            object.insert(name.to_owned(), Value::Null);
            continue;
        }
        if cell.is_empty() {
            continue;
        }
        let converted = match kind {
            Kind::Str => Ok(Value::String(cell.to_owned())),
            Kind::Date => parse_date_flexible(cell)
                .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
                .ok_or_else(|| InputErrorKind::InvalidDate {
                    value: cell.to_owned(),
                }),
            Kind::Int => parse_int(cell)
                .map(Value::from)
                .map_err(|detail| InputErrorKind::InvalidType { detail }),
            Kind::Hours => {
                parse_hours(cell).map_err(|detail| InputErrorKind::InvalidType { detail })
            }
            Kind::Bool => parse_bool(cell)
                .map(Value::Bool)
                .map_err(|detail| InputErrorKind::InvalidValue { detail }),
            Kind::StrArray => Ok(Value::Array(
                split_list(cell)
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            )),
            Kind::Targets => {
                parse_targets(cell).map_err(|detail| InputErrorKind::InvalidValue { detail })
            }
            Kind::StudentSchool => {
                school = Some(cell.to_owned());
                continue;
            }
            Kind::StudentYear => {
                match parse_int(cell) {
                    Ok(y) => graduating_year = Some(Some(y)),
                    Err(detail) => {
                        graduating_year = Some(None);
                        errors.push(line, Some(name), InputErrorKind::InvalidType { detail });
                    }
                }
                continue;
            }
        };
        match converted {
            Ok(value) => {
                object.insert(name.to_owned(), value);
            }
            Err(kind) => errors.push(line, Some(name), kind),
        }
    }

    // `student` is one object in JSON Lines; in CSV its two halves must come
    // together, or the student would be recorded without a school or year.
    match (school, graduating_year) {
        (Some(school), Some(Some(year))) => {
            let mut student = Map::new();
            student.insert("school".to_owned(), Value::String(school));
            student.insert("graduating_year".to_owned(), Value::from(year));
            object.insert("student".to_owned(), Value::Object(student));
        }
        (Some(_), None) => errors.push(
            line,
            Some("student_graduating_year"),
            InputErrorKind::MissingField,
        ),
        (None, Some(_)) => errors.push(line, Some("student_school"), InputErrorKind::MissingField),
        // Both absent, or the year already reported as invalid.
        (None, None) | (Some(_), Some(None)) => {}
    }

    Some(object)
}

fn cell_too_long() -> InputErrorKind {
    InputErrorKind::InvalidValue {
        detail: format!("the cell is longer than {MAX_CELL_BYTES} bytes"),
    }
}

fn is_unknown_start(cell: &str) -> bool {
    UNKNOWN_START.iter().any(|u| cell.eq_ignore_ascii_case(u))
}

/// Splits a list cell on `;` (or the full-width `；` a Japanese input method
/// types), trimming items and dropping empty ones, so `a; b;` is `[a, b]`.
fn split_list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split([';', '；'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An integer as Excel may write it: full-width digits, `,` thousands
/// separators (`1,000,000`), an optional sign. The separators must group by
/// three, so that `2024,2025` (two values in one cell) is not read as
/// 20242025. Negative values are returned as they are: ranges are the
/// validator's concern, and it names them better.
fn parse_int(cell: &str) -> Result<i64, String> {
    let folded = normalize_width(cell);
    let s = folded.trim();
    let bad = || {
        format!(
            "expected a whole number such as 20 or 1,000,000, not `{}`",
            shorten(s)
        )
    };
    let (sign, body) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s.strip_prefix('+').unwrap_or(s)),
    };
    let mut digits = String::with_capacity(body.len());
    for (i, group) in body.split(',').enumerate() {
        let len_ok = if body.contains(',') {
            if i == 0 {
                (1..=3).contains(&group.len())
            } else {
                group.len() == 3
            }
        } else {
            !group.is_empty()
        };
        if !len_ok || !group.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        digits.push_str(group);
    }
    format!("{sign}{digits}")
        .parse::<i64>()
        .map_err(|_| format!("`{}` is too large for a whole number", shorten(s)))
}

/// Weekly hours: a decimal such as `40`, `37.5` or `20.25`. Whole values become
/// JSON integers (as `40` is written in JSON Lines), others floating point.
fn parse_hours(cell: &str) -> Result<Value, String> {
    let folded = normalize_width(cell);
    let s = folded.trim();
    let bad = || {
        format!(
            "expected hours as a number such as 40 or 37.5, not `{}`",
            shorten(s)
        )
    };
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (whole, fraction) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !fraction.is_none_or(all_digits) {
        return Err(bad());
    }
    if fraction.is_none() {
        if let Ok(n) = s.parse::<i64>() {
            return Ok(Value::from(n));
        }
    }
    let x: f64 = s.parse().map_err(|_| bad())?;
    // Integers up to 2^53 are exact in f64, so `40.0` safely becomes 40.
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        return Ok(Value::from(x as i64));
    }
    Number::from_f64(x)
        .map(Value::Number)
        .ok_or_else(|| format!("`{}` is too large for hours", shorten(s)))
}

/// A boolean as registers write it: `true`/`false` in any case (Excel writes
/// `TRUE`), `1`/`0`, or `はい`/`いいえ`.
fn parse_bool(cell: &str) -> Result<bool, String> {
    let folded = normalize_width(cell);
    let s = folded.trim();
    if s.eq_ignore_ascii_case("true") || s == "1" || s == "はい" {
        Ok(true)
    } else if s.eq_ignore_ascii_case("false") || s == "0" || s == "いいえ" {
        Ok(false)
    } else {
        Err(format!(
            "expected true/false, 1/0 or はい/いいえ, not `{}`",
            shorten(s)
        ))
    }
}

/// `targets`: `fiscal_year:output:outcome` items separated by `;`, such as
/// `2024:20:6;2025:25:8`, into `[{"fiscal_year":2024,"output":20,"outcome":6}, ...]`.
fn parse_targets(cell: &str) -> Result<Value, String> {
    // Folding first turns the full-width `：` and `；` into separators too.
    let folded = normalize_width(cell);
    let mut targets = Vec::new();
    for (n, item) in split_list(&folded).enumerate() {
        let bad = || {
            format!(
                "targets are written fiscal_year:output:outcome, items separated by `;` \
                 (such as 2024:20:6;2025:25:8); item {} `{}` is not",
                n + 1,
                shorten(item)
            )
        };
        let parts: Vec<&str> = item.split(':').collect();
        let [fiscal_year, output, outcome] = parts.as_slice() else {
            return Err(bad());
        };
        let mut target = Map::new();
        for (key, text) in [
            ("fiscal_year", fiscal_year),
            ("output", output),
            ("outcome", outcome),
        ] {
            let n = parse_int(text).map_err(|_| bad())?;
            target.insert(key.to_owned(), Value::from(n));
        }
        targets.push(Value::Object(target));
    }
    Ok(Value::Array(targets))
}

/// At most 60 characters of `s`, for quoting user text in messages (cut on a
/// character boundary, never inside one).
fn shorten(s: &str) -> String {
    const MAX_CHARS: usize = 60;
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(MAX_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(text: &str) -> Vec<(u64, Value)> {
        csv_to_objects(text, "t.csv")
            .unwrap_or_else(|e| panic!("unexpected errors:\n{e}"))
            .into_iter()
            .map(|(line, m)| (line, Value::Object(m)))
            .collect()
    }

    fn errs(text: &str) -> Vec<InputError> {
        csv_to_objects(text, "t.csv")
            .expect_err("errors expected")
            .0
    }

    /// (line, field, code) of each error, for compact assertions.
    fn summary(errors: &[InputError]) -> Vec<(u64, Option<String>, &'static str)> {
        errors
            .iter()
            .map(|e| (e.at.line.unwrap_or(0), e.at.field.clone(), e.code()))
            .collect()
    }

    fn f(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn mixed_types() {
        let text = "\
type,project,name,region_kind,municipalities,contract_start,years,menu,category,kind,targets,budget_yen,date,role,person,residence,intent_confirmed,student_school,student_graduating_year,start_date,offer_date,workplace,weekly_hours,employer
project_defined,kushiro-2024,雇用創造 in 釧路,depopulated,釧路市; 白糠町,令和6年10月1日,3,,,,,\"12,000,000\",,,,,,,,,,,,
menu_defined,,ＩＴ人材育成セミナー,,,,,B-01,B,seminar,2024:20:6;2025:25:8,,,,,,,,,,,,,
attendance,,,,,,,B-01,,,,,2024/11/20,job_seeker,P-0001,in_region,はい,university,２０２６,,,,,
hire,,,,,,,,,,,,,,P-0001,,,,,,2024/12/18,in_region,40,E-0100
hire,,,,,,,,,,,,,,P-0002,,,,,不明,R6.12.18,in_region,37.5,
hire,,,,,,,,,,,,,,P-0003,,,,,R7.1.6,,out_region,20.25,
";
        let rows = ok(text);
        assert_eq!(
            rows,
            vec![
                (
                    2,
                    json!({"type":"project_defined","project":"kushiro-2024","name":"雇用創造 in 釧路",
                        "region_kind":"depopulated","municipalities":["釧路市","白糠町"],
                        "contract_start":"2024-10-01","years":3,"budget_yen":12000000})
                ),
                (
                    3,
                    json!({"type":"menu_defined","name":"ＩＴ人材育成セミナー","menu":"B-01",
                        "category":"B","kind":"seminar",
                        "targets":[{"fiscal_year":2024,"output":20,"outcome":6},
                                   {"fiscal_year":2025,"output":25,"outcome":8}]})
                ),
                (
                    4,
                    json!({"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker",
                        "person":"P-0001","residence":"in_region","intent_confirmed":true,
                        "student":{"school":"university","graduating_year":2026}})
                ),
                (
                    5,
                    json!({"type":"hire","person":"P-0001","start_date":null,"offer_date":"2024-12-18",
                        "workplace":"in_region","weekly_hours":40,"employer":"E-0100"})
                ),
                (
                    6,
                    json!({"type":"hire","person":"P-0002","start_date":null,"offer_date":"2024-12-18",
                        "workplace":"in_region","weekly_hours":37.5})
                ),
                (
                    7,
                    json!({"type":"hire","person":"P-0003","start_date":"2025-01-06",
                        "workplace":"out_region","weekly_hours":20.25})
                ),
            ]
        );
        // Whole hours are JSON integers, as in JSON Lines.
        assert!(rows[3].1["weekly_hours"].is_i64());
    }

    #[test]
    fn matches_contract_examples() {
        let text = "type,menu,date,role,person,residence,intent_confirmed\r\n\
                    attendance,B-01,2024-11-20,job_seeker,P-0001,in_region,TRUE\r\n";
        let expected: Value = serde_json::from_str(
            r#"{"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P-0001","residence":"in_region","intent_confirmed":true}"#,
        )
        .expect("json");
        assert_eq!(ok(text), vec![(2, expected)]);
    }

    #[test]
    fn start_date_null_only_for_hires() {
        let text = "type,person,start_date,date\nhire,P-1,null,\nhire,P-2,NULL,\nconversion,P-3,,2025-01-06\n";
        let rows = ok(text);
        assert_eq!(rows[0].1["start_date"], Value::Null);
        assert_eq!(rows[1].1["start_date"], Value::Null);
        assert!(
            rows[2].1.get("start_date").is_none(),
            "empty is absent outside hires"
        );
        let e = errs("type,start_date\nconversion,不明\n");
        assert_eq!(summary(&e), vec![(2, f("start_date"), "invalid_date")]);
    }

    #[test]
    fn collects_every_error_with_lines() {
        let text = "\
type,menu,date,capacity,useful,weekly_hours,targets
session_held,A-01,2024-02-30,20,,,
session_held,A-01,2024-11-20,二十,,,

survey_response,A-01,R6.11.20,,maybe,,
,A-01,2024-11-20,,,,
hire,,,,,forty,
menu_defined,A-02,,,,,2024:20
correction,A-01,,,,,
session_held,A-01,2024-11-20,\"1,0000\",,,
";
        assert_eq!(
            summary(&errs(text)),
            vec![
                (2, f("date"), "invalid_date"),
                (3, f("capacity"), "invalid_type"),
                // Line 4 is blank; the next row is on line 5.
                (5, f("useful"), "invalid_value"),
                (6, f("type"), "missing_field"),
                (7, f("weekly_hours"), "invalid_type"),
                (8, f("targets"), "invalid_value"),
                (9, f("type"), "invalid_value"),
                (10, f("capacity"), "invalid_type"),
            ]
        );
    }

    #[test]
    fn correction_refused() {
        let e = errs("type,target,reason\ncorrection,0192,typo\n");
        assert_eq!(summary(&e), vec![(2, f("type"), "invalid_value")]);
        assert_eq!(
            e[0].kind,
            InputErrorKind::InvalidValue {
                detail: "correction rows are JSON Lines only".into()
            }
        );
    }

    #[test]
    fn unknown_header_column() {
        let e = errs("type,menu,colour,date\nsession_held,A-01,red,2024-11-20\n");
        assert_eq!(summary(&e), vec![(1, f("colour"), "unknown_field")]);
        // `student` and `replacement` are not CSV columns.
        let e = errs("type,student,replacement\nattendance,x,y\n");
        assert_eq!(
            summary(&e),
            vec![
                (1, f("student"), "unknown_field"),
                (1, f("replacement"), "unknown_field")
            ]
        );
    }

    #[test]
    fn header_problems() {
        let e = errs("menu,date\nA-01,2024-11-20\n");
        assert_eq!(summary(&e), vec![(1, f("type"), "missing_field")]);
        let e = errs("type,menu,menu\nsession_held,A-01,A-02\n");
        assert_eq!(summary(&e), vec![(1, f("menu"), "syntax")]);
        // Header cells are trimmed, and a byte order mark is ignored.
        let rows = ok("\u{FEFF} type , menu \nsession_held,A-01\n");
        assert_eq!(
            rows,
            vec![(2, json!({"type":"session_held","menu":"A-01"}))]
        );
    }

    #[test]
    fn wrong_cell_count() {
        let text = "type,menu,date\nsession_held,A-01\nsession_held,A-01,2024-11-20,extra\nsession_held,A-01,2024-13-01\n";
        let e = errs(text);
        assert_eq!(
            summary(&e),
            vec![
                (2, None, "syntax"),
                (3, None, "syntax"),
                (4, f("date"), "invalid_date")
            ]
        );
        assert!(
            matches!(&e[0].kind, InputErrorKind::Syntax { detail } if detail.contains("2 cells"))
        );
    }

    #[test]
    fn lines_count_quoted_newlines_and_blank_lines() {
        let text = "\n\ntype,menu,place,date\nsession_held,A-01,\"釧路市\n生涯学習センター\",2024-11-20\n\n\r\nsession_held,A-01,,bad\n";
        let e = errs(text);
        assert_eq!(summary(&e), vec![(8, f("date"), "invalid_date")]);
        let rows = ok("\n\ntype,menu\nsession_held,A-01\n\nsession_held,A-02");
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![4, 6]);
    }

    #[test]
    fn blank_rows_and_unnamed_columns() {
        // Excel leaves all-empty rows and empty columns right of the table.
        let text = "type,menu,,\nsession_held,A-01,,\n,,,\n , ,　,\n";
        assert_eq!(
            ok(text),
            vec![(2, json!({"type":"session_held","menu":"A-01"}))]
        );
        let e = errs("type,menu,\nsession_held,A-01,x\n");
        assert_eq!(summary(&e), vec![(2, None, "syntax")]);
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(ok(""), vec![]);
        assert_eq!(ok("\n\r\n"), vec![]);
        assert_eq!(ok("type,menu\n"), vec![]);
    }

    #[test]
    fn student_needs_both_columns() {
        let text = "type,menu,date,role,person,student_school,student_graduating_year\n\
                    attendance,B-01,2024-11-20,job_seeker,P-1,high_school,\n\
                    attendance,B-01,2024-11-20,job_seeker,P-2,,2026\n\
                    attendance,B-01,2024-11-20,job_seeker,P-3,university,next year\n";
        assert_eq!(
            summary(&errs(text)),
            vec![
                (2, f("student_graduating_year"), "missing_field"),
                (3, f("student_school"), "missing_field"),
                (4, f("student_graduating_year"), "invalid_type"),
            ]
        );
    }

    #[test]
    fn values() {
        assert_eq!(parse_int("1,000,000"), Ok(1_000_000));
        assert_eq!(parse_int("１２，０００"), Ok(12_000));
        assert_eq!(parse_int("-5"), Ok(-5));
        assert_eq!(parse_int("−5"), Ok(-5));
        assert_eq!(parse_int("+7"), Ok(7));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        for bad in [
            "",
            "-",
            "1.5",
            "1e3",
            "2024,2025",
            "1,00",
            ",100",
            "1,,000",
            "--1",
            "1 000",
            "9223372036854775808",
            "二十",
        ] {
            assert!(parse_int(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_hours("40"), Ok(json!(40)));
        assert_eq!(parse_hours("40.0"), Ok(json!(40)));
        assert_eq!(parse_hours("37.5"), Ok(json!(37.5)));
        assert_eq!(parse_hours("２０．２５"), Ok(json!(20.25)));
        assert_eq!(parse_hours("-1"), Ok(json!(-1)));
        for bad in [
            "", ".5", "5.", "1.2.3", "40h", "37:30", "1e2", "NaN", "inf", "-",
        ] {
            assert!(parse_hours(bad).is_err(), "{bad:?}");
        }
        assert!(
            parse_hours(&"9".repeat(400)).is_err(),
            "overflows to infinity"
        );
        for (s, b) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("はい", true),
            ("１", true),
        ] {
            assert_eq!(parse_bool(s), Ok(b), "{s}");
        }
        for (s, b) in [
            ("false", false),
            ("FALSE", false),
            ("0", false),
            ("いいえ", false),
        ] {
            assert_eq!(parse_bool(s), Ok(b), "{s}");
        }
        for bad in ["yes", "2", "○", "t"] {
            assert!(parse_bool(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_targets("2024：20：6；2025:25:8;"),
            Ok(
                json!([{"fiscal_year":2024,"output":20,"outcome":6},{"fiscal_year":2025,"output":25,"outcome":8}])
            )
        );
        for bad in [
            "2024:20",
            "2024:20:6:1",
            "2024-20-6",
            "2024:x:6",
            "2024,20,6",
        ] {
            assert!(parse_targets(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn negative_numbers_kept() {
        let rows = ok("type,menu,fiscal_year,output,outcome,date\ntargets_revised,A-01,2024,-3,0,2025-01-01\n");
        assert_eq!(rows[0].1["output"], json!(-3));
    }

    #[test]
    fn long_cell_refused() {
        let text = format!(
            "type,menu,name\nmenu_defined,A-01,{}\n",
            "x".repeat(MAX_CELL_BYTES + 1)
        );
        assert_eq!(summary(&errs(&text)), vec![(2, f("name"), "invalid_value")]);
        let text = format!(
            "type,menu,name\nmenu_defined,A-01,{}\n",
            "x".repeat(MAX_CELL_BYTES)
        );
        assert_eq!(ok(&text).len(), 1);
    }

    #[test]
    fn too_many_rows() {
        let mut text = String::from("type\n");
        for _ in 0..=MAX_ROWS {
            text.push_str("x\n");
        }
        let e = errs(&text);
        assert_eq!(summary(&e), vec![(MAX_ROWS + 2, None, "too_large")]);
        assert_eq!(
            e[0].kind,
            InputErrorKind::TooLarge {
                limit: "1000000 rows".into()
            }
        );
    }

    #[test]
    fn error_names_file() {
        let e =
            csv_to_objects("type,date\nsession_held,x\n", "register.csv").expect_err("bad date");
        assert_eq!(e.0[0].at.file, "register.csv");
        assert_eq!(
            e.0[0].render(crate::i18n::Lang::En).split(':').next(),
            Some("register.csv")
        );
    }

    #[test]
    fn never_panics() {
        // A small deterministic fuzz: random mixes of CSV syntax, multi-byte
        // characters and values that reach every converter.
        let pieces = [
            ",",
            "\n",
            "\r\n",
            "\"",
            "\"\"",
            ";",
            ":",
            " ",
            "\u{3000}",
            "\u{FEFF}",
            "type",
            "hire",
            "start_date",
            "student_school",
            "student_graduating_year",
            "targets",
            "weekly_hours",
            "useful",
            "date",
            "budget_yen",
            "menus",
            "correction",
            "令和",
            "元",
            "年",
            "R6.11.20",
            "2024",
            "-",
            ".",
            "１",
            "，",
            "é",
            "𝟘",
            "不明",
            "null",
            "x",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let len = (next() % 40) as usize;
            let mut text = String::new();
            for _ in 0..len {
                text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let _ = csv_to_objects(&text, "fuzz.csv");
            let header = "type,start_date,student_school,student_graduating_year,targets,weekly_hours,useful,date,budget_yen,menus\n";
            let _ = csv_to_objects(&format!("{header}{text}"), "fuzz.csv");
        }
    }
}
