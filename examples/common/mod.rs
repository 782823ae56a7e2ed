//! Shared by the benchmark helpers `bench_http` and `notify_bench` (`#[path]`-included; not an
//! example of its own).

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::path::Path;
use uuid::Uuid;

/// RFC 3339 in UTC, whole seconds.
pub fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The `<uuid> <jwt>` lines of a tokens file.
pub fn read_tokens(path: &Path) -> Result<Vec<(Uuid, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (id, token) = l.trim().split_once(' ').context("a token line is `<uuid> <jwt>`")?;
            Ok((id.parse()?, token.trim().to_string()))
        })
        .collect()
}

/// A `createCoachEvent` body: one hour from `start` (UTC), 10,000 places, cash.
pub fn coach_event_body(start: DateTime<Utc>) -> Value {
    let end = start + Duration::hours(1);
    json!({
        "sportId": Uuid::new_v4(),
        "startAt": rfc(start),
        "endAt": rfc(end),
        "timeslot": {
            "startTime": start.format("%H:%M:%S+00:00").to_string(),
            "endTime": end.format("%H:%M:%S+00:00").to_string(),
            "numberOfParticipants": 10000,
            "slotType": "Offline",
            "ageFrom": 18,
            "ageTo": 99,
            "duration": 60,
            "price": 1500,
            "priceCurrency": "RUB",
            "paymentMethod": "Cash",
            "level": "Any",
            "eligibility": "All",
            "public": true
        }
    })
}
