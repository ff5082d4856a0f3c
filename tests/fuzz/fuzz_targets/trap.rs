//! A datagram on the trap port, through the logs receiver's decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = netpulse_logs::trap::decode(data);
});
