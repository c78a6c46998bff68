//! Words: the one way replyd reads text for keywords, and every built-in
//! word list it reads for.
//!
//! The rules layer, lead detection, the guardrails, the facts file and the
//! store's search text all match words the same way, so a keyword a brand
//! writes means the same thing wherever it goes:
//!
//! * [`normalize`]: the form every text and every keyword is compared in
//!   (case, accents, styled letters and invisible characters folded away).
//! * [`pattern`]: the keyword syntax and its compiled matcher
//!   ([`KeywordList`], [`compile_keywords`]).
//! * `lexicon`: the built-in word lists, one file per reader: the rules
//!   layer's risk and intent tables, lead detection's context cues and the
//!   guardrails' lists.
//!
//! It knows nothing of what the words are for: the modules that read them
//! decide that, so it depends on nothing in the crate but `domain`'s
//! languages and flags.

pub(crate) mod lexicon;
pub mod normalize;
pub mod pattern;

pub use normalize::normalize;
pub use pattern::{compile_keywords, KeywordList, PatternError};
