//! Formatting for the pages: query parameters, URLs, instants in the visitor's zone, and the
//! month grid with the chosen day's free times (grouped into days in the visitor's zone).

use super::i18n::Lang;
use crate::domain::availability::SeatedSlot;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a page's query may say (every parameter optional; one that does not parse is ignored).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct PageQuery {
    pub tz: Option<String>,
    pub lang: Option<String>,
    /// `YYYY-MM`
    pub month: Option<String>,
    /// `YYYY-MM-DD`
    pub day: Option<String>,
    /// A slot's start, `YYYYMMDDTHHMMSSZ`.
    pub slot: Option<String>,
    pub embed: Option<String>,
    /// Manage page: `cancel` or `reschedule`.
    pub action: Option<String>,
    /// Manage page: `canceled` or `rescheduled` (what the last POST did).
    pub done: Option<String>,
}

/// What every page's form posts back besides its own fields: the zone shown, the language and
/// whether the page is embedded.
#[derive(Debug, Default)]
pub(crate) struct Carried {
    pub tz: Option<String>,
    pub lang: Option<String>,
    pub embed: bool,
}

impl Carried {
    /// Keeps `name=value` if it is one of these fields; whether it was.
    pub fn take(&mut self, name: &str, value: &str) -> bool {
        match name {
            "tz" => self.tz = Some(value.to_string()),
            "lang" => self.lang = Some(value.to_string()),
            "embed" => self.embed = value == "1",
            _ => return false,
        }
        true
    }

    /// The query a page shown again after the POST keeps.
    pub fn query(&self) -> PageQuery {
        PageQuery {
            tz: self.tz.clone(),
            lang: self.lang.clone(),
            embed: self.embed.then(|| "1".to_string()),
            ..PageQuery::default()
        }
    }
}

/// `path?name=value&...`, each value percent-encoded.
pub(crate) fn url(path: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return path.to_string();
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    format!("{path}?{}", query.finish())
}

const SLOT_FORMAT: &str = "%Y%m%dT%H%M%SZ";

pub(crate) fn slot_param(t: DateTime<Utc>) -> String {
    t.format(SLOT_FORMAT).to_string()
}

pub(crate) fn parse_slot(raw: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(raw, SLOT_FORMAT).ok().map(|t| t.and_utc())
}

pub(crate) fn parse_month(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d").ok()
}

pub(crate) fn parse_day(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

pub(crate) fn parse_zone(raw: Option<&str>) -> Option<Tz> {
    raw.and_then(|z| z.parse::<Tz>().ok())
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

pub(crate) fn next_month(d: NaiveDate) -> NaiveDate {
    first_of_month(d).checked_add_months(chrono::Months::new(1)).unwrap_or(d)
}

fn prev_month(d: NaiveDate) -> NaiveDate {
    first_of_month(d).checked_sub_months(chrono::Months::new(1)).unwrap_or(d)
}

/// The first instant of local date `d` in `tz` (a date that starts in a gap starts when the gap
/// ends).
pub(crate) fn start_of_day(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=24 * 60)
        .step_by(15)
        .find_map(|m| tz.from_local_datetime(&(midnight + Duration::minutes(m))).earliest())
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// `t` in `tz`, as the language writes a date and a time span: "Tuesday 4 March 2027,
/// 10:30 am – 11:00 am (NZDT)".
pub(crate) fn when(lang: Lang, tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let (s, e) = (start.with_timezone(&tz), end.with_timezone(&tz));
    let end_date =
        if e.date_naive() != s.date_naive() { format!("{}, ", lang.date_short(e.date_naive())) } else { String::new() };
    format!(
        "{}, {} – {}{} ({}, {})",
        lang.date_long(s.date_naive()),
        lang.time(s.time()),
        end_date,
        lang.time(e.time()),
        tz.name(),
        s.format("%Z")
    )
}

/// The zones the select offers: every canonical IANA name with a region (and UTC).
pub(crate) fn zone_options() -> &'static [&'static str] {
    static ZONES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let mut zones: Vec<&'static str> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|z| z.name())
            .filter(|n| {
                n.contains('/')
                    && !n.starts_with("Etc/")
                    && !n.starts_with("SystemV/")
                    && !n.starts_with("US/")
                    && !n.starts_with("Canada/")
                    && !n.starts_with("Brazil/")
                    && !n.starts_with("Mexico/")
                    && !n.starts_with("Chile/")
            })
            .collect();
        zones.push("UTC");
        zones.sort_unstable();
        zones
    });
    &ZONES
}

/// The booking window as the pages walk it: months from the visitor's current one to the one
/// the window ends in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub now: DateTime<Utc>,
}

/// How far the pages let a visitor page ahead when the link sets no `max_days_ahead`.
const OPEN_WINDOW_DAYS: i64 = 366;

impl Window {
    pub fn new(tz: Tz, now: DateTime<Utc>, max_days_ahead: Option<u32>) -> Self {
        let days = max_days_ahead.map_or(OPEN_WINDOW_DAYS, |d| i64::from(d) + 1);
        let first = first_of_month(now.with_timezone(&tz).date_naive());
        let last = first_of_month((now + Duration::days(days)).with_timezone(&tz).date_naive());
        Self { first, last, now }
    }

    /// `month` (its first day) within the window.
    pub fn clamp(&self, month: Option<NaiveDate>) -> NaiveDate {
        month.map(first_of_month).unwrap_or(self.first).clamp(self.first, self.last)
    }

    /// The instants of `month` in `tz` still to come: `[max(start, now), end)`.
    pub fn range(&self, tz: Tz, month: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = start_of_day(tz, month).max(self.now);
        let end = start_of_day(tz, next_month(month)).max(start + Duration::minutes(1));
        (start, end)
    }

    /// The months after `month` to the window's end.
    pub fn months_after(&self, month: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        std::iter::successors(Some(next_month(month)), |m| Some(next_month(*m))).take_while(|m| *m <= self.last)
    }
}

#[derive(Serialize)]
struct Weekday {
    short: &'static str,
    long: &'static str,
}

#[derive(Serialize, Default)]
struct Cell {
    day: u32,
    date: String,
    name: String,
    url: Option<String>,
    selected: bool,
}

#[derive(Serialize)]
struct SlotLink {
    url: String,
    text: String,
    name: String,
    /// "3 seats left", on a link with several seats per slot.
    seats: Option<String>,
}

/// The month grid and the day's free times, as `picker.html` reads them.
#[derive(Serialize)]
pub(crate) struct Picker {
    month_title: String,
    prev_url: Option<String>,
    next_url: Option<String>,
    weekdays: Vec<Weekday>,
    weeks: Vec<Vec<Cell>>,
    day_heading: Option<String>,
    slots: Vec<SlotLink>,
    pub empty_note: Option<String>,
    jump_url: Option<String>,
    jump_label: Option<String>,
}

/// What a picker is drawn from.
pub(crate) struct PickerInput<'a> {
    pub lang: Lang,
    pub tz: Tz,
    pub month: NaiveDate,
    pub window: Window,
    /// The month's free slots, with their seats left.
    pub slots: &'a [SeatedSlot],
    /// Whether the link takes several visitors per slot (then each slot says its seats left).
    pub seated: bool,
    pub day: Option<NaiveDate>,
    /// The first later month with free time, when this one has none.
    pub jump: Option<NaiveDate>,
    /// The page's path and the parameters every link of the picker keeps (zone, language...).
    pub path: &'a str,
    pub keep: &'a [(&'a str, String)],
}

impl PickerInput<'_> {
    fn link(&self, more: &[(&str, String)]) -> String {
        let params: Vec<(&str, &str)> = self.keep.iter().chain(more.iter()).map(|(k, v)| (*k, v.as_str())).collect();
        url(self.path, &params)
    }

    fn month_link(&self, month: NaiveDate) -> String {
        self.link(&[("month", month.format("%Y-%m").to_string())])
    }
}

pub(crate) fn picker(input: &PickerInput<'_>) -> Picker {
    let lang = input.lang;
    let mut by_day: BTreeMap<NaiveDate, Vec<&SeatedSlot>> = BTreeMap::new();
    for slot in input.slots {
        by_day.entry(slot.slot.start.with_timezone(&input.tz).date_naive()).or_default().push(slot);
    }
    let day = input.day.filter(|d| by_day.contains_key(d)).or_else(|| by_day.keys().next().copied());
    let month = input.month;
    let days_in_month = (next_month(month) - month).num_days();
    let lead = month.weekday().num_days_from_monday();
    let mut cells: Vec<Cell> = (0..lead).map(|_| Cell::default()).collect();
    for offset in 0..days_in_month {
        let date = month + Duration::days(offset);
        let count = by_day.get(&date).map_or(0, Vec::len);
        let long = lang.date_long(date);
        let n = count.to_string();
        let name = match count {
            0 => lang.fill("day_none", &[("date", &long)]),
            1 => lang.fill("day_one", &[("date", &long)]),
            _ => lang.fill("day_many", &[("date", &long), ("n", &n)]),
        };
        let url = (count > 0).then(|| {
            input.link(&[("month", month.format("%Y-%m").to_string()), ("day", date.format("%Y-%m-%d").to_string())])
        });
        cells.push(Cell {
            day: date.day(),
            date: date.format("%Y-%m-%d").to_string(),
            name,
            url,
            selected: Some(date) == day,
        });
    }
    while !cells.len().is_multiple_of(7) {
        cells.push(Cell::default());
    }
    let mut weeks = Vec::new();
    let mut cells = cells.into_iter();
    loop {
        let week: Vec<Cell> = cells.by_ref().take(7).collect();
        if week.is_empty() {
            break;
        }
        weeks.push(week);
    }
    let weekdays = [
        chrono::Weekday::Mon,
        chrono::Weekday::Tue,
        chrono::Weekday::Wed,
        chrono::Weekday::Thu,
        chrono::Weekday::Fri,
        chrono::Weekday::Sat,
        chrono::Weekday::Sun,
    ]
    .into_iter()
    .map(|w| Weekday { short: lang.weekday_short(w), long: lang.weekday_name(w) })
    .collect();
    let zone = input.tz.name();
    let slots = day
        .and_then(|d| by_day.get(&d))
        .map(|list| {
            list.iter()
                .map(|seated| {
                    let s = &seated.slot;
                    let (start, end) = (s.start.with_timezone(&input.tz), s.end.with_timezone(&input.tz));
                    let (from, to) = (lang.time(start.time()), lang.time(end.time()));
                    let date = lang.date_short(start.date_naive());
                    let seats = input.seated.then(|| match seated.seats_left {
                        1 => lang.text("seats_one").to_string(),
                        n => lang.fill("seats_many", &[("n", &n.to_string())]),
                    });
                    // The zone's abbreviation too: where clocks go back, one hour is shown twice.
                    let mut name = lang.fill(
                        "slot_name",
                        &[
                            ("start", &from),
                            ("end", &to),
                            ("date", &date),
                            ("zone", &format!("{zone} ({})", start.format("%Z"))),
                        ],
                    );
                    if let Some(seats) = &seats {
                        name = format!("{name}, {seats}");
                    }
                    SlotLink {
                        url: input.link(&[("slot", slot_param(s.start))]),
                        text: format!("{from} – {to} {}", start.format("%Z")),
                        name,
                        seats,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let month_title = lang.month_title(month);
    let empty_note = by_day.is_empty().then(|| lang.fill("month_empty", &[("month", &month_title)]));
    Picker {
        prev_url: (month > input.window.first).then(|| input.month_link(prev_month(month))),
        next_url: (month < input.window.last).then(|| input.month_link(next_month(month))),
        month_title,
        weekdays,
        weeks,
        day_heading: day.map(|d| lang.fill("slots_heading", &[("date", &lang.date_long(d))])),
        slots,
        empty_note,
        jump_url: input.jump.map(|m| input.month_link(m)),
        jump_label: input.jump.map(|m| lang.fill("jump", &[("month", &lang.month_title(m))])),
    }
}

/// The zone form: the select, and the parameters to keep.
pub(crate) fn zone_form(path: &str, current: Tz, auto: bool, hidden: &[(&str, String)]) -> serde_json::Value {
    let hidden: Vec<serde_json::Value> =
        hidden.iter().map(|(name, value)| serde_json::json!({"name": name, "value": value})).collect();
    serde_json::json!({
        "action": path, "current": current.name(), "auto": auto, "options": zone_options(), "hidden": hidden,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::availability::Interval;

    #[test]
    fn a_day_that_starts_in_a_gap_starts_when_it_ends() {
        // America/Santiago skipped 2022-09-11 00:00..01:00.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2022, 9, 11).unwrap();
        assert_eq!(start_of_day(tz, d), Utc.with_ymd_and_hms(2022, 9, 11, 4, 0, 0).unwrap());
    }

    #[test]
    fn slots_round_trip_through_their_parameter() {
        let t = Utc.with_ymd_and_hms(2027, 4, 4, 13, 30, 0).unwrap();
        assert_eq!(parse_slot(&slot_param(t)), Some(t));
        assert_eq!(parse_slot("2027-04-04"), None);
    }

    #[test]
    fn the_grid_groups_slots_by_the_visitors_date() {
        let tz: Tz = "Pacific/Auckland".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
        let window = Window::new(tz, now, None);
        // 22:00 UTC on 3 April is 10:00 NZST on 4 April in Auckland (NZDT ended at 03:00 that day).
        let slot = Interval {
            start: Utc.with_ymd_and_hms(2027, 4, 3, 22, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2027, 4, 3, 22, 30, 0).unwrap(),
        };
        let month = NaiveDate::from_ymd_opt(2027, 4, 1).unwrap();
        let keep = [("tz", "Pacific/Auckland".to_string())];
        let p = picker(&PickerInput {
            lang: Lang::En,
            tz,
            month,
            window,
            slots: &[SeatedSlot { slot, seats_left: 1 }],
            seated: false,
            day: None,
            jump: None,
            path: "/booking/x",
            keep: &keep,
        });
        let selected: Vec<&Cell> = p.weeks.iter().flatten().filter(|c| c.selected).collect();
        assert_eq!(selected.len(), 1);
        assert_eq!(selected[0].name, "Sunday 4 April 2027, 1 time free");
        assert_eq!(p.slots[0].name, "10:00\u{a0}am to 10:30\u{a0}am, Sunday 4 April, Pacific/Auckland (NZST)");
        assert!(p.slots[0].url.contains("slot=20270403T220000Z"));
    }
}
