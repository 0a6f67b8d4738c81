//! jisseki (実績): an event-sourced, hash-chained ledger of participants and
//! outcomes for Japan's Regional Employment Activation Programme
//! (地域雇用活性化推進事業). See `ARCHITECTURE.md` for the map.

#![warn(missing_docs)]

pub mod cli;
pub mod domain;
pub mod error;
pub mod evaluate;
pub mod i18n;
pub mod io;
pub mod journal;
pub mod ledger;
pub mod par;
pub mod proposal;
pub mod synth;
pub mod table;

pub use ledger::{Access, AppendOptions, AppendReport, Ledger, LedgerError, LogFilter};
pub mod projection;
pub mod report;
pub mod rules;
pub mod schema;
pub mod server;
