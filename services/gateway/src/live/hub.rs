//! Who gets which message: every connected client is filed under the devices it follows
//! (or among those that follow every device), with its own bounded queue. The reader hands
//! each message to the clients it concerns without waiting for any of them: a full queue
//! lets go of its oldest message to take the new one (the latest matters most on a live
//! stream) and counts it, and the client is told `lagged`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use netpulse_shared::device::DeviceId;
use tokio::sync::Notify;

use crate::live::frames::Frames;
use crate::live::protocol::{Outgoing, Subscription, CLIENT_QUEUE};

/// One client's queue: at most [`CLIENT_QUEUE`] messages, the oldest let go first.
#[derive(Debug, Default)]
struct Mailbox {
    queue: std::sync::Mutex<VecDeque<Arc<Outgoing>>>,
    ready: Notify,
    /// Messages let go of because the queue was full, not yet told.
    missed: AtomicU64,
}

impl Mailbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Outgoing>>> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn push(&self, message: Arc<Outgoing>) {
        let mut queue = self.lock();
        if queue.len() >= CLIENT_QUEUE {
            queue.pop_front();
            self.missed.fetch_add(1, Ordering::Relaxed);
        }
        queue.push_back(message);
        drop(queue);
        self.ready.notify_one();
    }

    /// The oldest message, once there is one.
    async fn pop(&self) -> Arc<Outgoing> {
        loop {
            {
                let mut queue = self.lock();
                if let Some(message) = queue.pop_front() {
                    // A burst's room is given back once it is sent.
                    if queue.is_empty() && queue.capacity() > 64 {
                        queue.shrink_to(16);
                    }
                    return message;
                }
            }
            self.ready.notified().await;
        }
    }
}

/// One client as the fan-out sees it: what it asked for, and its queue.
#[derive(Debug)]
struct Route {
    id: u64,
    subscription: Subscription,
    mailbox: Arc<Mailbox>,
}

impl Route {
    fn offer(&self, message: &Arc<Outgoing>) {
        if self.subscription.wants(message) {
            self.mailbox.push(message.clone());
        }
    }
}

/// The clients, filed for delivery.
#[derive(Debug, Default)]
struct Routes {
    /// Every client, by id.
    all: HashMap<u64, Arc<Route>>,
    /// Clients following every device.
    everywhere: Vec<Arc<Route>>,
    /// Clients following some devices, under each of them.
    by_device: HashMap<DeviceId, Vec<Arc<Route>>>,
}

impl Routes {
    fn file(&mut self, route: Arc<Route>) {
        match route.subscription.followed() {
            None => self.everywhere.push(route.clone()),
            Some(devices) => {
                for device in devices {
                    self.by_device
                        .entry(device)
                        .or_default()
                        .push(route.clone());
                }
            }
        }
        self.all.insert(route.id, route);
    }

    fn unfile(&mut self, id: u64) {
        let Some(route) = self.all.remove(&id) else {
            return;
        };
        match route.subscription.followed() {
            None => self.everywhere.retain(|r| r.id != id),
            Some(devices) => {
                for device in devices {
                    if let Some(routes) = self.by_device.get_mut(&device) {
                        routes.retain(|r| r.id != id);
                        if routes.is_empty() {
                            self.by_device.remove(&device);
                        }
                    }
                }
            }
        }
    }
}

/// The fan-out's side of the clients, and the frames of the coalesced samples.
#[derive(Debug, Clone)]
pub struct Hub {
    routes: Arc<RwLock<Routes>>,
    next_id: Arc<AtomicU64>,
    /// The coalesced samples, one frame per tick.
    pub frames: Frames,
}

/// A client's end: its queue, what it missed, and its place in the hub (left when dropped).
#[derive(Debug)]
pub struct Member {
    id: u64,
    hub: Hub,
    mailbox: Arc<Mailbox>,
}

impl Hub {
    /// A hub with no client yet, gathering samples into `frames`.
    pub fn new(frames: Frames) -> Self {
        Self {
            routes: Arc::default(),
            next_id: Arc::default(),
            frames,
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Routes> {
        self.routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new client, receiving what a client that never subscribes gets.
    pub fn join(&self) -> Member {
        let member = Member {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            hub: self.clone(),
            mailbox: Arc::default(),
        };
        member.subscribe(Subscription::default());
        member
    }

    /// How many clients are connected.
    pub fn clients(&self) -> usize {
        self.routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .all
            .len()
    }

    /// Hands `message` to every client it concerns, and samples to the frames.
    pub fn deliver(&self, message: Outgoing) {
        let message = Arc::new(message);
        if message.is_sample() {
            self.frames.record(&message);
        }
        let routes = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &message.device {
            Some(device) => {
                for route in &routes.everywhere {
                    route.offer(&message);
                }
                for route in routes.by_device.get(device).into_iter().flatten() {
                    route.offer(&message);
                }
            }
            // A message about no one device (an alert) is for every client.
            None => {
                for route in routes.all.values() {
                    route.offer(&message);
                }
            }
        }
    }
}

impl Member {
    /// Replaces what this client receives.
    pub fn subscribe(&self, subscription: Subscription) {
        let route = Arc::new(Route {
            id: self.id,
            subscription,
            mailbox: self.mailbox.clone(),
        });
        let mut routes = self.hub.write();
        routes.unfile(self.id);
        routes.file(route);
    }

    /// How many messages were let go of since the last call, the queue being full.
    pub fn take_missed(&self) -> u64 {
        self.mailbox.missed.swap(0, Ordering::Relaxed)
    }

    /// The next message for this client, in order, once there is one. Safe to drop while
    /// waiting: nothing is taken until it is returned.
    pub async fn next(&self) -> Arc<Outgoing> {
        self.mailbox.pop().await
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.hub.write().unfile(self.id);
    }
}
