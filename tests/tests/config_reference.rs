//! docs/configuration.md's table of keys against the settings each service reads: no key of
//! the code undocumented, no documented key unknown, the environment variable and default of
//! each as the code has them.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// Every key of a service's settings with its default, as dotted paths (`gateway.listen`).
fn keys_of(settings: &impl serde::Serialize, into: &mut BTreeMap<String, Value>) {
    fn walk(prefix: &str, value: Value, into: &mut BTreeMap<String, Value>) {
        match value {
            // A section: its keys. A map-valued key would need its own rule here.
            Value::Object(map) if prefix.is_empty() || !prefix.contains('.') => {
                for (key, inner) in map {
                    let path = if prefix.is_empty() {
                        key
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, inner, into);
                }
            }
            other => {
                into.insert(prefix.to_owned(), other);
            }
        }
    }
    walk(
        "",
        serde_json::to_value(settings).expect("settings serialize"),
        into,
    );
}

/// How the table writes a default.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "none".into(),
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The rows of the table: (keys of the row, environment cell, default cell).
fn documented() -> Vec<(Vec<String>, String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let text = std::fs::read_to_string(path).expect("docs/configuration.md");
    let section = text
        .split("## Every key")
        .nth(1)
        .expect("an \"Every key\" section");
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // "| key | environment | default | meaning |": cells 1, 2 and 3.
            (ticked(cells[1]), cells[2].to_owned(), cells[3].to_owned())
        })
        .collect()
}

#[test]
fn every_key_is_documented_with_its_environment_variable_and_default() {
    let mut code = BTreeMap::new();
    keys_of(&netpulse_scheduler::Settings::default(), &mut code);
    keys_of(&netpulse_poller::Settings::default(), &mut code);
    keys_of(&netpulse_recorder::Settings::default(), &mut code);
    keys_of(&netpulse_gateway::Settings::default(), &mut code);
    keys_of(&netpulse_logs::Settings::default(), &mut code);
    keys_of(&netpulse_alerter::Settings::default(), &mut code);
    assert!(code.len() > 30, "too few keys found: {code:?}");

    let rows = documented();
    let mut seen = BTreeMap::new();
    let mut problems = Vec::new();
    for (keys, environment, default) in &rows {
        let variables: Vec<String> = environment
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        for (i, key) in keys.iter().enumerate() {
            let Some(value) = code.get(key) else {
                problems.push(format!("{key}: documented, but no service reads it"));
                continue;
            };
            if seen.insert(key.clone(), ()).is_some() {
                problems.push(format!("{key}: documented twice"));
            }
            let expected = format!("NETPULSE_{}", key.to_uppercase().replace('.', "__"));
            let file_only = environment == "(file only)";
            // A list has no environment form.
            if !(file_only && value.is_array()) && variables.get(i) != Some(&expected) {
                problems.push(format!(
                    "{key}: environment column {environment:?}, expected `{expected}`"
                ));
            }
            // Defaults that are not values ("(random, shown once)") are explained, not shown.
            let default = default.trim_matches('`');
            if keys.len() == 1 && !default.starts_with('(') && default != shown(value) {
                problems.push(format!(
                    "{key}: documented default {default:?}, the code's is {:?}",
                    shown(value)
                ));
            }
        }
    }
    for key in code.keys() {
        if !seen.contains_key(key) {
            problems.push(format!(
                "{key}: read by a service, missing from docs/configuration.md"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
