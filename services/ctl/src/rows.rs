//! Device files: JSON (an array of the objects `POST /api/devices` takes) and CSV (one
//! column per field, lists separated by `;`, the SNMPv3 settings in `v3.*` columns), each
//! row checked as the gateway checks it before anything is sent.

use std::collections::HashMap;

use netpulse_shared::device::{Device, INPUT_FIELDS};
use netpulse_shared::usm::V3_FIELDS;
use serde_json::{Map, Value};

/// The CSV columns, in the order an export writes them: the device's input fields, then
/// `v3` spread into a column per key (`v3.user`, ...).
pub fn columns() -> Vec<String> {
    INPUT_FIELDS
        .iter()
        .filter(|field| **field != "v3")
        .map(|field| (*field).to_owned())
        .chain(V3_FIELDS.iter().map(|key| format!("v3.{key}")))
        .collect()
}

/// Columns holding whole numbers.
const NUMBERS: [&str; 4] = ["interval", "timeout_ms", "retries", "live_interval_ms"];
/// Columns holding lists, `;` between items.
const LISTS: [&str; 4] = ["interfaces", "oids", "log_sources", "tags"];
/// Columns holding `true` or `false`.
const BOOLS: [&str; 1] = ["poll_errors"];

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON array of device objects.
    Json,
    /// Comma-separated values with a header line.
    Csv,
}

impl Format {
    /// `json` or `csv`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// The format a file name suggests: CSV for `.csv`, else JSON.
    pub fn of_path(path: &str) -> Self {
        if path.to_ascii_lowercase().ends_with(".csv") {
            Self::Csv
        } else {
            Self::Json
        }
    }
}

/// One device of a file, where it starts, and the object to send (or what is wrong).
#[derive(Debug)]
pub struct Row {
    /// The line the row starts on, from 1.
    pub line: usize,
    /// The device's body, checked.
    pub checked: Result<Checked, Problem>,
}

/// A row that passed the gateway's checks.
#[derive(Debug)]
pub struct Checked {
    /// The body to send.
    pub body: Map<String, Value>,
    /// The device it makes.
    pub device: Device,
}

/// What is wrong with a row: the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field (a CSV column name).
    pub field: String,
    /// Why, for a human.
    pub message: String,
}

impl Problem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Reads a whole file into rows, or says why the file as a whole cannot be read (with the
/// line at fault when there is one).
pub fn read(text: &str, format: Format) -> Result<Vec<Row>, String> {
    let objects = match format {
        Format::Json => json_objects(text)?,
        Format::Csv => csv_objects(text)?,
    };
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    Ok(objects
        .into_iter()
        .map(|(line, object)| {
            let checked = object.and_then(|body| {
                let device = Device::from_json_object(&body)
                    .map_err(|e| Problem::new(e.field, e.message))?;
                if let Some(first) = first_line_of.get(device.id.as_str()) {
                    return Err(Problem::new(
                        "name",
                        format!("gives the id {} of the device on line {first}", device.id),
                    ));
                }
                first_line_of.insert(device.id.as_str().to_owned(), line);
                Ok(Checked { body, device })
            });
            Row { line, checked }
        })
        .collect())
}

type Objects = Vec<(usize, Result<Map<String, Value>, Problem>)>;

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn json_objects(text: &str) -> Result<Objects, String> {
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(text).map_err(|e| {
        format!(
            "line {}: not a JSON array of devices ({e})",
            e.line().max(1)
        )
    })?;
    Ok(items
        .into_iter()
        .map(|raw| {
            // Each item borrows from `text`: its place there gives its line.
            let offset = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
            let line = line_at(text, offset);
            let object = match serde_json::from_str::<Value>(raw.get()) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(Problem::new("device", "must be a JSON object")),
            };
            (line, object)
        })
        .collect())
}

fn csv_objects(text: &str) -> Result<Objects, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| format!("line 1: cannot read the header ({e})"))?
        .clone();
    let columns: Vec<String> = header.iter().map(|c| c.trim().to_owned()).collect();
    let known = self::columns();
    if let Some(unknown) = columns.iter().find(|c| !known.contains(c)) {
        return Err(format!(
            "line 1: unknown column \"{unknown}\" (columns: {})",
            known.join(", ")
        ));
    }
    if let Some(twice) = columns
        .iter()
        .enumerate()
        .find(|(i, c)| columns[..*i].contains(c))
        .map(|(_, c)| c)
    {
        return Err(format!("line 1: column \"{twice}\" appears twice"));
    }
    if !columns.iter().any(|c| c == "name") || !columns.iter().any(|c| c == "address") {
        return Err("line 1: the header needs at least the columns name and address".into());
    }
    let mut objects = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                objects.push((line, csv_object(&columns, &record)));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths { len, .. } => format!(
                        "has {len} cells where the header has {} columns",
                        columns.len()
                    ),
                    _ => e.to_string(),
                };
                objects.push((line, Err(Problem::new("row", message))));
            }
        }
    }
    Ok(objects)
}

fn csv_object(
    columns: &[String],
    record: &csv::StringRecord,
) -> Result<Map<String, Value>, Problem> {
    let mut object = Map::new();
    let mut v3 = Map::new();
    for (column, cell) in columns.iter().zip(record.iter()) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        let value = if NUMBERS.contains(&column.as_str()) {
            let number: u64 = cell.parse().map_err(|_| {
                Problem::new(column.clone(), format!("\"{cell}\" is not a whole number"))
            })?;
            Value::from(number)
        } else if BOOLS.contains(&column.as_str()) {
            match cell.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    return Err(Problem::new(
                        column.clone(),
                        format!("\"{cell}\" is not true or false"),
                    ))
                }
            }
        } else if LISTS.contains(&column.as_str()) {
            Value::Array(
                cell.split(';')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| match (column.as_str(), item.parse::<u32>()) {
                        // An interface given by number is an ifIndex.
                        ("interfaces", Ok(index)) => Value::from(index),
                        _ => Value::String(item.to_owned()),
                    })
                    .collect(),
            )
        } else {
            Value::String(cell.to_owned())
        };
        match column.strip_prefix("v3.") {
            Some(key) => {
                v3.insert(key.to_owned(), value);
            }
            None => {
                object.insert(column.clone(), value);
            }
        }
    }
    if !v3.is_empty() {
        object.insert("v3".into(), Value::Object(v3));
    }
    Ok(object)
}

/// Writes devices (objects as `GET /api/export/devices` gives them) as a file.
pub fn write(devices: &[Map<String, Value>], format: Format) -> Result<String, String> {
    match format {
        Format::Json => {
            // One device per line: a diff or a grep shows whole devices.
            let lines: Result<Vec<String>, _> = devices.iter().map(serde_json::to_string).collect();
            let lines = lines.map_err(|e| e.to_string())?;
            if lines.is_empty() {
                return Ok("[]\n".into());
            }
            Ok(format!("[\n{}\n]\n", lines.join(",\n")))
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            let columns = columns();
            writer.write_record(&columns).map_err(|e| e.to_string())?;
            for device in devices {
                let cells: Vec<String> = columns.iter().map(|c| cell(device, c)).collect();
                writer.write_record(&cells).map_err(|e| e.to_string())?;
            }
            let bytes = writer.into_inner().map_err(|e| e.to_string())?;
            String::from_utf8(bytes).map_err(|e| e.to_string())
        }
    }
}

fn cell(device: &Map<String, Value>, column: &str) -> String {
    let value = match column.strip_prefix("v3.") {
        Some(key) => device.get("v3").and_then(|v3| v3.get(key)),
        None => device.get(column),
    };
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(";"),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(rows: &[Row]) -> Vec<(usize, String)> {
        rows.iter()
            .filter_map(|r| r.checked.as_ref().err().map(|p| (r.line, p.field.clone())))
            .collect()
    }

    #[test]
    fn csv_rows_are_checked_one_by_one_with_their_lines() {
        let text = "name,address,interval,interfaces\n\
                    core-1,192.0.2.1,60,eth0;eth1\n\
                    ,192.0.2.2,60,\n\
                    edge-1,not an address,60,\n\
                    edge-2,192.0.2.4,often,\n\
                    \"quoted, name\",192.0.2.5,60,3\n\
                    core-1,192.0.2.6,60,\n";
        let rows = read(text, Format::Csv).expect("readable");
        assert_eq!(rows.len(), 6);
        assert_eq!(
            problems(&rows),
            [
                (3, "name".to_owned()),
                (4, "address".to_owned()),
                (5, "interval".to_owned()),
                (7, "name".to_owned())
            ]
        );
        let first = rows[0].checked.as_ref().expect("good");
        assert_eq!(
            first.body["interfaces"],
            serde_json::json!(["eth0", "eth1"])
        );
        let quoted = rows[4].checked.as_ref().expect("good");
        assert_eq!(quoted.device.name.as_str(), "quoted, name");
        assert_eq!(quoted.body["interfaces"], serde_json::json!([3]));
    }

    #[test]
    fn a_bad_header_refuses_the_file() {
        let error = read("name,adress\nx,192.0.2.1\n", Format::Csv).expect_err("bad header");
        assert!(
            error.contains("line 1") && error.contains("adress"),
            "{error}"
        );
    }

    #[test]
    fn json_rows_know_their_lines() {
        let text = "[\n{\"name\": \"a\", \"address\": \"192.0.2.1\"},\n\n{\"name\": \"b\"},\n7\n]";
        let rows = read(text, Format::Json).expect("readable");
        assert_eq!(
            problems(&rows),
            [(4, "address".to_owned()), (5, "device".to_owned())]
        );
        let error = read("{\"name\": \"a\"}", Format::Json).expect_err("not an array");
        assert!(error.contains("JSON array"), "{error}");
    }

    #[test]
    fn csv_round_trips_through_export() {
        let device = serde_json::json!({
            "name": "v3 box", "address": "192.0.2.9:1161", "version": "3", "community": "public",
            "v3": {"user": "ops", "auth_protocol": "sha", "auth_password": "auth-pass-1",
                   "priv_protocol": "aes", "priv_password": "priv-pass-1"},
            "interval": 30, "timeout_ms": 1500, "retries": 2, "interfaces": ["eth0", 7],
            "oids": ["1.3.6.1.2.1.1.5.0"], "log_sources": ["192.0.2.10"],
            "tags": ["core", "site:par/1"], "live_interval_ms": 0
        });
        let Value::Object(map) = device else {
            unreachable!()
        };
        let written = write(std::slice::from_ref(&map), Format::Csv).expect("csv");
        let rows = read(&written, Format::Csv).expect("readable");
        let back = rows[0].checked.as_ref().expect("good");
        assert_eq!(back.body, map);
        assert_eq!(back.device.tags, ["core", "site:par/1"]);
    }

    #[test]
    fn csv_tags_are_a_list_and_a_bad_one_is_named() {
        let text = "name,address,tags\n\
                    a,192.0.2.1, Core ; edge;;core\n\
                    b,192.0.2.2,\n\
                    c,192.0.2.3,fine;not fine\n";
        let rows = read(text, Format::Csv).expect("readable");
        assert_eq!(problems(&rows), [(4, "tags".to_owned())]);
        let tagged = rows[0].checked.as_ref().expect("good");
        assert_eq!(tagged.device.tags, ["core", "edge"]);
        let untagged = rows[1].checked.as_ref().expect("good");
        assert!(untagged.device.tags.is_empty());
        let problem = rows[2].checked.as_ref().expect_err("bad tag");
        assert!(problem.message.contains("\"not fine\""), "{problem:?}");
    }

    #[test]
    fn csv_poll_errors_is_a_boolean() {
        let text = "name,address,poll_errors\n\
                    a,192.0.2.1,false\n\
                    b,192.0.2.2,\n\
                    c,192.0.2.3,no\n";
        let rows = read(text, Format::Csv).expect("readable");
        assert_eq!(problems(&rows), [(4, "poll_errors".to_owned())]);
        assert!(!rows[0].checked.as_ref().expect("good").device.poll_errors);
        assert!(rows[1].checked.as_ref().expect("good").device.poll_errors);
        // Exported as it is read back.
        let body = rows[0].checked.as_ref().expect("good").device.to_input();
        let written = write(std::slice::from_ref(&body), Format::Csv).expect("csv");
        let back = read(&written, Format::Csv).expect("readable");
        let back = &back[0].checked.as_ref().expect("good").device;
        assert_eq!(back.to_input(), body);
    }
}
