//! [`Simulator`]: binds one UDP socket per device and answers on each from its own task.
//!
//! Datagrams are read into a per-thread buffer (so 5,000 idle devices do not each hold a
//! 64 KiB buffer), answered while the device's lock is held (no `.await` in between), and
//! sent at once, or from a spawned task when the device is set to answer late.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::agent::{self, MAX_MESSAGE};
use crate::config::SimConfig;
use crate::control::{Control, Device, Devices, TableCache};
use crate::device::DeviceState;
use crate::wiring::Wiring;

thread_local! {
    /// Receive buffer of the worker thread, big enough for any UDP datagram.
    static RECEIVE_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; MAX_MESSAGE + 1]);
}

/// A running set of simulated devices. Dropping it stops them too (without waiting).
#[derive(Debug)]
pub struct Simulator {
    control: Control,
    addresses: Vec<SocketAddr>,
    /// Set to `true` (or dropped) to stop every device task and pending late answer.
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Simulator {
    /// Binds every device's socket and starts answering, each linked device reporting its
    /// neighbours in LLDP-MIB from the first request.
    ///
    /// Fails when a link cannot be made (see [`Wiring::add`]), a port is taken, the ports
    /// run past 65535, or the process may not open that many sockets.
    pub async fn start(config: SimConfig) -> anyhow::Result<Self> {
        let wiring = Wiring::with_links(config.devices, config.interfaces, &config.links)
            .context("wiring the simulated devices")?;
        let community: Arc<[u8]> = config.community.as_bytes().into();
        let tables = TableCache::new(config.interfaces);
        let booted = Instant::now();
        let mut sockets = Vec::with_capacity(config.devices);
        let mut addresses = Vec::with_capacity(config.devices);
        for number in 0..config.devices {
            let port = device_port(config.base_port, number)?;
            let socket = UdpSocket::bind(SocketAddr::new(config.bind_ip, port))
                .await
                .with_context(|| {
                    format!(
                        "binding device {number} to {}:{port} (many devices may need a \
                         higher open-files limit, `ulimit -n`)",
                        config.bind_ip
                    )
                })?;
            addresses.push(socket.local_addr()?);
            sockets.push(Arc::new(socket));
        }
        let table = tables.table(0);
        let devices = (0..config.devices)
            .map(|number| {
                Arc::new(Device::new(DeviceState::new(
                    number,
                    &config,
                    table.clone(),
                    booted,
                )))
            })
            .collect::<Vec<_>>();
        let control = Control::new(Arc::new(Devices {
            devices: devices.clone(),
            addresses: addresses.clone(),
            tables,
            wiring: Mutex::new(wiring),
        }));
        control.refresh_all();
        let (stop, stopped) = watch::channel(false);
        let tasks = sockets
            .into_iter()
            .zip(&devices)
            .enumerate()
            .map(|(number, (socket, device))| {
                tokio::spawn(serve_device(
                    number,
                    socket,
                    device.clone(),
                    community.clone(),
                    stopped.clone(),
                ))
            })
            .collect();
        tracing::info!(
            devices = config.devices,
            interfaces = config.interfaces,
            links = config.links.len(),
            first = ?addresses.first(),
            "simulated devices answering"
        );
        Ok(Self {
            control,
            addresses,
            stop,
            tasks,
        })
    }

    /// Every device's address, indexed by device number.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.addresses.clone()
    }

    /// A handle to change how devices behave.
    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// Stops every device and waits until their sockets are closed.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, "device task ended badly");
            }
        }
    }
}

fn device_port(base_port: u16, number: usize) -> anyhow::Result<u16> {
    if base_port == 0 {
        return Ok(0);
    }
    usize::from(base_port)
        .checked_add(number)
        .and_then(|port| u16::try_from(port).ok())
        .with_context(|| format!("device {number} would need a port past 65535 from {base_port}"))
}

/// Answers one device's requests until `stopped` changes or its sender goes away.
async fn serve_device(
    number: usize,
    socket: Arc<UdpSocket>,
    device: Arc<Device>,
    community: Arc<[u8]>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            ready = socket.readable() => {
                if let Err(error) = ready {
                    tracing::warn!(device = number, %error, "device socket failed");
                    return;
                }
            }
        }
        // Drain what is queued; `WouldBlock` sends the loop back to waiting.
        loop {
            let received = RECEIVE_BUFFER.with(|buffer| {
                let mut buffer = buffer.borrow_mut();
                let (length, peer) = socket.try_recv_from(&mut buffer)?;
                Ok::<_, io::Error>((peer, answer(number, &device, &community, &buffer[..length])))
            });
            let (peer, answer) = match received {
                Ok(received) => received,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => {
                    tracing::debug!(device = number, %error, "receive failed");
                    break;
                }
            };
            let Some(Answer { bytes, delay }) = answer else {
                continue;
            };
            if delay.is_zero() {
                send(number, &socket, &bytes, peer).await;
            } else {
                let (socket, mut stopped) = (socket.clone(), stopped.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        _ = stopped.changed() => {}
                        () = tokio::time::sleep(delay) => send(number, &socket, &bytes, peer).await,
                    }
                });
            }
        }
    }
}

/// A response and how long to hold it.
struct Answer {
    bytes: Vec<u8>,
    delay: std::time::Duration,
}

fn answer(number: usize, device: &Device, community: &[u8], datagram: &[u8]) -> Option<Answer> {
    let state = device.lock();
    if state.silent {
        return None;
    }
    match agent::respond(&state, community, datagram, Instant::now()) {
        Ok(bytes) => Some(Answer {
            bytes,
            delay: state.delay,
        }),
        Err(reason) => {
            tracing::debug!(device = number, ?reason, "request dropped");
            None
        }
    }
}

async fn send(number: usize, socket: &UdpSocket, bytes: &[u8], peer: SocketAddr) {
    if let Err(error) = socket.send_to(bytes, peer).await {
        tracing::debug!(device = number, %peer, %error, "answer not sent");
    }
}
