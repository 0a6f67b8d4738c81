//! Placeholder until the generator lands.
#![allow(missing_docs)]
pub struct SynthConfig { pub seed: u64 }
impl Default for SynthConfig { fn default() -> Self { SynthConfig { seed: 0 } } }
pub fn generate_jsonl(_cfg: &SynthConfig) -> String { String::new() }
