//! What Tandem reads from a reported mail: who it claims to be from and where it really came
//! from, what the receiving servers concluded (SPF, DKIM, DMARC), where its links lead
//! (defanged), what it carries (attachments as SHA-256 observables) and what it says (as plain
//! text, never rendered).
//!
//! A reported mail is written by an attacker. [`analyse`] never fails and never panics (a
//! property test feeds it arbitrary bytes): when the message cannot be parsed as MIME, what
//! could be read from the raw text is kept and [`MailAnalysis::problems`] says why the rest is
//! missing. Every string it returns is bounded in length and count, so a hostile mail cannot
//! make a report record grow without bound.

use mail_parser::{MessageParser, MimeHeaders};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Most characters kept of the body text.
pub const MAX_BODY_CHARS: usize = 20_000;
/// Most links kept.
pub const MAX_URLS: usize = 100;
/// Most attachments hashed and listed.
pub const MAX_ATTACHMENTS: usize = 50;
/// Most `Received` hops kept.
pub const MAX_HOPS: usize = 40;
/// Most characters kept of one header value.
pub const MAX_HEADER_CHARS: usize = 1_000;

/// How a phishing simulation (an awareness exercise the organisation sends itself) is
/// recognised; any one marker is enough. Empty markers recognise nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulationMarkers {
    /// A header the simulation tool adds (e.g. `X-PHISHTEST`), compared without case.
    pub header_name: Option<String>,
    /// The header's value, compared without case; `None` means any value.
    pub header_value: Option<String>,
    /// Sender domains of the simulation tool (the From address's domain, or a subdomain).
    pub sender_domains: Vec<String>,
    /// Text that appears in the simulation's links (compared without case).
    pub url_patterns: Vec<String>,
}

/// An attachment as an observable: its name as the sender wrote it and its hash. The content
/// itself is never kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: Option<String>,
    pub content_type: Option<String>,
    pub size: usize,
    /// Lowercase hex SHA-256 of the decoded content.
    pub sha256: String,
}

/// A link found in the mail: as written, and defanged for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub url: String,
    /// `hxxps://evil[.]example/login`: safe to show and to paste into a chat.
    pub defanged: String,
    /// The host, lowercase, when one could be read.
    pub host: Option<String>,
}

/// What the receiving server concluded about the sender, from `Authentication-Results`
/// (the first such header: the one the organisation's own server added on top).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthVerdicts {
    pub spf: Option<String>,
    pub dkim: Option<String>,
    pub dmarc: Option<String>,
}

/// Everything read from one reported mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailAnalysis {
    pub subject: Option<String>,
    /// The From address (lowercase), and its display name apart: the name is what fools people.
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub return_path: Option<String>,
    pub message_id: Option<String>,
    pub date: Option<String>,
    /// The `Received` headers, newest (top) first.
    pub received: Vec<String>,
    pub auth: AuthVerdicts,
    pub urls: Vec<Link>,
    pub attachments: Vec<Attachment>,
    /// The body as plain text: HTML is converted to text, never rendered.
    pub body_text: String,
    /// Whether the mail matched a simulation marker.
    pub is_simulation: bool,
    /// Keys that group reports of one campaign: `sender:<address>`, `subject:<normalised>`,
    /// `url:<host/path>`. Two reports sharing any key are the same campaign.
    pub campaign_keys: Vec<String>,
    /// What could not be read, in plain words (empty when everything was).
    pub problems: Vec<String>,
}

/// Reads a raw message (an `.eml` file, or headers pasted alone). Never fails: see the
/// module documentation.
pub fn analyse(raw: &[u8], markers: &SimulationMarkers) -> MailAnalysis {
    let mut out = MailAnalysis::default();
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        out.problems.push("the message is empty".into());
        return out;
    }
    if let Some(msg) = MessageParser::default().parse(raw) {
        read_message(&msg, &mut out);
    }
    let nothing_read = out.from.is_none()
        && out.subject.is_none()
        && out.received.is_empty()
        && out.body_text.is_empty();
    if nothing_read {
        out.problems.push(
            "the message could not be read as an e-mail (no headers found); its text is kept"
                .into(),
        );
        out.body_text = bounded(&String::from_utf8_lossy(raw), MAX_BODY_CHARS);
        out.urls = links(&out.body_text);
    }
    if out.from.is_none() {
        out.problems.push("no sender (From) could be read".into());
    }
    out.is_simulation = is_simulation(&out, raw, markers);
    out.campaign_keys = campaign_keys(&out);
    out
}

fn read_message(msg: &mail_parser::Message<'_>, out: &mut MailAnalysis) {
    out.subject = msg.subject().map(|s| bounded(s, MAX_HEADER_CHARS));
    if let Some(a) = msg.from().and_then(|a| a.first()) {
        out.from = a
            .address()
            .map(|s| bounded(s, MAX_HEADER_CHARS).to_lowercase());
        out.from_name = a.name().map(|s| bounded(s, MAX_HEADER_CHARS));
    }
    out.reply_to = msg
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|s| bounded(s, MAX_HEADER_CHARS).to_lowercase());
    out.message_id = msg.message_id().map(|s| bounded(s, MAX_HEADER_CHARS));
    out.date = msg.date().map(|d| d.to_rfc3339());
    for (name, value) in msg.headers_raw() {
        if name.eq_ignore_ascii_case("Received") && out.received.len() < MAX_HOPS {
            out.received.push(unfold(value));
        } else if name.eq_ignore_ascii_case("Return-Path") && out.return_path.is_none() {
            let v = unfold(value);
            let v = v.trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace());
            out.return_path = Some(v.to_lowercase()).filter(|v| !v.is_empty());
        } else if name.eq_ignore_ascii_case("Authentication-Results")
            && out.auth == AuthVerdicts::default()
        {
            out.auth = verdicts(value);
        }
    }

    let mut text = String::new();
    for i in 0..msg.text_body_count().min(4) {
        // mail-parser converts an HTML-only body to text here; HTML is never kept as HTML.
        if let Some(t) = msg.body_text(i) {
            text.push_str(&t);
            text.push('\n');
        }
        if text.len() > MAX_BODY_CHARS * 4 {
            break;
        }
    }
    out.body_text = bounded(strip_controls(&text).trim(), MAX_BODY_CHARS);

    // Links are taken from the HTML as written (an anchor's target is not in its text) and
    // from the text.
    let mut found = String::new();
    for part in msg.html_bodies().take(4) {
        if let Some(h) = part.text_contents() {
            found.push_str(&h[..floor_char(h, 400_000)]);
            found.push('\n');
        }
    }
    found.push_str(&out.body_text);
    out.urls = links(&found);

    for part in msg.attachments() {
        if out.attachments.len() >= MAX_ATTACHMENTS {
            out.problems.push(format!(
                "more than {MAX_ATTACHMENTS} attachments; the rest are not listed"
            ));
            break;
        }
        let contents = part.contents();
        out.attachments.push(Attachment {
            name: part.attachment_name().map(|s| bounded(s, 255)),
            content_type: part.content_type().map(|c| match c.subtype() {
                Some(sub) => bounded(&format!("{}/{}", c.ctype(), sub), 255),
                None => bounded(c.ctype(), 255),
            }),
            size: contents.len(),
            sha256: hex(&Sha256::digest(contents)),
        });
    }
}

/// Header folding removed, whitespace collapsed, bounded.
fn unfold(v: &str) -> String {
    let joined = v.split_whitespace().collect::<Vec<_>>().join(" ");
    bounded(&joined, MAX_HEADER_CHARS)
}

/// SPF, DKIM and DMARC results from one `Authentication-Results` value (RFC 8601:
/// `method=result` pairs separated by `;`).
fn verdicts(value: &str) -> AuthVerdicts {
    let lower = value.to_ascii_lowercase();
    let find = |method: &str| -> Option<String> {
        let mut rest = lower.as_str();
        while let Some(i) = rest.find(method) {
            let before = rest[..i].chars().next_back();
            let after = &rest[i + method.len()..];
            let boundary = before.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '.');
            if boundary && let Some(v) = after.strip_prefix('=') {
                let word: String = v
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .take(32)
                    .collect();
                if !word.is_empty() {
                    return Some(word);
                }
            }
            rest = after;
        }
        None
    };
    AuthVerdicts {
        spf: find("spf"),
        dkim: find("dkim"),
        dmarc: find("dmarc"),
    }
}

/// Every `http://` and `https://` link in `text`, deduplicated, in order, at most
/// [`MAX_URLS`].
fn links(text: &str) -> Vec<Link> {
    let mut out: Vec<Link> = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut at = 0;
    while out.len() < MAX_URLS {
        let Some(i) = next_scheme(&lower[at..]) else {
            break;
        };
        let start = at + i;
        let end = text[start..]
            .find(|c: char| {
                c.is_whitespace()
                    || c.is_control()
                    || matches!(
                        c,
                        '"' | '\'' | '<' | '>' | '`' | '{' | '}' | '|' | '\\' | '^'
                    )
            })
            .map_or(text.len(), |n| start + n);
        let url = text[start..end].trim_end_matches(['.', ',', ';', ':', ')', ']', '!', '?']);
        at = end.max(start + 1);
        while !text.is_char_boundary(at) {
            at += 1;
        }
        if url.len() <= "https://".len() || url.len() > 2_000 {
            continue;
        }
        let url = url.replace("&amp;", "&");
        if out.iter().any(|l| l.url == url) {
            continue;
        }
        out.push(Link {
            defanged: defang(&url),
            host: host(&url),
            url,
        });
    }
    out
}

fn next_scheme(lower: &str) -> Option<usize> {
    match (lower.find("http://"), lower.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| format!("{h}]"))?
    } else {
        host.split(':').next()?.to_owned()
    };
    Some(host.to_lowercase()).filter(|h| !h.is_empty())
}

/// `https://evil.example/a.b` → `hxxps://evil[.]example/a.b`: the scheme broken and the
/// host's dots bracketed, so nothing turns it back into a live link.
pub fn defang(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s, r),
        None => return url.replace('.', "[.]"),
    };
    let scheme = scheme
        .to_ascii_lowercase()
        .replacen("http", "hxxp", 1)
        .replacen("ftp", "fxp", 1);
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    format!("{scheme}://{}{path}", authority.replace('.', "[.]"))
}

fn is_simulation(a: &MailAnalysis, raw: &[u8], m: &SimulationMarkers) -> bool {
    if let Some(name) = m.header_name.as_deref().filter(|n| !n.trim().is_empty()) {
        let head = header_block(raw);
        let wanted = name.trim().to_ascii_lowercase();
        for line in head.lines() {
            let Some((n, v)) = line.split_once(':') else {
                continue;
            };
            if n.trim().to_ascii_lowercase() == wanted {
                match m.header_value.as_deref().filter(|v| !v.is_empty()) {
                    None => return true,
                    Some(want) if v.trim().eq_ignore_ascii_case(want.trim()) => return true,
                    Some(_) => {}
                }
            }
        }
    }
    if let Some(domain) = a
        .from
        .as_deref()
        .and_then(|f| f.rsplit_once('@'))
        .map(|x| x.1)
    {
        for d in &m.sender_domains {
            let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
            if !d.is_empty() && (domain == d || domain.ends_with(&format!(".{d}"))) {
                return true;
            }
        }
    }
    m.url_patterns
        .iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .any(|p| a.urls.iter().any(|l| l.url.to_lowercase().contains(&p)))
}

/// The header block of a raw message (up to the first empty line), unfolded enough for a
/// `name: value` match.
fn header_block(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(256 * 1024)]);
    let end = text
        .find("\r\n\r\n")
        .or_else(|| text.find("\n\n"))
        .unwrap_or(text.len());
    text[..end].to_owned()
}

fn campaign_keys(a: &MailAnalysis) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(from) = &a.from {
        keys.push(format!("sender:{from}"));
    }
    if let Some(s) = a.subject.as_deref().map(normalise_subject)
        && s.chars().count() >= 4
    {
        keys.push(format!("subject:{s}"));
    }
    for l in a.urls.iter().take(10) {
        let Some((_, rest)) = l.url.split_once("://") else {
            continue;
        };
        let target = rest.split(['?', '#']).next().unwrap_or(rest);
        let target = target.trim_end_matches('/').to_lowercase();
        let key = format!("url:{}", bounded(&target, 200));
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// A subject without reply and forward prefixes, lowercase, whitespace collapsed: the same
/// lure forwarded or replied to is the same campaign.
pub fn normalise_subject(s: &str) -> String {
    let mut s = s.trim().to_lowercase();
    loop {
        let before = s.len();
        for p in [
            "re:",
            "fw:",
            "fwd:",
            "aw:",
            "sv:",
            "vs:",
            "[external]",
            "[ekstern]",
        ] {
            if let Some(r) = s.strip_prefix(p) {
                s = r.trim_start().to_owned();
            }
        }
        if s.len() == before {
            break;
        }
    }
    bounded(&s.split_whitespace().collect::<Vec<_>>().join(" "), 200)
}

fn strip_controls(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect()
}

fn bounded(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn floor_char(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
