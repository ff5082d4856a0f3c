//! netpulse-sim binary: wiring only (flags, tracing, simulator, control API, stop signal).

use anyhow::Context;
use netpulse_shared::{shutdown, telemetry};
use netpulse_simulator::cli::{self, Command};
use netpulse_simulator::{http, Simulator};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let options = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            return Ok(());
        }
        Err(error) => {
            eprint!("netpulse-sim: {error}\n\n{}", cli::USAGE);
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(options.control)
        .await
        .with_context(|| format!("binding the control API to {}", options.control))?;
    let simulator = Simulator::start(options.simulation).await?;
    for address in simulator.addresses() {
        println!("{address}");
    }
    http::serve(listener, simulator.control(), shutdown::signal()).await;
    simulator.stop().await;
    Ok(())
}
