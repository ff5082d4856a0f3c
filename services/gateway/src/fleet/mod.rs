//! The fleet at a glance: every interface of every device searched and ranked, and the
//! topology the devices' LLDP and CDP neighbour tables draw, answered from what the gateway
//! holds (no NATS request per answer).
//!
//! - `GET /api/interfaces?q=&device=&tag=&oper=&sort=&limit=`: port search ([`ports::search`]).
//! - `GET /api/top?by=utilisation|bps|errors&direction=in|out|either&limit=`: the busiest
//!   interfaces ([`ports::top`]).
//! - `GET /api/topology`: nodes and links ([`topology::topology`]).
//! - `GET`, `PUT` and `DELETE /api/map/layout`: where the signed-in user placed the map's
//!   nodes ([`layout`]).

pub mod found;
pub mod layout;
pub mod ports;
pub mod topology;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::auth::{Auth, Principal, Role};
use crate::http::{json_reply, limited_body, with};
use crate::observed::Observed;

/// The fleet routes.
pub fn routes(
    observed: Observed,
    layouts: layout::Layouts,
    auth: Auth,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let search = warp::path!("api" / "interfaces")
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(warp::query::<HashMap<String, String>>())
        .and(with(observed.clone()))
        .and_then(|_: Principal, params, observed: Observed| async move {
            let query = ports::PortQuery::parse(&params)?;
            answer("search", move || ports::search(&observed, &query)).await
        });
    let top = warp::path!("api" / "top")
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(warp::query::<HashMap<String, String>>())
        .and(with(observed.clone()))
        .and_then(|_: Principal, params, observed: Observed| async move {
            let query = ports::TopQuery::parse(&params)?;
            answer("top", move || ports::top(&observed, &query)).await
        });
    let map = warp::path!("api" / "topology")
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(with(observed))
        .and_then(|_: Principal, observed: Observed| {
            answer("topology", move || topology::topology(&observed))
        });
    let layout_path = warp::path!("api" / "map" / "layout");
    let get_layout = layout_path
        .and(warp::get())
        .and(auth.require(Role::Viewer))
        .and(with(layouts.clone()))
        .and_then(
            |principal: Principal, layouts: layout::Layouts| async move {
                let saved = layouts.get(&principal.username).await?;
                Ok::<_, Rejection>(json_reply(&saved, StatusCode::OK))
            },
        );
    let put_layout = layout_path
        .and(warp::put())
        .and(auth.require(Role::Viewer))
        .and(limited_body(layout::MAX_LAYOUT_BYTES))
        .and(with(layouts.clone()))
        .and_then(
            |principal: Principal, body: bytes::Bytes, layouts: layout::Layouts| async move {
                let layout = layout::Layout::from_json_body(&body)?;
                layouts.put(&principal.username, &layout).await?;
                Ok::<_, Rejection>(json_reply(&layout, StatusCode::OK))
            },
        );
    let delete_layout = layout_path
        .and(warp::delete())
        .and(auth.require(Role::Viewer))
        .and(with(layouts))
        .and_then(
            |principal: Principal, layouts: layout::Layouts| async move {
                layouts.delete(&principal.username).await?;
                Ok::<_, Rejection>(warp::reply::Reply::into_response(StatusCode::NO_CONTENT))
            },
        );
    search
        .boxed()
        .or(top.boxed())
        .unify()
        .or(map.boxed())
        .unify()
        .or(get_layout.boxed())
        .unify()
        .or(put_layout.boxed())
        .unify()
        .or(delete_layout.boxed())
        .unify()
}

/// The JSON of what `work` makes, made off the request threads (it reads the whole fleet).
async fn answer<T: serde::Serialize + Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<Response, Rejection> {
    let made = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| crate::error::ApiError::unavailable(what, &e))?;
    Ok(json_reply(&made, StatusCode::OK))
}
