//! Leads: detecting sales opportunities in five languages, pre-qualifying
//! them with a message in the author's language, and handing them to sales.
//!
//! * [`detect`]: a scored, reasoned decision per message.
//! * [`eval`]: precision and recall on a labelled file.

pub mod detect;
pub mod eval;
mod lexicon;

pub use detect::{detect, Detection};
