//! Mail that employees report: what Tandem reads from a suspicious message, and where it
//! collects the messages employees forward to the report-phishing mailbox.
//!
//! A reported mail is hostile input by definition. Nothing here renders it: its HTML is read
//! as text, its links are defanged for display, its attachments are only hashed. Parsing never
//! fails outright; what could not be read is said, and the rest is kept.

pub mod analyse;
pub mod forwarded;
pub mod imap;

pub use analyse::{MailAnalysis, SimulationMarkers, analyse};
