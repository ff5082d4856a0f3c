//! netpulse-recorder binary: wiring only.
//!
//! `netpulse-recorder shard-of N DEVICE...` prints the shard (of N) of each device id, one
//! per line (`<shard> <device>`), for moving history folders when the number of shards
//! changes (docs/operations.md).

use netpulse_recorder::{run, Settings};
use netpulse_shared::{bus, config, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("shard-of") {
        return shard_of(&args[1..]);
    }
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

/// `shard-of N DEVICE...`.
fn shard_of(args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: netpulse-recorder shard-of SHARDS DEVICE...";
    let (count, devices) = args.split_first().ok_or_else(|| anyhow::anyhow!(usage))?;
    let count: u32 = count
        .parse()
        .map_err(|_| anyhow::anyhow!("SHARDS must be a number\n{usage}"))?;
    netpulse_shared::shards::Shard::new(0, count).map_err(anyhow::Error::msg)?;
    for device in devices {
        println!(
            "{} {device}",
            netpulse_shared::shards::shard_of(device, count)
        );
    }
    Ok(())
}
