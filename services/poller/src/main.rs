//! netpulse-poller binary: wiring only.

use netpulse_poller::{run, Settings};
use netpulse_shared::{bus, config, shutdown, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let mut settings: Settings = config::load()?;
    settings.poller.replicas = settings.nats.replicas;
    let client = bus::connect(&settings.nats, "netpulse-poller").await?;
    let _health = netpulse_shared::health::report(client.clone(), "poller");
    run(client, settings.poller, shutdown::signal()).await
}
