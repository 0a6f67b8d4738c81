//! JSON Lines: one JSON object a line, UTF-8 (a BOM is tolerated), blank
//! lines ignored.

use super::LINE_BYTES_MAX;
use crate::error::{InputError, InputErrorKind, Location};
use serde_json::{Map, Value};

/// A parsed line: its number, its object, and its raw bytes (kept so that
/// `import --restore` can insist on the exact canonical bytes).
pub type Line = (u64, Map<String, Value>, Vec<u8>);

/// Splits `bytes` into lines and parses each as a JSON object. Returns the
/// good lines and an error for every bad one.
pub fn read_objects(bytes: &[u8], file: &str) -> (Vec<Line>, Vec<InputError>) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = Location::line(file, line);
        if raw.len() > LINE_BYTES_MAX {
            errors.push(InputError::new(
                at,
                InputErrorKind::TooLarge {
                    limit: format!("{LINE_BYTES_MAX} bytes a line"),
                },
            ));
            continue;
        }
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t,
            Err(e) => {
                errors.push(InputError::new(
                    at,
                    InputErrorKind::Encoding {
                        detail: format!("not UTF-8 at byte {} of the line", e.valid_up_to() + 1),
                    },
                ));
                continue;
            }
        };
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => out.push((line, m, raw.to_vec())),
            Ok(_) => errors.push(InputError::new(
                at,
                InputErrorKind::Syntax {
                    detail: "a line must be one JSON object".into(),
                },
            )),
            Err(e) => errors.push(InputError::new(
                at,
                InputErrorKind::Syntax {
                    detail: e.to_string(),
                },
            )),
        }
    }
    (out, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_objects_with_line_numbers_skipping_blank_lines() {
        let (got, errs) = read_objects(b"\xEF\xBB\xBF{\"a\":1}\r\n\n{\"b\":2}\n", "f.jsonl");
        assert!(errs.is_empty());
        assert_eq!(got.iter().map(|l| l.0).collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn every_bad_line_is_reported() {
        let (_, errs) = read_objects(b"{\"a\":1}\nnot json\n[1]\n{\n", "f.jsonl");
        let lines: Vec<_> = errs.iter().map(|e| e.at.line).collect();
        assert_eq!(lines, vec![Some(2), Some(3), Some(4)]);
    }
}
