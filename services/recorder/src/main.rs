//! netpulse-recorder binary: wiring only.

use netpulse_recorder::{run, Settings};
use netpulse_shared::{bus, config, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let mut settings: Settings = config::load()?;
    settings.recorder.replicas = settings.nats.replicas;
    let client = bus::connect(&settings.nats, "netpulse-recorder").await?;
    let _health = netpulse_shared::health::report(client.clone(), "recorder");
    run(
        client,
        settings.data_dir,
        settings.recorder,
        shutdown::signal(),
    )
    .await
}
