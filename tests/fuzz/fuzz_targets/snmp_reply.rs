//! An SNMPv1/v2c datagram from an agent, through the poller's decoding and conversion.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Errors are expected; a panic or a hang is the bug.
    let _ = netpulse_poller::snmp::decode_reply(data, None);
});
