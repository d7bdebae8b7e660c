//! Hostile input: search.
