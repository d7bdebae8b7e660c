//! tandem-ingest decodes wire formats and nothing else: what happens to an event afterwards
//! (resolution, detection, storage, listeners) is tandem-pipeline's. This keeps it so, and
//! keeps detection's tests, which decode with this crate, free of a dependency loop.

/// Crates the decoders must never reach, in any dependency section.
const FORBIDDEN: &[&str] = &[
    "tandem-identity",
    "tandem-detect",
    "tandem-store",
    "tandem-pipeline",
    "tandem-web",
    "tokio",
    "rumqttc",
];

#[test]
fn tandem_ingest_depends_on_no_later_stage() {
    let manifest = include_str!("../Cargo.toml");
    let mut section = "";
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if !section.contains("dependencies") {
            continue;
        }
        let name = line.split(['=', ' ', '.']).next().unwrap_or_default();
        assert!(
            !FORBIDDEN.contains(&name),
            "tandem-ingest must not depend on {name} ({section}); that belongs in tandem-pipeline"
        );
    }
}
