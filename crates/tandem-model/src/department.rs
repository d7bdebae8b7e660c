//! The departments that work incidents together.

use serde::{Deserialize, Serialize};

/// The departments that respond to incidents (`../shared/PRODUCT.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    It,
    Security,
    Facilities,
    Hr,
    Legal,
    Comms,
    Finance,
}

impl Department {
    pub const ALL: [Department; 7] = [
        Department::It,
        Department::Security,
        Department::Facilities,
        Department::Hr,
        Department::Legal,
        Department::Comms,
        Department::Finance,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Department::It => "it",
            Department::Security => "security",
            Department::Facilities => "facilities",
            Department::Hr => "hr",
            Department::Legal => "legal",
            Department::Comms => "comms",
            Department::Finance => "finance",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Department::It => "IT",
            Department::Security => "Security",
            Department::Facilities => "Facilities",
            Department::Hr => "HR",
            Department::Legal => "Legal",
            Department::Comms => "Comms",
            Department::Finance => "Finance",
        }
    }

    pub fn parse(s: &str) -> Option<Department> {
        Department::ALL.into_iter().find(|d| d.code() == s)
    }
}

impl std::fmt::Display for Department {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Department {
    type Err = String;
    fn from_str(s: &str) -> Result<Department, String> {
        Department::parse(s).ok_or_else(|| {
            format!(
                "unknown department {s:?}; known: {}",
                Department::ALL.map(Department::code).join(", ")
            )
        })
    }
}
