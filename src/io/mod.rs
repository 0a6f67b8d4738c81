//! Reading and writing events: JSON Lines and CSV in, JSON Lines out. Every
//! error carries the file, the line and the field.

pub mod csv;
pub mod date;
pub mod jsonl;
pub mod parse;
pub mod text;

pub use parse::{InputEvent, Mode, Restored};

use crate::error::{InputError, InputErrorKind, InputErrors, Location};

/// The largest input file accepted, in bytes.
pub const INPUT_BYTES_MAX: u64 = 1 << 30;
/// The longest JSON line accepted, in bytes.
pub const LINE_BYTES_MAX: usize = 1 << 20;

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON object a line.
    JsonLines,
    /// A header of field names, one event a row.
    Csv,
}

impl InputFormat {
    /// Chooses by file name: `.csv` is CSV, anything else JSON Lines.
    pub fn from_name(name: &str) -> InputFormat {
        if name.to_ascii_lowercase().ends_with(".csv") {
            InputFormat::Csv
        } else {
            InputFormat::JsonLines
        }
    }
}

/// Reads and validates every event of a file's bytes (format and field
/// values; references are the ledger's to check). Returns every error, not
/// just the first.
pub fn read_events(
    bytes: &[u8],
    file: &str,
    format: InputFormat,
    mode: Mode,
) -> Result<Vec<InputEvent>, InputErrors> {
    let (events, errors) = read_events_partial(bytes, file, format, mode);
    if errors.0.is_empty() {
        Ok(events)
    } else {
        Err(errors)
    }
}

/// Like [`read_events`], but also returns the events that are valid when
/// others are not, so that `import --check` can check their references too
/// and list every error of the file at once.
///
/// Lines are independent until the ledger checks references, so they are
/// parsed on every core, and the results put back in line order.
pub fn read_events_partial(
    bytes: &[u8],
    file: &str,
    format: InputFormat,
    mode: Mode,
) -> (Vec<InputEvent>, InputErrors) {
    let whole = |kind| {
        InputErrors::from(InputError::new(
            Location {
                file: file.into(),
                line: None,
                field: None,
            },
            kind,
        ))
    };
    let results: Vec<Result<InputEvent, Vec<InputError>>> = match format {
        InputFormat::JsonLines => {
            let lines = jsonl::lines(bytes);
            crate::par::parallel_map(&lines, 1024, |&(line, raw)| {
                if raw.len() <= LINE_BYTES_MAX {
                    let fast = std::str::from_utf8(raw)
                        .ok()
                        .and_then(|text| parse::parse_line_quick(text, line, mode));
                    if let Some(event) = fast {
                        return Ok(event);
                    }
                }
                let at = Location::line(file, line);
                let obj = jsonl::read_object(raw, &at)?;
                // Only a restore compares the line with its canonical bytes.
                let raw = if mode == Mode::Restore {
                    raw.to_vec()
                } else {
                    Vec::new()
                };
                parse::parse_object(obj, &at, mode, raw)
            })
        }
        InputFormat::Csv => {
            if mode == Mode::Restore {
                let detail = "import --restore reads JSON Lines exports only".into();
                return (Vec::new(), whole(InputErrorKind::InvalidValue { detail }));
            }
            let text = match text::decode_text(bytes) {
                Ok((text, _)) => text,
                Err(detail) => return (Vec::new(), whole(InputErrorKind::Encoding { detail })),
            };
            match csv::csv_to_objects(&text, file) {
                Ok(rows) => rows
                    .into_iter()
                    .map(|(line, obj)| {
                        parse::parse_object(obj, &Location::line(file, line), mode, Vec::new())
                    })
                    .collect(),
                Err(e) => return (Vec::new(), e),
            }
        }
    };
    if results.is_empty() {
        return (Vec::new(), whole(InputErrorKind::Empty));
    }
    let mut errors = Vec::new();
    for r in &results {
        if let Err(errs) = r {
            errors.extend(errs.iter().cloned());
        }
    }
    // Collected in place (the standard library reuses the buffer of
    // `results`), so a large import does not hold its events twice.
    let events: Vec<InputEvent> = results.into_iter().filter_map(Result::ok).collect();
    (events, InputErrors(errors))
}
