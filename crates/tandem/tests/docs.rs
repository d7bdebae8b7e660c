//! Docs are code: every TOML snippet in the documentation is a configuration `tandem serve`
//! accepts, and every HTTP endpoint the documentation names is a route the server has.

mod support;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README, ARCHITECTURE and every page under `docs/`.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut out = vec![root().join("README.md"), root().join("ARCHITECTURE.md")];
    walk(&root().join("docs"), &mut out);
    out.sort();
    out
}

/// The fenced blocks of `lang` in a Markdown text, with the line each starts on.
fn blocks(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut current, fence) {
            (None, Some(info)) if info.trim() == lang => current = Some((i + 1, String::new())),
            (Some(_), Some(_)) => out.push(current.take().unwrap()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            _ => {}
        }
    }
    out
}

/// The playbooks guide's examples are playbooks Tandem accepts.
#[test]
fn every_yaml_snippet_in_the_playbooks_guide_is_a_valid_playbook() {
    let page = root().join("docs/playbooks.md");
    let text = std::fs::read_to_string(&page).unwrap();
    let snippets = blocks(&text, "yaml");
    assert!(!snippets.is_empty(), "the guide has an example");
    for (line, snippet) in snippets {
        if let Err(errors) = tandem_cases::playbook::parse("docs/playbooks.md", &snippet) {
            panic!("docs/playbooks.md:{line}: {errors:?}");
        }
    }
}

#[test]
fn every_toml_snippet_in_the_docs_is_a_valid_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (line, snippet) in blocks(&text, "toml") {
            let file = dir.path().join("snippet.toml");
            std::fs::write(&file, &snippet).unwrap();
            let out = support::tandem()
                .arg("config")
                .arg("--config")
                .arg(&file)
                .env_remove("TANDEM_CONFIG")
                .current_dir(dir.path())
                .output()
                .unwrap();
            checked += 1;
            if !out.status.success() {
                failures.push(format!(
                    "{}:{line}: {}",
                    page.strip_prefix(root()).unwrap_or(&page).display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
    }
    assert!(checked >= 5, "only {checked} snippets found");
    assert!(
        failures.is_empty(),
        "snippets that are not valid configuration:\n{}",
        failures.join("\n")
    );
}

/// Paths under the API, SCIM and the two public endpoints, as the docs write them.
fn endpoints(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in ["/api/v1/", "/scim/v2", "/healthz", "/metrics"] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| c.is_whitespace() || "`\"'),?#;*|[]".contains(c))
                .unwrap_or(tail.len());
            // After a host name (`okta.example.com/api/v1/logs`) or a placeholder for one
            // (`{yourOktaDomain}/api/…`) it is another product's endpoint; after a port, ours.
            if !before.is_some_and(|c| c.is_alphabetic() || ".-_}>".contains(c)) {
                let path = tail[..end].trim_end_matches(['.', ':', ',']);
                out.push(path.to_owned());
            }
            rest = &tail[prefix.len()..];
        }
    }
    out
}

/// Whether a documented path matches a route: `{name}` in the route, and `{name}`, `<name>`
/// or `…` in the docs, stand for any one segment; `{*rest}` for the rest.
fn matches(route: &str, documented: &str) -> bool {
    let documented = documented.trim_end_matches('/');
    let route_parts: Vec<&str> = route.split('/').collect();
    let doc_parts: Vec<&str> = documented.split('/').collect();
    for (i, r) in route_parts.iter().enumerate() {
        if r.starts_with("{*") {
            return doc_parts.len() > i;
        }
        let Some(d) = doc_parts.get(i) else {
            return false;
        };
        let wildcard = |s: &str| s.starts_with('{') || s.starts_with('<') || s.contains('…');
        if !(wildcard(r) || wildcard(d) || r == d) {
            return false;
        }
    }
    route_parts.len() == doc_parts.len()
}

#[test]
fn every_endpoint_the_docs_name_exists() {
    let routes = tandem_web::routes();
    let mut checked = 0;
    let mut missing = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for path in endpoints(&text) {
            checked += 1;
            // A base URL (`/scim/v2`) is documented when routes live under it.
            let base = format!("{}/", path.trim_end_matches('/'));
            if !routes
                .iter()
                .any(|r| matches(r.path, &path) || r.path.starts_with(&base))
            {
                missing.push(format!(
                    "{}: {path}",
                    page.strip_prefix(root()).unwrap_or(&page).display()
                ));
            }
        }
    }
    assert!(checked >= 20, "only {checked} endpoints found");
    missing.dedup();
    assert!(
        missing.is_empty(),
        "endpoints named in the docs that the server does not have:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_matcher_tells_routes_apart() {
    assert!(matches(
        "/api/v1/ingest/{source}",
        "/api/v1/ingest/hq-badges"
    ));
    assert!(matches(
        "/api/v1/webhooks/{source}",
        "/api/v1/webhooks/{source}"
    ));
    assert!(!matches(
        "/api/v1/webhooks/{source}",
        "/api/v1/ingest/verkada"
    ));
    assert!(!matches("/api/v1/audit", "/api/v1/audit/verify"));
    assert_eq!(
        endpoints("curl http://127.0.0.1:8080/api/v1/search?q=x and `/api/v1/audit/verify`."),
        ["/api/v1/search", "/api/v1/audit/verify"]
    );
}

#[test]
fn every_link_between_pages_leads_to_a_page() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let dir = page.parent().unwrap();
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let target = &target[..target.find(')').unwrap_or(target.len())];
            let file = target.split('#').next().unwrap_or("");
            if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                continue;
            }
            if !dir.join(file).exists() {
                broken.push(format!(
                    "{}: {target}",
                    page.strip_prefix(root()).unwrap_or(&page).display()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to pages that do not exist:\n{}",
        broken.join("\n")
    );
}
