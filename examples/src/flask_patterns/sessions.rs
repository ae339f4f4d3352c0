//! Server-side sessions, as Flask-Session keeps them in Redis: login stores the user in a
//! session, each request renews it, logout ends it.

use std::io::Write;
use std::time::Duration;

use cache_core::DynBackend;
use cache_core::session::{SessionId, Sessions};
use serde::{Deserialize, Serialize};

use super::{StepError, section};

/// What `login` puts in `session`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Login {
    user_id: u64,
    username: String,
}

/// How long an idle session lives.
const IDLE: Duration = Duration::from_secs(30 * 60);

fn sessions(backend: &DynBackend) -> Sessions<Login> {
    Sessions::new(backend.clone()).ttl(IDLE)
}

/// `login`: a fresh session for the user; its id goes in the cookie.
async fn login(
    sessions: &Sessions<Login>,
    user_id: u64,
    username: &str,
) -> cache_core::Result<SessionId> {
    let login = Login {
        user_id,
        username: username.to_owned(),
    };
    sessions.create(Some(&user_id.to_string()), &login).await
}

pub(super) async fn run(backend: &DynBackend, out: &mut impl Write) -> Result<(), StepError> {
    section(out, "sessions")?;
    let sessions = sessions(backend);
    let id = login(&sessions, 42, "Ada").await?;
    // The id is a random secret: its shape is printed, never its value.
    writeln!(
        out,
        "login Ada -> session id of {} hex digits, for the cookie",
        id.expose().len()
    )?;
    writeln!(out, "session -> {:?}", sessions.load(&id).await?)?;
    writeln!(
        out,
        "next request renews it -> {}",
        sessions.touch(&id).await?
    )?;
    writeln!(
        out,
        "sessions of user 42 -> {}",
        sessions.list_for_user("42").await?.len()
    )?;
    writeln!(
        out,
        "logout (session.clear()) -> {}",
        sessions.destroy(&id).await?
    )?;
    writeln!(out, "session -> {:?}", sessions.load(&id).await?)?;
    Ok(())
}
