//! Channels: what a message looks like on each (rendered once, when it is queued) and how
//! one attempt to deliver it goes (webhooks over HTTP, e-mail over SMTP with `lettre`).
//!
//! A channel's address and secrets (webhook URL, SMTP password) are read from the
//! configuration at send time and never written into the outbox: the delivery log cannot
//! show them, and a rotated webhook URL applies to messages already queued.

use std::time::Duration;

use lettre::Transport;
use serde::{Deserialize, Serialize};

use crate::config::{ChannelConfig, ChannelKind, SmtpConfig, SmtpTls};
use crate::http::{self, HttpRequest};
use crate::templates::{MessageContext, TemplateError, Templates};

/// A rendered message as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// A JSON body to POST (webhook, Slack, Teams).
    Json { body: String },
    Email {
        subject: String,
        text: String,
        html: String,
        /// Recipients of this message alone, in place of the channel's (a reporter's
        /// thank-you goes to the reporter through the channel's relay and sender).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        to: Vec<String>,
    },
}

/// Renders `ctx` in the shape of `kind`.
pub fn render(
    templates: &Templates,
    kind: ChannelKind,
    ctx: &MessageContext,
) -> Result<Payload, TemplateError> {
    let json = |name| {
        templates
            .render(name, ctx)
            .map(|body| Payload::Json { body })
    };
    match kind {
        ChannelKind::Webhook => json("webhook.json"),
        ChannelKind::Slack => json("slack.json"),
        ChannelKind::Teams => json("teams.json"),
        ChannelKind::Email => Ok(Payload::Email {
            // A header is one line.
            subject: templates
                .render("email_subject.txt", ctx)?
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("Tandem")
                .chars()
                .take(200)
                .collect(),
            text: templates.render("email.txt", ctx)?,
            html: templates.render("email.html", ctx)?,
            to: Vec::new(),
        }),
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub delivered: bool,
    /// Whether another attempt may help (no answer, a timeout, a 5xx, 429, an SMTP 4xx).
    pub retry: bool,
    /// The HTTP status or SMTP reply code.
    pub status: Option<u16>,
    pub answer: String,
}

impl From<http::Answer> for Outcome {
    fn from(a: http::Answer) -> Outcome {
        Outcome {
            delivered: a.succeeded(&[]),
            retry: a.worth_retrying(),
            status: a.status,
            answer: a.text,
        }
    }
}

/// Sends messages: one HTTP agent and one SMTP transport, reused.
pub struct Sender {
    agent: ureq::Agent,
    smtp: Option<lettre::SmtpTransport>,
    from: Option<lettre::message::Mailbox>,
}

impl Sender {
    pub fn new(smtp: &SmtpConfig, timeout: Duration) -> Result<Sender, String> {
        let transport = if smtp.host.trim().is_empty() {
            None
        } else {
            let builder = match smtp.tls {
                SmtpTls::None => lettre::SmtpTransport::builder_dangerous(&smtp.host),
                SmtpTls::Starttls => lettre::SmtpTransport::starttls_relay(&smtp.host)
                    .map_err(|e| format!("[notify.smtp]: {e}"))?,
                SmtpTls::Tls => lettre::SmtpTransport::relay(&smtp.host)
                    .map_err(|e| format!("[notify.smtp]: {e}"))?,
            };
            let mut builder = builder.port(smtp.port).timeout(Some(timeout));
            if !smtp.username.is_empty() {
                builder =
                    builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                        smtp.username.clone(),
                        smtp.password.clone(),
                    ));
            }
            Some(builder.build())
        };
        Ok(Sender {
            agent: http::agent(timeout),
            smtp: transport,
            from: smtp.from.parse().ok(),
        })
    }

    /// One attempt to deliver `payload` to `channel`, carrying `key` (the outbox id) as the
    /// `Idempotency-Key` header or the mail's `Message-ID`, so a receiver can recognise a
    /// repeat after a crash.
    pub fn send(&self, channel: &ChannelConfig, payload: &Payload, key: &str) -> Outcome {
        match (channel.kind, payload) {
            (
                ChannelKind::Email,
                Payload::Email {
                    subject,
                    text,
                    html,
                    to,
                },
            ) => {
                let to = if to.is_empty() { &channel.to } else { to };
                self.mail(to, subject, text, html, key)
            }
            (ChannelKind::Email, _) | (_, Payload::Email { .. }) => Outcome {
                delivered: false,
                retry: false,
                status: None,
                answer: format!(
                    "the message was rendered for another kind of channel than {} ({}): the channel's kind changed",
                    channel.name,
                    channel.kind.code()
                ),
            },
            (_, Payload::Json { body }) => {
                let request = HttpRequest {
                    method: "POST".into(),
                    url: channel.webhook_url.clone(),
                    headers: vec![("Content-Type".into(), "application/json".into())],
                    body: Some(body.clone()),
                };
                http::send(&self.agent, &request, key).into()
            }
        }
    }

    fn mail(
        &self,
        recipients: &[String],
        subject: &str,
        text: &str,
        html: &str,
        key: &str,
    ) -> Outcome {
        let refused = |answer: String| Outcome {
            delivered: false,
            retry: false,
            status: None,
            answer,
        };
        let (Some(smtp), Some(from)) = (&self.smtp, &self.from) else {
            return refused("[notify.smtp] host or from is not set".into());
        };
        let mut builder = lettre::Message::builder()
            .from(from.clone())
            .subject(subject)
            .message_id(Some(format!("<{key}@tandem.notify>")));
        for to in recipients {
            match to.parse() {
                Ok(mailbox) => builder = builder.to(mailbox),
                Err(e) => return refused(format!("recipient {to:?} is not a mail address: {e}")),
            }
        }
        let message = match builder.multipart(lettre::message::MultiPart::alternative_plain_html(
            text.to_owned(),
            html.to_owned(),
        )) {
            Ok(m) => m,
            Err(e) => return refused(format!("cannot build the mail: {e}")),
        };
        match smtp.send(&message) {
            Ok(response) => Outcome {
                delivered: true,
                retry: false,
                status: code(&response.code().to_string()),
                answer: response.message().collect::<Vec<_>>().join(" "),
            },
            Err(e) => Outcome {
                delivered: false,
                // A permanent refusal (5xx: no such mailbox, authentication failed) will be
                // the same next time; anything else (4xx, no connection) may pass.
                retry: !e.is_permanent(),
                status: e.status().and_then(|c| code(&c.to_string())),
                answer: format!("SMTP: {e}"),
            },
        }
    }
}

fn code(s: &str) -> Option<u16> {
    s.trim().parse().ok()
}
