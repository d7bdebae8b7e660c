//! Hostile playbooks: what the validate endpoint and `tandem playbooks check` do with YAML
//! written to hurt (too large, not UTF-8, nested without end, markup and terminal escapes).

use crate::support::{self, TestServer};

#[test]
fn validate_answers_hostile_yaml_with_reasons_and_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), None, &[]);
    let deep = format!(
        "id: deep\ntitle: Deep\ntasks: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let big = format!(
        "id: big\ntitle: Big\ntasks: []\n#{}\n",
        "x".repeat(300 * 1024)
    );
    for (what, body, says) in [
        ("too large", big.as_bytes().to_vec(), "at most 262144"),
        (
            "not UTF-8",
            b"id: \xff\xfe\ntitle: x\n".to_vec(),
            "not UTF-8",
        ),
        ("nested", deep.as_bytes().to_vec(), ""),
    ] {
        let mut resp = TestServer::agent()
            .post(format!("{}/api/v1/playbooks/validate", server.url))
            .header("Authorization", format!("Bearer {}", server.token))
            .send(&body[..])
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{what}");
        let v: serde_json::Value = resp.body_mut().read_json().unwrap();
        assert_eq!(v["ok"], false, "{what}: {v}");
        let reason = v["errors"][0]["reason"].as_str().unwrap();
        assert!(reason.contains(says), "{what}: {reason}");
    }
    let (status, _) = server.get("/healthz", &[]);
    assert_eq!(status, 200, "the server is still up");

    // Markup in a pasted playbook is shown as text on the console.
    let console = server.admin_console();
    let csrf = console.csrf("/playbooks");
    let page = console.post_form(
        "/playbooks/validate",
        &[
            ("csrf", &csrf),
            (
                "yaml",
                "id: x\ntitle: <script>alert(1)</script>\ntasks: []\n",
            ),
        ],
    );
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
}

#[test]
fn check_prints_terminal_escapes_in_playbooks_escaped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("evil.yaml"),
        "id: evil\ntitle: x\ntasks:\n  - id: a\n    title: A\n    department: \"\x1b]0;owned\x07it\"\n",
    )
    .unwrap();
    let out = support::tandem()
        .args(["playbooks", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("evil.yaml:6:"), "{stdout:?}");
    assert!(
        !stdout.contains('\x1b'),
        "a raw ESC was printed: {stdout:?}"
    );
}
