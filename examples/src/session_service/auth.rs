//! The login flow and the session endpoints.

use std::time::UNIX_EPOCH;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use cache_core::session::{SessionId, SessionRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::{Login, PendingLogin, SESSION_TTL, STATE_TTL, Shared, cookie, provider};

/// `GET /login`: a one-time `state` and the provider's authorize URL carrying it.
pub(super) async fn login(State(app): State<Shared>) -> Result<Json<Value>, ApiError> {
    let pending = PendingLogin {
        provider: provider::NAME.to_owned(),
    };
    let state = app.states.issue(&pending, STATE_TTL).await?;
    let state = state.expose();
    Ok(Json(json!({
        "authorize_url": provider::authorize_url(state),
        "state": state,
        "expires_in": STATE_TTL.as_secs(),
    })))
}

/// The provider's redirect back: `?state=&code=`.
#[derive(Debug, Deserialize)]
pub(super) struct Callback {
    state: Option<String>,
    code: Option<String>,
}

/// `GET /callback`: takes the state (once: a replay or a forgery finds nothing), exchanges the
/// code, and starts a session in a cookie.
pub(super) async fn callback(
    State(app): State<Shared>,
    Query(callback): Query<Callback>,
) -> Result<impl IntoResponse, ApiError> {
    let (Some(state), Some(code)) = (callback.state, callback.code) else {
        return Err(ApiError::BadRequest("state and code are required"));
    };
    let Some(pending) = app.states.take(&state).await? else {
        return Err(ApiError::Unauthorized(
            "unknown, expired or already used state",
        ));
    };
    let Some(user) = provider::exchange(&code) else {
        return Err(ApiError::Unauthorized("the provider rejected the code"));
    };
    let login = Login {
        user: user.to_owned(),
        provider: pending.provider,
    };
    let id = app.sessions.create(Some(&login.user), &login).await?;
    tracing::info!(user = %login.user, "logged in");
    let body = Json(json!({ "user": login.user, "provider": login.provider }));
    Ok(([cookie::set(&id, SESSION_TTL)], body))
}

/// The request's live session, or 401.
async fn current(
    app: &Shared,
    headers: &HeaderMap,
) -> Result<(SessionId, SessionRecord<Login>), ApiError> {
    let unauthorized = ApiError::Unauthorized("no live session");
    let Some(id) = cookie::session_id(headers) else {
        return Err(unauthorized);
    };
    match app.sessions.record(&id).await? {
        Some(record) => Ok((id, record)),
        None => Err(unauthorized),
    }
}

fn created_ms(record: &SessionRecord<Login>) -> u128 {
    record
        .created
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis())
}

/// `GET /me`: who the cookie's session belongs to.
pub(super) async fn me(
    State(app): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, record) = current(&app, &headers).await?;
    Ok(Json(json!({
        "user": record.data.user,
        "provider": record.data.provider,
        "created_unix_ms": created_ms(&record),
    })))
}

/// `POST /rotate`: a new session id with the same data, in a new cookie; the old id is dead.
pub(super) async fn rotate(
    State(app): State<Shared>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let (id, _) = current(&app, &headers).await?;
    // Gone between the two calls (a concurrent logout): still "no live session".
    let Some(new) = app.sessions.rotate(&id).await? else {
        return Err(ApiError::Unauthorized("no live session"));
    };
    Ok((
        [cookie::set(&new, SESSION_TTL)],
        Json(json!({ "rotated": true })),
    ))
}

/// `POST /logout`: destroys the session and clears the cookie.
pub(super) async fn logout(
    State(app): State<Shared>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let (id, _) = current(&app, &headers).await?;
    let destroyed = app.sessions.destroy(&id).await?;
    Ok(([cookie::clear()], Json(json!({ "logged_out": destroyed }))))
}

/// `GET /sessions`: the user's live sessions. Other sessions' ids are credentials, so they are
/// not shown: only which one is this request's, and when each was created.
pub(super) async fn sessions(
    State(app): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (id, record) = current(&app, &headers).await?;
    let listed = app.sessions.list_for_user(&record.data.user).await?;
    let sessions: Vec<Value> = listed
        .iter()
        .map(|(other, record)| {
            json!({
                "current": *other == id,
                "provider": record.data.provider,
                "created_unix_ms": created_ms(record),
            })
        })
        .collect();
    Ok(Json(
        json!({ "user": record.data.user, "sessions": sessions }),
    ))
}

/// `POST /logout-all`: destroys every session of the user ("log out everywhere").
pub(super) async fn logout_all(
    State(app): State<Shared>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let (_, record) = current(&app, &headers).await?;
    let destroyed = app.sessions.destroy_all_for_user(&record.data.user).await?;
    Ok(([cookie::clear()], Json(json!({ "destroyed": destroyed }))))
}
