//! Black-box tests over HTTP against the real application (one binary, so one link step).

mod helpers;

mod auth;
mod booking_links;
mod calendars;
mod leko;
mod spine;
