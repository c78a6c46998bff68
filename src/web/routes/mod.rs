//! The HTTP API's routes, one file per resource.

pub mod context;
pub mod ingest;
pub mod leads;
pub mod messages;
pub mod meta_webhook;
pub mod ops;
pub mod reviews;
pub mod workbench;
