//! Tracing setup shared by the binaries: `RUST_LOG` filters, `info` by default.

use tracing_subscriber::EnvFilter;

/// Installs a formatting subscriber on stderr. Safe to call more than once (tests).
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,warp=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// For tests: logs only when `TEST_LOG` is set (then with `RUST_LOG` filters, or `info`).
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init();
    }
}
