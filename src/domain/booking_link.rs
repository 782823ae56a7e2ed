//! A booking link's settings, parsed once: duration, buffer, IANA time zone, working hours.

use super::availability::{format_hhmm, LinkRules, SchedulingRules, WorkingHours};
use chrono::{Duration, Weekday};
use chrono_tz::Tz;

pub const DAY_KEYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

pub const MIN_DURATION_MINUTES: i64 = 5;
pub const MAX_DURATION_MINUTES: i64 = 24 * 60;
pub const MAX_BUFFER_MINUTES: i64 = 24 * 60;
/// The longest range availability is computed for.
pub const MAX_AVAILABILITY_DAYS: i64 = 62;

#[derive(Debug, Clone)]
pub struct LinkSettings {
    pub rules: LinkRules,
    pub duration_minutes: i64,
    pub buffer_minutes: i64,
    pub timezone: String,
    pub active: bool,
}

/// An IANA zone name such as `America/Asuncion` (chrono-tz's database).
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| format!("timezone {name:?} is not an IANA time zone name"))
}

impl LinkSettings {
    pub fn parse(
        duration_minutes: i64,
        buffer_minutes: i64,
        timezone: &str,
        hours: WorkingHours,
        active: bool,
    ) -> Result<Self, String> {
        if !(MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&duration_minutes) {
            return Err(format!(
                "duration_minutes must be between {MIN_DURATION_MINUTES} and {MAX_DURATION_MINUTES}, got {duration_minutes}"
            ));
        }
        if !(0..=MAX_BUFFER_MINUTES).contains(&buffer_minutes) {
            return Err(format!("buffer_minutes must be between 0 and {MAX_BUFFER_MINUTES}, got {buffer_minutes}"));
        }
        let tz = parse_timezone(timezone)?;
        Ok(Self {
            rules: LinkRules {
                duration: Duration::minutes(duration_minutes),
                buffer: Duration::minutes(buffer_minutes),
                tz,
                hours,
                schedule: SchedulingRules::default(),
            },
            duration_minutes,
            buffer_minutes,
            timezone: timezone.to_string(),
            active,
        })
    }
}

/// Working hours as `{"mon": [{"start": "09:00", "end": "17:00"}], ...}`, every day present.
pub fn working_hours_to_json(hours: &WorkingHours) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (key, day) in DAY_KEYS {
        let windows: Vec<serde_json::Value> = hours
            .day(day)
            .iter()
            .map(|w| serde_json::json!({"start": format_hhmm(w.start), "end": format_hhmm(w.end)}))
            .collect();
        map.insert(key.to_string(), serde_json::Value::Array(windows));
    }
    serde_json::Value::Object(map)
}

/// The inverse of [`working_hours_to_json`]; also validates.
pub fn working_hours_from_json(value: &serde_json::Value) -> Result<WorkingHours, String> {
    let map = value.as_object().ok_or("working hours must be an object")?;
    let mut days = Vec::new();
    for (key, windows) in map {
        let windows = windows.as_array().ok_or_else(|| format!("{key} must be a list"))?;
        let mut pairs = Vec::new();
        for w in windows {
            let start = w["start"].as_str().ok_or_else(|| format!("{key}: window without start"))?;
            let end = w["end"].as_str().ok_or_else(|| format!("{key}: window without end"))?;
            pairs.push((start, end));
        }
        days.push((key.as_str(), pairs));
    }
    WorkingHours::parse(days).map_err(|e| e.to_string())
}
