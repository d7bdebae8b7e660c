//! SCIM filters (`GET /scim/v2/Users?filter=…`) and PATCH paths, which carry the same value
//! filters (`emails[type eq "work"].value`): parsed and evaluated against a rendered User and
//! Group as a request does, then used as the path of add, replace and remove operations.
//! Checked: errors say something; a patched resource is still an object the filter can be
//! evaluated against.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::sync::LazyLock;
use tandem_web::{scim_apply_patch, scim_filter_matches};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

static USER: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "u1",
        "userName": "Alice@Corp.example",
        "externalId": "00uABC",
        "active": true,
        "displayName": "Alice Berg",
        "title": "Controller",
        "name": {"givenName": "Alice", "familyName": "Berg"},
        "emails": [
            {"value": "alice@corp.example", "type": "work", "primary": true},
            {"value": "alice@home.example", "type": "home"}
        ],
        "phoneNumbers": [{"value": "+47 22 00 00 00", "type": "work"}],
        "groups": [{"value": "g1", "display": "Finance"}],
        ENTERPRISE: {
            "employeeNumber": "E1001",
            "department": "Finance",
            "manager": {"value": "u0", "displayName": "Bo"}
        },
        "meta": {"resourceType": "User", "created": "2026-01-05T08:00:00Z", "version": "W/\"3\""}
    })
});

static GROUP: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "Finance",
        "members": [{"value": "u1", "display": "Alice Berg"}, {"value": "u2"}],
        "meta": {"resourceType": "Group"}
    })
});

fn check_filter(filter: &str, resource: &Value) {
    if let Err(e) = scim_filter_matches(filter, resource) {
        assert!(!e.trim().is_empty(), "blank error for filter {filter:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    check_filter(input, &USER);
    check_filter(input, &GROUP);
    let values = [
        None,
        Some(json!("x")),
        Some(json!({"value": "v", "type": "work"})),
        Some(json!([{"value": "u3"}])),
    ];
    for resource in [&*USER, &*GROUP] {
        for op in ["add", "replace", "remove"] {
            for value in &values {
                let mut patched = resource.clone();
                match scim_apply_patch(&mut patched, op, Some(input), value.clone()) {
                    Ok(()) => {
                        assert!(patched.is_object(), "{op} {input:?} left a non-object");
                        check_filter(input, &patched);
                    }
                    Err(e) => assert!(!e.trim().is_empty(), "blank error for {op} {input:?}"),
                }
            }
        }
    }
});
