//! netpulse-gateway binary: wiring only.

use netpulse_gateway::{Gateway, Settings};
use netpulse_shared::{bus, config, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let settings: Settings = config::load()?;
    let client = bus::connect(&settings.nats, "netpulse-gateway").await?;
    let gateway = Gateway::build(client, settings.gateway).await?;
    gateway.run_until_stopped(shutdown::signal()).await;
    Ok(())
}
