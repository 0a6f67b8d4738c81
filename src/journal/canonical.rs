//! Canonical JSON written straight from typed values: keys sorted at every
//! level, no whitespace, strings escaped as serde_json escapes them. It
//! gives the same bytes as serialising to `serde_json::Value` and writing
//! that with sorted keys (tests hold it to that), without building a map per
//! event.
//!
//! Every value is written once into one buffer. An object writes its fields'
//! values one after another, then writes itself with the fields in key order
//! after them and moves that into place over the fields: no allocation per
//! field, one per object for the list of fields.

use serde::ser::{self, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;

/// An error of the canonical serializer (only for types it cannot write:
/// none of the event types).
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

type Result<T> = std::result::Result<T, Error>;

/// One field of an object being written: its key, and where its value's
/// canonical bytes sit in the buffer.
struct Field {
    /// The key's first eight bytes, big-endian, zero-padded: sorting on it
    /// first orders as the keys do, and most keys differ there.
    prefix: u64,
    key: Cow<'static, str>,
    start: usize,
    end: usize,
}

/// An object being written into `out`. Its fields' values are written as
/// they come; [`Object::finish`] writes the object with sorted keys where
/// the first of them began.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    fields: Vec<Field>,
}

impl<'a> Object<'a> {
    /// Starts an object at the end of `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Self::with_capacity(out, 16)
    }

    fn with_capacity(out: &'a mut Vec<u8>, n: usize) -> Self {
        let start = out.len();
        Object {
            out,
            start,
            fields: Vec::with_capacity(n),
        }
    }

    /// Adds the fields of `v`, which must serialize to an object.
    pub fn fields_of<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        v.serialize(Flatten { obj: self })
    }

    /// Adds a field whose value `write` appends as canonical JSON.
    pub fn raw_field(&mut self, key: &'static str, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.out.len();
        write(self.out);
        self.fields.push(Field {
            prefix: prefix(key),
            key: Cow::Borrowed(key),
            start,
            end: self.out.len(),
        });
    }

    /// Adds a string field.
    pub fn str_field(&mut self, key: &'static str, v: &str) {
        self.raw_field(key, |out| write_str(v, out));
    }

    /// Adds an integer field.
    pub fn u64_field(&mut self, key: &'static str, v: u64) {
        self.raw_field(key, |out| write_int(v, out));
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: Cow<'static, str>, v: &T) -> Result<()> {
        let start = self.out.len();
        v.serialize(Canon { out: self.out })?;
        self.fields.push(Field {
            prefix: prefix(&key),
            key,
            start,
            end: self.out.len(),
        });
        Ok(())
    }

    /// Writes the object with its keys in code-point order, in place of its
    /// fields' values.
    pub fn finish(mut self) {
        self.fields
            .sort_unstable_by(|a, b| a.prefix.cmp(&b.prefix).then_with(|| a.key.cmp(&b.key)));
        let out = self.out;
        let written = out.len();
        out.push(b'{');
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(&f.key, out);
            out.push(b':');
            out.extend_from_within(f.start..f.end);
        }
        out.push(b'}');
        let len = out.len() - written;
        out.copy_within(written.., self.start);
        out.truncate(self.start + len);
    }
}

/// The first eight bytes of `key` as a big-endian number, zero-padded.
/// Where two prefixes differ, they order as the keys do (a key that ends
/// first pads with zeros, below every byte it is compared with, or equal
/// to a NUL, in which case the keys are compared whole).
fn prefix(key: &str) -> u64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key.as_bytes()[..n]);
    u64::from_be_bytes(b)
}

/// Whether serde_json escapes this byte of a string: `"`, `\\` and control
/// characters, as Python's json module with `ensure_ascii=False`.
fn escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    // A fold without early exit, which the compiler vectorizes.
    if s.bytes().fold(false, |any, b| any | escaped(b)) {
        // serde_json's escaping, exactly; writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

fn write_int(v: impl itoa::Integer, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Writes `v` as canonical JSON.
pub fn to_vec<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    v.serialize(Canon { out: &mut out })?;
    Ok(out)
}

/// Methods of a serializer that refuse everything but what it is for.
macro_rules! refuse {
    ($ok:ty, $why:literal; $($method:ident($($arg:ty),*)),* $(,)?) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ok> {
            Err(Error($why.into()))
        }
    )*};
}

/// The serializer methods of scalars, refused.
macro_rules! refuse_scalars {
    ($ok:ty, $why:literal) => {
        refuse!($ok, $why;
            serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
            serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64),
            serialize_f32(f32), serialize_f64(f64), serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
            serialize_unit_struct(&'static str));
        fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _: &'static str, _: u32, _: &'static str, _: &T) -> Result<$ok> {
            Err(Error($why.into()))
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
            Err(Error($why.into()))
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
            Err(Error($why.into()))
        }
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct> {
            Err(Error($why.into()))
        }
        fn serialize_tuple_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Self::SerializeTupleVariant> {
            Err(Error($why.into()))
        }
        fn serialize_struct_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Self::SerializeStructVariant> {
            Err(Error($why.into()))
        }
    };
}

struct Canon<'a> {
    out: &'a mut Vec<u8>,
}

macro_rules! int {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<()> {
            write_int(v, self.out);
            Ok(())
        }
    )*};
}

impl<'a> ser::Serializer for Canon<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = Obj<'a>;
    type SerializeStruct = Obj<'a>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    int!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);
    fn serialize_f32(self, v: f32) -> Result<()> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        // As serde_json writes a float (what `Value` would hold).
        serde_json::to_writer(&mut *self.out, &v).map_err(|e| Error(e.to_string()))
    }
    fn serialize_char(self, v: char) -> Result<()> {
        write_str(v.encode_utf8(&mut [0; 4]), self.out);
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        write_str(v, self.out);
        Ok(())
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, v: &T) -> Result<()> {
        // Formatted in place (dates are written this way); escaped after the
        // fact in the rare case that it needs it.
        let start = self.out.len();
        self.out.push(b'"');
        write!(self.out, "{v}").map_err(|e| Error(e.to_string()))?;
        if self.out[start + 1..]
            .iter()
            .fold(false, |any, &b| any | escaped(b))
        {
            let text = self.out.split_off(start + 1);
            self.out.truncate(start);
            let text = String::from_utf8(text).map_err(|e| Error(e.to_string()))?;
            write_str(&text, self.out);
        } else {
            self.out.push(b'"');
        }
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<()> {
        Err(Error("bytes are not written as JSON".into()))
    }
    fn serialize_none(self) -> Result<()> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<()> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<()> {
        let mut obj = Object::with_capacity(self.out, 1);
        obj.field(Cow::Borrowed(variant), v)?;
        obj.finish();
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>> {
        self.out.push(b'[');
        Ok(Seq {
            out: self.out,
            first: true,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Error("tuple variants are not used in events".into()))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Obj<'a>> {
        Ok(Obj {
            obj: Object::with_capacity(self.out, len.unwrap_or(8)),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Obj<'a>> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Error("struct variants are not used in events".into()))
    }
}

struct Seq<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        v.serialize(Canon { out: self.out })
    }
    fn finish(self) -> Result<()> {
        self.out.push(b']');
        Ok(())
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.element(v)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.element(v)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.element(v)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// A nested object (a struct or map value): written when it ends.
struct Obj<'a> {
    obj: Object<'a>,
    key: Option<Cow<'static, str>>,
}

/// Takes the key of a map entry.
fn map_key<T: Serialize + ?Sized>(slot: &mut Option<Cow<'static, str>>, k: &T) -> Result<()> {
    *slot = Some(Cow::Owned(k.serialize(KeyName)?));
    Ok(())
}

/// Adds the value of a map entry under the key taken before.
fn map_value<T: Serialize + ?Sized>(
    obj: &mut Object<'_>,
    slot: &mut Option<Cow<'static, str>>,
    v: &T,
) -> Result<()> {
    let key = slot
        .take()
        .ok_or_else(|| Error("value without a key".into()))?;
    obj.field(key, v)
}

impl ser::SerializeMap for Obj<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<()> {
        map_key(&mut self.key, k)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        map_value(&mut self.obj, &mut self.key, v)
    }
    fn end(self) -> Result<()> {
        self.obj.finish();
        Ok(())
    }
}

impl ser::SerializeStruct for Obj<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<()> {
        self.obj.field(Cow::Borrowed(key), v)
    }
    fn end(self) -> Result<()> {
        self.obj.finish();
        Ok(())
    }
}

/// Serialises a map key: only strings are keys in JSON.
struct KeyName;

impl ser::Serializer for KeyName {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = ser::Impossible<String, Error>;
    type SerializeTuple = ser::Impossible<String, Error>;
    type SerializeTupleStruct = ser::Impossible<String, Error>;
    type SerializeTupleVariant = ser::Impossible<String, Error>;
    type SerializeMap = ser::Impossible<String, Error>;
    type SerializeStruct = ser::Impossible<String, Error>;
    type SerializeStructVariant = ser::Impossible<String, Error>;

    refuse_scalars!(String, "a key must be a string");

    fn serialize_str(self, v: &str) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<String> {
        v.serialize(self)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<String> {
        v.serialize(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Error("a key must be a string".into()))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(Error("a key must be a string".into()))
    }
}

/// Adds the fields of a value that serializes to an object to an
/// [`Object`] the caller will finish.
struct Flatten<'o, 'a> {
    obj: &'o mut Object<'a>,
}

impl<'o, 'a> ser::Serializer for Flatten<'o, 'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = FlatObj<'o, 'a>;
    type SerializeStruct = FlatObj<'o, 'a>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    refuse_scalars!((), "not an object");
    refuse!((), "not an object"; serialize_char(char), serialize_str(&str));

    fn serialize_map(self, _: Option<usize>) -> Result<FlatObj<'o, 'a>> {
        Ok(FlatObj {
            obj: self.obj,
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<FlatObj<'o, 'a>> {
        self.serialize_map(Some(len))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<()> {
        Err(Error("not an object".into()))
    }
}

/// The fields of a flattened object, going to the caller's [`Object`].
struct FlatObj<'o, 'a> {
    obj: &'o mut Object<'a>,
    key: Option<Cow<'static, str>>,
}

impl ser::SerializeMap for FlatObj<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<()> {
        map_key(&mut self.key, k)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        map_value(self.obj, &mut self.key, v)
    }
    fn end(self) -> Result<()> {
        Ok(())
    }
}

impl ser::SerializeStruct for FlatObj<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<()> {
        self.obj.field(Cow::Borrowed(key), v)
    }
    fn end(self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &serde_json::Value) -> String {
        String::from_utf8(to_vec(v).unwrap()).unwrap()
    }

    #[test]
    fn nested_objects_are_sorted_and_moved_into_place() {
        let v = json!({"b": {"y": 1, "x": [{"d": 2, "c": "\"q\""}]}, "a": null, "é": true, "z": "a\nb"});
        assert_eq!(
            canon(&v),
            r#"{"a":null,"b":{"x":[{"c":"\"q\"","d":2}],"y":1},"z":"a\nb","é":true}"#
        );
    }

    #[test]
    fn keys_sort_by_code_point_even_past_eight_bytes_and_with_nuls() {
        let keys = [
            "a",
            "a\u{0}",
            "a\u{0}b",
            "ab",
            "abcdefgh",
            "abcdefghi",
            "abcdefgha",
            "abcdefg",
            "b",
            "é",
            "日本",
            "Z",
            "",
        ];
        // Fed in an order of their own (a `Value` map would come sorted).
        struct Unsorted(Vec<&'static str>);
        impl Serialize for Unsorted {
            fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|k| (*k, 1)))
            }
        }
        let mut fed = keys.to_vec();
        fed.reverse();
        fed.rotate_left(5);
        let mut sorted: Vec<&str> = keys.to_vec();
        sorted.sort();
        let want = format!(
            "{{{}}}",
            sorted
                .iter()
                .map(|k| format!("{}:1", serde_json::to_string(k).unwrap()))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(
            String::from_utf8(to_vec(&Unsorted(fed)).unwrap()).unwrap(),
            want
        );
    }

    #[test]
    fn an_object_flattens_into_the_callers_fields() {
        let mut out = b"[".to_vec();
        let mut obj = Object::new(&mut out);
        obj.fields_of(&json!({"m": {"k": 1, "j": 2}, "b": "x"}))
            .unwrap();
        obj.u64_field("a", 7);
        obj.str_field("n", "\u{1}");
        obj.finish();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"[{"a":7,"b":"x","m":{"j":2,"k":1},"n":"\u0001"}"#
        );
        let mut out = Vec::new();
        assert!(Object::new(&mut out).fields_of(&json!([1])).is_err());
    }

    #[test]
    fn collected_strings_are_escaped_when_they_need_it() {
        struct Shown(&'static str);
        impl Serialize for Shown {
            fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self.0)
            }
        }
        assert_eq!(to_vec(&Shown("2024-04-01")).unwrap(), b"\"2024-04-01\"");
        assert_eq!(to_vec(&Shown("a\"b\\")).unwrap(), b"\"a\\\"b\\\\\"");
    }
}
