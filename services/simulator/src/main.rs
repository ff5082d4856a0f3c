//! netpulse-sim binary.
fn main() {}
