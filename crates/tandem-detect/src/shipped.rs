//! The Sigma rules Tandem ships (`crates/tandem-detect/rules/`), built into the binary so an
//! installed Tandem has them without a source tree. At start they are written under the data
//! directory, next to customers' own rule directories, and loaded like any other rules; being
//! files, they can be read, copied and used as examples.

use std::path::Path;

/// Path under the rules directory, and the rule text.
pub const RULES: &[(&str, &str)] = &[
    (
        "device_status/access_controller_offline.yml",
        include_str!("../rules/device_status/access_controller_offline.yml"),
    ),
    (
        "device_status/camera_offline.yml",
        include_str!("../rules/device_status/camera_offline.yml"),
    ),
    (
        "physical_access/anti_passback.yml",
        include_str!("../rules/physical_access/anti_passback.yml"),
    ),
    (
        "physical_access/badge_denied_repeatedly_at_door.yml",
        include_str!("../rules/physical_access/badge_denied_repeatedly_at_door.yml"),
    ),
    (
        "physical_access/door_forced_open.yml",
        include_str!("../rules/physical_access/door_forced_open.yml"),
    ),
    (
        "physical_access/duress.yml",
        include_str!("../rules/physical_access/duress.yml"),
    ),
    (
        "physical_access/lost_or_stolen_badge_used.yml",
        include_str!("../rules/physical_access/lost_or_stolen_badge_used.yml"),
    ),
    (
        "physical_access/tamper.yml",
        include_str!("../rules/physical_access/tamper.yml"),
    ),
    (
        "physical_access/terminated_person_granted.yml",
        include_str!("../rules/physical_access/terminated_person_granted.yml"),
    ),
];

/// Writes the shipped rules into `dir`, replacing older copies (the binary's rules win: they
/// are updated with Tandem, and customers' changes belong in their own directories).
pub fn install(dir: &Path) -> std::io::Result<()> {
    for (path, text) in RULES {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read_to_string(&target).ok().as_deref() != Some(*text) {
            std::fs::write(&target, text)?;
        }
    }
    Ok(())
}
