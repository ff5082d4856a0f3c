//! The live stream: NATS samples, failures and registry changes, turned into `/ws` messages
//! and fanned out to every connected browser.
//!
//! One task reads NATS and computes bit rates (it alone holds the previous sample of each
//! device, so no lock is needed); it encodes each message once and hands it, through the
//! [`hub::Hub`], to the bounded queue of each client it concerns, never waiting for one. A
//! client too slow to keep up misses messages (and is told how many) instead of slowing
//! anyone else down. Clients that show many devices take samples in [`frames`]: once per
//! tick, the latest of each device. When the gateway stops, [`viewers::ClientShutdown`]
//! closes every WebSocket, so browsers see it and reconnect.

pub mod frames;
pub mod hub;
pub mod latest;
pub mod protocol;
pub mod rates;
pub mod reader;
pub mod socket;
pub mod upgrade;
pub mod viewers;

#[cfg(test)]
mod tests;
