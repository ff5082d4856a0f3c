//! `netpulse-gateway user add|passwd|del|list`: manage users from the shell.
//!
//! Passwords are read from standard input (one line), never from the command line, where
//! other users of the machine could see them.

use std::io::BufRead;

use std::time::Duration;

use netpulse_shared::{bus, subjects};

use crate::auth::sessions::Sessions;
use crate::auth::tokens::Tokens;
use crate::auth::users::UserStore;
use crate::auth::{AuthSettings, Role};

/// Usage text.
pub const USAGE: &str =
    "usage: netpulse-gateway user add <name> <admin|operator|viewer>   (password on stdin)
       netpulse-gateway user passwd <name>                          (password on stdin)
       netpulse-gateway user role <name> <admin|operator|viewer>
       netpulse-gateway user del <name>
       netpulse-gateway user list";

fn read_password() -> anyhow::Result<String> {
    eprintln!("password (one line on standard input):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Operator => "operator",
        Role::Viewer => "viewer",
    }
}

/// Ends `name`'s sessions, as the API does when a password changes or a user is deleted.
async fn end_sessions(js: &async_nats::jetstream::Context, name: &str) -> anyhow::Result<()> {
    // No bucket yet: no one ever signed in.
    let Ok(store) = js.get_key_value(subjects::SESSIONS_BUCKET).await else {
        return Ok(());
    };
    // The limits do not matter for ending sessions.
    let limits = AuthSettings::default();
    Sessions::new(
        store,
        Duration::from_secs(limits.session_idle_secs),
        Duration::from_secs(limits.session_max_secs),
    )
    .close_user(name)
    .await?;
    Ok(())
}

/// Runs `user <args>` against the users bucket (created in `replicas` copies if it is not
/// there yet); returns the process exit code. A new password or a deletion ends the user's
/// sessions; a deletion also revokes their API tokens.
pub async fn run(
    client: async_nats::Client,
    replicas: usize,
    args: &[String],
) -> anyhow::Result<i32> {
    let js = async_nats::jetstream::new(client);
    let users = UserStore::new(bus::Bucket::USERS.open(&js, replicas).await?);
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let role = |r: &str| {
        Role::parse(r).ok_or_else(|| anyhow::anyhow!("role must be admin, operator or viewer"))
    };
    match words.as_slice() {
        ["add", name, r] => {
            let user = users.add(name, &read_password()?, role(r)?).await?;
            println!("added {} ({})", user.username, role_name(user.role));
        }
        ["passwd", name] => {
            users.update(name, Some(&read_password()?), None).await?;
            end_sessions(&js, name).await?;
            println!("password of {name} changed; their sessions ended");
        }
        ["role", name, r] => {
            let user = users.update(name, None, Some(role(r)?)).await?;
            println!("{} is now {}", user.username, role_name(user.role));
        }
        ["del", name] => {
            users.remove(name).await?;
            end_sessions(&js, name).await?;
            let tokens = Tokens::new(bus::Bucket::TOKENS.open(&js, replicas).await?);
            tokens.revoke_owned_by(name).await?;
            println!("deleted {name}; their sessions ended and their API tokens were revoked");
        }
        ["list"] => {
            for user in users.list().await? {
                println!("{}\t{}", user.username, role_name(user.role));
            }
        }
        _ => {
            eprintln!("{USAGE}");
            return Ok(2);
        }
    }
    Ok(0)
}
