//! The hash chain and the canonical bytes it hashes.
//!
//! `hash(n) = SHA-256(hash(n-1) ‖ canonical(n))`, with 32 zero bytes before
//! the first event. `canonical(n)` is the event's export object without
//! `hash`: JSON with keys sorted by code point at every level, no
//! whitespace, UTF-8 unescaped. Python's
//! `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
//! produces the same bytes, so an auditor can check an export with ordinary
//! tools (`tools/verify_export.py`). `docs/format.md` is the full spec.

use crate::domain::{EventBody, EVENT_SCHEMA_VERSION};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The hash before the first event.
pub const GENESIS: Hash = [0u8; 32];

/// An event as the ledger recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Global sequence number, from 1, gap-free.
    pub seq: u64,
    /// Transaction time (T-2), microseconds since the Unix epoch, UTC.
    pub recorded_at_us: i64,
    /// Event id.
    pub id: Uuid,
    /// Event schema version it was written with.
    pub schema_version: u16,
    /// What happened.
    pub body: EventBody,
    /// The chain hash after this event.
    pub hash: Hash,
}

/// Formats a hash as `sha256:<64 lower-case hex digits>`.
pub fn hash_text(h: &Hash) -> String {
    format!("sha256:{}", hex::encode(h))
}

/// Parses `sha256:<64 lower-case hex digits>` exactly.
pub fn parse_hash_text(s: &str) -> Option<Hash> {
    let hex_part = s.strip_prefix("sha256:")?;
    if hex_part.len() != 64
        || !hex_part
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

/// Formats transaction time as RFC 3339 UTC with exactly six decimals.
pub fn timestamp_text(us: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(us) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Micros, true),
        None => format!("invalid-timestamp-{us}"),
    }
}

/// Parses RFC 3339 to microseconds since the epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
}

/// The export object of an event, without `hash`.
pub fn canonical_object(
    seq: u64,
    recorded_at_us: i64,
    id: Uuid,
    schema_version: u16,
    body: &EventBody,
) -> Map<String, Value> {
    let mut obj = match serde_json::to_value(body) {
        Ok(Value::Object(m)) => m,
        // Every body serializes to an object carrying its `type`.
        other => unreachable!("event bodies serialize to objects: {other:?}"),
    };
    obj.insert("id".into(), Value::String(id.hyphenated().to_string()));
    obj.insert("seq".into(), Value::from(seq));
    obj.insert(
        "recorded_at".into(),
        Value::String(timestamp_text(recorded_at_us)),
    );
    obj.insert("schema_version".into(), Value::from(schema_version));
    obj
}

/// Writes `v` as canonical JSON: keys sorted at every level, no whitespace.
///
/// serde_json's `Map` keeps insertion order when its `preserve_order`
/// feature is on (some dependencies turn it on), so the keys are sorted here
/// explicitly rather than trusting the map.
pub fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_canonical(&m[k], out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(x, out);
            }
            out.push(b']');
        }
        Value::String(s) => write_string(s, out),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Null => out.extend_from_slice(b"null"),
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    // serde_json escapes exactly `"`, `\` and control characters, as Python's
    // json module does with ensure_ascii=False.
    match serde_json::to_writer(&mut *out, s) {
        Ok(()) => {}
        Err(e) => unreachable!("writing to a Vec cannot fail: {e}"),
    }
}

/// The canonical bytes of an event (its export object without `hash`).
pub fn canonical_bytes(
    seq: u64,
    recorded_at_us: i64,
    id: Uuid,
    schema_version: u16,
    body: &EventBody,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(384);
    write_event(
        &mut out,
        seq,
        recorded_at_us,
        id,
        schema_version,
        body,
        None,
    );
    out
}

/// The canonical bytes of recorded events, one after another in one
/// buffer, with where each ends.
pub fn canonical_run_recorded(recs: &[RecordedEvent]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(recs.len() * 320);
    let mut ends = Vec::with_capacity(recs.len());
    for r in recs {
        write_event(
            &mut out,
            r.seq,
            r.recorded_at_us,
            r.id,
            r.schema_version,
            &r.body,
            None,
        );
        ends.push(out.len());
    }
    (out, ends)
}

/// Events whose canonical bytes one thread writes at a time while the
/// chain is run over those before.
const CANONICAL_RUN: usize = 512;

/// The chain hash each of `recs` should have, recomputed from its content
/// and the one before, starting after `prev`. The canonical bytes are
/// written on every core while this thread runs the chain over them.
pub fn expected_hashes(recs: &[RecordedEvent], mut prev: Hash) -> Vec<Hash> {
    let parts: Vec<&[RecordedEvent]> = recs.chunks(CANONICAL_RUN).collect();
    let mut hashes = Vec::with_capacity(recs.len());
    crate::par::map_in_order(
        &parts,
        2,
        |part| canonical_run_recorded(part),
        |(bytes, ends)| {
            let mut start = 0;
            for end in ends {
                prev = chain_hash(&prev, &bytes[start..end]);
                hashes.push(prev);
                start = end;
            }
        },
    );
    hashes
}

/// Writes the body's fields and the ledger's (`id`, `seq`, `recorded_at`,
/// `schema_version`, and `hash` if given) as one canonical object.
fn write_event(
    out: &mut Vec<u8>,
    seq: u64,
    recorded_at_us: i64,
    id: Uuid,
    schema_version: u16,
    body: &EventBody,
    hash: Option<&Hash>,
) {
    let mut obj = super::canonical::Object::new(out);
    if let Err(e) = obj.fields_of(body) {
        // Every body serializes to an object carrying its `type`.
        unreachable!("event bodies serialize to objects: {e}");
    }
    obj.str_field(
        "id",
        id.hyphenated().encode_lower(&mut Uuid::encode_buffer()),
    );
    obj.u64_field("seq", seq);
    RECORDED_AT.with_borrow_mut(|(us, text)| {
        // One append gives all its events one time: format it once.
        if *us != Some(recorded_at_us) {
            *text = timestamp_text(recorded_at_us);
            *us = Some(recorded_at_us);
        }
        obj.str_field("recorded_at", text);
    });
    obj.u64_field("schema_version", u64::from(schema_version));
    if let Some(h) = hash {
        obj.str_field("hash", &hash_text(h));
    }
    obj.finish();
}

thread_local! {
    /// The last transaction time formatted on this thread.
    static RECORDED_AT: std::cell::RefCell<(Option<i64>, String)> =
        const { std::cell::RefCell::new((None, String::new())) };
}

/// One link of the chain.
pub fn chain_hash(prev: &Hash, canonical: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical);
    h.finalize().into()
}

impl RecordedEvent {
    /// Seals a new event onto the chain after `prev`.
    pub fn seal(
        seq: u64,
        recorded_at_us: i64,
        id: Uuid,
        body: EventBody,
        prev: &Hash,
    ) -> RecordedEvent {
        let canonical = canonical_bytes(seq, recorded_at_us, id, EVENT_SCHEMA_VERSION, &body);
        let hash = chain_hash(prev, &canonical);
        RecordedEvent {
            seq,
            recorded_at_us,
            id,
            schema_version: EVENT_SCHEMA_VERSION,
            body,
            hash,
        }
    }

    /// The hash this event should have after `prev`, recomputed from its
    /// content.
    pub fn expected_hash(&self, prev: &Hash) -> Hash {
        chain_hash(
            prev,
            &canonical_bytes(
                self.seq,
                self.recorded_at_us,
                self.id,
                self.schema_version,
                &self.body,
            ),
        )
    }

    /// The export line: canonical JSON including `hash`, without newline.
    pub fn export_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(448);
        write_event(
            &mut out,
            self.seq,
            self.recorded_at_us,
            self.id,
            self.schema_version,
            &self.body,
            Some(&self.hash),
        );
        out
    }

    /// The export object (with `hash`), for `log --format json`.
    pub fn export_object(&self) -> Map<String, Value> {
        let mut obj = canonical_object(
            self.seq,
            self.recorded_at_us,
            self.id,
            self.schema_version,
            &self.body,
        );
        obj.insert("hash".into(), Value::String(hash_text(&self.hash)));
        obj
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The canonical bytes by the slow, obvious road: a `Value`, written with
    /// sorted keys. The fast writer must give exactly these.
    fn via_value(r: &RecordedEvent, with_hash: bool) -> Vec<u8> {
        let mut obj = canonical_object(r.seq, r.recorded_at_us, r.id, r.schema_version, &r.body);
        if with_hash {
            obj.insert("hash".into(), Value::String(hash_text(&r.hash)));
        }
        let mut out = Vec::new();
        write_canonical(&Value::Object(obj), &mut out);
        out
    }

    #[test]
    fn the_fast_canonical_writer_agrees_with_the_value_road() {
        let text = crate::synth::generate_jsonl(&crate::synth::SynthConfig::default());
        let mut fixtures = String::new();
        for f in [
            "tests/fixtures/council_small.jsonl",
            "tests/fixtures/contract_examples.jsonl",
        ] {
            fixtures.push_str(&std::fs::read_to_string(f).unwrap_or_default());
        }
        let mut prev = GENESIS;
        let mut n = 0;
        for (i, line) in text.lines().chain(fixtures.lines()).enumerate() {
            let mut v: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
            v.remove("id");
            let body: EventBody = serde_json::from_value(Value::Object(v)).unwrap();
            let r = RecordedEvent::seal(
                i as u64 + 1,
                1_732_000_000_123_456,
                Uuid::now_v7(),
                body,
                &prev,
            );
            prev = r.hash;
            assert_eq!(
                canonical_bytes(r.seq, r.recorded_at_us, r.id, r.schema_version, &r.body),
                via_value(&r, false),
                "line {line}"
            );
            assert_eq!(r.export_line(), via_value(&r, true));
            n += 1;
        }
        assert!(n > 900);
    }

    #[test]
    fn canonical_sorts_keys_at_every_level_without_spaces() {
        let v = json!({"b": 1, "a": {"z": [true, null], "m": "日本"}});
        let mut out = Vec::new();
        write_canonical(&v, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":{"m":"日本","z":[true,null]},"b":1}"#
        );
    }

    #[test]
    fn hash_text_round_trips_and_refuses_upper_case() {
        let h = chain_hash(&GENESIS, b"x");
        assert_eq!(parse_hash_text(&hash_text(&h)), Some(h));
        assert_eq!(parse_hash_text(&hash_text(&h).to_uppercase()), None);
    }

    #[test]
    fn timestamps_have_six_decimals_and_z() {
        assert_eq!(
            timestamp_text(1_700_000_000_000_001),
            "2023-11-14T22:13:20.000001Z"
        );
        assert_eq!(
            parse_timestamp("2023-11-15T07:13:20.000001+09:00"),
            Some(1_700_000_000_000_001)
        );
    }
}
