//! API token routes. Any signed-in user manages their own tokens; admins see and revoke all.
//!
//! - `GET /api/tokens`: the caller's tokens (an admin's: everyone's), never their secrets.
//! - `POST /api/tokens` `{"name", "role"?, "expires_in_days"? | "expires_at"?}`: makes a token
//!   with a role no higher than the caller's (default: the caller's), expiring after a number
//!   of days or at a time (RFC 3339 or Unix seconds; never when neither is given), and answers
//!   it with `token`, the only time the token text is shown. A token cannot make tokens: sign
//!   in to make one.
//! - `DELETE /api/tokens/{id}`: revokes a token (the owner's, or any for an admin).
//!
//! Every creation and revocation is audited, as is every use (by [`super::Auth::check`]).

use bytes::Bytes;
use netpulse_shared::time;
use serde::Serialize;
use serde_json::Value;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::routes::{object, only, role, text};
use super::tokens::{ShownToken, TokenError, MAX_EXPIRY_DAYS, MAX_NAME_CHARS};
use super::{Auth, Principal, Role};
use crate::error::ApiError;
use crate::http::{json_reply, limited_body, with, MAX_BODY_BYTES};

/// A token just made: what is shown of it, and the token itself (shown this once).
#[derive(Debug, Serialize)]
struct MadeToken {
    #[serde(flatten)]
    shown: ShownToken,
    token: String,
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Store(ref reason) => ApiError::unavailable("token store", reason),
            other => ApiError::new(StatusCode::UNAUTHORIZED, other.to_string()),
        }
    }
}

/// Every token route.
pub fn routes(auth: Auth) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let list = warp::path!("api" / "tokens")
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(with(auth.clone()))
        .map(list);
    let make = warp::path!("api" / "tokens")
        .and(warp::post())
        .and(auth.require(Role::Viewer))
        .and(limited_body(MAX_BODY_BYTES))
        .and(with(auth.clone()))
        .and_then(make);
    let revoke = warp::path!("api" / "tokens" / String)
        .and(warp::delete())
        .and(auth.require(Role::Viewer))
        .and(with(auth))
        .and_then(revoke);
    list.or(make).unify().or(revoke).unify()
}

fn list(principal: Principal, auth: Auth) -> Response {
    let owner = (principal.role < Role::Admin).then_some(principal.username.as_str());
    let now = time::now_ms();
    let shown: Vec<ShownToken> = auth
        .tokens
        .list(owner)
        .iter()
        .map(|t| t.shown(now))
        .collect();
    json_reply(&shown, StatusCode::OK)
}

/// A token's name: 1 to 64 characters, no control characters, not taken by the owner.
fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::bad_field(
            "name",
            format!("name must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::bad_field(
            "name",
            "name must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// When a new token expires, Unix milliseconds: `expires_in_days` (a whole number of days)
/// or `expires_at` (RFC 3339 or Unix seconds, in the future), at most ten years ahead; never
/// when neither is given.
fn expiry(map: &serde_json::Map<String, Value>, now_ms: u64) -> Result<Option<u64>, ApiError> {
    const DAY_MS: u64 = 86_400_000;
    let given = |field: &str| map.get(field).filter(|v| !v.is_null());
    match (given("expires_in_days"), given("expires_at")) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(ApiError::bad_field(
            "expires_at",
            "give expires_in_days or expires_at, not both",
        )),
        (Some(days), None) => days
            .as_u64()
            .filter(|d| (1..=MAX_EXPIRY_DAYS).contains(d))
            .map(|d| Some(now_ms + d * DAY_MS))
            .ok_or_else(|| {
                ApiError::bad_field(
                    "expires_in_days",
                    format!(
                        "expires_in_days must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}, or null for never"
                    ),
                )
            }),
        (None, Some(at)) => {
            let text = at.as_str().ok_or_else(|| {
                ApiError::bad_field("expires_at", "expires_at must be a string")
            })?;
            let at = time::parse_time(text)
                .map_err(|e| ApiError::bad_field("expires_at", format!("expires_at: {e}")))?;
            if at <= now_ms || at > now_ms + MAX_EXPIRY_DAYS * DAY_MS {
                return Err(ApiError::bad_field(
                    "expires_at",
                    format!("expires_at must be in the future, at most {MAX_EXPIRY_DAYS} days ahead"),
                ));
            }
            Ok(Some(at))
        }
    }
}

async fn make(principal: Principal, body: Bytes, auth: Auth) -> Result<Response, Rejection> {
    let now = time::now_ms();
    let asked = async {
        if principal.token.is_some() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "an API token cannot make tokens: sign in to make one",
            ));
        }
        let map = object(&body)?;
        only(&map, &["name", "role", "expires_in_days", "expires_at"])?;
        let name = check_name(text(&map, "name", true)?.unwrap_or_default())?;
        let role = role(&map, false)?.unwrap_or(principal.role);
        if role > principal.role {
            return Err(ApiError::bad_field(
                "role",
                format!(
                    "a token's role cannot be above yours ({:?})",
                    principal.role
                )
                .to_lowercase(),
            ));
        }
        let expires_ms = expiry(&map, now)?;
        if auth
            .tokens
            .list(Some(&principal.username))
            .iter()
            .any(|t| t.about.name == name)
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("you already have a token named '{name}'"),
            )
            .with_field("name"));
        }
        Ok((name, role, expires_ms))
    }
    .await;
    let (name, role, expires_ms) = match asked {
        Ok(asked) => asked,
        Err(refused) => {
            auth.audit
                .record(
                    &principal.username,
                    "token.create",
                    "",
                    &refused.error,
                    None,
                )
                .await;
            return Err(refused.into());
        }
    };
    let made = Box::pin(
        auth.tokens
            .create(&name, &principal.username, role, expires_ms, now),
    )
    .await
    .map_err(ApiError::from);
    let target = made.as_ref().map_or_else(
        |_| name.clone(),
        |(r, _)| format!("{} ({})", r.about.name, r.about.id),
    );
    let outcome = ApiError::outcome(&made);
    auth.audit
        .record(&principal.username, "token.create", &target, &outcome, None)
        .await;
    let (record, token) = made?;
    let answer = MadeToken {
        shown: record.shown(now),
        token,
    };
    Ok(json_reply(&answer, StatusCode::CREATED))
}

async fn revoke(id: String, principal: Principal, auth: Auth) -> Result<Response, Rejection> {
    // Someone else's token is as unknown as a token that does not exist.
    let Some(record) = auth
        .tokens
        .get(&id)
        .filter(|t| t.about.owner == principal.username || principal.role == Role::Admin)
    else {
        return Err(
            ApiError::new(StatusCode::NOT_FOUND, format!("no token with id '{id}'"))
                .with_field("id")
                .into(),
        );
    };
    let revoked = Box::pin(auth.tokens.revoke(&id))
        .await
        .map_err(ApiError::from);
    let target = format!(
        "{} ({}) of {}",
        record.about.name, record.about.id, record.about.owner
    );
    auth.audit
        .record(
            &principal.username,
            "token.revoke",
            &target,
            &ApiError::outcome(&revoked),
            None,
        )
        .await;
    revoked?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
