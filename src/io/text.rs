//! Turning the bytes of an input file into text.
//!
//! Councils save CSV from Excel, which on Japanese Windows writes Shift_JIS
//! (really CP932, with NEC and IBM extensions such as 髙 and ①) unless told to
//! write UTF-8, and then adds a byte order mark. The encoding is detected rather
//! than asked for; a file that is neither is refused, never decoded with
//! replacement characters, because a name that silently became `�` would no
//! longer match the same person elsewhere in the ledger.

use encoding_rs::SHIFT_JIS;

/// The encoding [`decode_text`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 without a byte order mark (also plain ASCII).
    Utf8,
    /// UTF-8 behind a byte order mark (`EF BB BF`), as Excel writes "CSV UTF-8".
    Utf8Bom,
    /// Shift_JIS as Windows writes it: CP932 / windows-31j.
    ShiftJis,
}

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Decodes an input file: UTF-8 (a leading byte order mark is removed) or else
/// Shift_JIS/CP932, strictly.
///
/// UTF-8 is tried first because valid UTF-8 is almost never valid-looking
/// Shift_JIS by accident, while the reverse is common. `encoding_rs::SHIFT_JIS`
/// is the WHATWG Shift_JIS, which is CP932 (windows-31j), the encoding Excel
/// writes on Japanese Windows.
///
/// A file that starts with a UTF-8 byte order mark but is not valid UTF-8 is
/// refused rather than tried as Shift_JIS: the mark says what the file is, so
/// bad bytes after it are damage, not another encoding. A UTF-16 byte order
/// mark (Excel's "Unicode text") is refused with a hint.
///
/// The error is a short English detail (for `InputErrorKind::Encoding`) that
/// names the byte offset, from the start of the file, of the first byte that
/// is not valid UTF-8.
pub fn decode_text(bytes: &[u8]) -> Result<(String, TextEncoding), String> {
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return match std::str::from_utf8(rest) {
            Ok(s) => Ok((s.to_owned(), TextEncoding::Utf8Bom)),
            Err(e) => Err(format!(
                "the file starts with a UTF-8 byte order mark but the byte at offset {} is not valid UTF-8",
                e.valid_up_to() + UTF8_BOM.len()
            )),
        };
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(
            "the file is UTF-16 (byte order mark at offset 0); save it as CSV in UTF-8 or Shift_JIS"
                .to_owned(),
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((s.to_owned(), TextEncoding::Utf8)),
        Err(e) => match SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes) {
            Some(text) => Ok((text.into_owned(), TextEncoding::ShiftJis)),
            None => Err(format!(
                "the byte at offset {} is not valid UTF-8, and the file is not valid Shift_JIS/CP932 either",
                e.valid_up_to()
            )),
        },
    }
}

/// Folds the full-width forms that Japanese input methods produce in numbers
/// and dates to ASCII: full-width ASCII (U+FF01..U+FF5E: `０`-`９`, `．`, `／`,
/// `－`, `，`, `：`, `；`, `Ｒ`...), the ideographic space, and the minus sign and
/// hyphens (U+2010..U+2015, U+2212) that stand for `-`. Used only on values that
/// are numbers, dates, booleans or lists of numbers; names keep their width.
pub(crate) fn normalize_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "令和6年11月20日,ＩＴ人材育成セミナー,髙橋";

    #[test]
    fn utf8_plain() {
        let (text, enc) = decode_text(SAMPLE.as_bytes()).expect("utf-8");
        assert_eq!(text, SAMPLE);
        assert_eq!(enc, TextEncoding::Utf8);
    }

    #[test]
    fn ascii_is_utf8() {
        assert_eq!(
            decode_text(b"type,menu\n").expect("ascii").1,
            TextEncoding::Utf8
        );
        assert_eq!(
            decode_text(b"").expect("empty"),
            (String::new(), TextEncoding::Utf8)
        );
    }

    #[test]
    fn utf8_with_bom() {
        let mut bytes = UTF8_BOM.to_vec();
        bytes.extend_from_slice(SAMPLE.as_bytes());
        let (text, enc) = decode_text(&bytes).expect("bom");
        assert_eq!(text, SAMPLE, "the mark is removed");
        assert_eq!(enc, TextEncoding::Utf8Bom);
        assert_eq!(
            decode_text(UTF8_BOM).expect("only a bom"),
            (String::new(), TextEncoding::Utf8Bom)
        );
    }

    #[test]
    fn cp932_roundtrip() {
        // 髙 (U+9AD9) is an IBM extension in CP932, absent from JIS X 0208:
        // it proves the decoder is CP932 and not plain Shift_JIS.
        let (bytes, _, unmappable) = SHIFT_JIS.encode(SAMPLE);
        assert!(!unmappable);
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "the sample must not be valid UTF-8"
        );
        let (text, enc) = decode_text(&bytes).expect("cp932");
        assert_eq!(text, SAMPLE);
        assert_eq!(enc, TextEncoding::ShiftJis);
        assert!(!text.contains('\u{FFFD}'));
    }

    #[test]
    fn cp932_nec_extension() {
        // ① (NEC row 13) as Excel writes it.
        let (bytes, _, unmappable) = SHIFT_JIS.encode("①髙橋");
        assert!(!unmappable);
        assert_eq!(decode_text(&bytes).expect("cp932").0, "①髙橋");
    }

    #[test]
    fn invalid_bytes_refused() {
        // 0x82 is a Shift_JIS lead byte; 0x20 cannot follow it. 0x82 is also
        // a stray UTF-8 continuation byte, at offset 2.
        let err = decode_text(b"ab\x82 cd").expect_err("invalid");
        assert!(err.contains("offset 2"), "{err}");
        // A lead byte cut off at the end of the file.
        let err = decode_text(b"abc\x82").expect_err("truncated");
        assert!(err.contains("offset 3"), "{err}");
        // 0xFF is neither UTF-8 nor Shift_JIS.
        let err = decode_text(b"type\xFF").expect_err("0xFF");
        assert!(err.contains("offset 4"), "{err}");
    }

    #[test]
    fn bom_then_invalid_refused() {
        let (sjis, _, _) = SHIFT_JIS.encode("髙橋");
        let mut bytes = UTF8_BOM.to_vec();
        bytes.extend_from_slice(&sjis);
        let err = decode_text(&bytes).expect_err("bom + sjis");
        assert!(err.contains("offset 3"), "{err}");
    }

    #[test]
    fn utf16_refused() {
        let err = decode_text(b"\xFF\xFEt\x00y\x00").expect_err("utf-16");
        assert!(err.contains("UTF-16"), "{err}");
    }

    #[test]
    fn width_folding() {
        assert_eq!(normalize_width("２０２４／１１．２０－１"), "2024/11.20-1");
        assert_eq!(normalize_width("Ｒ６\u{3000}１，０００：；"), "R6 1,000:;");
        assert_eq!(normalize_width("\u{2212}5"), "-5");
        assert_eq!(normalize_width("ＩＴ人材"), "IT人材");
        assert_eq!(
            normalize_width("髙橋ｱ"),
            "髙橋ｱ",
            "other characters are kept"
        );
    }
}
