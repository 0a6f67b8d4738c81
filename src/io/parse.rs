//! From a JSON object to a typed event: the format and field-value layers
//! of validation, with the field named in every error.
//!
//! The `type` is read first and the rest is deserialized straight into that
//! type's struct (not through the tagged enum), so that serde_path_to_error
//! can name the field at fault.

use crate::domain::values::MARK;
use crate::domain::*;
use crate::error::{InputError, InputErrorKind, Location};
use crate::journal::chain;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Whether ledger-assigned fields are refused (append) or required (restore).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// New events: `seq`, `recorded_at`, `hash` and `schema_version` refused.
    Append,
    /// An export being restored: they are required.
    Restore,
}

/// The ledger-assigned fields of an exported event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Its seq.
    pub seq: u64,
    /// Its transaction time, microseconds.
    pub recorded_at_us: i64,
    /// Its schema version.
    pub schema_version: u16,
    /// Its chain hash.
    pub hash: chain::Hash,
    /// The line as read, which must be the canonical export bytes.
    pub raw: Vec<u8>,
}

/// One event read from input, valid in format and values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputEvent {
    /// Line (or CSV row) it came from.
    pub line: u64,
    /// The client's id, if given.
    pub id: Option<Uuid>,
    /// The event.
    pub body: EventBody,
    /// For `import --restore`: what the ledger had assigned.
    pub restored: Option<Box<Restored>>,
}

impl InputEvent {
    /// The event to append (what the ledger had assigned set aside).
    pub fn into_event(self) -> Event {
        Event {
            id: self.id,
            body: self.body,
        }
    }
}

const RESERVED: &[&str] = &["seq", "recorded_at", "hash", "schema_version"];

/// Parses one object. Returns every error found in it.
pub fn parse_object(
    mut obj: Map<String, Value>,
    at: &Location,
    mode: Mode,
    raw: Vec<u8>,
) -> Result<InputEvent, Vec<InputError>> {
    let mut errors = Vec::new();
    let id = match obj.remove("id") {
        None => None,
        Some(Value::String(s)) => match Uuid::parse_str(&s) {
            Ok(u) => Some(u),
            Err(_) => {
                errors.push(InputError::new(
                    at.with_field("id"),
                    InputErrorKind::InvalidValue {
                        detail: format!("`{s}` is not a UUID"),
                    },
                ));
                None
            }
        },
        Some(other) => {
            errors.push(InputError::new(
                at.with_field("id"),
                InputErrorKind::InvalidType {
                    detail: format!("{other} is not a UUID string"),
                },
            ));
            None
        }
    };
    let mut reserved = Map::new();
    for key in RESERVED {
        if let Some(v) = obj.remove(*key) {
            if mode == Mode::Append {
                errors.push(InputError::new(
                    at.with_field(*key),
                    InputErrorKind::ReservedField,
                ));
            }
            reserved.insert((*key).to_string(), v);
        }
    }
    let restored = if mode == Mode::Restore {
        parse_restored(reserved, at, raw, &mut errors).map(Box::new)
    } else {
        None
    };
    if mode == Mode::Restore
        && id.is_none()
        && !errors.iter().any(|e| e.at.field.as_deref() == Some("id"))
    {
        errors.push(InputError::new(
            at.with_field("id"),
            InputErrorKind::MissingField,
        ));
    }
    let body = parse_body(obj, at, "", &mut errors);
    match body {
        Some(body) if errors.is_empty() => Ok(InputEvent {
            line: at.line.unwrap_or(0),
            id,
            body,
            restored,
        }),
        _ => Err(errors),
    }
}

fn parse_restored(
    mut m: Map<String, Value>,
    at: &Location,
    raw: Vec<u8>,
    errors: &mut Vec<InputError>,
) -> Option<Restored> {
    let n = errors.len();
    let mut take = |key: &str| {
        let v = m.remove(key);
        if v.is_none() {
            errors.push(InputError::new(
                at.with_field(key),
                InputErrorKind::MissingField,
            ));
        }
        v
    };
    let seq = take("seq");
    let recorded_at = take("recorded_at");
    let hash = take("hash");
    let version = take("schema_version");
    let seq = seq.and_then(|v| v.as_u64().filter(|s| *s > 0));
    let recorded = recorded_at
        .as_ref()
        .and_then(Value::as_str)
        .and_then(chain::parse_timestamp);
    let hash = hash
        .as_ref()
        .and_then(Value::as_str)
        .and_then(chain::parse_hash_text);
    let version = version
        .and_then(|v| v.as_u64())
        .and_then(|v| u16::try_from(v).ok());
    let bad = |field: &str, detail: &str| {
        InputError::new(
            at.with_field(field),
            InputErrorKind::InvalidValue {
                detail: detail.into(),
            },
        )
    };
    if errors.len() > n {
        return None;
    }
    match (seq, recorded, hash, version) {
        (Some(seq), Some(recorded_at_us), Some(hash), Some(schema_version)) => {
            if schema_version != EVENT_SCHEMA_VERSION {
                errors.push(bad(
                    "schema_version",
                    "not a schema version this jisseki reads",
                ));
                return None;
            }
            Some(Restored {
                seq,
                recorded_at_us,
                schema_version,
                hash,
                raw,
            })
        }
        (seq, recorded, hash, version) => {
            if seq.is_none() {
                errors.push(bad("seq", "must be a positive integer"));
            }
            if recorded.is_none() {
                errors.push(bad("recorded_at", "must be an RFC 3339 time"));
            }
            if hash.is_none() {
                errors.push(bad("hash", "must be sha256: and 64 lower-case hex digits"));
            }
            if version.is_none() {
                errors.push(bad("schema_version", "must be a small integer"));
            }
            None
        }
    }
}

fn de<T: DeserializeOwned>(
    obj: Map<String, Value>,
    at: &Location,
    prefix: &str,
    errors: &mut Vec<InputError>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(Value::Object(obj)) {
        Ok(v) => Some(v),
        Err(e) => {
            let path = e.path().to_string();
            errors.push(classify(&path, &e.inner().to_string(), at, prefix));
            None
        }
    }
}

/// Turns serde's message into a typed, located error.
fn classify(path: &str, msg: &str, at: &Location, prefix: &str) -> InputError {
    let join = |p: &str, extra: Option<&str>| {
        let mut f = prefix.to_string();
        if p != "." && !p.is_empty() {
            f.push_str(p);
        }
        if let Some(x) = extra {
            if !f.is_empty() && !f.ends_with('.') {
                f.push('.');
            }
            f.push_str(x);
        }
        f.trim_end_matches('.').to_string()
    };
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_string);
    if let Some(rest) = msg.strip_prefix(MARK) {
        let parts: Vec<&str> = rest.split(MARK).collect();
        let field = at.with_field(join(path, None));
        let kind = match parts.as_slice() {
            ["date", v] => InputErrorKind::InvalidDate {
                value: (*v).to_string(),
            },
            ["range", v, min, max] => InputErrorKind::OutOfRange {
                value: (*v).into(),
                min: (*min).into(),
                max: (*max).into(),
            },
            ["value", detail] => InputErrorKind::InvalidValue {
                detail: (*detail).into(),
            },
            _ => InputErrorKind::InvalidValue {
                detail: rest.replace(MARK, " "),
            },
        };
        return InputError::new(field, kind);
    }
    if msg.starts_with("missing field") {
        let name = quoted(msg);
        return InputError::new(
            at.with_field(join(path, name.as_deref())),
            InputErrorKind::MissingField,
        );
    }
    if msg.starts_with("unknown field") {
        let name = quoted(msg);
        // serde_path_to_error already includes the key in the path for
        // unknown fields; add it only when it is not there.
        let field = match &name {
            Some(n) if !path.ends_with(n.as_str()) => join(path, Some(n)),
            _ => join(path, None),
        };
        return InputError::new(at.with_field(field), InputErrorKind::UnknownField);
    }
    if msg.starts_with("unknown variant") {
        let value = quoted(msg).unwrap_or_default();
        let allowed = msg
            .split("expected ")
            .nth(1)
            .unwrap_or("")
            .replace('`', "")
            .replace("one of ", "");
        return InputError::new(
            at.with_field(join(path, None)),
            InputErrorKind::InvalidEnum { value, allowed },
        );
    }
    if msg.starts_with("invalid type") {
        return InputError::new(
            at.with_field(join(path, None)),
            InputErrorKind::InvalidType {
                detail: msg.to_string(),
            },
        );
    }
    InputError::new(
        at.with_field(join(path, None)),
        InputErrorKind::InvalidValue {
            detail: msg.to_string(),
        },
    )
}

/// Parses an event body (the object without `id` and ledger fields).
/// `prefix` names the enclosing field for nested bodies (`replacement.`).
pub(crate) fn parse_body(
    mut obj: Map<String, Value>,
    at: &Location,
    prefix: &str,
    errors: &mut Vec<InputError>,
) -> Option<EventBody> {
    let type_field = format!("{prefix}type");
    let ty = match obj.remove("type") {
        Some(Value::String(s)) => s,
        Some(other) => {
            errors.push(InputError::new(
                at.with_field(type_field),
                InputErrorKind::InvalidType {
                    detail: format!("{other} is not a string"),
                },
            ));
            return None;
        }
        None => {
            errors.push(InputError::new(
                at.with_field(type_field),
                InputErrorKind::MissingField,
            ));
            return None;
        }
    };
    let body = match ty.as_str() {
        "project_defined" => de(obj, at, prefix, errors).map(EventBody::ProjectDefined),
        "menu_defined" => de(obj, at, prefix, errors).map(EventBody::MenuDefined),
        "targets_revised" => de(obj, at, prefix, errors).map(EventBody::TargetsRevised),
        "session_held" => de(obj, at, prefix, errors).map(EventBody::SessionHeld),
        "attendance" => de(obj, at, prefix, errors).map(EventBody::Attendance),
        "hire" => de(obj, at, prefix, errors).map(EventBody::Hire),
        "conversion" => de(obj, at, prefix, errors).map(EventBody::Conversion),
        "startup" => de(obj, at, prefix, errors).map(EventBody::Startup),
        "survey_response" => de(obj, at, prefix, errors).map(EventBody::SurveyResponse),
        "plan_approved" => de(obj, at, prefix, errors).map(EventBody::PlanApproved),
        "retraction" => de(obj, at, prefix, errors).map(EventBody::Retraction),
        "correction" => parse_correction(obj, at, prefix, errors),
        _ => {
            errors.push(InputError::new(
                at.with_field(type_field),
                InputErrorKind::UnknownType { value: ty.clone() },
            ));
            None
        }
    }?;
    let n = errors.len();
    check_fields(&body, at, prefix, errors);
    (errors.len() == n).then_some(body)
}

fn parse_correction(
    mut obj: Map<String, Value>,
    at: &Location,
    prefix: &str,
    errors: &mut Vec<InputError>,
) -> Option<EventBody> {
    let field = format!("{prefix}replacement");
    let replacement = match obj.remove("replacement") {
        Some(Value::Object(m)) => {
            if m.contains_key("id") {
                errors.push(InputError::new(
                    at.with_field(format!("{field}.id")),
                    InputErrorKind::UnknownField,
                ));
                None
            } else {
                parse_body(m, at, &format!("{field}."), errors)
            }
        }
        Some(other) => {
            errors.push(InputError::new(
                at.with_field(field),
                InputErrorKind::InvalidType {
                    detail: format!("{other} is not an event object"),
                },
            ));
            None
        }
        None => {
            errors.push(InputError::new(
                at.with_field(field),
                InputErrorKind::MissingField,
            ));
            None
        }
    };
    // Parse the rest with a placeholder replacement so its own errors
    // (target, reason, unknown fields) are reported too.
    obj.insert(
        "replacement".into(),
        serde_json::json!({"type": "retraction", "target": Uuid::nil(), "reason": "-"}),
    );
    let rest: Correction = de(obj, at, prefix, errors)?;
    Some(EventBody::Correction(Correction {
        replacement: Box::new(replacement?),
        ..rest
    }))
}

/// The quick road for a line that is a valid event: deserialized straight
/// from the text into its type's struct, with no map in between (in
/// `Mode::Restore`, with the ledger's fields taken on the way). Anything out
/// of the ordinary (an error of any kind, a repeated key, a ledger field
/// where none belongs, a `correction`) gives `None`, and the caller takes
/// [`parse_object`], which names the field at fault. What this accepts,
/// `parse_object` accepts with the same result (a test holds it to that).
pub fn parse_line_quick(text: &str, line: u64, mode: Mode) -> Option<InputEvent> {
    #[derive(serde::Deserialize)]
    struct TypeOf<'a> {
        #[serde(rename = "type", borrow)]
        ty: std::borrow::Cow<'a, str>,
    }
    // Most lines begin with their type (exports and generators write it
    // first); otherwise it is looked for.
    let quick_type = text
        .strip_prefix(r#"{"type":""#)
        .and_then(|rest| rest.split_once('"'))
        .map(|(ty, _)| ty)
        .filter(|ty| !ty.contains('\\'));
    let ty = match quick_type {
        Some(ty) => std::borrow::Cow::Borrowed(ty),
        None => serde_json::from_str::<TypeOf>(text).ok()?.ty,
    };
    let mut t = Taken {
        restore: mode == Mode::Restore,
        ..Taken::default()
    };
    let body = match ty.as_ref() {
        "project_defined" => EventBody::ProjectDefined(direct(text, &mut t)?),
        "menu_defined" => EventBody::MenuDefined(direct(text, &mut t)?),
        "targets_revised" => EventBody::TargetsRevised(direct(text, &mut t)?),
        "session_held" => EventBody::SessionHeld(direct(text, &mut t)?),
        "attendance" => EventBody::Attendance(direct(text, &mut t)?),
        "hire" => EventBody::Hire(direct(text, &mut t)?),
        "conversion" => EventBody::Conversion(direct(text, &mut t)?),
        "startup" => EventBody::Startup(direct(text, &mut t)?),
        "survey_response" => EventBody::SurveyResponse(direct(text, &mut t)?),
        "plan_approved" => EventBody::PlanApproved(direct(text, &mut t)?),
        "retraction" => EventBody::Retraction(direct(text, &mut t)?),
        _ => return None,
    };
    let restored = match mode {
        Mode::Append => None,
        Mode::Restore => {
            t.id?;
            Some(Box::new(Restored {
                seq: t.seq.filter(|s| *s > 0)?,
                recorded_at_us: t.recorded_at_us?,
                schema_version: t.schema_version.filter(|v| *v == EVENT_SCHEMA_VERSION)?,
                hash: t.hash?,
                raw: text.as_bytes().to_vec(),
            }))
        }
    };
    let mut errors = Vec::new();
    check_fields(&body, &Location::line("", line), "", &mut errors);
    errors.is_empty().then_some(InputEvent {
        line,
        id: t.id,
        body,
        restored,
    })
}

/// What the quick road takes from a line beside its body: the id, and in a
/// restore the ledger's fields.
#[derive(Default)]
struct Taken {
    restore: bool,
    id: Option<Uuid>,
    seq: Option<u64>,
    recorded_at_us: Option<i64>,
    hash: Option<chain::Hash>,
    schema_version: Option<u16>,
}

/// Deserializes `text` as `T`, passing over `type` and taking the rest.
fn direct<T: DeserializeOwned>(text: &str, taken: &mut Taken) -> Option<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = T::deserialize(Skipping { de: &mut de, taken }).ok()?;
    de.end().ok()?;
    Some(v)
}

/// A JSON object read as a struct, without its `type`, `id` and ledger
/// keys (taken aside, or refused where they do not belong).
struct Skipping<'a, 'de> {
    de: &'a mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
    taken: &'a mut Taken,
}

impl<'de> serde::Deserializer<'de> for Skipping<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("an event is an object"))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        serde::Deserializer::deserialize_map(
            &mut *self.de,
            SkippingVisitor {
                inner: visitor,
                taken: self.taken,
            },
        )
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

struct SkippingVisitor<'a, V> {
    inner: V,
    taken: &'a mut Taken,
}

impl<'de, V: serde::de::Visitor<'de>> serde::de::Visitor<'de> for SkippingVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(SkippingMap {
            map,
            taken: self.taken,
            seen_type: false,
        })
    }
}

struct SkippingMap<'a, A> {
    map: A,
    taken: &'a mut Taken,
    seen_type: bool,
}

/// A key, borrowed from the text when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(v.to_string().into()))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de, A: serde::de::MapAccess<'de>> serde::de::MapAccess<'de> for SkippingMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        use serde::de::{Error as _, IntoDeserializer as _};
        loop {
            let Some(Key(key)) = self.map.next_key::<Key>()? else {
                return Ok(None);
            };
            match key.as_ref() {
                "type" if !self.seen_type => {
                    self.seen_type = true;
                    self.map.next_value::<serde::de::IgnoredAny>()?;
                }
                "id" if self.taken.id.is_none() => {
                    let text: std::borrow::Cow<str> = self.map.next_value::<Key>()?.0;
                    let id = Uuid::parse_str(&text).map_err(|_| A::Error::custom("id"))?;
                    self.taken.id = Some(id);
                }
                "seq" if self.taken.restore && self.taken.seq.is_none() => {
                    self.taken.seq = Some(self.map.next_value::<u64>()?);
                }
                "recorded_at" if self.taken.restore && self.taken.recorded_at_us.is_none() => {
                    let text = self.map.next_value::<Key>()?.0;
                    let at = chain::parse_timestamp(&text);
                    self.taken.recorded_at_us = Some(at.ok_or_else(|| A::Error::custom("time"))?);
                }
                "hash" if self.taken.restore && self.taken.hash.is_none() => {
                    let text = self.map.next_value::<Key>()?.0;
                    let hash = chain::parse_hash_text(&text);
                    self.taken.hash = Some(hash.ok_or_else(|| A::Error::custom("hash"))?);
                }
                "schema_version" if self.taken.restore && self.taken.schema_version.is_none() => {
                    self.taken.schema_version = Some(self.map.next_value::<u16>()?);
                }
                "type" | "id" => return Err(A::Error::custom("a key twice")),
                k if RESERVED.contains(&k) => return Err(A::Error::custom("reserved")),
                _ => return seed.deserialize(key.into_deserializer()).map(Some),
            }
        }
    }

    fn next_value_seed<S: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

fn inconsistent(at: &Location, field: String, ja: &str, en: &str) -> InputError {
    InputError::new(
        at.with_field(field),
        InputErrorKind::Inconsistent {
            detail_ja: ja.into(),
            detail_en: en.into(),
        },
    )
}

/// Cross-field rules of one event (the fourth layer of validation).
fn check_fields(body: &EventBody, at: &Location, prefix: &str, errors: &mut Vec<InputError>) {
    let f = |name: &str| format!("{prefix}{name}");
    match body {
        EventBody::ProjectDefined(e) if e.municipalities.is_empty() => {
            errors.push(inconsistent(
                at,
                f("municipalities"),
                "市町村を1つ以上指定してください",
                "name at least one municipality",
            ));
        }
        EventBody::MenuDefined(e) => {
            let mut years: Vec<u16> = e.targets.iter().map(|t| t.fiscal_year.0).collect();
            years.sort_unstable();
            if years.windows(2).any(|w| w[0] == w[1]) {
                errors.push(inconsistent(
                    at,
                    f("targets"),
                    "同じ年度の目標が2つあります",
                    "two targets for the same fiscal year",
                ));
            }
        }
        EventBody::Attendance(e) => {
            if e.person.is_none() && e.establishment.is_none() {
                errors.push(InputError::new(
                    at.with_field(f("person")),
                    InputErrorKind::MissingField,
                ));
            }
            if e.role == Role::Establishment && e.establishment.is_none() {
                errors.push(inconsistent(
                    at,
                    f("establishment"),
                    "role が establishment のときは establishment が必要です",
                    "role establishment needs an establishment",
                ));
            }
        }
        EventBody::Hire(e) => {
            if let (Some(offer), Some(start)) = (e.offer_date, e.start_date) {
                if offer > start {
                    errors.push(inconsistent(
                        at,
                        f("offer_date"),
                        &format!("内定日 {offer} が就職日 {start} より後です"),
                        &format!("offer_date {offer} is after start_date {start}"),
                    ));
                }
            }
            if let (Some(iv), Some(offer)) = (e.interviewed_on, e.offer_date) {
                if iv > offer {
                    errors.push(inconsistent(
                        at,
                        f("interviewed_on"),
                        &format!("面接日 {iv} が内定日 {offer} より後です"),
                        &format!("interviewed_on {iv} is after offer_date {offer}"),
                    ));
                }
            }
        }
        EventBody::PlanApproved(e) if e.menus.is_empty() => {
            errors.push(inconsistent(
                at,
                f("menus"),
                "メニューを1つ以上指定してください",
                "name at least one menu",
            ));
        }
        EventBody::Correction(e) => {
            if matches!(
                *e.replacement,
                EventBody::Correction(_) | EventBody::Retraction(_)
            ) {
                errors.push(inconsistent(
                    at,
                    f("replacement.type"),
                    "訂正の内容を訂正・取消にはできません",
                    "a replacement cannot be a correction or a retraction",
                ));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<InputEvent, Vec<InputError>> {
        let Value::Object(m) = v else {
            panic!("object")
        };
        parse_object(m, &Location::line("t.jsonl", 7), Mode::Append, Vec::new())
    }

    fn first_error(v: Value) -> (String, String) {
        let e = parse(v).unwrap_err().remove(0);
        (e.at.field.clone().unwrap_or_default(), e.code().to_string())
    }

    #[test]
    fn contract_example_attendance_parses() {
        let e = parse(json!({"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P-0001","residence":"in_region","intent_confirmed":true})).unwrap();
        assert_eq!(e.body.type_name(), "attendance");
        assert_eq!(e.line, 7);
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            first_error(
                json!({"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P","colour":"red"})
            ),
            ("colour".into(), "unknown_field".into())
        );
        assert_eq!(
            first_error(
                json!({"type":"attendance","menu":"B-01","date":"2024-02-30","role":"job_seeker","person":"P"})
            ),
            ("date".into(), "invalid_date".into())
        );
        assert_eq!(
            first_error(
                json!({"type":"attendance","menu":"B-01","date":"2024-02-03","role":"boss","person":"P"})
            ),
            ("role".into(), "invalid_enum".into())
        );
        assert_eq!(
            first_error(
                json!({"type":"hire","person":"P","start_date":null,"workplace":"in_region","weekly_hours":169})
            ),
            ("weekly_hours".into(), "out_of_range".into())
        );
        assert_eq!(
            first_error(
                json!({"type":"startup","person":"P","date":"2025-01-01","location":"in_region","employees":-1})
            ),
            ("employees".into(), "out_of_range".into())
        );
        assert_eq!(
            first_error(
                json!({"type":"project_defined","project":"p","name":"n","region_kind":"shortage","municipalities":["a"],"contract_start":"2024-10-01","years":4})
            ),
            ("years".into(), "out_of_range".into())
        );
        assert_eq!(
            first_error(
                json!({"type":"attendance","menu":"B-01","date":"2024-02-03","role":"job_seeker","person":"P","student":{"school":"kindergarten","graduating_year":2025}})
            ),
            ("student.school".into(), "invalid_enum".into())
        );
        assert_eq!(
            first_error(
                json!({"type":"hire","person":"P","workplace":"in_region","weekly_hours":40})
            ),
            ("start_date".into(), "missing_field".into())
        );
        assert_eq!(
            first_error(json!({"type":"party"})),
            ("type".into(), "unknown_type".into())
        );
        assert_eq!(
            first_error(
                json!({"type":"attendance","menu":"B-01","date":"2024-02-03","role":"job_seeker","person":"P","seq":3})
            ),
            ("seq".into(), "reserved_field".into())
        );
    }

    /// The slow road for a line: a map, then the typed struct (a restore
    /// keeps the line's bytes, as `read_events_partial` does).
    fn slow(line: &str, mode: Mode) -> Result<InputEvent, Vec<InputError>> {
        let at = Location::line("t.jsonl", 3);
        let obj = crate::io::jsonl::read_object(line.as_bytes(), &at)?;
        let raw = match mode {
            Mode::Append => Vec::new(),
            Mode::Restore => line.as_bytes().to_vec(),
        };
        parse_object(obj, &at, mode, raw)
    }

    /// Holds the quick road to the slow one on every line, checks that each
    /// of the first `ordinary` lines but corrections takes it, and returns
    /// how many of the lines after them it took.
    fn quick_agrees_with_slow(lines: &[String], ordinary: usize, mode: Mode) -> usize {
        let (mut quick, mut quick_ordinary) = (0, 0);
        for (i, line) in lines.iter().enumerate() {
            if let Some(f) = parse_line_quick(line, 3, mode) {
                assert_eq!(Ok(f), slow(line, mode), "line {line}");
                quick += 1;
                if i < ordinary {
                    quick_ordinary += 1;
                }
            }
        }
        let corrections = lines[..ordinary]
            .iter()
            .filter(|l| l.contains(r#""type":"correction""#))
            .count();
        assert_eq!(quick_ordinary, ordinary - corrections);
        quick - quick_ordinary
    }

    /// Whatever the quick road accepts, the slow road accepts with the same
    /// event; it takes the ordinary lines of a generated council; and it
    /// leaves every odd line (repeated keys, ledger fields, escaped keys,
    /// wrong types, corrections) to the slow road or agrees with it.
    #[test]
    fn the_quick_road_agrees_with_the_slow_one() {
        let mut lines: Vec<String> =
            crate::synth::generate_jsonl(&crate::synth::SynthConfig::default())
                .lines()
                .map(str::to_string)
                .collect();
        for f in [
            "tests/fixtures/council_small.jsonl",
            "tests/fixtures/contract_examples.jsonl",
        ] {
            let text = std::fs::read_to_string(f).unwrap();
            lines.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string),
            );
        }
        let ordinary = lines.len();
        let base = [
            r#"{"type":"attendance","menu":"B-01","date":"2024-11-20","role":"job_seeker","person":"P-0001","residence":"in_region","intent_confirmed":true}"#,
            r#"{"type":"hire","person":"P","start_date":"2025-01-06","offer_date":"2024-12-01","workplace":"in_region","weekly_hours":37.5}"#,
        ];
        for b in base {
            let inner = &b[1..b.len() - 1];
            for extra in [
                r#""seq":3"#,
                r#""hash":"x""#,
                r#""id":"0190a000-0000-7000-8000-000000000001""#,
                r#""id":"not-a-uuid""#,
                r#""id":null"#,
                r#""id":7"#,
                r#""colour":"red""#,
                r#""type":"attendance""#,
                r#""type":"hire""#,
                r#""person":"Q""#,
                r#""\u0070erson":"Q""#,
                r#""date":"2024-02-30""#,
                r#""weekly_hours":"40""#,
                r#""weekly_hours":37.555"#,
                r#""menu":null"#,
            ] {
                lines.push(format!("{{{inner},{extra}}}"));
                lines.push(format!("{{{extra},{inner}}}"));
            }
            lines.push(format!("{{ {} }}", inner.replace(',', " ,\n ")));
            lines.push(inner.replace(r#""type""#, r#""\u0074ype""#));
            lines.push(format!(
                "{{{}}}",
                inner.replace(r#""type""#, r#""\u0074ype""#)
            ));
            lines.push(format!("[{b}]"));
            lines.push(format!("{b} x"));
            lines.push(format!("{b}{b}"));
        }
        lines.push(r#"{"type":"correction","target":"0190a000-0000-7000-8000-000000000000","reason":"typo","replacement":{"type":"attendance","menu":"B-01","date":"2024-12-01","role":"job_seeker","person":"P"}}"#.into());
        lines.push(r#"{"type":"retraction","target":"0190a000-0000-7000-8000-000000000000","reason":"typo"}"#.into());
        // Every ordinary line but corrections takes the quick road.
        let odd = quick_agrees_with_slow(&lines, ordinary, Mode::Append);
        assert!(ordinary > 900, "{ordinary}");
        // An id first or last, spaces, an escaped `type`, both bases; and the
        // retraction.
        assert_eq!(odd, 9, "odd lines taken");
    }

    /// The same in a restore: export lines, and lines whose ledger fields
    /// are missing, repeated, of the wrong type or out of range.
    #[test]
    fn the_quick_road_agrees_with_the_slow_one_in_a_restore() {
        use crate::journal::{ManualClock, MemStorage};
        let clock = std::sync::Arc::new(ManualClock::at(1_730_000_000_000_000));
        let mut l =
            crate::ledger::Ledger::with_storage(Box::new(MemStorage::default()), clock).unwrap();
        let text = crate::synth::generate_jsonl(&crate::synth::SynthConfig::default());
        let events = crate::io::read_events(
            text.as_bytes(),
            "t.jsonl",
            crate::io::InputFormat::JsonLines,
            Mode::Append,
        )
        .unwrap();
        l.append(events, "t.jsonl", Default::default()).unwrap();
        let mut export = Vec::new();
        l.export(&mut export).unwrap();
        let mut lines: Vec<String> = String::from_utf8(export)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let ordinary = lines.len();
        let base = lines[5].clone();
        let v: Value = serde_json::from_str(&base).unwrap();
        let without = |keys: &[&str]| {
            let mut m = v.as_object().unwrap().clone();
            for k in keys {
                m.remove(*k);
            }
            Value::Object(m)
        };
        for k in ["seq", "recorded_at", "hash", "schema_version", "id"] {
            lines.push(without(&[k]).to_string());
        }
        let inner = without(&["seq"]).to_string();
        let inner = &inner[1..inner.len() - 1];
        for seq in ["0", "-1", "1.0", "\"6\"", "null", "6", "6,\"seq\":6"] {
            lines.push(format!("{{\"seq\":{seq},{inner}}}"));
        }
        let inner = without(&["schema_version"]).to_string();
        let inner = &inner[1..inner.len() - 1];
        for version in ["1", "2", "0", "70000", "\"1\""] {
            lines.push(format!("{{{inner},\"schema_version\":{version}}}"));
        }
        let inner = without(&["recorded_at", "hash"]).to_string();
        let inner = &inner[1..inner.len() - 1];
        for (at, hash) in [
            (
                "\"2024-11-20T00:00:00.000001Z\"",
                format!("\"sha256:{}\"", "0".repeat(64)),
            ),
            ("\"2024-11-20\"", format!("\"sha256:{}\"", "0".repeat(64))),
            (
                "\"2024-11-20T00:00:00Z\"",
                format!("\"sha256:{}\"", "A".repeat(64)),
            ),
            ("1", "\"x\"".to_string()),
        ] {
            lines.push(format!("{{{inner},\"recorded_at\":{at},\"hash\":{hash}}}"));
        }
        let odd = quick_agrees_with_slow(&lines, ordinary, Mode::Restore);
        // Of the odd lines: seq 6 first, version 1 last, and a time and
        // hash in their forms (the chain is not the parser's to check).
        assert_eq!(odd, 3, "odd lines taken");
        // An export line is not a new event.
        assert_eq!(parse_line_quick(&base, 3, Mode::Append), None);
    }

    #[test]
    fn offer_after_start_is_refused() {
        assert_eq!(
            first_error(
                json!({"type":"hire","person":"P","start_date":"2025-01-06","offer_date":"2025-02-01","workplace":"in_region","weekly_hours":40})
            ),
            ("offer_date".into(), "inconsistent".into())
        );
    }

    #[test]
    fn correction_errors_name_the_nested_field() {
        assert_eq!(
            first_error(
                json!({"type":"correction","target":"0190a000-0000-7000-8000-000000000000","reason":"typo","replacement":{"type":"attendance","menu":"B-01","date":"2024-13-01","role":"job_seeker","person":"P"}})
            ),
            ("replacement.date".into(), "invalid_date".into())
        );
    }

    #[test]
    fn fractional_hours_keep_two_decimals() {
        let e = parse(json!({"type":"hire","person":"P","start_date":null,"workplace":"in_region","weekly_hours":37.5})).unwrap();
        let EventBody::Hire(h) = e.body else { panic!() };
        assert_eq!(h.weekly_hours.hundredths(), 3750);
        assert_eq!(first_error(json!({"type":"hire","person":"P","start_date":null,"workplace":"in_region","weekly_hours":37.555})).1, "invalid_value");
    }
}
