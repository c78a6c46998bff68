//! replyd: answers a brand's social media for it, safely.
//!
//! The pipeline, one module per stage: [`ingest`] → [`classify`] →
//! [`decide`] → [`draft`] → [`deliver`], driven by [`pipeline`] jobs that
//! the [`worker`] claims from the [`store`]. Every route, the API's and the
//! console's, is in [`web`]; nothing beneath it knows of HTTP.

pub mod app;
pub mod auth;
pub mod bench;
pub mod classify;
pub mod cli;
pub mod config;
pub mod decide;
pub mod deliver;
pub mod domain;
pub mod draft;
pub mod ingest;
pub mod init;
pub mod leads;
pub mod pipeline;
pub mod pipeline_eval;
pub mod retry;
pub mod review;
pub mod startup;
pub mod store;
pub mod summary;
pub mod telemetry;
pub mod text;
pub mod training;
pub mod web;
pub mod workbench;
pub mod worker;
