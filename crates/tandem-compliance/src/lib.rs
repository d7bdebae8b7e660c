//! Compliance evidence that collects itself.
//!
//! Auditors ask for proof that incidents are handled, entry is controlled and logs are
//! monitored; Tandem already holds that proof. This crate makes it first-class:
//!
//! - [`catalogue`]: frameworks as versioned data files (ISO/IEC 27001:2022 Annex A with our
//!   own summaries, NIST CSF 2.0), read and checked like playbooks, with file, line and
//!   reason; [`mapping`]: the cross-mapping between them;
//! - [`soa`]: the Statement of Applicability, per control an owner department,
//!   applicability and its justification, implementation status (kept by the store's
//!   [`tandem_store::ComplianceStore`]);
//! - [`evidence`]: live evidence definitions (searches in Tandem's search language, metrics
//!   from the incidents through the KPI engine, the sources and the configuration), which
//!   [`measure`] computes and the server snapshots on a schedule into an append-only,
//!   hash-chained table; a control whose evidence is missing or failing is a gap;
//! - [`export`]: the auditor's bundle, a zip with the SoA, each control's evidence (CSV,
//!   JSON, HTML) and a SHA-256 manifest.
//!
//! What it does not do: HTTP, SQL or scheduling. The web crate serves the pages and the API,
//! the binary runs the snapshot tick, the store keeps the rows.
//!
//! ```
//! let library = tandem_compliance::Library::shipped();
//! let iso = library.catalogue("iso27001-2022").unwrap();
//! assert_eq!(iso.controls().len(), 93);
//! ```

pub mod catalogue;
mod collect;
pub mod evidence;
pub mod export;
pub mod mapping;
pub mod measure;
pub mod soa;

use std::path::{Path, PathBuf};

pub use catalogue::Catalogue;
pub use collect::{ChainCheck, Compliance, ExportFailed};
pub use evidence::Definition;
pub use mapping::Mapping;
pub use measure::{Facts, FixedFacts, Sources};

/// Why a compliance file was refused: the file, the line (1-based; 0 when none applies) and
/// the reason, as for playbooks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct FileError {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// The largest compliance file read.
const MAX_FILE_BYTES: usize = 1 << 20;

/// The files Tandem ships, built into the binary.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "iso27001-2022.yaml",
        include_str!("../compliance/iso27001-2022.yaml"),
    ),
    (
        "nist-csf-2.0.yaml",
        include_str!("../compliance/nist-csf-2.0.yaml"),
    ),
    (
        "mapping-iso27001-2022-nist-csf-2.0.yaml",
        include_str!("../compliance/mapping-iso27001-2022-nist-csf-2.0.yaml"),
    ),
    ("evidence.yaml", include_str!("../compliance/evidence.yaml")),
];

/// Every catalogue, mapping and evidence definition in force.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub catalogues: Vec<Catalogue>,
    pub mappings: Vec<Mapping>,
    pub evidence: Vec<Definition>,
}

impl Library {
    /// The shipped files. They are checked by the tests, so a failure here is a defect of the
    /// build.
    pub fn shipped() -> Library {
        let (library, errors) = Library::load(&[]);
        for e in &errors {
            tracing::error!(error = %e, "a shipped compliance file is invalid");
        }
        library
    }

    /// The shipped files, then every `*.yaml` of `dirs` in name order: a catalogue or
    /// mapping of the same framework replaces the one before it (a newer version), evidence
    /// of the same id likewise. What kind a file is follows from its keys (`levels`: a
    /// catalogue, `pairs`: a mapping, `evidence`: definitions). Invalid files are left out
    /// and returned as errors, so a bad file never takes away the shipped ones.
    pub fn load(dirs: &[PathBuf]) -> (Library, Vec<FileError>) {
        let mut library = Library::default();
        let mut errors = Vec::new();
        for (name, text) in SHIPPED {
            library.add(&format!("shipped:{name}"), text, &mut errors);
        }
        for dir in dirs {
            match tandem_cases::playbook::yaml_files(dir) {
                Ok(files) => {
                    for path in files {
                        library.add_path(&path, &mut errors);
                    }
                }
                Err(e) => errors.push(FileError {
                    file: dir.display().to_string(),
                    line: 0,
                    reason: format!("cannot read the directory: {e}"),
                }),
            }
        }
        let problems = library.cross_check();
        errors.extend(problems);
        (library, errors)
    }

    fn add_path(&mut self, path: &Path, errors: &mut Vec<FileError>) {
        let file = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) if bytes.len() > MAX_FILE_BYTES => errors.push(FileError {
                file,
                line: 0,
                reason: format!(
                    "the file has {} bytes; at most {MAX_FILE_BYTES}",
                    bytes.len()
                ),
            }),
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.add(&file, &text, errors),
                Err(_) => errors.push(FileError {
                    file,
                    line: 0,
                    reason: "the file is not UTF-8".into(),
                }),
            },
            Err(e) => errors.push(FileError {
                file,
                line: 0,
                reason: format!("cannot read: {e}"),
            }),
        }
    }

    /// Adds one file's contents, by kind.
    pub fn add(&mut self, file: &str, text: &str, errors: &mut Vec<FileError>) {
        let has = |key: &str| key_line(text, key, None, 0).is_some();
        if has("levels") {
            match catalogue::parse(file, text) {
                Ok(c) => {
                    self.catalogues.retain(|o| o.framework != c.framework);
                    self.catalogues.push(c);
                }
                Err(e) => errors.extend(e),
            }
        } else if has("pairs") {
            match mapping::parse(file, text) {
                Ok(m) => {
                    self.mappings
                        .retain(|o| (&o.framework, &o.to) != (&m.framework, &m.to));
                    self.mappings.push(m);
                }
                Err(e) => errors.extend(e),
            }
        } else if has("evidence") {
            match evidence::parse(file, text) {
                Ok(f) => {
                    for d in f.evidence {
                        self.evidence.retain(|o| o.id != d.id);
                        self.evidence.push(d);
                    }
                }
                Err(e) => errors.extend(e),
            }
        } else {
            errors.push(FileError {
                file: file.to_owned(),
                line: 1,
                reason: "not a catalogue (levels), mapping (pairs) or evidence file (evidence)"
                    .into(),
            });
        }
    }

    /// Mappings and evidence that name controls no catalogue has, said once each.
    fn cross_check(&self) -> Vec<FileError> {
        let mut out = Vec::new();
        let known = |framework: &str, id: &str| {
            self.catalogue(framework)
                .is_some_and(|c| c.control(id).is_some())
        };
        for m in &self.mappings {
            for p in &m.pairs {
                for (fw, id) in
                    std::iter::once((&m.framework, &p.from)).chain(p.to.iter().map(|t| (&m.to, t)))
                {
                    if !known(fw, id) {
                        out.push(FileError {
                            file: m.origin.clone(),
                            line: 0,
                            reason: format!("`{id}` is not a control of `{fw}`"),
                        });
                    }
                }
            }
        }
        for d in &self.evidence {
            for id in &d.controls {
                if !known(&d.framework, id) {
                    out.push(FileError {
                        file: format!("evidence `{}`", d.id),
                        line: 0,
                        reason: format!("`{id}` is not a control of `{}`", d.framework),
                    });
                }
            }
        }
        out
    }

    pub fn catalogue(&self, framework: &str) -> Option<&Catalogue> {
        self.catalogues.iter().find(|c| c.framework == framework)
    }

    /// The evidence definitions for a control: those naming it, and for a framework
    /// reached through a mapping, those naming a control mapped to it.
    pub fn evidence_for(&self, framework: &str, control: &str) -> Vec<&Definition> {
        let mut out: Vec<&Definition> = self
            .evidence
            .iter()
            .filter(|d| d.framework == framework && d.controls.iter().any(|c| c == control))
            .collect();
        for m in self.mappings.iter().filter(|m| m.to == framework) {
            for from in m.backward(control) {
                for d in &self.evidence {
                    if d.framework == m.framework
                        && d.controls.iter().any(|c| c == from)
                        && !out.iter().any(|o| o.id == d.id)
                    {
                        out.push(d);
                    }
                }
            }
        }
        out
    }

    pub fn definition(&self, id: &str) -> Option<&Definition> {
        self.evidence.iter().find(|d| d.id == id)
    }
}

/// Reads YAML into `T`, a syntax or shape error as one [`FileError`] with its line.
fn read_yaml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    fallback: &str,
) -> Result<T, Vec<FileError>> {
    if text.len() > MAX_FILE_BYTES {
        return Err(vec![FileError {
            file: file.to_owned(),
            line: 0,
            reason: format!(
                "the file has {} bytes; at most {MAX_FILE_BYTES}",
                text.len()
            ),
        }]);
    }
    serde_saphyr::from_str(text).map_err(|e| {
        vec![FileError {
            file: file.to_owned(),
            line: e.location().map(|l| l.line()).unwrap_or(0),
            reason: tandem_cases::playbook::yaml_error_reason(&e, fallback),
        }]
    })
}

/// Problems found with their lines, as errors of `file` in line order, or `Ok`.
fn problems(file: &str, mut found: Vec<(u64, String)>) -> Result<(), Vec<FileError>> {
    if found.is_empty() {
        return Ok(());
    }
    found.sort_by_key(|(line, _)| *line);
    Err(found
        .into_iter()
        .map(|(line, reason)| FileError {
            file: file.to_owned(),
            line,
            reason,
        })
        .collect())
}

/// Ids of frameworks, controls and evidence: letters, digits, `.`, `-`, `_`, at most 64.
fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// The 1-based line of the `n`-th line reading `key: value` (also `- key:`, `{key: ...` in a
/// flow mapping), any value when `value` is `None`.
fn key_line(text: &str, key: &str, value: Option<&str>, n: usize) -> Option<u64> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let l = line.trim_start();
            let l = l.strip_prefix("- ").unwrap_or(l).trim_start();
            let l = l.strip_prefix('{').unwrap_or(l).trim_start();
            let Some(rest) = l.strip_prefix(key).and_then(|r| r.strip_prefix(':')) else {
                return false;
            };
            let v = rest.split([',', '}']).next().unwrap_or("");
            let v = v.split(" #").next().unwrap_or("").trim();
            let v = v.trim_matches(|c| c == '"' || c == '\'');
            value.is_none_or(|want| v == want)
        })
        .nth(n)
        .map(|(i, _)| i as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_files_load_without_errors() {
        let (library, errors) = Library::load(&[]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(library.catalogues.len(), 2);
        assert_eq!(library.mappings.len(), 1);
        assert!(library.evidence.len() >= 16);
    }

    #[test]
    fn the_shipped_evidence_covers_the_controls_auditors_ask_about() {
        let library = Library::shipped();
        for control in [
            "A.5.24", "A.5.25", "A.5.26", "A.5.27", "A.5.28", "A.7.2", "A.7.4", "A.8.15", "A.8.16",
            "A.8.17", "A.5.18", "A.6.3", "A.6.8",
        ] {
            assert!(
                !library.evidence_for("iso27001-2022", control).is_empty(),
                "{control}"
            );
        }
        for gap in ["A.5.18", "A.6.3"] {
            assert!(
                library
                    .evidence_for("iso27001-2022", gap)
                    .iter()
                    .all(|d| d.unavailable.is_some()),
                "{gap}"
            );
        }
        // Reached through the mapping.
        let ids: Vec<&str> = library
            .evidence_for("nist-csf-2.0", "DE.CM-02")
            .iter()
            .map(|d| d.id.as_str())
            .collect();
        assert!(ids.contains(&"forced-door-rate"), "{ids:?}");
    }

    #[test]
    fn a_directory_file_replaces_a_shipped_definition_and_a_bad_one_is_said_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("local.yaml"),
            "framework: iso27001-2022\nevidence:\n  - id: rules-enabled\n    title: At least ten rules on\n    controls: [A.8.16]\n    metric: rules.enabled\n    pass: {at_least: 10}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("bad.yaml"),
            "framework: iso27001-2022\nevidence:\n  - id: nothing\n    title: Two kinds\n    controls: [A.8.16]\n    metric: rules.enabled\n    query: 'class:authentication'\n  - id: typo\n    title: Unknown metric\n    controls: [A.8.16]\n    metric: rules.enabeld\n",
        )
        .unwrap();
        let (library, errors) = Library::load(&[dir.path().to_path_buf()]);
        let rules = library.definition("rules-enabled").unwrap();
        assert_eq!(rules.pass.at_least, Some(10.0));
        let said: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        let bad = dir.path().join("bad.yaml").display().to_string();
        assert!(
            said.contains(&format!(
                "{bad}:3: evidence `nothing`: give exactly one of query, ratio, metric, unavailable"
            )),
            "{said:?}"
        );
        assert!(
            said.iter().any(
                |s| s.starts_with(&format!("{bad}:8: evidence `typo`: metric `rules.enabeld`"))
            ),
            "{said:?}"
        );
    }
}
