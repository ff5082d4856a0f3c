//! Settings loading: a TOML file, then `NETPULSE_` environment variables.
//!
//! The file is `netpulse.toml` in the working directory unless `NETPULSE_CONFIG` names
//! another; it is optional. Environment variables override it, with `__` between a section
//! and a key: `NETPULSE_GATEWAY__LISTEN=0.0.0.0:8080` sets `gateway.listen`, and
//! `NETPULSE_DATA_DIR` sets the top-level `data_dir`. Each service declares its own typed
//! settings struct from the sections below and loads it with [`load`].

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Settings could not be read or did not fit the expected types.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] config::ConfigError);

/// Loads settings of type `T` from the config file and the environment.
pub fn load<T: DeserializeOwned>() -> Result<T, ConfigError> {
    let file = std::env::var("NETPULSE_CONFIG").unwrap_or_else(|_| "netpulse.toml".into());
    let required = std::env::var_os("NETPULSE_CONFIG").is_some();
    load_from(
        config::File::with_name(&file)
            .format(config::FileFormat::Toml)
            .required(required),
        config::Environment::with_prefix("NETPULSE")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true),
    )
}

fn load_from<T: DeserializeOwned>(
    file: config::File<config::FileSourceFile, config::FileFormat>,
    env: config::Environment,
) -> Result<T, ConfigError> {
    Ok(config::Config::builder()
        .add_source(file)
        .add_source(env)
        .build()?
        .try_deserialize()?)
}

/// `[nats]`: where the NATS servers are, and how many copies JetStream keeps.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct NatsSettings {
    /// Server URL, or several separated by commas (the nodes of a cluster). Default
    /// `nats://127.0.0.1:4222`.
    pub url: String,
    /// Server URLs as a list; when not empty, used instead of `url`.
    pub urls: Vec<String>,
    /// Copies of each JetStream stream and bucket netpulse creates: 1 on a single server, 3
    /// (or 5) on a cluster. Default 1.
    pub replicas: usize,
    /// Seconds to keep retrying the first connection. Default 30.
    pub connect_timeout_secs: u64,
    /// User name, when the server requires one (each service has its own).
    pub user: Option<String>,
    /// Its password (a secret: never printed).
    pub password: Option<crate::usm::Secret>,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
            urls: Vec::new(),
            replicas: 1,
            connect_timeout_secs: 30,
            user: None,
            password: None,
        }
    }
}

impl NatsSettings {
    /// The server URLs to connect to: `urls` when given, else each comma-separated part of
    /// `url`, blanks left out.
    pub fn servers(&self) -> Vec<String> {
        let listed = if self.urls.is_empty() {
            self.url.split(',').map(str::to_owned).collect()
        } else {
            self.urls.clone()
        };
        listed
            .into_iter()
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty())
            .collect()
    }
}

/// A length of time in settings: a number of seconds, or a number with a unit: `s`, `m`,
/// `h`, `d` (days), `w` (weeks), `y` (365 days). `"90d"`, `"48h"`, `3600`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period(pub std::time::Duration);

impl Period {
    /// Parses `"7d"`-style text; the error says what is accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (n, unit) = number_and_unit(text, "a period (use e.g. 90s, 15m, 48h, 7d, 2w, 2y)")?;
        let seconds_per = match unit {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            "y" => 365 * 86_400,
            _ => {
                return Err(format!(
                    "{text:?} is not a period (use e.g. 90s, 15m, 48h, 7d, 2w, 2y)"
                ))
            }
        };
        let seconds = n
            .checked_mul(seconds_per)
            .filter(|s| *s > 0)
            .ok_or_else(|| format!("{text:?} must be more than zero and less than centuries"))?;
        Ok(Self(std::time::Duration::from_secs(seconds)))
    }

    /// In milliseconds.
    pub fn as_ms(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }
}

/// An amount of storage in settings: a number of bytes, or a number with a unit: `KiB`,
/// `MiB`, `GiB`, `TiB` (also `KB`, `MB`, `GB`, `TB` in powers of 1000). `"4GiB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

impl Size {
    /// Parses `"4GiB"`-style text; the error says what is accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (n, unit) = number_and_unit(text, "a size (use e.g. 512MiB, 4GiB)")?;
        let multiplier: u64 = match unit {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "TiB" => 1 << 40,
            "KB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "TB" => 1_000_000_000_000,
            _ => return Err(format!("{text:?} is not a size (use e.g. 512MiB, 4GiB)")),
        };
        n.checked_mul(multiplier)
            .filter(|b| *b > 0)
            .map(Self)
            .ok_or_else(|| format!("{text:?} must be more than zero and fit in 64 bits"))
    }
}

/// Splits `"90d"` into 90 and `"d"`; the error says the text is not `what`.
fn number_and_unit<'a>(text: &'a str, what: &str) -> Result<(u64, &'a str), String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n = number
        .parse()
        .map_err(|_| format!("{text:?} is not {what}"))?;
    Ok((n, unit.trim()))
}

/// Text or a plain number, as settings files and the environment give them.
#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrNumber {
    Number(u64),
    Text(String),
}

/// Reads text or a number of the base unit with `parse`.
fn text_or_number<'de, D: serde::Deserializer<'de>, T>(
    d: D,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    match TextOrNumber::deserialize(d)? {
        TextOrNumber::Number(n) => parse(&n.to_string()),
        TextOrNumber::Text(t) => parse(&t),
    }
    .map_err(serde::de::Error::custom)
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        text_or_number(d, Self::parse)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        text_or_number(d, Self::parse)
    }
}

impl std::fmt::Display for Period {
    /// The largest of y (365 days), d, h, m and s that gives a whole number: `730d` is `2y`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seconds = self.0.as_secs();
        let units = [(365 * 86_400, "y"), (86_400, "d"), (3_600, "h"), (60, "m")];
        match units
            .iter()
            .find(|(per, _)| seconds > 0 && seconds.is_multiple_of(*per))
        {
            Some((per, unit)) => write!(f, "{}{unit}", seconds / per),
            None => write!(f, "{seconds}s"),
        }
    }
}

impl std::fmt::Display for Size {
    /// The largest binary unit that gives a whole number: `4GiB`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let units = [
            (1u64 << 40, "TiB"),
            (1 << 30, "GiB"),
            (1 << 20, "MiB"),
            (1 << 10, "KiB"),
        ];
        match units
            .iter()
            .find(|(per, _)| self.0 > 0 && self.0.is_multiple_of(*per))
        {
            Some((per, unit)) => write!(f, "{}{unit}", self.0 / per),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Size {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The top-level `data_dir`: where history and the JetStream store live. Default `./data`.
pub fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Example {
        #[serde(default = "default_data_dir")]
        data_dir: PathBuf,
        #[serde(default)]
        nats: NatsSettings,
    }

    #[test]
    fn periods_and_sizes_print_as_they_parse() {
        let period = |t: &str| Period::parse(t).expect("period").to_string();
        let size = |t: &str| Size::parse(t).expect("size").to_string();
        for (given, shown) in [
            ("90s", "90s"),
            ("15m", "15m"),
            ("48h", "2d"),
            ("730d", "2y"),
        ] {
            assert_eq!(period(given), shown);
            assert_eq!(period(shown), shown);
        }
        for (given, shown) in [("4GiB", "4GiB"), ("512MiB", "512MiB"), ("1000", "1000")] {
            assert_eq!(size(given), shown);
        }
    }

    #[test]
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("netpulse-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("netpulse.toml");
        std::fs::write(
            &path,
            "data_dir = \"/srv/np\"\n[nats]\nurl = \"nats://10.0.0.1:4222\"\n",
        )
        .expect("write");
        let source = std::collections::HashMap::from([(
            "NETPULSE_NATS__URL".to_owned(),
            "nats://127.0.0.1:4999".to_owned(),
        )]);
        let env = config::Environment::with_prefix("NETPULSE")
            .prefix_separator("_")
            .separator("__")
            .source(Some(source));
        let file = config::File::from(path.as_path()).format(config::FileFormat::Toml);
        let got: Example = load_from(file, env).expect("load");
        assert_eq!(got.data_dir, PathBuf::from("/srv/np"));
        assert_eq!(got.nats.url, "nats://127.0.0.1:4999");
        assert_eq!(got.nats.connect_timeout_secs, 30);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn periods_and_sizes() {
        let day = std::time::Duration::from_secs(86_400);
        assert_eq!(Period::parse("2d"), Ok(Period(2 * day)));
        assert_eq!(Period::parse("48h"), Ok(Period(2 * day)));
        assert_eq!(Period::parse("3600").map(Period::as_ms), Ok(3_600_000));
        assert_eq!(Period::parse("2y"), Ok(Period(730 * day)));
        for bad in ["", "d", "0d", "7 days", "-1d", "1.5h", "99999999999999999y"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Size::parse("4GiB"), Ok(Size(4 << 30)));
        assert_eq!(Size::parse("1500"), Ok(Size(1500)));
        assert_eq!(Size::parse("2GB"), Ok(Size(2_000_000_000)));
        for bad in ["", "0", "4gb", "GiB", "4 PiB"] {
            assert!(Size::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_without_a_file() {
        let env = config::Environment::with_prefix("NETPULSE")
            .separator("__")
            .source(Some(Default::default()));
        let file = config::File::with_name("/nonexistent/netpulse.toml").required(false);
        let got: Example = load_from(file, env).expect("load");
        assert_eq!(got.data_dir, PathBuf::from("data"));
        assert_eq!(got.nats.url, "nats://127.0.0.1:4222");
        assert_eq!(got.nats.servers(), ["nats://127.0.0.1:4222"]);
        assert_eq!(got.nats.replicas, 1);
    }

    #[test]
    fn several_servers_and_replicas() {
        let source = std::collections::HashMap::from([
            (
                "NETPULSE_NATS__URL".to_owned(),
                "nats://10.0.0.1:4222, nats://10.0.0.2:4222,,nats://10.0.0.3:4222".to_owned(),
            ),
            ("NETPULSE_NATS__REPLICAS".to_owned(), "3".to_owned()),
        ]);
        let env = config::Environment::with_prefix("NETPULSE")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .source(Some(source));
        let file = config::File::with_name("/nonexistent/netpulse.toml").required(false);
        let got: Example = load_from(file, env).expect("load");
        assert_eq!(
            got.nats.servers(),
            [
                "nats://10.0.0.1:4222",
                "nats://10.0.0.2:4222",
                "nats://10.0.0.3:4222"
            ]
        );
        assert_eq!(got.nats.replicas, 3);

        let dir = std::env::temp_dir().join(format!("netpulse-urls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("netpulse.toml");
        std::fs::write(
            &path,
            "[nats]\nurls = [\"nats://a:4222\", \"nats://b:4222\"]\nreplicas = 3\n",
        )
        .expect("write");
        let env = config::Environment::with_prefix("NETPULSE")
            .separator("__")
            .source(Some(Default::default()));
        let file = config::File::from(path.as_path()).format(config::FileFormat::Toml);
        let got: Example = load_from(file, env).expect("load");
        assert_eq!(got.nats.servers(), ["nats://a:4222", "nats://b:4222"]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
