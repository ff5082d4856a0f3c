//! A syslog message (UDP datagram or TCP frame), through the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = netpulse_logs::syslog::parse_syslog(data, 1_764_323_456_789);
});
