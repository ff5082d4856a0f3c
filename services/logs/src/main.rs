//! netpulse-logs binary: wiring only.

use netpulse_logs::{Receivers, Settings};
use netpulse_shared::{bus, config, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let mut settings: Settings = config::load()?;
    settings.logs.replicas = settings.nats.replicas;
    let receivers = Receivers::bind(&settings.logs).await?;
    let client = bus::connect(&settings.nats, "netpulse-logs").await?;
    let _health = netpulse_shared::health::report(client.clone(), "logs");
    receivers
        .run(client, settings.logs, shutdown::signal())
        .await
}
