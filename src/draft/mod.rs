//! Drafting the words of a reply, from the brand's templates.

pub mod templates;

pub use templates::{Draft, DraftContext, TemplateError, Templates};
