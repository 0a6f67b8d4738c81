//! JSON Lines: one JSON object a line, UTF-8 (a BOM is tolerated), blank
//! lines ignored.

use super::LINE_BYTES_MAX;
use crate::error::{InputError, InputErrorKind, Location};
use serde_json::{Map, Value};

/// The non-blank lines of `bytes`, with their 1-based numbers, without the
/// line ending.
pub fn lines(bytes: &[u8]) -> Vec<(u64, &[u8])> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut lines = Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for (i, end) in ends.enumerate() {
        let raw = &bytes[start..end];
        start = end + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if !raw.iter().all(u8::is_ascii_whitespace) {
            lines.push((i as u64 + 1, raw));
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
