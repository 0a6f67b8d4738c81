//! The binary envelope: any bytes decode to a chunk or an error, never a
//! panic or a runaway allocation; the fast reader of the report's fold and
//! serde's decoder agree on what they accept and what they read.
#![no_main]
use jisseki::journal::codec::{decode_chunk, decode_chunk_view, for_each_view};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_chunk(data);
    let by_serde: Option<Vec<_>> = decode_chunk_view(data).ok().and_then(|c| {
        c.events
            .into_iter()
            .map(|e| e.body.into_view().ok().map(|b| (e.seq, e.recorded_at_us, e.id, e.hash, b)))
            .collect()
    });
    let mut fast = Vec::new();
    let read = for_each_view(data, |h, b| {
        fast.push((h.seq, h.recorded_at_us, h.id, h.hash, b));
        Ok::<_, ()>(true)
    });
    match (read.is_ok(), by_serde) {
        (true, Some(s)) => assert_eq!(fast, s),
        (false, None) => {}
        (fast_ok, serde) => panic!("fast reader ok: {fast_ok}, serde ok: {}", serde.is_some()),
    }
});
