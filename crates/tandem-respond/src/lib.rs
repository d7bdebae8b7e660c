//! Telling people and acting on other systems.
//!
//! Departments hear about their work where they already are (chat, e-mail), and the
//! busywork of a response (suspend the badge, disable the account, tell the channel) is one
//! approved click or none. This crate holds what that takes beyond the incident record
//! itself: notification channels and the rules that route case events to them, the
//! templates messages are written from, response action definitions, and the durable
//! delivery of both (an outbox in the store, retried with backoff, dead-lettered after a
//! bound). It sends nothing by itself: the `tandem` binary runs its drivers.

pub mod actions;
pub mod channels;
pub mod config;
pub mod http;
pub mod notifier;
pub mod route;
pub mod source;
pub mod templates;

pub use config::NotifyConfig;
pub use notifier::{Notifier, NotifyError};
