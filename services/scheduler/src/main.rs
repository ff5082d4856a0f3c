//! netpulse-scheduler binary: wiring only.

use netpulse_scheduler::{run, Settings};
use netpulse_shared::{bus, config, shutdown, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let mut settings: Settings = config::load()?;
    settings.scheduler.replicas = settings.nats.replicas;
    let client = bus::connect(&settings.nats, "netpulse-scheduler").await?;
    let _health = netpulse_shared::health::report(client.clone(), "scheduler");
    run(client, settings.scheduler, shutdown::signal()).await
}
