//! netpulsectl: netpulse's devices from the shell, through the gateway's HTTP API.
//!
//! ```text
//! netpulsectl [--url URL] [--token TOKEN | --token-file FILE] COMMAND
//!   login USER                    prints a session token (password from NETPULSE_PASSWORD or stdin)
//!   token list | token create NAME [--role R] [--expires-days N] | token revoke ID
//!   list [--format table|json|csv]
//!   add NAME ADDRESS [--interval S] [--community C] [--version 1|2c] [--interfaces A;B]
//!   add --json '{...}'            any field POST /api/devices takes
//!   remove ID [--history keep|delete]
//!   export [--format json|csv] [--output FILE]     (admins: includes communities and v3 keys)
//!   import FILE [--format json|csv] [--skip-bad] [--dry-run]
//! ```
//! The gateway's address comes from `--url` or NETPULSE_URL (default http://127.0.0.1:8080),
//! the token (a session token or an API token) from `--token`, `--token-file`, NETPULSE_TOKEN
//! or NETPULSE_TOKEN_FILE, in that order.

mod rows;

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use rows::{Format, Row};
use serde_json::{Map, Value};

const USAGE: &str = "usage: netpulsectl [--url URL] [--token TOKEN | --token-file FILE] COMMAND
  login USER                  print a session token (password from NETPULSE_PASSWORD or stdin)
  token list
  token create NAME [--role admin|operator|viewer] [--expires-days N]   print a new API token
  token revoke ID
  list [--format table|json|csv]
  add NAME ADDRESS [--interval S] [--community C] [--version 1|2c] [--interfaces A;B]
  add --json '{...}'
  remove ID [--history keep|delete]
  export [--format json|csv] [--output FILE]
  import FILE [--format json|csv] [--skip-bad] [--dry-run]
The gateway: --url or NETPULSE_URL (default http://127.0.0.1:8080); the token: --token,
--token-file, NETPULSE_TOKEN or NETPULSE_TOKEN_FILE.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("netpulsectl: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A usage mistake: shown with the usage, exit code 2.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n{USAGE}", self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow!(UsageError(message.into()))
}

/// The words of a command line: flags with values, switches, and the rest in order.
struct Args {
    words: Vec<String>,
    flags: Vec<(String, String)>,
    switches: Vec<String>,
}

impl Args {
    fn parse(raw: Vec<String>, with_value: &[&str], switches: &[&str]) -> anyhow::Result<Self> {
        let mut parsed = Self {
            words: Vec::new(),
            flags: Vec::new(),
            switches: Vec::new(),
        };
        let mut raw = raw.into_iter();
        while let Some(word) = raw.next() {
            if with_value.contains(&word.as_str()) {
                let value = raw
                    .next()
                    .ok_or_else(|| usage(format!("{word} needs a value")))?;
                parsed.flags.push((word, value));
            } else if switches.contains(&word.as_str()) {
                parsed.switches.push(word);
            } else if word.starts_with("--") {
                return Err(usage(format!("unknown option {word}")));
            } else {
                parsed.words.push(word);
            }
        }
        Ok(parsed)
    }

    fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}

const FLAGS: [&str; 14] = [
    "--url",
    "--token",
    "--token-file",
    "--role",
    "--expires-days",
    "--format",
    "--output",
    "--history",
    "--interval",
    "--community",
    "--version",
    "--interfaces",
    "--json",
    "--password",
];
const SWITCHES: [&str; 3] = ["--skip-bad", "--dry-run", "--help"];

fn run(raw: Vec<String>) -> anyhow::Result<ExitCode> {
    let args = Args::parse(raw, &FLAGS, &SWITCHES)?;
    if args.switch("--help") || args.words.is_empty() {
        println!("{USAGE}");
        return Ok(if args.words.is_empty() && !args.switch("--help") {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        });
    }
    let url = args
        .flag("--url")
        .map(str::to_owned)
        .or_else(|| std::env::var("NETPULSE_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let api = Api::new(&url, token(&args)?);
    let command = args.words[0].as_str();
    let rest = &args.words[1..];
    let outcome = match command {
        "login" => login(&api, rest),
        "token" => token_command(&api, rest, &args),
        "list" => list(&api, &args),
        "add" => add(&api, rest, &args),
        "remove" => remove(&api, rest, &args),
        "export" => export(&api, &args),
        "import" => import(&api, rest, &args),
        other => Err(usage(format!("unknown command {other}"))),
    };
    match outcome {
        Err(error) if error.is::<UsageError>() => {
            eprintln!("netpulsectl: {error}");
            Ok(ExitCode::from(2))
        }
        other => other,
    }
}

/// The token to send: `--token`, else the file `--token-file` names, else NETPULSE_TOKEN,
/// else the file NETPULSE_TOKEN_FILE names.
fn token(args: &Args) -> anyhow::Result<Option<String>> {
    let from_file = |path: &str| -> anyhow::Result<String> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the token file {path}"))?;
        let token = text.trim();
        if token.is_empty() {
            bail!("the token file {path} is empty");
        }
        Ok(token.to_owned())
    };
    if let Some(token) = args.flag("--token") {
        return Ok(Some(token.to_owned()));
    }
    if let Some(path) = args.flag("--token-file") {
        return from_file(path).map(Some);
    }
    if let Ok(token) = std::env::var("NETPULSE_TOKEN") {
        return Ok(Some(token));
    }
    match std::env::var("NETPULSE_TOKEN_FILE") {
        Ok(path) => from_file(&path).map(Some),
        Err(_) => Ok(None),
    }
}

/// The gateway's HTTP API.
struct Api {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

/// A refusal from the gateway: its status and `{"error", "field"}`.
#[derive(Debug)]
struct Refused {
    status: u16,
    error: String,
    field: Option<String>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {} (HTTP {})", self.error, self.status),
            None => write!(f, "{} (HTTP {})", self.error, self.status),
        }
    }
}

impl std::error::Error for Refused {}

impl Api {
    fn new(base: &str, token: Option<String>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            agent: ureq::AgentBuilder::new()
                .timeout(std::time::Duration::from_secs(90))
                .build(),
        }
    }

    /// Sends a request; the answer's JSON (null when empty), or the gateway's refusal.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let mut request = self.agent.request(method, &format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        let answer = match body {
            Some(body) => request
                .set("Content-Type", "application/json")
                .send_string(&body.to_string()),
            None => request.call(),
        };
        match answer {
            Ok(response) => {
                let text = response.into_string().context("reading the answer")?;
                if text.trim().is_empty() {
                    return Ok(Value::Null);
                }
                serde_json::from_str(&text).context("the gateway's answer is not JSON")
            }
            Err(ureq::Error::Status(status, response)) => {
                let text = response.into_string().unwrap_or_default();
                let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let mut error = parsed["error"]
                    .as_str()
                    .map_or_else(|| text.trim().to_owned(), str::to_owned);
                if status == 401 {
                    error = format!(
                        "{error}; give a token with --token, --token-file, NETPULSE_TOKEN or NETPULSE_TOKEN_FILE (netpulsectl login USER prints one)"
                    );
                }
                Err(anyhow!(Refused {
                    status,
                    error,
                    field: parsed["field"].as_str().map(str::to_owned),
                }))
            }
            Err(error) => Err(anyhow!(
                "cannot reach the gateway at {}: {error}",
                self.base
            )),
        }
    }
}

fn login(api: &Api, rest: &[String]) -> anyhow::Result<ExitCode> {
    let [user] = rest else {
        return Err(usage("login takes a user name"));
    };
    let password = match std::env::var("NETPULSE_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .read_to_string(&mut line)
                .context("reading the password from stdin")?;
            line.lines().next().unwrap_or_default().to_owned()
        }
    };
    let answer = api.call(
        "POST",
        "/api/login",
        Some(&serde_json::json!({"username": user, "password": password})),
    )?;
    let token = answer["token"]
        .as_str()
        .ok_or_else(|| anyhow!("the gateway answered no token"))?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

/// `token list`, `token create NAME`, `token revoke ID`.
fn token_command(api: &Api, rest: &[String], args: &Args) -> anyhow::Result<ExitCode> {
    let words: Vec<&str> = rest.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["list"] => {
            let tokens = api.call("GET", "/api/tokens", None)?;
            println!(
                "{:<16} {:<12} {:<8} {:<13} {:<13} NAME",
                "ID", "OWNER", "ROLE", "EXPIRES", "LAST USED"
            );
            for token in tokens.as_array().into_iter().flatten() {
                let date = |field: &str| {
                    token[field]
                        .as_u64()
                        .map_or_else(|| "never".to_owned(), netpulse_shared::time::utc_date)
                };
                println!(
                    "{:<16} {:<12} {:<8} {:<13} {:<13} {}",
                    token["id"].as_str().unwrap_or_default(),
                    token["owner"].as_str().unwrap_or_default(),
                    token["role"].as_str().unwrap_or_default(),
                    if token["expired"] == true {
                        "expired".to_owned()
                    } else {
                        date("expires_ms")
                    },
                    date("last_used_ms"),
                    // Names are printable (the gateway refuses control characters).
                    token["name"].as_str().unwrap_or_default(),
                );
            }
        }
        ["create", name] => {
            let mut body = serde_json::json!({ "name": name });
            if let Some(role) = args.flag("--role") {
                body["role"] = role.into();
            }
            if let Some(days) = args.flag("--expires-days") {
                let days: u64 = days
                    .parse()
                    .map_err(|_| usage("--expires-days takes a whole number of days"))?;
                body["expires_in_days"] = days.into();
            }
            let made = api.call("POST", "/api/tokens", Some(&body))?;
            let token = made["token"]
                .as_str()
                .ok_or_else(|| anyhow!("the gateway answered no token"))?;
            eprintln!(
                "token {} ({}, {}) made; it is shown only now",
                made["name"].as_str().unwrap_or_default(),
                made["id"].as_str().unwrap_or_default(),
                made["role"].as_str().unwrap_or_default()
            );
            println!("{token}");
        }
        ["revoke", id] => {
            api.call("DELETE", &format!("/api/tokens/{id}"), None)?;
            eprintln!("token {id} revoked");
        }
        _ => return Err(usage("token takes list, create NAME or revoke ID")),
    }
    Ok(ExitCode::SUCCESS)
}

fn format_flag(args: &Args, default: &str, allowed: &[&str]) -> anyhow::Result<String> {
    let format = args.flag("--format").unwrap_or(default);
    if !allowed.contains(&format) {
        return Err(usage(format!(
            "--format must be one of {}, not {format}",
            allowed.join(", ")
        )));
    }
    Ok(format.to_owned())
}

fn list(api: &Api, args: &Args) -> anyhow::Result<ExitCode> {
    let format = format_flag(args, "table", &["table", "json", "csv"])?;
    let devices = api.call("GET", "/api/devices", None)?;
    let devices = devices.as_array().cloned().unwrap_or_default();
    match format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&devices)?),
        "csv" => {
            let objects: Vec<Map<String, Value>> = devices
                .into_iter()
                .filter_map(|d| match d {
                    Value::Object(map) => Some(map),
                    _ => None,
                })
                .collect();
            print!(
                "{}",
                rows::write(&objects, Format::Csv).map_err(|e| anyhow!(e))?
            );
        }
        _ => {
            println!(
                "{:<24} {:<24} {:>8} {:<8} NAME",
                "ID", "ADDRESS", "INTERVAL", "STATE"
            );
            for device in &devices {
                println!(
                    "{:<24} {:<24} {:>8} {:<8} {}",
                    device["id"].as_str().unwrap_or_default(),
                    device["address"].as_str().unwrap_or_default(),
                    device["interval"].as_u64().unwrap_or_default(),
                    device["status"]["state"].as_str().unwrap_or("unknown"),
                    // Names are printable (the gateway refuses control characters).
                    device["name"].as_str().unwrap_or_default(),
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn add(api: &Api, rest: &[String], args: &Args) -> anyhow::Result<ExitCode> {
    let body = match (args.flag("--json"), rest) {
        (Some(json), []) => serde_json::from_str::<Value>(json)
            .map_err(|e| usage(format!("--json is not valid JSON: {e}")))?,
        (None, [name, address]) => {
            let mut body = serde_json::json!({"name": name, "address": address});
            if let Some(interval) = args.flag("--interval") {
                let interval: u64 = interval
                    .parse()
                    .map_err(|_| usage("--interval must be a whole number of seconds"))?;
                body["interval"] = interval.into();
            }
            for (flag, field) in [("--community", "community"), ("--version", "version")] {
                if let Some(value) = args.flag(flag) {
                    body[field] = value.into();
                }
            }
            if let Some(interfaces) = args.flag("--interfaces") {
                body["interfaces"] = interfaces
                    .split(';')
                    .map(str::trim)
                    .filter(|i| !i.is_empty())
                    .map(|i| {
                        i.parse::<u32>()
                            .map_or_else(|_| Value::from(i), Value::from)
                    })
                    .collect();
            }
            body
        }
        _ => return Err(usage("add takes NAME ADDRESS, or --json '{...}'")),
    };
    let created = api.call("POST", "/api/devices", Some(&body))?;
    println!("added {}", created["id"].as_str().unwrap_or("the device"));
    Ok(ExitCode::SUCCESS)
}

fn remove(api: &Api, rest: &[String], args: &Args) -> anyhow::Result<ExitCode> {
    let [id] = rest else {
        return Err(usage("remove takes a device id"));
    };
    let history = args.flag("--history").unwrap_or("keep");
    if !["keep", "delete"].contains(&history) {
        return Err(usage("--history must be keep or delete"));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("{id:?} is not a device id");
    }
    api.call(
        "DELETE",
        &format!("/api/devices/{id}?history={history}"),
        None,
    )?;
    println!(
        "removed {id} (history {})",
        if history == "keep" { "kept" } else { "deleted" }
    );
    Ok(ExitCode::SUCCESS)
}

fn export(api: &Api, args: &Args) -> anyhow::Result<ExitCode> {
    let format = match args.flag("--format") {
        Some(raw) => Format::parse(raw).ok_or_else(|| usage("--format must be json or csv"))?,
        None => args.flag("--output").map_or(Format::Json, Format::of_path),
    };
    let devices = api.call("GET", "/api/export/devices", None).map_err(|e| {
        match e.downcast_ref::<Refused>() {
            Some(r) if r.status == 403 => {
                anyhow!("export needs an admin's token: it includes communities and SNMPv3 keys")
            }
            _ => e,
        }
    })?;
    let objects: Vec<Map<String, Value>> = devices
        .as_array()
        .ok_or_else(|| anyhow!("the gateway's export is not a list"))?
        .iter()
        .filter_map(|d| d.as_object().cloned())
        .collect();
    let text = rows::write(&objects, format).map_err(|e| anyhow!(e))?;
    match args.flag("--output") {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {path}"))?;
            eprintln!("exported {} devices to {path}", objects.len());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn import(api: &Api, rest: &[String], args: &Args) -> anyhow::Result<ExitCode> {
    let [path] = rest else {
        return Err(usage("import takes a file (- for stdin)"));
    };
    let format = match args.flag("--format") {
        Some(raw) => Format::parse(raw).ok_or_else(|| usage("--format must be json or csv"))?,
        None => Format::of_path(path),
    };
    let text = if path == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
    };
    let skip_bad = args.switch("--skip-bad");
    let mut rows =
        rows::read(&text, format).map_err(|e| anyhow!("{path}: {e}; nothing imported"))?;

    // A device that already exists is a bad row too: importing must not change it.
    let existing = api.call("GET", "/api/devices", None)?;
    let existing: Vec<&str> = existing
        .as_array()
        .map(|list| list.iter().filter_map(|d| d["id"].as_str()).collect())
        .unwrap_or_default();
    for row in &mut rows {
        if let Ok(checked) = &row.checked {
            if existing.contains(&checked.device.id.as_str()) {
                row.checked = Err(rows::Problem {
                    field: "name".into(),
                    message: format!("device {} already exists", checked.device.id),
                });
            }
        }
    }
    let report = |row: &Row, problem: &dyn std::fmt::Display| {
        eprintln!("{path}: line {}: {problem}", row.line);
    };
    let mut bad = 0;
    for row in &rows {
        if let Err(problem) = &row.checked {
            bad += 1;
            report(row, &format!("{}: {}", problem.field, problem.message));
        }
    }
    if bad > 0 && !skip_bad {
        eprintln!(
            "netpulsectl: {bad} of {} rows are bad; nothing imported (--skip-bad imports the others)",
            rows.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    let good: Vec<&Row> = rows.iter().filter(|r| r.checked.is_ok()).collect();
    if args.switch("--dry-run") {
        println!(
            "{} devices would be imported, {bad} rows skipped",
            good.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut created: Vec<String> = Vec::new();
    let mut refused = 0;
    for row in &good {
        let Ok(checked) = &row.checked else { continue };
        match api.call(
            "POST",
            "/api/devices",
            Some(&Value::Object(checked.body.clone())),
        ) {
            Ok(_) => created.push(checked.device.id.as_str().to_owned()),
            Err(error) => {
                report(row, &error);
                if skip_bad {
                    refused += 1;
                    continue;
                }
                // All or nothing: take back what this import added.
                for id in &created {
                    if let Err(undo) =
                        api.call("DELETE", &format!("/api/devices/{id}?history=delete"), None)
                    {
                        eprintln!("netpulsectl: could not remove {id} again: {undo:#}");
                    }
                }
                eprintln!("netpulsectl: the gateway refused a row; nothing imported");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    println!(
        "imported {} devices{}",
        created.len(),
        if bad + refused > 0 {
            format!(", skipped {} bad rows", bad + refused)
        } else {
            String::new()
        }
    );
    Ok(if refused > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
