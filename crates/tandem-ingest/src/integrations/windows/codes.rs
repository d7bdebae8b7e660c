//! Code tables Windows writes as numbers: logon types, NTSTATUS failure codes and Kerberos
//! result codes. Kept apart from the mapping so each table can cite its source.

/// The name of a `LogonType` value.
///
/// Source: Microsoft Learn, "4624(S): An account was successfully logged on", table "Logon
/// types and descriptions" (`SECURITY_LOGON_TYPE` in `ntsecapi.h`).
pub(super) fn logon_type_name(logon_type: &str) -> Option<&'static str> {
    Some(match logon_type.trim() {
        "0" => "System",
        "2" => "Interactive",
        "3" => "Network",
        "4" => "Batch",
        "5" => "Service",
        "7" => "Unlock",
        "8" => "NetworkCleartext",
        "9" => "NewCredentials",
        "10" => "RemoteInteractive",
        "11" => "CachedInteractive",
        "12" => "CachedRemoteInteractive",
        "13" => "CachedUnlock",
        _ => return None,
    })
}

/// Parses a hexadecimal code as Windows writes it (`0xC000006A`, `0xc000006a`, `0x0`, and the
/// rare bare `C000006A`).
pub(super) fn parse_hex(code: &str) -> Option<u32> {
    let code = code.trim();
    let digits = code
        .strip_prefix("0x")
        .or_else(|| code.strip_prefix("0X"))
        .unwrap_or(code);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// A readable reason for an NTSTATUS logon failure code (4625 `Status`/`SubStatus`, 4776
/// `Status`).
///
/// Source: Microsoft Learn, "4625(F): An account failed to log on", table of `Status` and
/// `Sub Status` codes, and "4776(S, F)" error codes (values from `ntstatus.h`).
pub(super) fn ntstatus_reason(code: u32) -> Option<&'static str> {
    Some(match code {
        0xC000_005E => "no logon servers available",
        0xC000_0064 => "no such user",
        0xC000_006A => "bad password",
        0xC000_006D => "bad user name or password",
        0xC000_006E => "account restriction",
        0xC000_006F => "outside allowed logon hours",
        0xC000_0070 => "workstation not allowed",
        0xC000_0071 => "password expired",
        0xC000_0072 => "account disabled",
        0xC000_00DC => "domain in wrong state",
        0xC000_0133 => "clock skew between client and domain controller",
        0xC000_015B => "logon type not granted",
        0xC000_018C => "trust relationship with the domain failed",
        0xC000_018D => "trust relationship failed (workstation)",
        0xC000_0192 => "netlogon service not started",
        0xC000_0193 => "account expired",
        0xC000_0224 => "must change password at next logon",
        0xC000_0225 => "internal Windows error (not a risk)",
        0xC000_0234 => "account locked out",
        0xC000_0371 => "local account store does not contain the secret",
        0xC000_0413 => "authentication firewall denied the machine",
        _ => return None,
    })
}

/// A readable reason for a Kerberos result code (4768/4769 `Status`, 4771 `Status`).
///
/// Source: Microsoft Learn, "4768(S, F): A Kerberos authentication ticket (TGT) was
/// requested", table "Kerberos RFC result codes" (RFC 4120 section 7.5.9).
pub(super) fn kerberos_reason(code: u32) -> Option<&'static str> {
    Some(match code {
        0x1 => "client entry in database has expired",
        0x3 => "bad protocol version",
        0x6 => "no such user",
        0x7 => "no such service",
        0x9 => "no key for the account",
        0xC => "policy restriction (workstation or logon hours)",
        0xD => "KDC cannot accommodate the requested option",
        0xE => "encryption type not supported",
        0xF => "checksum type not supported",
        0x10 => "PADATA type not supported",
        0x12 => "account disabled, expired or locked out",
        0x17 => "password expired",
        0x18 => "bad password",
        0x19 => "pre-authentication required",
        0x1B => "server principal valid for user-to-user only",
        0x1F => "integrity check failed",
        0x20 => "ticket expired",
        0x25 => "clock skew too great",
        0x29 => "message stream modified",
        0x3C => "generic error",
        _ => return None,
    })
}

/// Whether a `Keywords` value marks an audit failure (`Some(false)`), an audit success
/// (`Some(true)`), or neither.
///
/// Winlogbeat writes the keyword names (`["Audit Failure"]`); EVTX writes the mask in hex
/// (`0x8010000000000000`); NXLog writes it as a signed decimal (`-9218868437227405312`). The
/// audit bits are `0x0010000000000000` (failure) and `0x0020000000000000` (success)
/// (`winmeta.xml`, `WINEVENT_KEYWORD_AUDIT_FAILURE`/`_SUCCESS`).
pub(super) fn audit_outcome(keywords: &serde_json::Value) -> Option<bool> {
    use serde_json::Value;
    const FAILURE: u64 = 0x0010_0000_0000_0000;
    const SUCCESS: u64 = 0x0020_0000_0000_0000;
    let from_mask = |mask: u64| {
        if mask & FAILURE != 0 {
            Some(false)
        } else if mask & SUCCESS != 0 {
            Some(true)
        } else {
            None
        }
    };
    match keywords {
        Value::Array(items) => items.iter().find_map(audit_outcome),
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_i64().map(|i| i as u64))
            .and_then(from_mask),
        Value::String(s) => {
            let s = s.trim();
            if s.eq_ignore_ascii_case("Audit Failure") {
                Some(false)
            } else if s.eq_ignore_ascii_case("Audit Success") {
                Some(true)
            } else if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                u64::from_str_radix(hex, 16).ok().and_then(from_mask)
            } else {
                s.parse::<i64>()
                    .map(|i| i as u64)
                    .or_else(|_| s.parse::<u64>())
                    .ok()
                    .and_then(from_mask)
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hex_codes_in_any_case() {
        assert_eq!(parse_hex("0xC000006A"), Some(0xC000_006A));
        assert_eq!(parse_hex("0xc000006a"), Some(0xC000_006A));
        assert_eq!(parse_hex("0x0"), Some(0));
        assert_eq!(parse_hex("0x12"), Some(0x12));
        assert_eq!(parse_hex(""), None);
        assert_eq!(parse_hex("0x"), None);
        assert_eq!(parse_hex("0x1234567890"), None);
        assert_eq!(parse_hex("%%2313"), None);
    }

    #[test]
    fn keywords_in_every_shape() {
        assert_eq!(audit_outcome(&json!(["Audit Failure"])), Some(false));
        assert_eq!(audit_outcome(&json!(["Audit Success"])), Some(true));
        assert_eq!(audit_outcome(&json!("0x8010000000000000")), Some(false));
        assert_eq!(audit_outcome(&json!("0x8020000000000000")), Some(true));
        assert_eq!(
            audit_outcome(&json!(-9_218_868_437_227_405_312_i64)),
            Some(false)
        );
        assert_eq!(audit_outcome(&json!("-9214364837600034816")), Some(true));
        assert_eq!(audit_outcome(&json!("9232379236109516800")), Some(true));
        assert_eq!(audit_outcome(&json!("0x8000000000000000")), None);
        assert_eq!(audit_outcome(&json!(null)), None);
    }
}
