//! Hostile input: audit.
