//! Canonical JSON written straight from typed values: keys sorted at every
//! level, no whitespace, strings escaped as serde_json escapes them. It
//! gives the same bytes as serialising to `serde_json::Value` and writing
//! that with sorted keys (a property test holds it to that), without
//! building a map per event, which was the largest cost of an import.

use serde::ser::{self, Serialize};
use std::fmt;

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

/// The fields of an object, before sorting.
pub type Fields = Vec<(String, Vec<u8>)>;

/// Writes `fields` as an object with sorted keys.
pub fn write_object(mut fields: Fields, out: &mut Vec<u8>) {
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    out.push(b'{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(k, out);
        out.push(b':');
        out.extend_from_slice(v);
    }
    out.push(b'}');
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    // serde_json's escaping, exactly; writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Writes `v` as canonical JSON.
pub fn to_vec<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    v.serialize(Canon { out: &mut out })?;
    Ok(out)
}

/// Serialises `v`, which must be an object, into its fields (so that the
/// caller can add the ledger's own before sorting).
pub fn object_fields<T: Serialize + ?Sized>(v: &T) -> Result<Fields> {
    v.serialize(TopLevel)
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
            let mut b = itoa_buf(v);
            self.out.append(&mut b);
            Ok(())
        }
    )*};
}

fn itoa_buf(v: impl fmt::Display) -> Vec<u8> {
    v.to_string().into_bytes()
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
        let value = to_vec(v)?;
        write_object(vec![(variant.to_string(), value)], self.out);
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
            out: Some(self.out),
            fields: Vec::with_capacity(len.unwrap_or(8)),
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

/// An object being collected: fields are sorted when it ends.
struct Obj<'a> {
    /// Where to write the object; `None` at the top level, where the caller
    /// takes the fields.
    out: Option<&'a mut Vec<u8>>,
    fields: Fields,
    key: Option<String>,
}

impl Obj<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: String, v: &T) -> Result<()> {
        self.fields.push((key, to_vec(v)?));
        Ok(())
    }
    fn finish(self) -> Result<()> {
        if let Some(out) = self.out {
            write_object(self.fields, out);
        }
        Ok(())
    }
}

impl ser::SerializeMap for Obj<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<()> {
        self.key = Some(k.serialize(KeyName)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("value without a key".into()))?;
        self.field(key, v)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStruct for Obj<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<()> {
        self.field(key.to_string(), v)
    }
    fn end(self) -> Result<()> {
        self.finish()
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

/// The top level: an object whose fields the caller takes.
struct TopLevel;

impl ser::Serializer for TopLevel {
    type Ok = Fields;
    type Error = Error;
    type SerializeSeq = ser::Impossible<Fields, Error>;
    type SerializeTuple = ser::Impossible<Fields, Error>;
    type SerializeTupleStruct = ser::Impossible<Fields, Error>;
    type SerializeTupleVariant = ser::Impossible<Fields, Error>;
    type SerializeMap = TopObj;
    type SerializeStruct = TopObj;
    type SerializeStructVariant = ser::Impossible<Fields, Error>;

    refuse_scalars!(Fields, "not an object");
    refuse!(Fields, "not an object"; serialize_char(char), serialize_str(&str));

    fn serialize_map(self, len: Option<usize>) -> Result<TopObj> {
        Ok(TopObj(Obj {
            out: None,
            fields: Vec::with_capacity(len.unwrap_or(12)),
            key: None,
        }))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<TopObj> {
        self.serialize_map(Some(len))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Fields> {
        v.serialize(self)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Fields> {
        v.serialize(self)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<Fields> {
        Err(Error("not an object".into()))
    }
}

/// The top-level object: its fields go to the caller.
struct TopObj(Obj<'static>);

impl ser::SerializeMap for TopObj {
    type Ok = Fields;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<()> {
        ser::SerializeMap::serialize_key(&mut self.0, k)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        ser::SerializeMap::serialize_value(&mut self.0, v)
    }
    fn end(self) -> Result<Fields> {
        Ok(self.0.fields)
    }
}

impl ser::SerializeStruct for TopObj {
    type Ok = Fields;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<()> {
        self.0.field(key.to_string(), v)
    }
    fn end(self) -> Result<Fields> {
        Ok(self.0.fields)
    }
}
