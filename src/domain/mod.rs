//! Plain types of the domain: events, ids, dates. No I/O, no clock.

pub mod event;
pub mod values;
pub mod view;

pub use event::*;
pub use values::*;
pub use view::*;
