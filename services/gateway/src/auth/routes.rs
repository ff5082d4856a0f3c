//! Sign-in and user routes.
//!
//! - `POST /api/login` `{"username", "password"}`: sets the session cookie and answers
//!   `{"token", "username", "role"}`; 401 for a wrong name or password (the same answer, in
//!   about the same time); 429 with Retry-After when rate-limited.
//! - `POST /api/logout`, `GET /api/me`.
//! - Admins: `GET/POST /api/users`, `PATCH/DELETE /api/users/{username}`, `GET /api/audit`.
//!
//! API tokens have their routes in [`super::token_routes`], a route group of their own.

use std::net::SocketAddr;

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};
use warp::http::{header, HeaderMap, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::users::{self, UserError};
use super::{source_address, token_of, Auth, Principal, Role, COOKIE};
use crate::error::ApiError;
use crate::http::{json_reply, limited_body, with, MAX_BODY_BYTES};

/// Who is signed in (`GET /api/me`), and after `POST /api/login` with the session token.
#[derive(Debug, Serialize)]
struct SignedIn<'a> {
    /// The new session's token (login only).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    username: &'a str,
    role: Role,
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::Invalid { field, message } => {
                ApiError::new(StatusCode::BAD_REQUEST, format!("{field}: {message}"))
                    .with_field(field)
            }
            UserError::Exists(_) => {
                ApiError::new(StatusCode::CONFLICT, e.to_string()).with_field("username")
            }
            UserError::Missing(_) => {
                ApiError::new(StatusCode::NOT_FOUND, e.to_string()).with_field("username")
            }
            UserError::LastAdmin => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            UserError::Store(ref m) => ApiError::unavailable("user store", m),
        }
    }
}

/// A JSON object body, or a 400 naming the body.
pub(super) fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(
            ApiError::new(StatusCode::BAD_REQUEST, "body must be a JSON object").with_field("body"),
        ),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("body is not valid JSON: {e}"),
        )
        .with_field("body")),
    }
}

pub(super) fn text<'a>(
    map: &'a Map<String, Value>,
    field: &'static str,
    required: bool,
) -> Result<Option<&'a str>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) if required => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{field} is required"),
        )
        .with_field(field)),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(
            ApiError::new(StatusCode::BAD_REQUEST, format!("{field} must be a string"))
                .with_field(field),
        ),
    }
}

pub(super) fn only(map: &Map<String, Value>, known: &[&str]) -> Result<(), ApiError> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(
            ApiError::new(StatusCode::BAD_REQUEST, format!("{k}: unknown field"))
                .with_field(k.clone()),
        ),
        None => Ok(()),
    }
}

pub(super) fn role(map: &Map<String, Value>, required: bool) -> Result<Option<Role>, ApiError> {
    text(map, "role", required)?
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "role must be admin, operator or viewer",
                )
                .with_field("role")
            })
        })
        .transpose()
}

/// Every sign-in and user route.
pub fn routes(auth: Auth) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let login = warp::path!("api" / "login")
        .and(warp::post())
        .and(limited_body(MAX_BODY_BYTES))
        .and(source_address())
        .and(with(auth.clone()))
        .and_then(login);
    let logout = warp::path!("api" / "logout")
        .and(warp::post())
        .and(auth.require(Role::Viewer))
        .and(warp::header::headers_cloned())
        .and(with(auth.clone()))
        .and_then(logout);
    let me = warp::path!("api" / "me")
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .map(|p: Principal| {
            json_reply(
                &SignedIn {
                    token: None,
                    username: &p.username,
                    role: p.role,
                },
                StatusCode::OK,
            )
        });
    let list = warp::path!("api" / "users")
        .and(warp::get())
        .and(auth.require(Role::Admin))
        .and(with(auth.clone()))
        .and_then(list_users);
    let add = warp::path!("api" / "users")
        .and(warp::post())
        .and(auth.require(Role::Admin))
        .and(limited_body(MAX_BODY_BYTES))
        .and(with(auth.clone()))
        .and_then(add_user);
    let update = warp::path!("api" / "users" / String)
        .and(warp::patch())
        .and(auth.require(Role::Admin))
        .and(limited_body(MAX_BODY_BYTES))
        .and(with(auth.clone()))
        .and_then(update_user);
    let delete = warp::path!("api" / "users" / String)
        .and(warp::delete())
        .and(auth.require(Role::Admin))
        .and(with(auth.clone()))
        .and_then(delete_user);
    let audit = warp::path!("api" / "audit")
        .and(warp::get())
        .and(auth.require(Role::Admin))
        .and(with(auth))
        .and_then(read_audit);
    login
        .or(logout)
        .unify()
        .or(me)
        .unify()
        .or(list)
        .unify()
        .or(add)
        .unify()
        .or(update)
        .unify()
        .or(delete)
        .unify()
        .or(audit)
        .unify()
}

/// A hash to verify against when the user does not exist, so a wrong name costs as much
/// time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| users::hash_password("netpulse decoy password").unwrap_or_default())
}

async fn login(body: Bytes, source: Option<SocketAddr>, auth: Auth) -> Result<Response, Rejection> {
    let map = object(&body)?;
    only(&map, &["username", "password"])?;
    let username = text(&map, "username", true)?.unwrap_or_default().to_owned();
    let password = text(&map, "password", true)?.unwrap_or_default().to_owned();
    let ip = source.map(|s| s.ip());
    let source_text = source.map(|s| s.ip().to_string());
    if let Some(wait) = auth.limiter.check(&username, ip) {
        auth.audit
            .record(&username, "login", &username, "rate limited", source_text)
            .await;
        let seconds = wait.as_secs().max(1);
        let reply = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many failed logins; try again in {seconds} s"),
        );
        return Ok(
            warp::reply::with_header(reply, header::RETRY_AFTER, seconds.to_string())
                .into_response(),
        );
    }
    let user = auth.users.get(&username).await.map_err(ApiError::from)?;
    let hash = user
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    let check_password = password.clone();
    let matches =
        tokio::task::spawn_blocking(move || users::verify_password(&check_password, &hash))
            .await
            .unwrap_or(false);
    let Some(user) = user.filter(|_| matches) else {
        auth.limiter.failed(&username, ip);
        auth.audit
            .record(
                &username,
                "login",
                &username,
                "wrong user name or password",
                source_text,
            )
            .await;
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong user name or password").into());
    };
    auth.limiter.succeeded(&username, ip);
    // Session calls are boxed: they keep the route futures (and the stack) small.
    let token = Box::pin(auth.sessions.open(&user.username))
        .await
        .map_err(|e| ApiError::unavailable("session store", &e))?;
    auth.audit
        .record(&user.username, "login", &user.username, "ok", source_text)
        .await;
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{}",
        if auth.secure_cookies { "; Secure" } else { "" }
    );
    let reply = json_reply(
        &SignedIn {
            token: Some(&token),
            username: &user.username,
            role: user.role,
        },
        StatusCode::OK,
    );
    Ok(warp::reply::with_header(reply, header::SET_COOKIE, cookie).into_response())
}

async fn logout(
    principal: Principal,
    headers: HeaderMap,
    auth: Auth,
) -> Result<Response, Rejection> {
    if let Some((token, _)) = token_of(&headers) {
        Box::pin(auth.sessions.close(&token))
            .await
            .map_err(|e| ApiError::unavailable("session store", &e))?;
    }
    auth.audit
        .record(
            &principal.username,
            "logout",
            &principal.username,
            "ok",
            None,
        )
        .await;
    let expired = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(
        warp::reply::with_header(StatusCode::NO_CONTENT, header::SET_COOKIE, expired)
            .into_response(),
    )
}

async fn list_users(_: Principal, auth: Auth) -> Result<Response, Rejection> {
    let users = auth.users.list().await.map_err(ApiError::from)?;
    let views: Vec<_> = users.iter().map(users::StoredUser::view).collect();
    Ok(json_reply(&views, StatusCode::OK))
}

async fn add_user(principal: Principal, body: Bytes, auth: Auth) -> Result<Response, Rejection> {
    let map = object(&body)?;
    only(&map, &["username", "password", "role"])?;
    let username = text(&map, "username", true)?.unwrap_or_default();
    let password = text(&map, "password", true)?.unwrap_or_default();
    let role = role(&map, true)?.unwrap_or(Role::Viewer);
    let result = auth.users.add(username, password, role).await;
    let outcome = result
        .as_ref()
        .map_or_else(ToString::to_string, |_| "ok".into());
    auth.audit
        .record(&principal.username, "user.add", username, &outcome, None)
        .await;
    let user = result.map_err(ApiError::from)?;
    Ok(json_reply(&user.view(), StatusCode::CREATED))
}

async fn update_user(
    target: String,
    principal: Principal,
    body: Bytes,
    auth: Auth,
) -> Result<Response, Rejection> {
    let map = object(&body)?;
    only(&map, &["password", "role"])?;
    let password = text(&map, "password", false)?;
    let role = role(&map, false)?;
    let result = auth.users.update(&target, password, role).await;
    let outcome = result
        .as_ref()
        .map_or_else(ToString::to_string, |_| "ok".into());
    auth.audit
        .record(&principal.username, "user.update", &target, &outcome, None)
        .await;
    let user = result.map_err(ApiError::from)?;
    if password.is_some() {
        Box::pin(auth.sessions.close_user(&target))
            .await
            .map_err(|e| ApiError::unavailable("session store", &e))?;
    }
    Ok(json_reply(&user.view(), StatusCode::OK))
}

async fn delete_user(
    target: String,
    principal: Principal,
    auth: Auth,
) -> Result<Response, Rejection> {
    let result = auth.users.remove(&target).await;
    let outcome = result
        .as_ref()
        .map_or_else(ToString::to_string, |()| "ok".into());
    auth.audit
        .record(&principal.username, "user.delete", &target, &outcome, None)
        .await;
    result.map_err(ApiError::from)?;
    Box::pin(auth.sessions.close_user(&target))
        .await
        .map_err(|e| ApiError::unavailable("session store", &e))?;
    // A token acts as its owner: it goes with them.
    Box::pin(auth.tokens.revoke_owned_by(&target))
        .await
        .map_err(|e| ApiError::unavailable("token store", &e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn read_audit(_: Principal, auth: Auth) -> Result<Response, Rejection> {
    let events = auth
        .audit
        .latest(500)
        .await
        .map_err(|e| ApiError::unavailable("audit log", &e))?;
    Ok(json_reply(&events, StatusCode::OK))
}
