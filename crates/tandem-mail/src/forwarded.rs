//! What an employee forwarded to the report-phishing mailbox: who forwarded it, and the
//! suspicious original inside.
//!
//! The "Report phishing" buttons of Outlook, Gmail and Thunderbird, and "Forward as
//! attachment" in every client, attach the original as a `message/rfc822` part: its bytes are
//! the original as the employee received it, headers and all (the Received chain and the
//! `Authentication-Results` an analyst needs), and are taken unchanged. A mail forwarded
//! inline keeps only what the client quoted: the original's few headers (From, Date, To,
//! Subject) and its text; that is rebuilt into a small message and marked as such, so no one
//! mistakes its missing Received chain for evidence. A mail that holds neither (an employee
//! who wrote "this looks odd" above nothing, or a client that redirected the mail with
//! `Resent-From`) is taken whole.
//!
//! Nothing here renders anything or fails on odd input beyond saying why it cannot be read.

use mail_parser::{Encoding, MessageParser, MessagePart, MimeHeaders, PartType};

/// How the original reached the mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HowForwarded {
    /// Attached as a message (`message/rfc822`, or an `.eml` file): the original's bytes,
    /// unchanged.
    Attached,
    /// Quoted in the forward's text: rebuilt from the quoted headers and text, without the
    /// original's routing headers.
    Inline,
    /// Neither: the message as it arrived (a redirect keeps the original's headers; anything
    /// else at least keeps what the employee saw).
    Whole,
}

impl HowForwarded {
    pub fn as_str(self) -> &'static str {
        match self {
            HowForwarded::Attached => "attached",
            HowForwarded::Inline => "inline",
            HowForwarded::Whole => "whole",
        }
    }
}

/// One message of the mailbox, read: the employee who forwarded it and the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The forwarder's address (the outer message's `Resent-From`, else its `From`).
    pub forwarder: String,
    /// The original message's bytes.
    pub original: Vec<u8>,
    pub how: HowForwarded,
    /// The outer message's subject, for the log.
    pub subject: String,
}

/// Why a message of the mailbox could not be read as a forward.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    #[error("the message is not a mail message (no headers could be read)")]
    NotAMessage,
    #[error("the message names no sender, so there is no one to file the report for")]
    NoForwarder,
}

/// Reads one forwarded message.
pub fn read(raw: &[u8]) -> Result<Forwarded, ForwardError> {
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or(ForwardError::NotAMessage)?;
    let resent = message
        .resent_from()
        .and_then(|a| a.first())
        .and_then(|a| a.address());
    let forwarder = resent
        .or_else(|| {
            message
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
        })
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| !a.is_empty())
        .ok_or(ForwardError::NoForwarder)?;
    let subject = message.subject().unwrap_or("").to_owned();
    let (original, how) = if resent.is_some() {
        (raw.to_vec(), HowForwarded::Whole)
    } else if let Some(original) = message.attachments().find_map(|p| attached(raw, p)) {
        (original, HowForwarded::Attached)
    } else if let Some(original) = message.body_text(0).and_then(|t| inline(&t)) {
        (original, HowForwarded::Inline)
    } else {
        (raw.to_vec(), HowForwarded::Whole)
    };
    Ok(Forwarded {
        forwarder,
        original,
        how,
        subject,
    })
}

/// The bytes of an attached message: a `message/rfc822` part as sent (unless it was encoded
/// for transport, then decoded), or an `.eml` file.
fn attached(raw: &[u8], part: &MessagePart<'_>) -> Option<Vec<u8>> {
    match &part.body {
        PartType::Message(_) if part.encoding == Encoding::None => {
            // Parsed in place: the part's body in the outer message is the original.
            raw.get(part.offset_body as usize..part.offset_end as usize)
                .map(<[u8]>::to_vec)
        }
        PartType::Message(m) => Some(m.raw_message().to_vec()),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes)
            if part
                .attachment_name()
                .is_some_and(|n| n.to_ascii_lowercase().ends_with(".eml")) =>
        {
            Some(bytes.to_vec())
        }
        _ => None,
    }
}

/// Whether a line opens a quoted forward in one of the common clients.
fn is_forward_marker(line: &str) -> bool {
    let l = line
        .trim()
        .trim_matches(|c| c == '-' || c == '_' || c == ' ');
    let lower = l.to_ascii_lowercase();
    lower == "forwarded message"
        || lower == "original message"
        || lower == "begin forwarded message:"
        // Outlook's "________________________________" above the quoted headers.
        || (l.is_empty() && line.trim().len() >= 10 && line.trim().chars().all(|c| c == '_'))
}

/// A quoted header line (`From: Someone <a@b>`): its name and value.
fn quoted_header(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start_matches('>').trim();
    let (name, value) = line.split_once(':')?;
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 30
        && name.chars().all(|c| c.is_alphanumeric() || c == '-');
    ok.then_some((name, value.trim()))
}

/// The original rebuilt from an inline forward's text: the quoted headers (Outlook's `Sent`
/// named `Date`), a blank line, the quoted text; CRLF line ends. None without a forward
/// marker followed by a quoted `From`.
fn inline(text: &str) -> Option<Vec<u8>> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| is_forward_marker(l))?;
    let mut i = start + 1;
    while i < lines.len() && lines[i].trim().is_empty() {
        i += 1;
    }
    let mut headers = Vec::new();
    while i < lines.len() {
        let Some((name, value)) = quoted_header(lines[i]) else {
            break;
        };
        let name = if name.eq_ignore_ascii_case("sent") {
            "Date"
        } else {
            name
        };
        headers.push(format!("{name}: {value}"));
        i += 1;
    }
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("from:"))
    {
        return None;
    }
    let mut out = headers.join("\r\n");
    out.push_str(
        "\r\nX-Tandem-Forwarded: inline; the original's routing headers were not kept\r\n\r\n",
    );
    let body: Vec<&str> = lines[i..]
        .iter()
        .skip_while(|l| l.trim().is_empty())
        .map(|l| l.strip_prefix("> ").unwrap_or(l))
        .collect();
    out.push_str(&body.join("\r\n"));
    out.push_str("\r\n");
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "Received: from mx.evil.example (mx.evil.example [203.0.113.9])\r\n\tby mx.nordlys.example; Mon, 7 Dec 2026 08:01:02 +0000\r\nFrom: \"IT Helpdesk\" <helpdesk@nordlys-support.example>\r\nTo: kari@nordlys.example\r\nSubject: Your mailbox is full\r\nMessage-ID: <phish-1@nordlys-support.example>\r\nDate: Mon, 7 Dec 2026 08:01:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nClick https://nordlys-support.example/login to keep your mail.\r\n";

    fn attached_forward(original: &str) -> String {
        format!(
            "From: Kari Nordmann <Kari@nordlys.example>\r\nTo: phishing@nordlys.example\r\nSubject: FW: Your mailbox is full\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nReported.\r\n\r\n--b1\r\nContent-Type: message/rfc822; name=\"Your mailbox is full.eml\"\r\nContent-Disposition: attachment\r\n\r\n{original}\r\n--b1--\r\n"
        )
    }

    #[test]
    fn an_attached_original_is_taken_byte_for_byte_and_the_forwarder_named() {
        let f = read(attached_forward(ORIGINAL).as_bytes()).unwrap();
        assert_eq!(f.forwarder, "kari@nordlys.example");
        assert_eq!(f.how, HowForwarded::Attached);
        assert_eq!(String::from_utf8(f.original).unwrap(), ORIGINAL);
    }

    #[test]
    fn a_base64_attached_original_and_an_eml_file_are_decoded() {
        let b64 = "UmVjZWl2ZWQ6IGZyb20geAoKYm9keQo="; // "Received: from x\n\nbody\n"
        for ctype in ["message/rfc822", "application/octet-stream"] {
            let raw = format!(
                "From: a@nordlys.example\r\nSubject: fw\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n--b\r\nContent-Type: {ctype}; name=\"x.eml\"\r\nContent-Disposition: attachment; filename=\"x.eml\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
            );
            let f = read(raw.as_bytes()).unwrap();
            assert_eq!(f.how, HowForwarded::Attached, "{ctype}");
            assert_eq!(f.original, b"Received: from x\n\nbody\n", "{ctype}");
        }
    }

    #[test]
    fn an_inline_forward_is_rebuilt_from_the_quoted_headers() {
        let raw = "From: ola@nordlys.example\r\nSubject: Fwd: Invoice\r\nContent-Type: text/plain\r\n\r\nThis looks fake.\r\n\r\n---------- Forwarded message ---------\r\nFrom: Billing <billing@pay-now.example>\r\nDate: Mon, 7 Dec 2026 at 09:00\r\nSubject: Invoice 4471\r\nTo: <ola@nordlys.example>\r\n\r\nPay at http://pay-now.example/i/4471 today.\r\n";
        let f = read(raw.as_bytes()).unwrap();
        assert_eq!(f.how, HowForwarded::Inline);
        assert_eq!(f.forwarder, "ola@nordlys.example");
        let text = String::from_utf8(f.original).unwrap();
        assert!(
            text.starts_with("From: Billing <billing@pay-now.example>\r\n"),
            "{text}"
        );
        assert!(text.contains("Subject: Invoice 4471\r\n"), "{text}");
        assert!(
            text.ends_with("\r\n\r\nPay at http://pay-now.example/i/4471 today.\r\n"),
            "{text}"
        );
        let reparsed = MessageParser::default().parse(text.as_bytes()).unwrap();
        assert_eq!(reparsed.subject(), Some("Invoice 4471"));
    }

    #[test]
    fn outlooks_inline_forward_names_the_date_sent() {
        let raw = "From: ola@nordlys.example\r\nSubject: FW: x\r\n\r\n\r\n________________________________\r\nFrom: Boss <ceo@nordlys-ceo.example>\r\nSent: Monday, December 7, 2026 9:00 AM\r\nTo: Ola\r\nSubject: Urgent gift cards\r\n\r\nBuy them now.\r\n";
        let f = read(raw.as_bytes()).unwrap();
        assert_eq!(f.how, HowForwarded::Inline);
        let text = String::from_utf8(f.original).unwrap();
        assert!(
            text.contains("Date: Monday, December 7, 2026 9:00 AM\r\n"),
            "{text}"
        );
    }

    #[test]
    fn a_redirect_or_a_bare_mail_is_taken_whole() {
        let raw = format!("Resent-From: per@nordlys.example\r\n{ORIGINAL}");
        let f = read(raw.as_bytes()).unwrap();
        assert_eq!(
            (f.forwarder.as_str(), f.how),
            ("per@nordlys.example", HowForwarded::Whole)
        );
        assert_eq!(f.original, raw.as_bytes());
        let f = read(ORIGINAL.as_bytes()).unwrap();
        assert_eq!(f.how, HowForwarded::Whole);
    }

    #[test]
    fn garbage_and_a_mail_without_sender_are_refused_with_a_reason() {
        assert_eq!(read(b"").unwrap_err(), ForwardError::NotAMessage);
        assert_eq!(
            read(b"Subject: hi\r\n\r\nbody\r\n").unwrap_err(),
            ForwardError::NoForwarder
        );
    }
}
