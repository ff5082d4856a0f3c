//! The live stream: NATS samples, failures and registry changes, turned into `/ws` messages
//! and fanned out to every connected browser.
//!
//! One task reads NATS and computes bit rates (it alone holds the previous sample of each
//! device, so no lock is needed); it sends ready-made JSON text to a bounded broadcast
//! channel. Each WebSocket reads from that channel: a client too slow to keep up misses
//! messages (and is told how many) instead of slowing anyone else down. When the gateway
//! stops, [`ClientShutdown`] closes every WebSocket, so browsers see it and reconnect.

pub mod latest;
pub mod protocol;
pub mod rates;
pub mod reader;
pub mod socket;
pub mod viewers;

#[cfg(test)]
mod tests;
