//! netpulse-gateway binary: wiring only. `netpulse-gateway user ...` manages users.

use netpulse_gateway::{cli, Gateway, Settings};
use netpulse_shared::{bus, config, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let is_cli = args.first().map(String::as_str) == Some("user");
    if !is_cli {
        telemetry::init();
    }
    let mut settings: Settings = config::load()?;
    settings.gateway.replicas = settings.nats.replicas;
    let client = bus::connect(&settings.nats, "netpulse-gateway").await?;
    let _health = netpulse_shared::health::report(client.clone(), "gateway");
    if is_cli {
        let code = cli::run(client.clone(), settings.nats.replicas, &args[1..]).await?;
        client.flush().await.ok();
        std::process::exit(code);
    }
    let admin_password = settings.admin_password.as_ref().map(|s| s.expose());
    let gateway = Gateway::build(client, settings.gateway, admin_password).await?;
    gateway.run_until_stopped(shutdown::signal()).await;
    Ok(())
}
