//! The built-in word lists, in the keyword syntax of `text/pattern.rs`, one
//! file per module that reads them. Kept apart from the code that reads
//! them so a list can be reviewed, and edited, as the vocabulary it is.

pub(crate) mod guardrails;
pub(crate) mod leads;
pub(crate) mod rules;
