//! Leads: detecting sales opportunities in five languages, pre-qualifying
//! them with a message in the author's language, and handing them to sales.
//!
//! * [`detect`]: a scored, reasoned decision per message.
//! * [`prequalify`]: the lead step of the decision (look up the open lead,
//!   record the lead or attach a follow-up, extract contact details); the
//!   playbook's lead rows are `decide::lead`.
//! * [`handoff`]: the signed, retried webhook to sales.
//! * [`update`]: a person's change to a lead, checked and audited.
//! * [`export`]: the CSV export and the dates people type to choose it.
//! * [`eval`]: precision and recall on a labelled file.

pub mod detect;
pub mod eval;
pub mod export;
pub mod handoff;
pub mod prequalify;
pub mod update;

pub use detect::{detect, Detection};
pub use handoff::DeliverLead;
pub use prequalify::{prepare, record, Contact, LeadStep};
