//! One outgoing HTTP request and what came back: the part notifications (webhooks, Slack,
//! Teams) and response actions (suspend a badge, disable an account) share.
//!
//! The answer is kept in words and bounded, because it is shown to people on the delivery
//! log and the incident timeline: "503 from the receiver: …" is what lets an operator
//! decide whether to retry. Every request carries an `Idempotency-Key` header: delivery is
//! at least once (a crash between sending and recording the answer sends again after a
//! restart), and the key is how a receiver recognises the repeat.

use std::time::Duration;

/// How much of a receiver's answer is kept.
pub const ANSWER_LIMIT: usize = 4 * 1024;

/// A request ready to send: every template already rendered, every secret filled in.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// What one attempt got back.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Answer {
    /// The HTTP status, when the receiver answered at all.
    pub status: Option<u16>,
    /// The start of the answer's body (at most [`ANSWER_LIMIT`] bytes, lossily UTF-8), or
    /// why there was no answer ("cannot reach …", "timed out").
    pub text: String,
}

impl Answer {
    /// A 2xx status, or one of `expected` when given.
    pub fn succeeded(&self, expected: &[u16]) -> bool {
        match self.status {
            Some(s) if expected.is_empty() => (200..300).contains(&s),
            Some(s) => expected.contains(&s),
            None => false,
        }
    }

    /// Whether another try may help: no answer, a timeout, 408, 429 or a server error.
    /// Anything else (400, 401, 404) will be the same next time.
    pub fn worth_retrying(&self) -> bool {
        match self.status {
            None => true,
            Some(s) => s == 408 || s == 429 || s >= 500,
        }
    }
}

/// The agent every sender uses: bounded time, statuses as answers (not errors), no
/// redirects (a webhook that redirects is misconfigured, and following it could send the
/// body somewhere else).
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// Sends `request` once, with `Idempotency-Key: <key>`.
pub fn send(agent: &ureq::Agent, request: &HttpRequest, idempotency_key: &str) -> Answer {
    let mut builder = ureq::http::Request::builder()
        .method(request.method.as_str())
        .uri(request.url.as_str())
        .header("Idempotency-Key", idempotency_key);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let built = match builder.body(request.body.clone().unwrap_or_default()) {
        Ok(r) => r,
        Err(e) => {
            return Answer {
                status: None,
                text: format!("not a valid request: {e}"),
            };
        }
    };
    match agent.run(built) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let text = match response
                .body_mut()
                .with_config()
                .limit(ANSWER_LIMIT as u64)
                .read_to_vec()
            {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(ureq::Error::BodyExceedsLimit(_)) => {
                    format!("(answer longer than {ANSWER_LIMIT} bytes, not kept)")
                }
                Err(e) => format!("(answer broke off: {e})"),
            };
            Answer {
                status: Some(status),
                text,
            }
        }
        Err(e) => Answer {
            status: None,
            text: format!("cannot reach {}: {e}", host_of(&request.url)),
        },
    }
}

/// Scheme, host and port of `url`: what an error may name without leaking a webhook's
/// secret path.
pub fn host_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

/// The wait before attempt `attempt + 1` (the first retry is `attempt = 1`): exponential
/// from `base`, capped at `cap`, with full jitter (`jitter` in 0..1, a uniform random draw)
/// so that many deliveries failing together do not retry together.
pub fn backoff(attempt: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(31)));
    let ceiling = exp.min(cap);
    ceiling.mul_f64(jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn host_of_hides_the_secret_path() {
        assert_eq!(
            host_of("https://hooks.slack.com/services/T0/B0/xyz"),
            "https://hooks.slack.com"
        );
        assert_eq!(host_of("http://127.0.0.1:9/x?y"), "http://127.0.0.1:9");
        assert_eq!(host_of("nonsense"), "nonsense");
    }

    #[test]
    fn success_and_retry_follow_the_status() {
        let answer = |status| Answer {
            status,
            text: String::new(),
        };
        assert!(answer(Some(204)).succeeded(&[]));
        assert!(!answer(Some(204)).succeeded(&[200]));
        assert!(!answer(None).succeeded(&[]));
        assert!(answer(None).worth_retrying());
        assert!(answer(Some(503)).worth_retrying());
        assert!(answer(Some(429)).worth_retrying());
        assert!(!answer(Some(400)).worth_retrying());
    }

    proptest! {
        #[test]
        fn backoff_stays_under_its_cap(attempt in 0u32..100, jitter in 0.0f64..1.0) {
            let cap = Duration::from_secs(600);
            let wait = backoff(attempt, Duration::from_secs(2), cap, jitter);
            prop_assert!(wait <= cap);
        }

        #[test]
        fn backoff_ceiling_doubles(attempt in 1u32..8) {
            let base = Duration::from_secs(1);
            let cap = Duration::from_secs(1 << 20);
            prop_assert_eq!(
                backoff(attempt + 1, base, cap, 1.0),
                backoff(attempt, base, cap, 1.0) * 2
            );
        }
    }
}
