//! The crate layering of `ARCHITECTURE.md` ("X knows nothing of Y"), checked against
//! `cargo metadata`: a crate that gains a dependency its rules forbid fails here, before the
//! shape of the workspace drifts.
//!
//! Only normal and build dependencies count: a crate's tests may use whatever makes them
//! real (detection's tests feed events through the decoders and a real store).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

/// For every workspace crate, the workspace crates it may depend on. A crate missing here
/// fails the test: a new crate states its place in the layering when it is added.
const ALLOWED: &[(&str, &[&str])] = &[
    // The model knows nothing of storage, decoding, identity or detection: data only.
    ("tandem-model", &[]),
    // The search language knows nothing of storage.
    ("tandem-query", &[]),
    // The store knows events and queries, nothing of vendors, people or detections.
    ("tandem-store", &["tandem-model", "tandem-query"]),
    // The directory keeps its change log in the store; it knows nothing of decoding or
    // detection.
    ("tandem-identity", &["tandem-model", "tandem-store"]),
    // Detection reads resolved events and a directory snapshot; it knows nothing of storage,
    // decoding or the web (findings are stored by the pipeline, rule settings through a
    // trait the server backs).
    ("tandem-detect", &["tandem-model", "tandem-identity"]),
    // Decoding of wire formats: bytes in, events out. Knows nothing of detection, identity,
    // storage or the web.
    ("tandem-ingest", &["tandem-model"]),
    // Alerts and incidents: what happens to findings once stored. Knows nothing of
    // decoding, detection engines, the pipeline or the web (events it raises go out through
    // its `Announce` trait, which the binary backs with the pipeline). Employees' reports
    // read a reported mail through `tandem-mail`'s analysis.
    (
        "tandem-cases",
        &[
            "tandem-model",
            "tandem-identity",
            "tandem-store",
            "tandem-mail",
        ],
    ),
    // Notifications and response actions: what case events tell people and do to other
    // systems, delivered through the store's outbox. Knows nothing of decoding, detection,
    // the pipeline or the web.
    (
        "tandem-respond",
        &["tandem-model", "tandem-store", "tandem-cases"],
    ),
    // Reported mail, read without rendering it, and the report-phishing mailbox: knows
    // nothing of the store, cases or the web (reports are filed by the caller).
    ("tandem-mail", &[]),
    // Compliance evidence: catalogues as data, the Statement of Applicability and evidence
    // measured from the store and the incidents (through the KPI engine's public API).
    // Knows nothing of decoding, detection, the pipeline or the web; the binary schedules it.
    (
        "tandem-compliance",
        &[
            "tandem-model",
            "tandem-query",
            "tandem-store",
            "tandem-cases",
        ],
    ),
    // The glue between decoding, resolution, detection and storage.
    (
        "tandem-pipeline",
        &[
            "tandem-model",
            "tandem-ingest",
            "tandem-identity",
            "tandem-detect",
            "tandem-store",
        ],
    ),
    // HTTP and the console: knows no SQL (no `rusqlite`, below) and no detection engine.
    (
        "tandem-web",
        &[
            "tandem-model",
            "tandem-query",
            "tandem-store",
            "tandem-identity",
            "tandem-ingest",
            "tandem-pipeline",
            "tandem-cases",
            "tandem-respond",
            "tandem-mail",
            "tandem-compliance",
        ],
    ),
    // The simulated company speaks the vendors' wire formats and the model, nothing else.
    ("tandem-sim", &["tandem-model"]),
    // Test services only.
    ("tandem-testkit", &[]),
    // The binary wires everything (never the test kit outside its tests).
    (
        "tandem",
        &[
            "tandem-model",
            "tandem-query",
            "tandem-store",
            "tandem-identity",
            "tandem-detect",
            "tandem-ingest",
            "tandem-pipeline",
            "tandem-web",
            "tandem-sim",
            "tandem-cases",
            "tandem-respond",
            "tandem-mail",
            "tandem-compliance",
        ],
    ),
];

/// Outside crates only some workspace crates may use: SQL lives in the store alone.
const ONLY_IN: &[(&str, &[&str])] = &[("rusqlite", &["tandem-store"])];

/// Every workspace crate with its normal and build dependencies, by name.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut crates = BTreeMap::new();
    for package in meta["packages"].as_array().unwrap() {
        let deps = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].as_str() != Some("dev"))
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect();
        crates.insert(package["name"].as_str().unwrap().to_owned(), deps);
    }
    crates
}

/// What breaks the rules, one line each.
fn violations(crates: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut out = Vec::new();
    for (name, deps) in crates {
        let Some(ok) = allowed.get(name.as_str()) else {
            out.push(format!(
                "{name} has no rules: add it to ALLOWED here and to ARCHITECTURE.md"
            ));
            continue;
        };
        for dep in deps {
            let internal = crates.contains_key(dep) || allowed.contains_key(dep.as_str());
            if internal && !ok.contains(&dep.as_str()) {
                out.push(format!("{name} must not depend on {dep}"));
            }
            if let Some((_, only)) = ONLY_IN.iter().find(|(d, _)| d == dep)
                && !only.contains(&name.as_str())
            {
                out.push(format!(
                    "{name} must not depend on {dep} (only {only:?} may)"
                ));
            }
        }
    }
    out
}

#[test]
fn every_crate_depends_only_on_what_its_rules_allow() {
    let crates = dependencies();
    assert!(crates.contains_key("tandem-model") && crates.contains_key("tandem"));
    let broken = violations(&crates);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn a_forbidden_dependency_is_caught() {
    let mut crates = dependencies();
    crates
        .get_mut("tandem-model")
        .unwrap()
        .insert("tandem-store".to_owned());
    crates
        .get_mut("tandem-web")
        .unwrap()
        .insert("rusqlite".to_owned());
    crates.insert("tandem-new".to_owned(), BTreeSet::new());
    let broken = violations(&crates);
    assert!(broken.contains(&"tandem-model must not depend on tandem-store".to_owned()));
    assert!(
        broken
            .iter()
            .any(|b| b.starts_with("tandem-web must not depend on rusqlite"))
    );
    assert!(
        broken
            .iter()
            .any(|b| b.starts_with("tandem-new has no rules"))
    );
}
