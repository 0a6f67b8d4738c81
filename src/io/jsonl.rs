//! JSON Lines: one JSON object a line, UTF-8 (a BOM is tolerated), blank
//! lines ignored.

use super::LINE_BYTES_MAX;
use crate::error::{InputError, InputErrorKind, Location};
use serde_json::{Map, Value};

/// The non-blank lines of `bytes`, with their 1-based numbers, without the
/// line ending. A large input is split at line ends and its parts read on
/// every core.
pub fn lines(bytes: &[u8]) -> Vec<(u64, &[u8])> {
    lines_numbered(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes), 1)
}

/// [`lines`] of text whose first line is numbered `first` (a BOM is not
/// looked for).
pub fn lines_numbered(bytes: &[u8], first: u64) -> Vec<(u64, &[u8])> {
    /// The least bytes a part: below this, one thread reads it all.
    const PART_MIN: usize = 8 << 20;
    if bytes.len() < 2 * PART_MIN {
        return lines_from(bytes, first);
    }
    let parts = (bytes.len() / PART_MIN).min(64);
    // Each part ends just after a line end (or at the end).
    let mut bounds = vec![0];
    for k in 1..parts {
        let from = (bytes.len() / parts * k).max(bounds[bounds.len() - 1]);
        let end = memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |i| from + i + 1);
        bounds.push(end);
    }
    bounds.push(bytes.len());
    let ranges: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let ends = crate::par::parallel_map(&ranges, 2, |&(s, e)| {
        memchr::memchr_iter(b'\n', &bytes[s..e]).count() as u64
    });
    let mut first = first;
    let starts: Vec<(usize, usize, u64)> = ranges
        .iter()
        .zip(&ends)
        .map(|(&(s, e), n)| {
            let at = (s, e, first);
            first += n;
            at
        })
        .collect();
    let per_part =
        crate::par::parallel_map(&starts, 2, |&(s, e, first)| lines_from(&bytes[s..e], first));
    let mut lines = Vec::with_capacity(per_part.iter().map(Vec::len).sum());
    for part in per_part {
        lines.extend(part);
    }
    lines
}

/// [`lines`] of one part, its first line numbered `first`.
fn lines_from(bytes: &[u8], first: u64) -> Vec<(u64, &[u8])> {
    let mut lines = Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for (i, end) in ends.enumerate() {
        let raw = &bytes[start..end];
        start = end + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if !raw.iter().all(u8::is_ascii_whitespace) {
            lines.push((i as u64 + first, raw));
        }
    }
    lines
}

/// Parses one line as a JSON object. (The error is one, in a `Vec` as
/// [`crate::io::parse::parse_object`] returns them.)
pub fn read_object(raw: &[u8], at: &Location) -> Result<Map<String, Value>, Vec<InputError>> {
    let err = |kind| vec![InputError::new(at.clone(), kind)];
    if raw.len() > LINE_BYTES_MAX {
        return Err(err(InputErrorKind::TooLarge {
            limit: format!("{LINE_BYTES_MAX} bytes a line"),
        }));
    }
    let text = std::str::from_utf8(raw).map_err(|e| {
        err(InputErrorKind::Encoding {
            detail: format!("not UTF-8 at byte {} of the line", e.valid_up_to() + 1),
        })
    })?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(err(InputErrorKind::Syntax {
            detail: "a line must be one JSON object".into(),
        })),
        Err(e) => Err(err(InputErrorKind::Syntax {
            detail: e.to_string(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_skipping_blank_lines_and_bom() {
        let got = lines(b"\xEF\xBB\xBF{\"a\":1}\r\n\n  \n{\"b\":2}\n");
        assert_eq!(got, vec![(1, &b"{\"a\":1}"[..]), (4, &b"{\"b\":2}"[..])]);
    }

    /// A large input is read in parts on every core: the same lines, the
    /// same numbers, whatever falls on a part's edge (blank lines, CR LF,
    /// a last line without its end).
    #[test]
    fn a_large_input_read_in_parts_gives_the_lines_of_one_pass() {
        let mut text = b"\xEF\xBB\xBF".to_vec();
        let mut n = 0u64;
        while text.len() < 40 << 20 {
            n += 1;
            match n % 5 {
                0 => text.extend_from_slice(b"\n"),
                1 => text.extend_from_slice(b"   \r\n"),
                2 => text.extend_from_slice(format!("{{\"n\":{n}}}\r\n").as_bytes()),
                _ => text.extend_from_slice(
                    format!(
                        "{{\"n\":{n},\"pad\":\"{}\"}}\n",
                        "x".repeat((n % 300) as usize)
                    )
                    .as_bytes(),
                ),
            }
        }
        text.extend_from_slice(b"{\"last\":true}");
        let got = lines(&text);
        assert_eq!(got, lines_from(&text[3..], 1));
        assert_eq!(lines_numbered(&text[3..], 42), lines_from(&text[3..], 42));
        assert_eq!(got.last().map(|l| l.0), Some(n + 1));
        assert!(got.len() > 100_000);
    }

    #[test]
    fn bad_lines_are_errors() {
        let at = Location::line("f.jsonl", 2);
        assert_eq!(
            read_object(b"not json", &at).unwrap_err()[0].code(),
            "syntax"
        );
        assert_eq!(read_object(b"[1]", &at).unwrap_err()[0].code(), "syntax");
        assert_eq!(
            read_object(b"{\"a\":\xff}", &at).unwrap_err()[0].code(),
            "encoding"
        );
        assert!(read_object(b"{\"a\":1}", &at).is_ok());
    }

    /// docs/limits.md: a line over `LINE_BYTES_MAX` is refused before it is
    /// parsed; one at the limit is read.
    #[test]
    fn a_line_over_the_limit_is_refused() {
        let at = Location::line("f.jsonl", 1);
        let line = |n: usize| format!("{{\"a\":\"{}\"}}", "x".repeat(n - 8)).into_bytes();
        assert!(read_object(&line(LINE_BYTES_MAX), &at).is_ok());
        let e = read_object(&line(LINE_BYTES_MAX + 1), &at).unwrap_err();
        assert_eq!(e[0].code(), "too_large");
    }
}
