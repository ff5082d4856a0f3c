//! netpulse-poller binary: wiring only.

use netpulse_poller::{run, Settings};
use netpulse_shared::{bus, config, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let settings: Settings = config::load()?;
    let client = bus::connect(&settings.nats, "netpulse-poller").await?;
    run(client, settings.poller, shutdown::signal()).await
}
