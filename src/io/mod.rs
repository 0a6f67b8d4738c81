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
                .map(|(k, part)| {
                    crate::par::spawn_or_run(s, move || file.read_exact_at(part, (k * per) as u64))
                })
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

/// An error about file `file` as a whole (no line, no field).
fn whole_file(file: &str, kind: InputErrorKind) -> InputErrors {
    InputErrors::from(InputError::new(
        Location {
            file: file.into(),
            line: None,
            field: None,
        },
        kind,
    ))
}

/// Parses one line of JSON Lines: straight into its event where it can
/// ([`parse::parse_line_quick`]), else through a map that names the field
/// at fault.
fn parse_jsonl_line(
    line: u64,
    raw: &[u8],
    file: &str,
    mode: Mode,
) -> Result<InputEvent, Vec<InputError>> {
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
}

/// [`read_events_partial`] of JSON Lines read from `input` as it is parsed,
/// a piece of about 16 MB at a time, each piece's lines on every core:
/// a file of a gigabyte is never all in memory, and only the pieces'
/// buffer is ever faulted in (docs/PERFORMANCE.md). `len_hint` (the file's
/// length, or 0) sizes the events' array; `progress` is told the bytes
/// read so far. More than `max` bytes are refused whole, as too large (the
/// inner `Err`), before any is parsed when `len_hint` says so.
pub fn read_jsonl(
    input: impl std::io::Read + Send,
    len_hint: u64,
    file: &str,
    mode: Mode,
    max: u64,
    progress: impl FnMut(u64),
) -> std::io::Result<Result<(Vec<InputEvent>, InputErrors), InputErrors>> {
    read_jsonl_pieces(input, 16 << 20, len_hint, file, mode, max, progress)
}

/// [`read_jsonl`], `piece` bytes at a time (more when one line is longer).
///
/// Three stages overlap: a thread reads the pieces (each cut after its
/// last line end, the rest carried into the next), another has each
/// piece's lines parsed on every core, and this thread gathers the events
/// in order. At most three pieces' buffers exist, reused.
fn read_jsonl_pieces(
    input: impl std::io::Read + Send,
    piece: usize,
    len_hint: u64,
    file: &str,
    mode: Mode,
    max: u64,
    mut progress: impl FnMut(u64),
) -> std::io::Result<Result<(Vec<InputEvent>, InputErrors), InputErrors>> {
    use std::io::Read;
    use std::sync::mpsc::{channel, sync_channel};
    let whole = |kind| whole_file(file, kind);
    /// Whole lines, the number of the first, and the bytes read so far.
    struct Piece {
        text: Vec<u8>,
        first_line: u64,
        read: u64,
    }
    type Parsed = (Vec<Result<InputEvent, Vec<InputError>>>, u64, usize);
    let too_large = || {
        let limit = format!("{} MiB", max >> 20);
        Ok(Err(whole(InputErrorKind::TooLarge { limit })))
    };
    if len_hint > max {
        return too_large();
    }
    let (to_parser, pieces) = sync_channel::<Piece>(1);
    let (to_gatherer, parsed) = sync_channel::<Parsed>(1);
    let (to_reader, spare) = channel::<Vec<u8>>();
    let mut events: Vec<InputEvent> = Vec::new();
    let mut errors = Vec::new();
    let mut any_line = false;
    let reader = std::thread::scope(|s| {
        // Returns whether more than `max` bytes were found.
        let reader = crate::par::start_scoped(
            s,
            std::thread::Builder::new(),
            move || -> std::io::Result<bool> {
                let mut input = input;
                let (mut read, mut first_line) = (0u64, 1u64);
                let mut carry: Vec<u8> = Vec::new();
                let mut eof = false;
                while !eof {
                    let mut text = spare.try_recv().unwrap_or_default();
                    text.clear();
                    text.append(&mut carry);
                    // After a line longer than a piece, no more room is kept.
                    carry.shrink_to(piece);
                    let mut want = piece.max(text.len() + 1);
                    let end = loop {
                        while text.len() < want && !eof {
                            let room = (want - text.len()) as u64;
                            let n = (&mut input).take(room).read_to_end(&mut text)?;
                            eof = n == 0;
                            read += n as u64;
                            if read > max {
                                return Ok(true);
                            }
                        }
                        if eof {
                            break text.len();
                        }
                        match memchr::memrchr(b'\n', &text) {
                            Some(i) => break i + 1,
                            // A line longer than a piece.
                            None => want = want.saturating_mul(2),
                        }
                    };
                    carry.extend_from_slice(&text[end..]);
                    text.truncate(end);
                    let lines_here = memchr::memchr_iter(b'\n', &text).count() as u64;
                    let next_first = first_line + lines_here;
                    // The gatherer has stopped: nothing more is wanted.
                    if to_parser
                        .send(Piece {
                            text,
                            first_line,
                            read,
                        })
                        .is_err()
                    {
                        break;
                    }
                    first_line = next_first;
                }
                Ok(false)
            },
        );
        // No thread (a limit on threads): the import fails, having written
        // nothing. (A reader already started stops when its parser is
        // gone.)
        let reader = match reader {
            Ok(r) => r,
            Err(e) => return Ok(Err(no_thread(e))),
        };
        let parser = crate::par::start_scoped(s, std::thread::Builder::new(), move || {
            for p in pieces {
                let text = &p.text[..];
                let text = if p.first_line == 1 {
                    text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text)
                } else {
                    text
                };
                let lines = jsonl::lines_numbered(text, p.first_line);
                let results = crate::par::parallel_map(&lines, 1024, |&(line, raw)| {
                    parse_jsonl_line(line, raw, file, mode)
                });
                drop(lines);
                let len = p.text.len();
                // A buffer grown for a long line is let go, not reused.
                if p.text.capacity() <= 2 * piece {
                    let _ = to_reader.send(p.text);
                }
                if to_gatherer.send((results, p.read, len)).is_err() {
                    break;
                }
            }
        });
        let parser = match parser {
            Ok(p) => p,
            Err(e) => return Ok(Err(no_thread(e))),
        };
        for (results, read, len) in parsed {
            any_line |= !results.is_empty();
            if events.capacity() == 0 && len_hint > read {
                // Sized from the first piece's lines, with a little to
                // spare; never more than the shortest lines could fill (a
                // first piece of tiny lines), and only if there is room.
                let per_byte = results.len() as f64 / len.max(1) as f64;
                let guess = (len_hint as f64 * per_byte * 1.05) as usize + 1024;
                let most = usize::try_from(len_hint / 16).unwrap_or(usize::MAX);
                let _ = events.try_reserve(guess.min(most));
            }
            for r in results {
                match r {
                    Ok(e) => events.push(e),
                    Err(errs) => errors.extend(errs),
                }
            }
            progress(read);
        }
        // A parser's panic (passed on from its workers) keeps its message.
        if let Err(panic) = parser.join() {
            std::panic::resume_unwind(panic);
        }
        reader.join()
    });
    match reader {
        Ok(Ok(false)) => {}
        Ok(Ok(true)) => return too_large(),
        Ok(Err(e)) => return Err(e),
        Err(panic) => std::panic::resume_unwind(panic),
    }
    if !any_line {
        return Ok(Ok((Vec::new(), whole(InputErrorKind::Empty))));
    }
    Ok(Ok((events, InputErrors(errors))))
}

/// The error of a thread the system would not start.
fn no_thread(e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("could not start a thread: {e}"))
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
    let whole = |kind| whole_file(file, kind);
    let results: Vec<Result<InputEvent, Vec<InputError>>> = match format {
        InputFormat::JsonLines => {
            let lines = jsonl::lines(bytes);
            crate::par::parallel_map(&lines, 1024, |&(line, raw)| {
                parse_jsonl_line(line, raw, file, mode)
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

    /// JSON Lines read a piece at a time give what reading the whole text
    /// gives: the same events and the same errors at the same lines,
    /// whatever falls on a piece's edge (a BOM, CR LF, blank lines, a line
    /// longer than a piece, a last line without its end, bad lines).
    #[test]
    fn jsonl_read_in_pieces_is_jsonl_read_whole() {
        let fixture = |name: &str| {
            std::fs::read(format!(
                "{}/tests/fixtures/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect("fixture")
        };
        let good = fixture("council_small.jsonl");
        let mut text = b"\xEF\xBB\xBF".to_vec();
        for (i, line) in good.split(|&b| b == b'\n').enumerate() {
            text.extend_from_slice(line);
            match i % 7 {
                0 => text.extend_from_slice(b"\r\n"),
                1 => text.extend_from_slice(b"\n\n   \n"),
                2 => text.extend_from_slice(b"\n{\"type\":\"attendance\",\"oops\n"),
                3 => text.extend_from_slice(b"\n{\"type\":\"hire\"}\n"),
                _ => text.push(b'\n'),
            }
        }
        text.extend_from_slice(b"{\"type\":\"survey_response\"}");
        let name = "x.jsonl";
        for mode in [Mode::Append, Mode::Restore] {
            let (want_events, want_errors) =
                read_events_partial(&text, name, InputFormat::JsonLines, mode);
            assert!(!want_errors.0.is_empty());
            assert!(mode == Mode::Restore || !want_events.is_empty());
            for piece in [1, 7, 100, 1000, 1 << 20] {
                let mut seen = 0;
                let (events, errors) =
                    read_jsonl_pieces(&text[..], piece, 0, name, mode, u64::MAX - 1, |n| seen = n)
                        .expect("read")
                        .expect("not too large");
                assert_eq!(events, want_events, "piece {piece}");
                assert_eq!(errors, want_errors, "piece {piece}");
                assert_eq!(seen, text.len() as u64);
            }
        }
        // Too large: found while reading, or known from the length first.
        for hint in [0, text.len() as u64] {
            let refused = read_jsonl_pieces(&text[..], 100, hint, name, Mode::Append, 99, |_| {})
                .expect("read");
            assert_eq!(refused.expect_err("too large").0[0].code(), "too_large");
        }
        // A length that promises tiny lines reserves no more than they could fill.
        let (events, _) = read_jsonl_pieces(
            &text[..],
            100,
            1 << 40,
            name,
            Mode::Append,
            u64::MAX - 1,
            |_| {},
        )
        .expect("read")
        .expect("not too large");
        assert_eq!(
            events.len(),
            read_events_partial(&text, name, InputFormat::JsonLines, Mode::Append)
                .0
                .len()
        );
        let empty = read_jsonl_pieces(&b"\n \r\n"[..], 100, 0, name, Mode::Append, 99, |_| {})
            .expect("read")
            .expect("not too large");
        assert_eq!(empty.1 .0[0].code(), "empty");
    }

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
