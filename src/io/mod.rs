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

/// Reads an input file whole, or its first `max + 1` bytes when it is
/// larger (for the caller to refuse). A large file is read on every core,
/// each core reading its own part (`pread`), so that copying it from the
/// page cache and faulting in the pages to hold it are shared out.
pub fn read_file(file: &std::fs::File, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek};
    use std::os::unix::fs::FileExt;
    /// Below this, one read.
    const PARALLEL_MIN: u64 = 32 << 20;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0).min(max + 1);
    let mut bytes = Vec::new();
    let threads = crate::par::threads();
    if len >= PARALLEL_MIN && threads > 1 {
        let whole = usize::try_from(len).map_err(std::io::Error::other)?;
        bytes = vec![0u8; whole];
        let per = whole.div_ceil(threads);
        let read: std::io::Result<()> = std::thread::scope(|s| {
            let parts: Vec<_> = bytes
                .chunks_mut(per)
                .enumerate()
                .map(|(k, part)| s.spawn(move || file.read_exact_at(part, (k * per) as u64)))
                .collect();
            parts.into_iter().try_for_each(|p| {
                p.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
        });
        match read {
            Ok(()) => {
                // The file may have grown since its length was read.
                let mut f = file;
                f.seek(std::io::SeekFrom::Start(len))?;
                f.take(max + 1 - len).read_to_end(&mut bytes)?;
                return Ok(bytes);
            }
            // It shrank: read it as it is now.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => bytes = Vec::new(),
            Err(e) => return Err(e),
        }
    }
    // Sized from the file, so that the buffer is not regrown many times.
    // (`pread` leaves the file's position where it was: at its start, or
    // wherever a pipe's is.)
    bytes.reserve_exact(usize::try_from(len).unwrap_or(0) + 1);
    file.take(max + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A large file read on every core is the file, byte for byte; a
    /// limit keeps its first `max + 1` bytes; a small one is read whole.
    #[test]
    fn a_file_read_in_parts_is_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("big.jsonl");
        let bytes: Vec<u8> = (0..(48u32 << 20) + 7).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("write");
        let open = || std::fs::File::open(&path).expect("open");
        assert!(read_file(&open(), u64::MAX - 1).expect("read") == bytes);
        let cut = read_file(&open(), 40 << 20).expect("read");
        assert_eq!(cut.len(), (40 << 20) + 1);
        assert!(cut[..] == bytes[..cut.len()]);
        std::fs::write(&path, b"{\"a\":1}\n").expect("write");
        assert_eq!(read_file(&open(), 1 << 20).expect("read"), b"{\"a\":1}\n");
    }
}
