//! Coalesced samples: for clients that show many devices (the overview, the map, top links)
//! and need each device's latest state, not every message. Samples are gathered between
//! ticks, each device's latest replacing the one before; every tick the gathered samples
//! become one frame, encoded once for every client that follows them all. A client that was
//! busy for a few ticks gets the ticks it missed merged into one frame, still the latest of
//! each device; the last ticks are held for that, and a client further behind is told
//! `lagged`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use netpulse_shared::device::DeviceId;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::live::protocol::{Outgoing, Subscription};

/// The samples of one tick: each device's latest normal and latest live-view sample.
#[derive(Debug)]
pub struct Tick {
    /// Ticks are numbered from 1, one per `gateway.ws_frame_ms`.
    pub number: u64,
    /// The samples, in the order their devices first sent one during the tick.
    samples: Vec<Arc<Outgoing>>,
    /// The frame of all of them.
    whole: Utf8Bytes,
    /// The frame of the normal samples alone (what a page showing no live view follows),
    /// when the tick has live-view samples too.
    normal: Option<Utf8Bytes>,
}

/// What a client should be sent for the ticks since the one it last had.
#[derive(Debug)]
pub enum Since {
    /// The ticks held after it, oldest first (empty when none had samples).
    Ticks(Vec<Arc<Tick>>),
    /// It is further behind than the ticks held.
    Lagged,
}

#[derive(Debug, Default)]
struct Gathering {
    /// Where each (device, live) sample is in `samples`.
    slots: HashMap<(DeviceId, bool), usize>,
    samples: Vec<Arc<Outgoing>>,
}

#[derive(Debug)]
struct State {
    gathering: Gathering,
    /// The last ticks that had samples, oldest first.
    held: VecDeque<Arc<Tick>>,
    /// The highest tick let go of: a client that last had an older one has missed samples.
    let_go: u64,
    /// The number of the last tick.
    now: u64,
}

/// The frames of the coalesced samples; the ticker is [`Frames::run`].
#[derive(Debug, Clone)]
pub struct Frames {
    state: Arc<std::sync::Mutex<State>>,
    ticks: watch::Sender<u64>,
    every: std::time::Duration,
    keep: u64,
}

impl Frames {
    /// Frames every `every`, holding the last `keep` ticks for clients that were busy.
    pub fn new(every: std::time::Duration, keep: u64) -> Self {
        Self {
            state: Arc::new(std::sync::Mutex::new(State {
                gathering: Gathering::default(),
                held: VecDeque::new(),
                let_go: 0,
                now: 0,
            })),
            ticks: watch::Sender::new(0),
            every,
            keep: keep.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Gathers a sample for the next frame, replacing the device's previous one of its kind.
    pub fn record(&self, sample: &Arc<Outgoing>) {
        let Some(device) = &sample.device else {
            return;
        };
        let mut state = self.lock();
        let gathering = &mut state.gathering;
        match gathering.slots.get(&(device.clone(), sample.live)) {
            Some(&slot) => gathering.samples[slot] = sample.clone(),
            None => {
                let slot = gathering.samples.len();
                gathering.slots.insert((device.clone(), sample.live), slot);
                gathering.samples.push(sample.clone());
            }
        }
    }

    /// Follows the ticks: the receiver changes when a tick has samples. Also the tick a new
    /// client starts from (it is sent only what comes after).
    pub fn follow(&self) -> (watch::Receiver<u64>, u64) {
        let receiver = self.ticks.subscribe();
        let now = self.lock().now;
        (receiver, now)
    }

    /// Ends a tick: what was gathered becomes its frame.
    pub fn tick(&self) {
        let mut state = self.lock();
        state.now += 1;
        let number = state.now;
        let gathering = std::mem::take(&mut state.gathering);
        let keep = self.keep;
        while state
            .held
            .front()
            .is_some_and(|t| t.number + keep <= number)
        {
            if let Some(old) = state.held.pop_front() {
                state.let_go = old.number;
            }
        }
        if gathering.samples.is_empty() {
            return;
        }
        let whole = frame(number, gathering.samples.iter());
        let (lives, normals) =
            gathering.samples.iter().fold(
                (0, 0),
                |(l, n), s| {
                    if s.live {
                        (l + 1, n)
                    } else {
                        (l, n + 1)
                    }
                },
            );
        let normal = (lives > 0 && normals > 0)
            .then(|| frame(number, gathering.samples.iter().filter(|s| !s.live)));
        state.held.push_back(Arc::new(Tick {
            number,
            samples: gathering.samples,
            whole,
            normal,
        }));
        drop(state);
        self.ticks.send_replace(number);
    }

    /// Ends a tick every `every`, until the gateway stops.
    pub async fn run(self) {
        let mut every = tokio::time::interval(self.every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            self.tick();
        }
    }

    /// The ticks after `seen`, for a client that last had tick `seen`; and the latest tick.
    pub fn since(&self, seen: u64) -> (Since, u64) {
        let state = self.lock();
        if seen < state.let_go {
            return (Since::Lagged, state.now);
        }
        let ticks = state
            .held
            .iter()
            .filter(|t| t.number > seen)
            .cloned()
            .collect();
        (Since::Ticks(ticks), state.now)
    }
}

/// The frame text of `samples` as tick `number`.
fn frame<'a>(number: u64, samples: impl Iterator<Item = &'a Arc<Outgoing>>) -> Utf8Bytes {
    let mut text = format!(r#"{{"type":"frame","tick":{number},"samples":["#);
    for (n, sample) in samples.enumerate() {
        if n > 0 {
            text.push(',');
        }
        text.push_str(sample.text.as_str());
    }
    text.push_str("]}");
    Utf8Bytes::from(text)
}

/// The frame for a client of `subscription` covering `ticks` (oldest first): the latest
/// sample of each device it follows (the newest ticks' first), or `None` when there is none.
/// A client that follows all of a single tick, or all its normal samples and none of its live
/// ones, is handed a frame made once for every such client.
pub fn frame_for(subscription: &Subscription, ticks: &[Arc<Tick>]) -> Option<Utf8Bytes> {
    let newest = ticks.last()?;
    if let [only] = ticks {
        let (mut all, mut normal) = (true, true);
        for sample in &only.samples {
            let wanted = subscription.wants_in_frame(sample);
            all &= wanted;
            normal &= wanted != sample.live;
        }
        if all {
            return Some(only.whole.clone());
        }
        if let (true, Some(frame)) = (normal, &only.normal) {
            return Some(frame.clone());
        }
    }
    // Newest first: the first sample of each (device, live) is its latest.
    let mut taken: HashSet<(&DeviceId, bool)> = HashSet::new();
    let mut chosen: Vec<&Arc<Outgoing>> = Vec::new();
    for tick in ticks.iter().rev() {
        for sample in &tick.samples {
            let Some(device) = &sample.device else {
                continue;
            };
            if subscription.wants_in_frame(sample) && taken.insert((device, sample.live)) {
                chosen.push(sample);
            }
        }
    }
    if chosen.is_empty() {
        return None;
    }
    Some(frame(newest.number, chosen.into_iter()))
}
