//! Black-box tests over HTTP against the real application (one binary, so one link step).

mod helpers;
#[path = "../support/smtp_sink.rs"]
mod smtp_sink;
#[path = "../support/webhook_sink.rs"]
mod webhook_sink;
mod notify_ics;

mod auth;
mod booking_links;
mod calendars;
mod edge;
mod input;
mod faults;
mod leko;
mod notifications;
mod spine;
mod erasure;
mod lists;
