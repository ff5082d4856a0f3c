//! Running a browser check: a node script that drives Chromium, asks this side for what only
//! it can do with a line `CONTROL <request>` on its standard output, and waits for `OK
//! [answer]` or `ERR <message>` on its standard input.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// `node <script> <base URL>` run in web/ with the stack's admin in `NETPULSE_ADMIN`
/// (`admin:<password>`), its standard streams piped for [`drive`], killed when dropped. More
/// arguments and environment may be added.
pub fn browser_check(script: &str, base: &str) -> Command {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    let mut command = Command::new("node");
    command
        .current_dir(web)
        .env("NETPULSE_ADMIN", format!("admin:{}", crate::ADMIN_PASSWORD))
        .arg(script)
        .arg(base)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `command` (its standard streams piped), printing its output line by line and
/// answering each `CONTROL` line with `answer`; returns whether it succeeded, its standard
/// output and its standard error.
pub async fn drive(
    command: &mut Command,
    mut answer: impl AsyncFnMut(&str) -> Result<Option<String>, String>,
) -> (bool, String, String) {
    let mut child = command
        .spawn()
        .expect("run node (is Node.js installed and `make setup` done?)");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text).await;
        text
    });
    let mut stdout = String::new();
    while let Some(line) = lines.next_line().await.expect("read node's output") {
        println!("{line}");
        stdout.push_str(&line);
        stdout.push('\n');
        if let Some(request) = line.strip_prefix("CONTROL ") {
            let reply = match answer(request.trim()).await {
                Ok(None) => "OK".to_owned(),
                Ok(Some(answer)) => format!("OK {answer}"),
                Err(message) => format!("ERR {message}"),
            };
            println!("{reply}");
            stdin
                .write_all(format!("{reply}\n").as_bytes())
                .await
                .expect("answer node");
            stdin.flush().await.expect("answer node");
        }
    }
    let status = child.wait().await.expect("node ends");
    let stderr = stderr_task.await.unwrap_or_default();
    (status.success(), stdout, stderr)
}
