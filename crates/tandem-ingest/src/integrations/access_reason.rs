//! The access-control denial-reason vocabulary: a vendor's wording of why a door refused a
//! credential, normalised to one [`tandem_model::Physical::reason`] value, so a detection or a
//! search for `physical.reason:expired` finds CEF exports (Lenel, C•CURE, Genetec, …) and
//! Verkada webhooks alike. Written once here; the CEF and Verkada decoders borrow it.
//!
//! The first match wins:
//!
//! | keywords | `physical.reason` |
//! |---|---|
//! | `passback`, `apb` | `anti_passback` |
//! | `lost`, `stolen` | `lost_or_stolen` |
//! | `expired` | `expired` |
//! | `not yet valid`, `not yet active`, `not active yet`, `pending activation` | `not_yet_valid` |
//! | `suspended`, `disabled`, `inactive`, `revoked`, `deactivated` | `suspended` |
//! | `pin` (whole word) | `wrong_pin` |
//! | `schedule`, `time zone`, `timezone`, `outside`, `after hours`, `out of hours` | `outside_schedule` |
//! | `no access`, `not authorized`, `unauthorized`, `not permitted`, `no permission`, `access level`, `insufficient`, `no privilege` | `no_access_to_door` |
//! | `unknown`, `invalid`, `unrecognized`, `unrecognised`, `not found`, `unassigned`, `not in database` | `unknown_credential` |
//! | anything else | `other` |

/// Whether `word` occurs in `text` delimited by non-alphanumerics.
pub(crate) fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Whether `text` contains any of `needles`.
pub(crate) fn any(text: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| text.contains(n))
}

/// Normalises a vendor's denial wording to a [`tandem_model::Physical::reason`] value (table in
/// the module docs).
pub(crate) fn normalise_reason(text: &str) -> &'static str {
    let t = text.to_lowercase();
    if t.contains("passback") || has_word(&t, "apb") {
        "anti_passback"
    } else if has_word(&t, "lost") || t.contains("stolen") {
        "lost_or_stolen"
    } else if t.contains("expired") {
        "expired"
    } else if any(
        &t,
        &[
            "not yet valid",
            "not yet active",
            "not active yet",
            "pending activation",
        ],
    ) {
        "not_yet_valid"
    } else if any(
        &t,
        &[
            "suspended",
            "disabled",
            "inactive",
            "revoked",
            "deactivated",
        ],
    ) {
        "suspended"
    } else if has_word(&t, "pin") {
        "wrong_pin"
    } else if any(
        &t,
        &[
            "schedule",
            "time zone",
            "timezone",
            "outside",
            "after hours",
            "out of hours",
        ],
    ) {
        "outside_schedule"
    } else if any(
        &t,
        &[
            "no access",
            "not authorized",
            "not authorised",
            "unauthorized",
            "unauthorised",
            "not permitted",
            "no permission",
            "access level",
            "insufficient",
            "no privilege",
        ],
    ) {
        "no_access_to_door"
    } else if any(
        &t,
        &[
            "unknown",
            "invalid",
            "unrecognized",
            "unrecognised",
            "not found",
            "unassigned",
            "not in database",
        ],
    ) {
        "unknown_credential"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        for (text, reason) in [
            ("Access denied - antipassback violation", "anti_passback"),
            ("Card reported lost", "lost_or_stolen"),
            ("Expired card", "expired"),
            ("Credential not yet active", "not_yet_valid"),
            ("Cardholder suspended", "suspended"),
            ("Invalid PIN", "wrong_pin"),
            ("Access denied: outside schedule", "outside_schedule"),
            ("No access to this door", "no_access_to_door"),
            ("Unknown credential", "unknown_credential"),
            ("Invalid badge", "unknown_credential"),
            ("Denied", "other"),
            ("Spinning", "other"),
        ] {
            assert_eq!(normalise_reason(text), reason, "{text}");
        }
    }
}
