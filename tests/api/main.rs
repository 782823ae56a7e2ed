//! Black-box tests over HTTP against the real application (one binary, so one link step).

mod helpers;
mod notify_ics;
#[path = "../support/smtp_sink.rs"]
mod smtp_sink;
#[path = "../support/standard_webhooks.rs"]
mod standard_webhooks;
#[path = "../support/webhook_sink.rs"]
mod webhook_sink;

mod approval;
mod auth;
mod booking_links;
mod calendars;
mod edge;
mod erasure;
mod faults;
mod guests;
mod idempotency;
mod input;
mod invitations;
mod leko;
mod link_limits;
mod link_rules;
mod lists;
mod metrics;
mod notifications;
mod notify_store;
mod pages;
mod peer_calcom;
mod seats;
mod spine;
mod stored;
mod team_links;
mod validators;
