//! netpulse-simulator (being written).
