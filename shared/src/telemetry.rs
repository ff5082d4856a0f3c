//! Tracing setup shared by the binaries: `RUST_LOG` filters, `info` by default.

use tracing_subscriber::EnvFilter;

/// Installs a formatting subscriber on stderr. Safe to call more than once (tests).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
