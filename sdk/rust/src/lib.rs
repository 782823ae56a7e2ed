//! The client progenitor generated from the contract.
#![allow(clippy::all, dead_code, unused_imports, mismatched_lifetime_syntaxes)]
include!(concat!(env!("OUT_DIR"), "/bookings_client.rs"));
