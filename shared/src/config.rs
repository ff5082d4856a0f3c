//! Settings loading: a TOML file, then `NETPULSE_` environment variables.
//!
//! The file is `netpulse.toml` in the working directory unless `NETPULSE_CONFIG` names
//! another; it is optional. Environment variables override it, with `__` between a section
//! and a key: `NETPULSE_GATEWAY__LISTEN=0.0.0.0:8080` sets `gateway.listen`, and
//! `NETPULSE_DATA_DIR` sets the top-level `data_dir`. Each service declares its own typed
//! settings struct from the sections below and loads it with [`load`].

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Deserialize;

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

/// `[nats]`: where the NATS server is.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct NatsSettings {
    /// Server URL. Default `nats://127.0.0.1:4222`.
    pub url: String,
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
            connect_timeout_secs: 30,
            user: None,
            password: None,
        }
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
    fn defaults_without_a_file() {
        let env = config::Environment::with_prefix("NETPULSE")
            .separator("__")
            .source(Some(Default::default()));
        let file = config::File::with_name("/nonexistent/netpulse.toml").required(false);
        let got: Example = load_from(file, env).expect("load");
        assert_eq!(got.data_dir, PathBuf::from("data"));
        assert_eq!(got.nats.url, "nats://127.0.0.1:4222");
    }
}
