//! Hostile input: network.
