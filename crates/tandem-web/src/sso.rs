//! Single sign-on: people sign in to the console through the organisation's identity provider
//! (Okta, Entra ID, Keycloak, any OpenID Connect provider), and the provider's groups decide
//! their Tandem role.
//!
//! The flow is OpenID Connect's authorization code flow with PKCE (S256), `state` and `nonce`:
//!
//! 1. `GET /login/sso?next=/findings` ([`Sso::start`]): Tandem reads the provider's discovery
//!    document (cached), makes a random `state`, `nonce` and PKCE verifier, keeps them
//!    **server-side, in memory**, keyed by `state` and for ten minutes at most, and sends the
//!    browser to the provider with the `state` also in a short-lived cookie (`tandem_sso`,
//!    HttpOnly, `SameSite=Lax` so it survives the provider's redirect back, path
//!    `/login/sso`). The verifier and nonce never leave the server, and the cookie binds the
//!    answer to the browser that asked, so a code pushed into someone else's browser (login
//!    CSRF) is refused. A restart forgets sign-ins in progress; the person clicks again.
//! 2. `GET /login/sso/callback?code=…&state=…` ([`Sso::finish`]): the `state` must be the
//!    cookie's and one Tandem is waiting for; it is used up at once, so a replayed answer is
//!    refused. The code is exchanged with the client secret and the PKCE verifier, and the ID
//!    token is checked by the `openidconnect` crate: signature against the provider's keys,
//!    issuer, audience, expiry, nonce.
//! 3. The person's groups (the `groups_claim` of the ID token) give the role
//!    ([`Sso::role_for`]); then the console creates or updates their account and a session.
//!
//! Everything here that talks to the provider blocks (the `ureq` client): callers run it with
//! `spawn_blocking`. A provider that cannot be reached never stops Tandem from starting or from
//! serving password sign-in; only the single sign-on button reports it.

use crate::access::Role;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthType, AuthenticationFlow, AuthorizationCode, Client, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `[auth.oidc]` in the configuration. Single sign-on is on when `issuer` is set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer URL, exactly as its discovery document states it
    /// (`{issuer}/.well-known/openid-configuration` must answer). Empty: no single sign-on.
    pub issuer: String,
    /// The client (application) id registered at the provider for Tandem.
    pub client_id: String,
    /// The client secret. Better given as `TANDEM_AUTH__OIDC__CLIENT_SECRET` or in
    /// `client_secret_file`; never printed by `tandem config`.
    #[serde(skip_serializing)]
    pub client_secret: String,
    /// A file holding the client secret (a container or systemd secret), read at start.
    pub client_secret_file: String,
    /// The public URL of Tandem's callback, registered at the provider as a redirect URI:
    /// `https://tandem.example.com/login/sso/callback`.
    pub redirect_url: String,
    /// Scopes asked for; `openid` is always added.
    pub scopes: Vec<String>,
    /// The ID-token claim holding the person's groups (a list of names or ids).
    pub groups_claim: String,
    /// The ID-token claim that names the person's Tandem account; when missing or not a
    /// usable name, `email`, then `sub`.
    pub username_claim: String,
    /// The text of the sign-in button.
    pub button_label: String,
    /// The role of someone in none of the mapped groups; empty refuses them.
    pub default_role: String,
    /// A PEM file with the certificate authority of the provider's HTTPS certificate, when it
    /// is a private one; the public authorities are trusted otherwise.
    pub ca_file: String,
    /// Group → role, first match wins (list the most powerful first).
    pub roles: Vec<RoleMapping>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            client_secret_file: String::new(),
            redirect_url: String::new(),
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            groups_claim: "groups".into(),
            username_claim: "preferred_username".into(),
            button_label: "Sign in with single sign-on".into(),
            default_role: String::new(),
            ca_file: String::new(),
            roles: Vec::new(),
        }
    }
}

impl OidcConfig {
    pub fn enabled(&self) -> bool {
        !self.issuer.trim().is_empty()
    }
}

/// One `[[auth.oidc.roles]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleMapping {
    /// The group as the provider names it in the groups claim (Entra ID sends group object
    /// ids unless configured to send names).
    pub group: String,
    /// A Tandem role: `admin`, `soc_analyst`, `physical_security`, `responder:hr`, `auditor`, …
    pub role: String,
}

/// A mistake in `[auth.oidc]`, reported at start.
#[derive(Debug, thiserror::Error)]
#[error("[auth.oidc]: {0}")]
pub struct ConfigError(String);

/// Why a sign-in through the provider did not complete. The message is for the person at the
/// browser (and the audit log); nothing secret is in it.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error(
        "The identity provider at {issuer} cannot be reached or did not answer as an OpenID Connect provider ({detail}). Sign in with a Tandem password, or try again later."
    )]
    Unreachable { issuer: String, detail: String },
    #[error(
        "This sign-in answer is not one Tandem is waiting for in this browser (it was changed, used already, or is more than ten minutes old). Start again."
    )]
    UnknownState,
    #[error("The identity provider did not sign you in: {0}")]
    Provider(String),
    #[error("The identity provider's answer could not be verified: {0}")]
    Unverified(String),
    #[error("The identity provider did not say who you are: {0}")]
    NoName(String),
}

impl SsoError {
    /// A short word for the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            SsoError::Unreachable { .. } => "provider_unreachable",
            SsoError::UnknownState => "state",
            SsoError::Provider(_) => "provider_error",
            SsoError::Unverified(_) => "unverified",
            SsoError::NoName(_) => "no_name",
        }
    }
}

/// Someone the provider vouched for, with what Tandem needs from the ID token.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub issuer: String,
    pub subject: String,
    /// The account name (see [`OidcConfig::username_claim`]).
    pub username: String,
    pub groups: Vec<String>,
    /// The console page to go to (a local path).
    pub next: String,
}

/// Every claim of the ID token beyond the standard ones, so the groups claim can have any
/// name.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OtherClaims(HashMap<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

type SsoTokenResponse = StandardTokenResponse<
    IdTokenFields<
        OtherClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

type SsoClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    SsoTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A sign-in Tandem sent to the provider and waits to hear back about.
struct Pending {
    verifier: String,
    nonce: String,
    next: String,
    started: Instant,
}

/// How long a started sign-in may take at the provider.
pub const PENDING_FOR: Duration = Duration::from_secs(10 * 60);
/// Sign-ins in progress kept at most; the oldest is forgotten first, so a flood of started
/// sign-ins costs bounded memory.
const MAX_PENDING: usize = 10_000;
/// How long the provider's discovery document and keys are reused before being read again
/// (so rotated keys are picked up).
const PROVIDER_FOR: Duration = Duration::from_secs(15 * 60);

/// Single sign-on as configured: the provider, the role mapping, sign-ins in progress.
pub struct Sso {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect: RedirectUrl,
    scopes: Vec<String>,
    groups_claim: String,
    username_claim: String,
    button_label: String,
    roles: Vec<(String, Role)>,
    default_role: Option<Role>,
    http: UreqClient,
    provider: Mutex<Option<(Instant, Arc<CoreProviderMetadata>)>>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl Sso {
    /// Checks the configuration (roles Tandem knows, URLs that parse, a secret) without
    /// contacting the provider.
    pub fn new(config: &OidcConfig) -> Result<Sso, ConfigError> {
        let bad = |m: String| ConfigError(m);
        let issuer = IssuerUrl::new(config.issuer.trim().trim_end_matches('/').to_owned())
            .map_err(|e| bad(format!("issuer `{}` is not a URL: {e}", config.issuer)))?;
        if config.client_id.trim().is_empty() {
            return Err(bad("client_id is empty".into()));
        }
        let secret = if config.client_secret_file.trim().is_empty() {
            config.client_secret.clone()
        } else {
            std::fs::read_to_string(config.client_secret_file.trim())
                .map_err(|e| {
                    bad(format!(
                        "cannot read client_secret_file {}: {e}",
                        config.client_secret_file
                    ))
                })?
                .trim()
                .to_owned()
        };
        if secret.is_empty() {
            return Err(bad(
                "no client secret: set client_secret_file or TANDEM_AUTH__OIDC__CLIENT_SECRET"
                    .into(),
            ));
        }
        let redirect = RedirectUrl::new(config.redirect_url.trim().to_owned()).map_err(|e| {
            bad(format!(
                "redirect_url `{}` is not a URL: {e}; it is the public address of /login/sso/callback",
                config.redirect_url
            ))
        })?;
        if !redirect.url().path().ends_with("/login/sso/callback") {
            return Err(bad(format!(
                "redirect_url `{}` must end in /login/sso/callback",
                config.redirect_url
            )));
        }
        let role = |text: &str, what: String| match Role::parse(text.trim()) {
            Some(Role::Provisioner) => Err(bad(format!(
                "{what}: `scim` is for an identity provider's provisioning client, not a person"
            ))),
            Some(r) => Ok(r),
            None => Err(bad(format!(
                "{what}: `{text}` is not a Tandem role (admin, soc_analyst, physical_security, responder:<department>, auditor)"
            ))),
        };
        let mut roles = Vec::new();
        for (i, m) in config.roles.iter().enumerate() {
            if m.group.trim().is_empty() {
                return Err(bad(format!("roles[{i}] has an empty group")));
            }
            roles.push((
                m.group.trim().to_owned(),
                role(&m.role, format!("roles[{i}] (group `{}`)", m.group))?,
            ));
        }
        let default_role = if config.default_role.trim().is_empty() {
            None
        } else {
            Some(role(&config.default_role, "default_role".into())?)
        };
        let mut scopes: Vec<String> = config
            .scopes
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && s != "openid")
            .collect();
        scopes.dedup();
        Ok(Sso {
            issuer,
            client_id: ClientId::new(config.client_id.trim().to_owned()),
            client_secret: ClientSecret::new(secret),
            redirect,
            scopes,
            groups_claim: config.groups_claim.trim().to_owned(),
            username_claim: config.username_claim.trim().to_owned(),
            button_label: config.button_label.clone(),
            roles,
            default_role,
            http: UreqClient::new(config.ca_file.trim()).map_err(bad)?,
            provider: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
        })
    }

    pub fn button_label(&self) -> &str {
        &self.button_label
    }

    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// The role for someone in `groups`: the first `[[auth.oidc.roles]]` entry naming one of
    /// them, else the default role, else none (refused).
    pub fn role_for(&self, groups: &[String]) -> Option<Role> {
        self.roles
            .iter()
            .find(|(group, _)| groups.iter().any(|g| g == group))
            .map(|(_, role)| *role)
            .or(self.default_role)
    }

    /// The provider's discovery document and keys: cached for [`PROVIDER_FOR`]; when reading
    /// them again fails, the last good copy is used.
    pub fn provider(&self) -> Result<Arc<CoreProviderMetadata>, SsoError> {
        let cached = self
            .provider
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((at, meta)) = &cached
            && at.elapsed() < PROVIDER_FOR
        {
            return Ok(meta.clone());
        }
        match CoreProviderMetadata::discover(&self.issuer, &self.http) {
            Ok(meta) => {
                let meta = Arc::new(meta);
                *self.provider.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((Instant::now(), meta.clone()));
                Ok(meta)
            }
            Err(e) => {
                let detail = error_chain(&e);
                match cached {
                    Some((_, meta)) => {
                        tracing::warn!(issuer = %self.issuer.as_str(), error = %detail, "identity provider discovery failed; using the last copy");
                        Ok(meta)
                    }
                    None => Err(SsoError::Unreachable {
                        issuer: self.issuer.to_string(),
                        detail,
                    }),
                }
            }
        }
    }

    fn client(&self, meta: &CoreProviderMetadata) -> SsoClient {
        // Basic authentication unless the provider says it only takes the secret in the body.
        let auth = match meta.token_endpoint_auth_methods_supported() {
            Some(methods)
                if !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                    && methods.contains(&CoreClientAuthMethod::ClientSecretPost) =>
            {
                AuthType::RequestBody
            }
            _ => AuthType::BasicAuth,
        };
        SsoClient::from_provider_metadata(
            meta.clone(),
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone())
        .set_auth_type(auth)
    }

    /// Starts a sign-in: the provider's URL to send the browser to, and the `state` to put in
    /// the browser's `tandem_sso` cookie. `next` must already be a local path.
    pub fn start(&self, next: &str) -> Result<(String, String), SsoError> {
        let meta = self.provider()?;
        let client = self.client(&meta);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, p| p.started.elapsed() < PENDING_FOR);
        if pending.len() >= MAX_PENDING
            && let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(k, _)| k.clone())
        {
            pending.remove(&oldest);
        }
        pending.insert(
            state.secret().clone(),
            Pending {
                verifier: verifier.secret().clone(),
                nonce: nonce.secret().clone(),
                next: next.to_owned(),
                started: Instant::now(),
            },
        );
        Ok((url.to_string(), state.secret().clone()))
    }

    /// Finishes a sign-in from the provider's answer: `state` as the browser's cookie holds it
    /// and the callback's query. On success, who the provider says the person is.
    pub fn finish(
        &self,
        cookie_state: Option<&str>,
        answer: &CallbackParams,
    ) -> Result<Verified, SsoError> {
        let state = answer.state.as_deref().unwrap_or_default();
        // The state is used up whatever happens next: one answer per sign-in.
        let pending = (!state.is_empty() && cookie_state == Some(state))
            .then(|| {
                self.pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(state)
            })
            .flatten()
            .filter(|p| p.started.elapsed() < PENDING_FOR)
            .ok_or(SsoError::UnknownState)?;
        if let Some(error) = &answer.error {
            let detail = answer
                .error_description
                .as_deref()
                .map_or_else(|| error.clone(), |d| format!("{error}: {d}"));
            return Err(SsoError::Provider(detail));
        }
        let code = answer
            .code
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| SsoError::Provider("the answer carries no code".into()))?;
        let meta = self.provider()?;
        let client = self.client(&meta);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| SsoError::Provider(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request(&self.http)
            .map_err(|e| SsoError::Provider(error_chain(&e)))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| SsoError::Unverified("the answer has no ID token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce))
            .map_err(|e| SsoError::Unverified(error_chain(&e)))?;
        let all = serde_json::to_value(claims)
            .map_err(|e| SsoError::Unverified(format!("unreadable claims: {e}")))?;
        let subject = claims.subject().as_str().to_owned();
        let username = [self.username_claim.as_str(), "email", "sub"]
            .iter()
            .filter_map(|c| all.get(*c).and_then(|v| v.as_str()))
            .map(str::trim)
            .find(|n| valid_name(n))
            .map(str::to_owned)
            .ok_or_else(|| {
                SsoError::NoName(format!(
                    "none of the claims {}, email or sub is a usable account name (1 to 64 letters, digits, dots, dashes, underscores or @)",
                    self.username_claim
                ))
            })?;
        Ok(Verified {
            issuer: self.issuer.to_string(),
            subject,
            username,
            groups: groups_of(all.get(&self.groups_claim)),
            next: pending.next,
        })
    }
}

/// The query of `GET /login/sso/callback`.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A groups claim as providers send it: a list of names (or ids), or one name.
fn groups_of(claim: Option<&serde_json::Value>) -> Vec<String> {
    match claim {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|g| g.as_str())
            .map(str::to_owned)
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// Account names: short, printable, and safe in a URL path and a log line (the settings
/// pages hold console users to the same rule).
pub(crate) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
}

/// An error with its causes, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    text
}

/// The `ureq` agent as the HTTP client of `openidconnect`: no redirects followed (they would
/// let a provider's answer point Tandem at another host), ten seconds per request.
struct UreqClient(ureq::Agent);

#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error("{0}")]
    Ureq(#[from] ureq::Error),
    #[error("{0}")]
    Http(#[from] openidconnect::http::Error),
}

impl UreqClient {
    fn new(ca_file: &str) -> Result<UreqClient, String> {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .user_agent("Tandem");
        if !ca_file.is_empty() {
            let pem = std::fs::read(ca_file)
                .map_err(|e| format!("cannot read ca_file {ca_file}: {e}"))?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(format!("ca_file {ca_file} holds no PEM certificate"));
            }
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            );
        }
        Ok(UreqClient(config.build().into()))
    }
}

impl openidconnect::SyncHttpClient for UreqClient {
    type Error = HttpError;

    fn call(
        &self,
        request: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, HttpError> {
        let (parts, mut body) = self.0.run(request)?.into_parts();
        let bytes = body.read_to_vec()?;
        Ok(openidconnect::http::Response::from_parts(parts, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OidcConfig {
        OidcConfig {
            issuer: "https://idp.example/realms/acme".into(),
            client_id: "tandem".into(),
            client_secret: "s3cret".into(),
            redirect_url: "https://tandem.example/login/sso/callback".into(),
            roles: vec![
                RoleMapping {
                    group: "tandem-admins".into(),
                    role: "admin".into(),
                },
                RoleMapping {
                    group: "sec-analysts".into(),
                    role: "soc_analyst".into(),
                },
                RoleMapping {
                    group: "hr".into(),
                    role: "responder:hr".into(),
                },
            ],
            ..OidcConfig::default()
        }
    }

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_first_mapped_group_decides_the_role() {
        let sso = Sso::new(&config()).unwrap();
        assert_eq!(
            sso.role_for(&groups(&["hr", "sec-analysts"])),
            Some(Role::SocAnalyst)
        );
        assert_eq!(
            sso.role_for(&groups(&["everyone", "tandem-admins", "hr"])),
            Some(Role::Admin)
        );
        assert_eq!(
            sso.role_for(&groups(&["hr"])),
            Some(Role::Responder(crate::Department::Hr))
        );
        assert_eq!(sso.role_for(&groups(&["everyone"])), None);
        assert_eq!(sso.role_for(&[]), None);
        let with_default = Sso::new(&OidcConfig {
            default_role: "auditor".into(),
            ..config()
        })
        .unwrap();
        assert_eq!(
            with_default.role_for(&groups(&["everyone"])),
            Some(Role::Auditor)
        );
    }

    #[test]
    fn configuration_mistakes_are_named() {
        let err = |c: OidcConfig| Sso::new(&c).err().expect("refused").to_string();
        let mut unknown = config();
        unknown.roles[1].role = "analyst-plus".into();
        assert!(err(unknown).contains("`analyst-plus` is not a Tandem role"));
        let mut scim = config();
        scim.roles[0].role = "scim".into();
        assert!(err(scim).contains("not a person"));
        assert!(
            err(OidcConfig {
                client_secret: String::new(),
                ..config()
            })
            .contains("no client secret")
        );
        assert!(
            err(OidcConfig {
                redirect_url: "https://tandem.example/".into(),
                ..config()
            })
            .contains("/login/sso/callback")
        );
        assert!(
            err(OidcConfig {
                issuer: "not a url".into(),
                ..config()
            })
            .contains("issuer")
        );
    }

    #[test]
    fn the_secret_can_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "from-file\n").unwrap();
        let sso = Sso::new(&OidcConfig {
            client_secret: String::new(),
            client_secret_file: path.display().to_string(),
            ..config()
        })
        .unwrap();
        assert_eq!(sso.client_secret.secret(), "from-file");
    }

    #[test]
    fn groups_claims_come_as_lists_or_one_name() {
        let v = serde_json::json!({"a": ["x", "y", 3], "b": "solo", "c": 7});
        assert_eq!(groups_of(v.get("a")), groups(&["x", "y"]));
        assert_eq!(groups_of(v.get("b")), groups(&["solo"]));
        assert!(groups_of(v.get("c")).is_empty());
        assert!(groups_of(v.get("missing")).is_empty());
    }

    #[test]
    fn an_answer_without_the_browsers_state_is_refused_before_the_provider_is_asked() {
        let sso = Sso::new(&config()).unwrap();
        sso.pending.lock().unwrap().insert(
            "good".into(),
            Pending {
                verifier: "v".into(),
                nonce: "n".into(),
                next: "/".into(),
                started: Instant::now(),
            },
        );
        let answer = |state: &str| CallbackParams {
            code: Some("c".into()),
            state: Some(state.into()),
            ..CallbackParams::default()
        };
        // Another browser's cookie, a changed state, no cookie: refused, nothing contacted.
        for (cookie, state) in [
            (Some("other"), "good"),
            (Some("good"), "bad"),
            (None, "good"),
        ] {
            assert!(matches!(
                sso.finish(cookie, &answer(state)),
                Err(SsoError::UnknownState)
            ));
        }
        // The provider's refusal is passed on, and uses the state up.
        let refused = CallbackParams {
            error: Some("access_denied".into()),
            error_description: Some("not assigned to the app".into()),
            ..answer("good")
        };
        match sso.finish(Some("good"), &refused) {
            Err(SsoError::Provider(m)) => assert!(m.contains("not assigned"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            sso.finish(Some("good"), &refused),
            Err(SsoError::UnknownState)
        ));
    }

    #[test]
    fn an_unreachable_provider_is_reported_not_fatal() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let sso = Sso::new(&OidcConfig {
            issuer: format!("http://127.0.0.1:{port}"),
            ..config()
        })
        .unwrap();
        match sso.start("/") {
            Err(e @ SsoError::Unreachable { .. }) => {
                assert!(e.to_string().contains("Sign in with a Tandem password"))
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
}
