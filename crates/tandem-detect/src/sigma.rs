//! Sigma rules over Tandem events (to be written).
