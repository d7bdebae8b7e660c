//! Distances on the Earth's surface, shared by detection (impossible travel, remote login while
//! on site) and the simulated company (the distances its scenarios describe).

/// Mean Earth radius in km, the one haversine distances use.
pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// Great-circle distance in km between two `(lat, lon)` points in degrees (haversine, mean
/// Earth radius). Clamped before the arcsine so rounding near antipodes never gives NaN.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oslo_to_bergen_is_about_305_km() {
        let km = distance_km((59.9139, 10.7522), (60.3913, 5.3221));
        assert!((300.0..310.0).contains(&km), "{km}");
        assert_eq!(distance_km((1.0, 2.0), (1.0, 2.0)), 0.0);
    }

    #[test]
    fn antipodes_are_half_the_circumference() {
        let km = distance_km((0.0, 0.0), (0.0, 180.0));
        assert!(
            (km - EARTH_RADIUS_KM * std::f64::consts::PI).abs() < 1e-6,
            "{km}"
        );
    }
}
