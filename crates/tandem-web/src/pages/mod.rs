//! The console's pages, one module per area. Each builds on [`crate::view`] (templates, the
//! signed-in visitor, the shared wording) and records what it changes with [`crate::audit`].

pub mod actions;
pub mod alarms;
pub mod alerts;
pub mod audit;
pub mod committee;
pub mod compliance;
pub mod incidents;
pub mod investigate;
pub mod kpis;
pub mod live;
pub mod login;
pub mod notify;
pub mod playbooks;
pub mod reports;
pub mod rules;
pub mod search;
pub mod settings;
pub mod sources;
