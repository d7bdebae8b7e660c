//! Compliance over the real server: evidence run and snapshotted, the Statement of
//! Applicability edited by an administrator and only read by an auditor, and the auditor's
//! export downloaded with `tandem compliance export`, unzipped and every file checked
//! against its SHA-256 in the manifest.

mod support;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use support::{TestServer, start_with_accounts, tandem};

fn call(
    server: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let agent = TestServer::agent();
    let url = format!("{}{path}", server.url);
    let auth = format!("Bearer {token}");
    let resp = match (method, body) {
        ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
        ("PUT", Some(b)) => agent.put(&url).header("Authorization", &auth).send_json(b),
        (_, Some(b)) => agent.post(&url).header("Authorization", &auth).send_json(b),
        (_, None) => agent.post(&url).header("Authorization", &auth).send_empty(),
    };
    let mut resp = resp.expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_json().unwrap_or(Value::Null))
}

fn unzip(path: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut files = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        files.insert(name, bytes);
    }
    files
}

#[test]
fn an_administrator_keeps_the_statement_and_an_auditor_exports_verified_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let (server, seeded) = start_with_accounts(dir.path(), &["auditor".to_owned()], &[]);
    let (admin, auditor) = (server.token.clone(), seeded[0].token.clone());

    // Evidence run now: every shipped definition snapshotted once.
    let (status, v) = call(
        &server,
        &admin,
        "POST",
        "/api/v1/compliance/evidence/run",
        None,
    );
    assert_eq!(status, 200, "{v}");
    let snapshots = v["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 16);
    assert!(
        snapshots
            .iter()
            .all(|s| !s["hash"].as_str().unwrap().is_empty())
    );

    // The gaps an auditor reads: access revocation is not available yet, so A.5.18 shows as
    // missing evidence; a control without any evidence is a gap too.
    let (status, v) = call(
        &server,
        &auditor,
        "GET",
        "/api/v1/compliance/controls?state=gaps",
        None,
    );
    assert_eq!(status, 200, "{v}");
    let state = |id: &str| {
        v["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["state"].as_str().unwrap().to_owned())
    };
    assert_eq!(state("A.5.18").as_deref(), Some("missing"));
    assert_eq!(state("A.5.1").as_deref(), Some("no_evidence"));
    let (_, v) = call(
        &server,
        &auditor,
        "GET",
        "/api/v1/compliance/controls/nist-csf-2.0/PR.AA-06",
        None,
    );
    let ids: Vec<&str> = v["control"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"forced-door-rate"),
        "CSF reaches Annex A's evidence through the mapping: {ids:?}"
    );

    // The auditor changes nothing.
    let row = json!({"owner": "it", "applicable": false, "justification": "No software is developed in house.", "status": "implemented", "version": 0});
    let path = "/api/v1/compliance/controls/iso27001-2022/A.8.28";
    assert_eq!(
        call(&server, &auditor, "PUT", path, Some(row.clone())).0,
        403
    );
    assert_eq!(
        call(
            &server,
            &auditor,
            "POST",
            "/api/v1/compliance/evidence/run",
            None
        )
        .0,
        403
    );

    // The administrator does; a control that does not apply needs a reason; a stale
    // version is refused.
    let (status, v) = call(
        &server,
        &admin,
        "PUT",
        path,
        Some(json!({"applicable": false, "status": "implemented"})),
    );
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("justification"),
        "{v}"
    );
    let (status, v) = call(&server, &admin, "PUT", path, Some(row.clone()));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["control"]["version"], 1);
    assert_eq!(call(&server, &admin, "PUT", path, Some(row)).0, 409);

    // The export, as the auditor, through the command line.
    let out = dir.path().join("bundle.zip");
    let run = tandem()
        .args([
            "compliance",
            "export",
            "--framework",
            "iso27001-2022",
            "--out",
        ])
        .arg(&out)
        .args(["--url", &server.url, "--token", &auditor])
        .env_remove("TANDEM_CONFIG")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("every one matching manifest.sha256"));

    let mut files = unzip(&out);
    let manifest = String::from_utf8(files.remove("manifest.sha256").unwrap()).unwrap();
    let mut listed = 0;
    for line in manifest.lines() {
        let (hash, name) = line.split_once("  ").unwrap();
        let bytes = files.get(name).unwrap_or_else(|| panic!("{name} missing"));
        let actual: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hash, actual, "{name}");
        listed += 1;
    }
    assert_eq!(listed, files.len(), "every file is in the manifest");
    assert_eq!(listed, 2 + 93 * 3);
    let soa = String::from_utf8(files["soa.csv"].clone()).unwrap();
    let row = soa
        .lines()
        .find(|l| l.starts_with("iso27001-2022,A.8.28,"))
        .unwrap();
    assert!(
        row.contains(",no,No software is developed in house.,it,implemented,not_applicable,"),
        "{row}"
    );
    let json: Value = serde_json::from_slice(&files["controls/A.7.4/evidence.json"]).unwrap();
    assert_eq!(
        json["snapshots"].as_array().unwrap().len(),
        2,
        "devices online and forced doors"
    );
    let html = String::from_utf8(files["controls/A.5.18/evidence.html"].clone()).unwrap();
    assert!(html.contains("access revocation per leaver"), "{html}");
    assert!(String::from_utf8_lossy(&files["README.txt"]).contains("all 16 snapshots verified"));

    // A bundle changed after the export no longer verifies.
    let tampered = dir.path().join("tampered.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&tampered).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for (name, bytes) in unzip(&out) {
            w.start_file(name.as_str(), opts).unwrap();
            let bytes = if name == "soa.csv" {
                bytes.replace_range_simple()
            } else {
                bytes
            };
            std::io::Write::write_all(&mut w, &bytes).unwrap();
        }
        w.finish().unwrap();
    }
    let check = tandem()
        .arg("compliance")
        .arg("verify")
        .arg(&tampered)
        .env_remove("TANDEM_CONFIG")
        .output()
        .unwrap();
    assert!(!check.status.success());
    assert!(String::from_utf8_lossy(&check.stderr).contains("soa.csv does not match its hash"));

    // Who exported and who changed what is in the audit log.
    let (_, audit) = call(&server, &admin, "GET", "/api/v1/audit?limit=50", None);
    let text = audit.to_string();
    assert!(
        text.contains("compliance.export")
            && text.contains("compliance.control")
            && text.contains("compliance.run"),
        "{text}"
    );
}

/// A one-byte change of a file's contents.
trait Tamper {
    fn replace_range_simple(self) -> Vec<u8>;
}

impl Tamper for Vec<u8> {
    fn replace_range_simple(mut self) -> Vec<u8> {
        let last = self.len() - 2;
        self[last] = if self[last] == b'x' { b'y' } else { b'x' };
        self
    }
}
