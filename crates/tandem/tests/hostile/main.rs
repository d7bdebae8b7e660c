//! Attacks replayed against a real `tandem serve` on loopback, each asserting the behaviour
//! that holds today. One module per area; every test here failed before its fix landed.

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod auth;
mod committee;
mod identity;
mod network;
mod output;
mod playbooks;
mod reports;
mod search;
