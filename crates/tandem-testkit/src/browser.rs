//! A real headless Chromium driven over WebDriver, for tests of the console as people use it.
//!
//! `chromedriver` is started on loopback with a free port and its own temporary directory;
//! it starts Chromium (the Debian packages `chromium` and `chromium-driver`, which
//! `scripts/test` installs) with a fresh profile. The methods block, so `#[test]` functions
//! read like the steps a person takes; each one panics with what the page showed when a
//! step cannot be done, since a browser test that fails without context is hard to act on.

use crate::{find_program, free_port};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a step waits for a page to show what it expects.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Chromium's switches. Headless and sandbox-free (tests often run as root in containers);
/// everything that would reach out to the network by itself is off, because on a machine
/// without Internet access Chromium otherwise stalls on those requests and pages load late.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1366,900",
];

/// Headless Chromium under `chromedriver`; both are stopped when this is dropped.
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Option<Child>,
    dir: tempfile::TempDir,
    /// Prefix for relative paths given to [`Browser::goto`].
    pub base_url: String,
}

/// The accessibility check run in the page: what a screen-reader or keyboard user would
/// trip over first. Each problem is one line naming the element.
const ACCESSIBILITY_CHECK: &str = r#"
const problems = [];
const show = (el) => el.outerHTML.replace(/\s+/g, ' ').slice(0, 160);
const text = (el) => (el.textContent || '').trim();
const named = (el) =>
  (el.getAttribute('aria-label') || '').trim() !== '' ||
  (el.getAttribute('aria-labelledby') || '').split(/\s+/).some(
    (id) => id && document.getElementById(id) && text(document.getElementById(id)) !== '') ||
  (el.getAttribute('title') || '').trim() !== '';
for (const el of document.querySelectorAll('input, select, textarea')) {
  const type = (el.getAttribute('type') || '').toLowerCase();
  if (type === 'hidden') continue;
  if (['submit', 'button', 'reset'].includes(type)) {
    if ((el.value || '').trim() === '' && !named(el)) problems.push('button without text: ' + show(el));
    continue;
  }
  const labelled = Array.from(el.labels || []).some((l) => text(l) !== '');
  if (!labelled && !named(el)) problems.push('field without a label: ' + show(el));
}
for (const el of document.querySelectorAll('img')) {
  if (!el.hasAttribute('alt')) problems.push('image without alt: ' + show(el));
}
for (const el of document.querySelectorAll('svg[role="img"]')) {
  if (!named(el) && !el.querySelector(':scope > title')) problems.push('chart without a name: ' + show(el));
}
for (const el of document.querySelectorAll('button, [role="button"]')) {
  if (text(el) === '' && !named(el)) problems.push('button without text: ' + show(el));
}
for (const el of document.querySelectorAll('a[href]')) {
  if (text(el) === '' && !named(el) && !el.querySelector('img[alt]:not([alt=""])')) problems.push('link without text: ' + show(el));
}
const h1 = document.querySelectorAll('h1').length;
if (h1 !== 1) problems.push('expected exactly one h1, found ' + h1);

// Keyboard: everything one can click can be reached with Tab, in page order.
for (const el of document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')) {
  const t = parseInt(el.getAttribute('tabindex') || '0', 10);
  if (t > 0) problems.push('tabindex above 0 (breaks the reading order): ' + show(el));
  const interactive = el.matches('a[href], button, input:not([type=hidden]), select, textarea, summary');
  if (interactive && t < 0 && el.getClientRects().length > 0) problems.push('cannot be reached with Tab: ' + show(el));
}

// Contrast (WCAG 2 AA): 4.5:1 for text, 3:1 for large text, against the first opaque
// background behind it.
const rgba = (c) => (c.match(/[\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
};
const backdrop = (el) => {
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] >= 0.95)) return c.slice(0, 3);
  }
  return [255, 255, 255];
};
for (const el of document.body.querySelectorAll('*')) {
  const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
  if (!own || el.getClientRects().length === 0) continue;
  const style = getComputedStyle(el);
  if (style.visibility === 'hidden' || parseFloat(style.opacity) === 0) continue;
  if (['OPTION', 'SCRIPT', 'STYLE', 'TITLE'].includes(el.tagName) || el.closest('svg')) continue;
  const fg = rgba(style.color).slice(0, 3);
  const bg = backdrop(el);
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  const size = parseFloat(style.fontSize);
  const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
  if (ratio < (large ? 3 : 4.5)) problems.push('low contrast ' + ratio.toFixed(2) + ':1: ' + show(el));
}
return problems;
"#;

impl Browser {
    /// Starts chromedriver and a headless Chromium session; panics with an install hint
    /// when either is missing.
    pub fn start(base_url: &str) -> Browser {
        let chromium = find_program("chromium").expect(
            "chromium is not installed; scripts/test installs it (apt-get install chromium)",
        );
        let chromedriver = find_program("chromedriver").expect(
            "chromedriver is not installed; scripts/test installs it (apt-get install chromium-driver)",
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let log = dir.path().join("chromedriver.log");
        let mut command = Command::new(chromedriver);
        // No --allowed-ips: with it chromedriver listens on every interface; without it,
        // only on 127.0.0.1 and ::1.
        command
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so dropping the browser can end Chromium's processes too.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut driver = command.spawn().expect("start chromedriver");
        crate::wait_for_port(port, &mut driver, "chromedriver");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut browser = Browser {
            runtime,
            client: None,
            driver: Some(driver),
            dir,
            base_url: base_url.trim_end_matches('/').to_owned(),
        };
        let profile = browser.dir.path().join("profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let webdriver = format!("http://127.0.0.1:{port}");
        let connected = browser.runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(30),
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities)
                    .connect(&webdriver),
            )
            .await
        });
        match connected {
            Ok(Ok(client)) => browser.client = Some(client),
            Ok(Err(e)) => panic!(
                "chromedriver could not start Chromium: {e}\n{}",
                browser.driver_log()
            ),
            Err(_) => panic!(
                "Chromium did not start within 30 s\n{}",
                browser.driver_log()
            ),
        }
        browser
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a WebDriver session")
    }

    /// The end of chromedriver's log, for failure messages.
    fn driver_log(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Opens a URL; a path (`/search`) is taken relative to [`Browser::base_url`].
    pub fn goto(&self, url: &str) {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.base_url)
        } else {
            url.to_owned()
        };
        self.runtime
            .block_on(self.client().goto(&url))
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The path and query of the page shown (`/search?q=…`).
    pub fn path(&self) -> String {
        let url = self
            .runtime
            .block_on(self.client().current_url())
            .expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The page's visible text, as a person reads it.
    pub fn text(&self) -> String {
        match self.execute("return document.body ? document.body.innerText : '';") {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// Waits until the page shows `needle`; panics with the page's text after `STEP_TIMEOUT`.
    pub fn wait_for_text(&self, needle: &str) {
        self.wait_for_text_within(needle, STEP_TIMEOUT)
    }

    pub fn wait_for_text_within(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.text();
            if text.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page at {} never showed {needle:?}; it shows:\n{}",
                self.path(),
                excerpt(&text)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `ready` holds for the page shown; panics naming `what` after
    /// `STEP_TIMEOUT`, with the page's text.
    pub fn wait_until(&self, what: &str, mut ready: impl FnMut(&Browser) -> bool) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        while !ready(self) {
            assert!(
                Instant::now() < deadline,
                "{what} did not happen; {} shows:\n{}",
                self.path(),
                excerpt(&self.text())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The text of the page's `h1`, empty when it has none.
    pub fn heading(&self) -> String {
        match self
            .execute("const h = document.querySelector('h1'); return h ? h.innerText.trim() : '';")
        {
            Value::String(s) => s,
            _ => String::new(),
        }
    }

    /// Waits until the page's `h1` reads `heading`, which tells which page is shown (the
    /// menu repeats every page's name, so the text alone does not).
    pub fn wait_for_heading(&self, heading: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let shown = self.heading();
            if shown == heading {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected the page {heading:?} but {} shows {shown:?}:\n{}",
                self.path(),
                excerpt(&self.text())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `value` into the field labelled `label` (its `<label>` text or `aria-label`), or
    /// named `label`, replacing what was there.
    pub fn fill(&self, label: &str, value: &str) {
        let l = xpath_literal(label);
        let xpath = format!(
            "//*[self::input or self::textarea or self::select][@id = //label[normalize-space(.) = {l}]/@for or @aria-label = {l} or @name = {l}] \
             | //label[normalize-space(.) = {l}]//*[self::input or self::textarea or self::select]"
        );
        let field = self.find(&xpath, &format!("a field labelled {label:?}"));
        self.runtime.block_on(async {
            let is_select = field
                .tag_name()
                .await
                .map(|t| t == "select")
                .unwrap_or(false);
            if is_select {
                field
                    .select_by_label(value)
                    .await
                    .unwrap_or_else(|e| panic!("cannot choose {value:?} in {label:?}: {e}"));
            } else {
                field.clear().await.expect("clear field");
                field
                    .send_keys(value)
                    .await
                    .unwrap_or_else(|e| panic!("cannot type into {label:?}: {e}"));
            }
        });
    }

    /// Types `keys` into the field labelled `label` after what is there, as a person typing
    /// on; WebDriver key codes work too ([`Browser::ENTER`]).
    pub fn type_keys(&self, label: &str, keys: &str) {
        let l = xpath_literal(label);
        let xpath = format!(
            "//*[self::input or self::textarea][@id = //label[normalize-space(.) = {l}]/@for or @aria-label = {l} or @name = {l}]"
        );
        let field = self.find(&xpath, &format!("a field labelled {label:?}"));
        self.runtime
            .block_on(field.send_keys(keys))
            .unwrap_or_else(|e| panic!("cannot type into {label:?}: {e}"));
    }

    /// The Enter key, for [`Browser::type_keys`] and [`Browser::press`].
    pub const ENTER: &str = "\u{E007}";
    /// The down-arrow key.
    pub const ARROW_DOWN: &str = "\u{E015}";
    /// The Escape key, for [`Browser::press`].
    pub const ESCAPE: &str = "\u{E00C}";
    /// The Tab key, for [`Browser::press`].
    pub const TAB: &str = "\u{E004}";

    /// Sends keys to whatever has the focus, as someone on a keyboard would.
    pub fn press(&self, keys: &str) {
        self.runtime.block_on(async {
            let focused = self
                .client()
                .active_element()
                .await
                .expect("something has the focus");
            focused
                .send_keys(keys)
                .await
                .unwrap_or_else(|e| panic!("cannot send keys: {e}"));
        });
    }

    /// A short description of the element that has the focus (tag, id, text).
    pub fn focused(&self) -> String {
        self.execute(
            "var e = document.activeElement; return e ? (e.tagName + '#' + (e.id || '') + ' ' + (e.textContent || e.value || '').trim()).slice(0, 80) : '';",
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Presses the button whose text is `text` (the first such one).
    pub fn click_button(&self, text: &str) {
        let t = xpath_literal(text);
        let xpath = format!(
            "(//button[normalize-space(.) = {t}] \
             | //input[(@type = 'submit' or @type = 'button') and @value = {t}])[1]"
        );
        self.click_xpath(&xpath, &format!("button {text:?}"));
    }

    /// Follows the link whose text is `text` (the first such one, so the menu's).
    pub fn click_link(&self, text: &str) {
        let xpath = format!("(//a[normalize-space(.) = {}])[1]", xpath_literal(text));
        self.click_xpath(&xpath, &format!("link {text:?}"));
    }

    /// Clicks the first element matching a CSS selector, for things with no fixed text (the
    /// first row of a result list).
    pub fn click_css(&self, selector: &str) {
        let element = self.runtime.block_on(async {
            self.client()
                .wait()
                .at_most(STEP_TIMEOUT)
                .for_element(Locator::Css(selector))
                .await
        });
        let element = element.unwrap_or_else(|e| {
            panic!(
                "nothing matches {selector} on {}: {e}\n{}",
                self.path(),
                excerpt(&self.text())
            )
        });
        self.runtime
            .block_on(element.click())
            .unwrap_or_else(|e| panic!("cannot click {selector}: {e}"));
    }

    fn click_xpath(&self, xpath: &str, what: &str) {
        let element = self.find(xpath, what);
        self.runtime
            .block_on(element.click())
            .unwrap_or_else(|e| panic!("cannot click {what}: {e}"));
    }

    fn find(&self, xpath: &str, what: &str) -> fantoccini::elements::Element {
        let found = self.runtime.block_on(async {
            self.client()
                .wait()
                .at_most(STEP_TIMEOUT)
                .for_element(Locator::XPath(xpath))
                .await
        });
        found.unwrap_or_else(|e| {
            panic!(
                "no {what} on {}: {e}\nthe page shows:\n{}",
                self.path(),
                excerpt(&self.text())
            )
        })
    }

    /// Runs JavaScript in the page (the body of a function) and returns its result.
    pub fn execute(&self, script: &str) -> Value {
        self.runtime
            .block_on(self.client().execute(script, Vec::new()))
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// Accessibility problems on the page shown: form fields without a label, images without
    /// alt text, buttons and links without text, not exactly one `h1`, controls Tab cannot
    /// reach or a positive `tabindex`, and text below WCAG AA contrast. Empty when fine.
    pub fn accessibility_problems(&self) -> Vec<String> {
        match self.execute(ACCESSIBILITY_CHECK) {
            Value::Array(items) => items
                .into_iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect(),
            other => panic!("the accessibility check returned {other}"),
        }
    }

    /// Panics listing the page's accessibility problems, if it has any.
    pub fn assert_accessible(&self) {
        let problems = self.accessibility_problems();
        assert!(
            problems.is_empty(),
            "accessibility problems on {}:\n{}",
            self.path(),
            problems.join("\n")
        );
    }

    /// Saves a PNG of the visible window to `path`, creating its directory.
    pub fn screenshot(&self, path: &Path) {
        let png = self
            .runtime
            .block_on(self.client().screenshot())
            .unwrap_or_else(|e| panic!("cannot take a screenshot: {e}"));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("screenshot directory");
        }
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver quit Chromium and remove its profile.
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), client.close()).await
            });
        }
        if let Some(mut driver) = self.driver.take() {
            // Whatever is left of the process group (a Chromium that did not quit), then
            // chromedriver itself.
            #[cfg(unix)]
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", driver.id())])
                .stderr(Stdio::null())
                .status();
            let _ = driver.kill();
            let _ = driver.wait();
        }
    }
}

/// `s` as an XPath string literal (XPath 1.0 has no escapes, only the other quote).
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// The start of a page's text, enough to see which page it is.
fn excerpt(text: &str) -> String {
    text.chars().take(1500).collect()
}

#[cfg(test)]
mod tests {
    use super::xpath_literal;

    #[test]
    fn quotes_in_labels_stay_literal() {
        assert_eq!(xpath_literal("User name"), "'User name'");
        assert_eq!(xpath_literal("Who's there"), "\"Who's there\"");
        assert_eq!(xpath_literal(r#"a'b"c"#), r#"concat('a', "'", 'b"c')"#);
    }
}
