//! Who may do what: users and roles, sessions, the login rate limit, CSRF, and the audit log.
//!
//! Every `/api` route but `/api/login`, and `/ws`, needs a session: the `netpulse_session`
//! cookie set at login, or the same token as `Authorization: Bearer <token>`, or an API token
//! ([`tokens`]: for scripts, netpulsectl and Prometheus) as a bearer token; each use of an
//! API token is audited. Roles are ordered: a viewer reads, an operator also changes devices, an admin also
//! manages users and reads the audit log. A state-changing request authenticated by the
//! cookie must come from this origin (Origin, else Referer, matching Host).

pub mod audit;
pub mod limits;
pub mod role;
pub mod routes;
pub mod sessions;
pub mod token_routes;
pub mod tokens;
pub mod users;

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use warp::http::{HeaderMap, Method, StatusCode};
use warp::Filter;

use crate::error::ApiError;
pub use role::Role;
pub use sessions::Principal;
use sessions::Sessions;
use tokens::{TokenError, Tokens};
use users::UserStore;

/// The session cookie's name.
pub const COOKIE: &str = "netpulse_session";

/// `[gateway]` settings about sign-in.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AuthSettings {
    /// A session ends after this many seconds without use (judged to about a minute: a
    /// session's last use is stored about once a minute). Default 1800.
    pub session_idle_secs: u64,
    /// A session ends this many seconds after login, used or not; also how long the
    /// sessions bucket keeps an entry. Default 43200 (12 h).
    pub session_max_secs: u64,
    /// Failed logins (per user name or source address) before a lockout. Default 5.
    pub login_max_failures: usize,
    /// Window in which failures count, seconds. Default 300.
    pub login_window_secs: u64,
    /// Lockout after too many failures, seconds. Default 60.
    pub login_lockout_secs: u64,
    /// Mark the cookie Secure (set when netpulse is served over HTTPS, e.g. behind a TLS
    /// proxy). Default false.
    pub secure_cookies: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            session_idle_secs: 1800,
            session_max_secs: 43_200,
            login_max_failures: 5,
            login_window_secs: 300,
            login_lockout_secs: 60,
            secure_cookies: false,
        }
    }
}

/// Everything the gateway needs to authenticate and authorise.
#[derive(Clone)]
pub struct Auth {
    /// The users.
    pub users: UserStore,
    /// Open sessions.
    pub sessions: Sessions,
    /// API tokens.
    pub tokens: Tokens,
    /// Login rate limit.
    pub limiter: limits::LoginLimiter,
    /// The audit log.
    pub audit: audit::AuditLog,
    /// Whether cookies are marked Secure.
    pub secure_cookies: bool,
}

impl Auth {
    /// Auth over a users bucket, a sessions bucket, a tokens bucket and an audit log.
    pub fn new(
        users: UserStore,
        sessions: async_nats::jetstream::kv::Store,
        tokens: Tokens,
        audit: audit::AuditLog,
        settings: &AuthSettings,
    ) -> Self {
        Self {
            users,
            tokens,
            sessions: Sessions::new(
                sessions,
                Duration::from_secs(settings.session_idle_secs),
                Duration::from_secs(settings.session_max_secs),
            ),
            limiter: limits::LoginLimiter::new(
                settings.login_max_failures,
                Duration::from_secs(settings.login_window_secs),
                Duration::from_secs(settings.login_lockout_secs),
            ),
            audit,
            secure_cookies: settings.secure_cookies,
        }
    }

    /// A filter that lets a request through only for a live session (or API token) whose
    /// user has at least `needed`; it extracts the user.
    /// Boxed: every route holds this filter, whose future would otherwise grow each route's
    /// (and the stack that polls them).
    pub fn require(&self, needed: Role) -> warp::filters::BoxedFilter<(Principal,)> {
        let auth = self.clone();
        warp::method()
            .and(warp::path::full())
            .and(warp::header::headers_cloned())
            .and(source_address())
            .and_then(
                move |method: Method,
                      path: warp::path::FullPath,
                      headers: HeaderMap,
                      source: Option<SocketAddr>| {
                    let auth = auth.clone();
                    // Boxed: every route's filter chain holds this future.
                    async move {
                        let asked = Asked {
                            method: &method,
                            path: path.as_str(),
                            headers: &headers,
                            source,
                        };
                        Box::pin(auth.check(&asked, needed))
                            .await
                            .map_err(warp::reject::custom)
                    }
                },
            )
            .boxed()
    }

    pub(crate) async fn check(
        &self,
        asked: &Asked<'_>,
        needed: Role,
    ) -> Result<Principal, ApiError> {
        let unauthorized = || ApiError::new(StatusCode::UNAUTHORIZED, "sign in first");
        let (token, by_cookie) = token_of(asked.headers).ok_or_else(unauthorized)?;
        let api_token = if tokens::parts(&token).is_some() && !by_cookie {
            Some(Box::pin(self.api_token(&token, asked)).await?)
        } else {
            None
        };
        let username = match &api_token {
            Some(record) => record.about.owner.clone(),
            // Boxed: this runs inside every route's filter chain, whose stack it would grow.
            None => Box::pin(self.sessions.touch(&token))
                .await
                .map_err(|e| ApiError::unavailable("session store", &e))?
                .ok_or_else(unauthorized)?,
        };
        let user = self
            .users
            .get(&username)
            .await
            .map_err(|e| ApiError::unavailable("user store", &e))?
            .ok_or_else(unauthorized)?;
        // Cookies ride along with any request the browser makes, even one another site
        // triggers: state changes (and the live stream) must come from this origin.
        let changes_state = !matches!(*asked.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let is_upgrade = asked.headers.contains_key("upgrade");
        if by_cookie && (changes_state || is_upgrade) && !same_origin(asked.headers) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross-site request refused (CSRF check)",
            ));
        }
        // A token acts with the lower of its own role and its owner's current one.
        let role = api_token
            .as_ref()
            .map_or(user.role, |record| record.about.role.min(user.role));
        let refused = (role < needed).then(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                format!("the {:?} role may not do this", role).to_lowercase(),
            )
        });
        if let Some(record) = &api_token {
            let outcome = refused
                .as_ref()
                .map_or_else(|| "ok".to_owned(), |e| e.error.clone());
            self.audit_token_use(record, asked, outcome);
        }
        if let Some(refused) = refused {
            return Err(refused);
        }
        Ok(Principal {
            username: user.username,
            role,
            token: api_token.map(|record| record.about.name),
        })
    }

    /// The API token a request presents, checked; a refusal is audited when the token is
    /// known (expired), answered 401 in any case.
    async fn api_token(
        &self,
        token: &str,
        asked: &Asked<'_>,
    ) -> Result<tokens::TokenRecord, ApiError> {
        match self
            .tokens
            .verify(token, netpulse_shared::time::now_ms())
            .await
        {
            Ok(record) => Ok(record),
            Err(TokenError::Store(reason)) => Err(ApiError::unavailable("token store", &reason)),
            Err(error) => {
                if let Some(record) = tokens::parts(token).and_then(|(id, _)| self.tokens.get(id)) {
                    self.audit_token_use(&record, asked, error.to_string());
                }
                Err(ApiError::new(StatusCode::UNAUTHORIZED, error.to_string()))
            }
        }
    }

    /// Records one use of an API token in the audit log, without waiting for it.
    fn audit_token_use(&self, record: &tokens::TokenRecord, asked: &Asked<'_>, outcome: String) {
        let audit = self.audit.clone();
        let actor = record.about.owner.clone();
        let target = format!(
            "{} ({}): {} {}",
            record.about.name, record.about.id, asked.method, asked.path
        );
        let source = asked.source.map(|s| s.ip().to_string());
        tokio::spawn(async move {
            audit
                .record(&actor, "token.use", &target, &outcome, source)
                .await;
        });
    }
}

/// What authentication looks at in a request.
pub struct Asked<'a> {
    /// The method.
    pub method: &'a Method,
    /// The path, for the audit log.
    pub path: &'a str,
    /// The headers: the token, the cookie, Origin and Host.
    pub headers: &'a HeaderMap,
    /// The client's address, when known.
    pub source: Option<SocketAddr>,
}

/// The session token of a request, and whether it came from the cookie.
pub fn token_of(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        return value
            .strip_prefix("Bearer ")
            .map(|t| (t.trim().to_owned(), false));
    }
    let cookies = headers.get_all("cookie");
    for header in cookies {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                if name == COOKIE && !value.is_empty() {
                    return Some((value.to_owned(), true));
                }
            }
        }
    }
    None
}

/// Whether Origin (else Referer) names the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get("host").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get("origin")
        .or_else(|| headers.get("referer"))
        .and_then(|v| v.to_str().ok());
    let Some(source) = source else {
        return false;
    };
    let authority = source
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or_default());
    authority == Some(host)
}

/// The client's address, when the listener knows it.
pub fn source_address(
) -> impl Filter<Extract = (Option<SocketAddr>,), Error = std::convert::Infallible> + Clone {
    warp::addr::remote()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().expect("header"));
        }
        map
    }

    #[test]
    fn tokens_come_from_bearer_or_cookie() {
        assert_eq!(
            token_of(&headers(&[("authorization", "Bearer abc")])),
            Some(("abc".into(), false))
        );
        assert_eq!(
            token_of(&headers(&[("cookie", "a=1; netpulse_session=xyz")])),
            Some(("xyz".into(), true))
        );
        assert_eq!(token_of(&headers(&[("cookie", "netpulse_session=")])), None);
        assert_eq!(token_of(&headers(&[])), None);
    }

    #[test]
    fn origin_must_match_host() {
        let h = |o: &str| headers(&[("host", "127.0.0.1:8080"), ("origin", o)]);
        assert!(same_origin(&h("http://127.0.0.1:8080")));
        assert!(!same_origin(&h("http://evil.example")));
        assert!(!same_origin(&h("http://127.0.0.1:8080.evil.example")));
        assert!(same_origin(&headers(&[
            ("host", "h:1"),
            ("referer", "http://h:1/page")
        ])));
        assert!(!same_origin(&headers(&[("host", "h:1")])));
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
    }
}
