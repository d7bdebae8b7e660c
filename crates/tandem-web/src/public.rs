//! Tandem's own absolute URL, for the answers that must carry one (SCIM's `Location` header
//! and `meta.location`).
//!
//! It comes from configuration (`[http] public_url`), never from the request: `Host`,
//! `X-Forwarded-Host` and `X-Forwarded-Proto` are whatever the client wrote, and taking them
//! once put `javascript://evil…` into SCIM answers. Behind a reverse proxy that serves Tandem
//! under several names, the forwarded headers are honoured only from the proxies listed in
//! `[http] trusted_proxies`, and only when they hold a plain `http`/`https` and a host name.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// Why the public URL settings were refused at start.
#[derive(Debug, thiserror::Error)]
pub enum PublicUrlError {
    #[error(
        "[http] public_url `{0}` is not an http:// or https:// URL with a host (and no user, query or fragment)"
    )]
    Url(String),
    #[error("[http] trusted_proxies: `{0}` is not an IP address or a CIDR such as 10.0.0.0/8")]
    Proxy(String),
}

/// Where Tandem is reached from outside, and whose forwarded headers to believe.
#[derive(Debug, Clone)]
pub struct PublicOrigin {
    scheme: String,
    /// Host and port as a URL writes them (`tandem.example`, `10.0.0.5:8080`, `[::1]:8080`).
    authority: String,
    /// The path Tandem is served under, without a trailing `/` (usually empty).
    prefix: String,
    trusted: Vec<IpNet>,
}

impl PublicOrigin {
    /// Checks `public_url` (`https://tandem.example` or with a path prefix) and the proxies'
    /// addresses (`10.0.0.7`, `10.0.0.0/24`).
    pub fn new(public_url: &str, trusted_proxies: &[String]) -> Result<Self, PublicUrlError> {
        let bad = || PublicUrlError::Url(public_url.to_owned());
        let url = url::Url::parse(public_url.trim()).map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none_or(str::is_empty)
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(bad());
        }
        let trusted = trusted_proxies
            .iter()
            .map(|p| {
                let p = p.trim();
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| PublicUrlError::Proxy(p.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(PublicOrigin {
            scheme: url.scheme().to_owned(),
            authority: url[url::Position::BeforeHost..url::Position::AfterPort].to_owned(),
            prefix: url.path().trim_end_matches('/').to_owned(),
            trusted,
        })
    }

    /// The configured URL as text, e.g. for the start-up banner.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.prefix)
    }

    /// The absolute URL of `path` (which starts with `/`) for a request from `peer` with
    /// `headers`: the configured URL, unless the peer is a trusted proxy that forwarded a
    /// well-formed scheme or host.
    pub fn absolute(&self, peer: Option<IpAddr>, headers: &HeaderMap, path: &str) -> String {
        let trusted = peer.is_some_and(|ip| {
            let ip = ip.to_canonical();
            self.trusted.iter().any(|net| net.contains(&ip))
        });
        let first = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(str::trim)
        };
        let (mut scheme, mut authority) = (self.scheme.as_str(), self.authority.as_str());
        if trusted {
            if let Some(p) = first("x-forwarded-proto").filter(|p| matches!(*p, "http" | "https")) {
                scheme = p;
            }
            if let Some(h) = first("x-forwarded-host").filter(|h| plain_authority(h)) {
                authority = h;
            }
        }
        format!("{scheme}://{authority}{}{path}", self.prefix)
    }
}

/// A host name or address with an optional port, and nothing else a URL could read as a
/// user, path, query or another scheme.
fn plain_authority(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        && h.parse::<axum::http::uri::Authority>().is_ok()
}

/// The absolute `/scim/v2` URL for this request (see [`PublicOrigin::absolute`]).
pub struct ScimBase(pub String);

impl FromRequestParts<crate::AppState> for ScimBase {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ScimBase(state.public.absolute(
            peer,
            &parts.headers,
            "/scim/v2",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_request_cannot_choose_the_url() {
        let origin = PublicOrigin::new("https://tandem.example/", &[]).unwrap();
        let forged = headers(&[
            ("host", "evil.example"),
            ("x-forwarded-proto", "javascript"),
            ("x-forwarded-host", "evil.example"),
        ]);
        let peer = Some("127.0.0.1".parse().unwrap());
        assert_eq!(
            origin.absolute(peer, &forged, "/scim/v2"),
            "https://tandem.example/scim/v2"
        );
    }

    #[test]
    fn a_trusted_proxy_may_forward_a_plain_scheme_and_host() {
        let origin = PublicOrigin::new(
            "http://10.0.0.5:8080/tandem",
            &["10.1.0.0/16".into(), "::1".into()],
        )
        .unwrap();
        let proxy = Some("10.1.2.3".parse().unwrap());
        let stranger = Some("10.2.0.1".parse().unwrap());
        let fwd = headers(&[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "siem.example, inner"),
        ]);
        assert_eq!(
            origin.absolute(proxy, &fwd, "/scim/v2"),
            "https://siem.example/tandem/scim/v2"
        );
        assert_eq!(
            origin.absolute(Some("::ffff:10.1.0.9".parse().unwrap()), &fwd, "/x"),
            "https://siem.example/tandem/x"
        );
        assert_eq!(
            origin.absolute(stranger, &fwd, "/scim/v2"),
            "http://10.0.0.5:8080/tandem/scim/v2"
        );
        assert_eq!(
            origin.absolute(None, &fwd, "/scim/v2"),
            "http://10.0.0.5:8080/tandem/scim/v2"
        );
        for (proto, host) in [
            ("javascript", "evil.example/x"),
            ("https:", "user@evil.example"),
            ("data", "evil.example?x"),
            ("ftp", "evil.example#"),
        ] {
            let bad = headers(&[("x-forwarded-proto", proto), ("x-forwarded-host", host)]);
            assert_eq!(
                origin.absolute(proxy, &bad, "/scim/v2"),
                "http://10.0.0.5:8080/tandem/scim/v2",
                "{proto} {host}"
            );
        }
    }

    #[test]
    fn settings_are_checked_at_start() {
        for bad in [
            "",
            "tandem.example",
            "javascript://x",
            "https://u:p@tandem.example",
            "https://tandem.example/?q",
        ] {
            assert!(PublicOrigin::new(bad, &[]).is_err(), "{bad}");
        }
        assert!(PublicOrigin::new("https://t.example", &["not-an-ip".into()]).is_err());
        assert_eq!(
            PublicOrigin::new("https://[::1]:8443", &[]).unwrap().url(),
            "https://[::1]:8443"
        );
    }
}
