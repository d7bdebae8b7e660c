//! A cross-mapping between two frameworks' controls (Annex A → CSF 2.0), as data.

use serde::{Deserialize, Serialize};

use crate::{FileError, key_line};

/// Which controls of `to` each control of `framework` relates to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub framework: String,
    pub to: String,
    pub version: String,
    pub pairs: Vec<Pair>,
    #[serde(skip)]
    pub origin: String,
}

/// One control and the controls of the other framework it relates to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    pub from: String,
    pub to: Vec<String>,
    /// Where the pair comes from: `nist-olir` (NIST's published informative reference) or
    /// `subject` (matched by subject, not yet checked against it).
    pub basis: String,
}

/// The bases a pair may give.
pub const BASES: &[&str] = &["nist-olir", "subject"];

pub fn parse(file: &str, text: &str) -> Result<Mapping, Vec<FileError>> {
    let mut m: Mapping = crate::read_yaml(file, text, "not a valid mapping")?;
    m.origin = file.to_owned();
    let mut problems = Vec::new();
    for p in &m.pairs {
        if !BASES.contains(&p.basis.as_str()) {
            problems.push((
                key_line(text, "from", Some(&p.from), 0).unwrap_or(1),
                format!(
                    "`{}`: basis `{}` is not one of {}",
                    p.from,
                    p.basis,
                    BASES.join(", ")
                ),
            ));
        }
    }
    crate::problems(file, problems).map(|()| m)
}

impl Mapping {
    /// The controls of `to` that `control` relates to.
    pub fn forward(&self, control: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|p| p.from == control)
            .flat_map(|p| p.to.iter().map(String::as_str))
            .collect()
    }

    /// The controls of `framework` that relate to `control` of `to`.
    pub fn backward(&self, control: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|p| p.to.iter().any(|t| t == control))
            .map(|p| p.from.as_str())
            .collect()
    }
}
