//! Converged IT-and-physical detections (to be written).
