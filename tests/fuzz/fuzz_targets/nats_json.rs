//! A message read from NATS: the first byte picks which one, the rest is its JSON. Each is
//! decoded as the service reading it does, and then used as it uses it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netpulse_shared::{device, discovery, health, history, logs, messages};

fuzz_target!(|data: &[u8]| {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    match which % 16 {
        0 => drop(serde_json::from_slice::<messages::PollJob>(json)),
        1 => drop(serde_json::from_slice::<discovery::DiscoveryJob>(json)),
        2 => {
            if let Ok(sample) = serde_json::from_slice::<messages::Sample>(json) {
                // The recorder and gateway read counters and rates from it.
                let _ = sample.interface_counters();
                // The same counters again a second later (a cached reading), then a minute
                // later (held no longer): every path of the rate tracker.
                let mut rates = netpulse_gateway::live::rates::DeviceRates::default();
                let mut again = sample.clone();
                let _ = rates.step(&sample);
                for later in [1_000, 60_000] {
                    again.time_ms = sample.time_ms.saturating_add(later);
                    let _ = rates.step(&again);
                }
            }
        }
        3 => drop(serde_json::from_slice::<messages::PollFailure>(json)),
        4 => drop(serde_json::from_slice::<messages::ReachabilityChanged>(
            json,
        )),
        5 => drop(serde_json::from_slice::<messages::DeviceStatus>(json)),
        6 => drop(serde_json::from_slice::<discovery::DeviceInterfaces>(json)),
        7 => drop(device::Device::from_json_body(json)),
        8 => drop(serde_json::from_slice::<device::Device>(json)),
        9 => drop(serde_json::from_slice::<messages::Watch>(json)),
        10 => drop(serde_json::from_slice::<health::Health>(json)),
        11 => drop(serde_json::from_slice::<logs::LogEntry>(json)),
        12 => drop(serde_json::from_slice::<logs::LogQuery>(json)),
        13 => drop(serde_json::from_slice::<history::HistoryQuery>(json)),
        14 => drop(serde_json::from_slice::<messages::PollTestOutcome>(json)),
        _ => drop(serde_json::from_slice::<discovery::DiscoveryOutcome>(json)),
    }
});
