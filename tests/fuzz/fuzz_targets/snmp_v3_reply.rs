//! An SNMPv3 datagram from an agent (USM parameters, authentication, decryption), through
//! the poller's decoding and conversion, for users with and without authentication and
//! privacy; and through the poller's own reading of a discovery Report (engine ID, boots,
//! time) and of the usmStats Report kinds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netpulse_shared::usm::{AuthProtocol, Authentication, PrivProtocol, Privacy, Secret, UsmUser};

fuzz_target!(|input: &[u8]| {
    if let Some((_, engine)) = netpulse_poller::usm_probe::engine_of(input) {
        assert!((5..=32).contains(&engine.id.len()));
        assert!(engine.boots >= 0 && engine.time >= 0);
    }
    let _ = netpulse_poller::usm_probe::classify(input);
    let auth_priv = UsmUser {
        user: "shaaes".into(),
        auth: Some(Authentication {
            protocol: AuthProtocol::Sha,
            password: Secret::new("authpass123"),
        }),
        privacy: Some(Privacy {
            protocol: PrivProtocol::Aes,
            password: Secret::new("privpass123"),
        }),
    };
    let auth_only = UsmUser {
        privacy: None,
        ..auth_priv.clone()
    };
    let neither = UsmUser {
        auth: None,
        privacy: None,
        ..auth_priv.clone()
    };
    for user in [&auth_priv, &auth_only, &neither] {
        // snmp2 decrypts a scoped PDU where it lies: the poller hands it the session's own
        // receive buffer, so each call gets a copy here too.
        let _ = netpulse_poller::snmp::decode_reply(&input.to_vec(), Some(user));
    }
});
