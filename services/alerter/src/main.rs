//! netpulse-alerter binary: wiring only.

use netpulse_alerter::{run, Settings};
use netpulse_shared::{bus, config, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let mut settings: Settings = config::load()?;
    settings.alerter.replicas = settings.nats.replicas;
    let client = bus::connect(&settings.nats, "netpulse-alerter").await?;
    let _health = netpulse_shared::health::report(client.clone(), "alerter");
    run(client, settings.alerter, shutdown::signal()).await
}
