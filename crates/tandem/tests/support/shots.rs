//! What browser tests share: where screenshots go, taking one after the accessibility check,
//! and signing in through the console's form.

use std::path::{Path, PathBuf};
use tandem_testkit::Browser;

/// Where screenshots go: `docs/screenshots/` with `TANDEM_SCREENSHOTS=1` (to refresh the
/// documentation's pictures), else a temporary directory kept alive by the second value.
pub fn shots_dir() -> (PathBuf, Option<tempfile::TempDir>) {
    if std::env::var("TANDEM_SCREENSHOTS").is_ok_and(|v| v == "1") {
        (
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots"),
            None,
        )
    } else {
        let temp = tempfile::tempdir().unwrap();
        (temp.path().to_owned(), Some(temp))
    }
}

/// Checks the page's accessibility, then saves it as `<name>.png` in `dir`.
pub fn take(browser: &Browser, dir: &Path, name: &str) {
    browser.assert_accessible();
    let path = dir.join(format!("{name}.png"));
    browser.screenshot(&path);
    assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));
}

/// Signs in through the console's sign-in form.
pub fn sign_in(browser: &Browser, user: &str, password: &str) {
    browser.goto("/login");
    browser.wait_for_heading("Sign in to Tandem");
    browser.fill("User name", user);
    browser.fill("Password", password);
    browser.click_button("Sign in");
}
