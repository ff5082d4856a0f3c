//! netpulse-scheduler binary: wiring only.

use netpulse_scheduler::{run, Settings};
use netpulse_shared::{bus, config, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let settings: Settings = config::load()?;
    let client = bus::connect(&settings.nats, "netpulse-scheduler").await?;
    run(client, settings.scheduler, shutdown::signal()).await
}
