//! The availability engine's benchmark cases, shared by `benches/availability.rs` (criterion)
//! and `examples/engine_count.rs` (fixed iteration counts, for callgrind). `#[path]`-included;
//! not a bench of its own.
//!
//! Rules: 30-minute slots, 10-minute buffer, Europe/Berlin, Mon-Fri
//! 09:00-17:00 plus a split Saturday (10:00-12:00, 14:00-16:00). Busy blocks
//! are 15-120 minutes long at pseudo-random 5-minute positions across the
//! range, passed unsorted (so the sort is measured too).
//!
//! The "every rule" cases add all scheduling rules of issue #12 on top: 4 h
//! notice, 300 days ahead, a 15-minute grid, buffers 5 min before and 20 min
//! after, 60 date overrides (closed days, changed days, overnight
//! Saturday-Sunday ranges) and a cap of 6 a day with every fifth date full.
//!
//! The "team of 5" cases are a team link (issue #25) over five calendars with the first case's
//! rules, each calendar with 500 busy blocks of its own (as dense as the one-calendar case):
//! one `team_slots` call, `collective` or `round_robin`.

use bookings::domain::availability::{
    slots, team_slots, DayCounts, Interval, LinkRules, MemberView, RawDateOverride, RawSchedulingRules, Scheduling,
    SchedulingRules, SlotAlignment, Tally, WindowDays, WorkingHours,
};
use chrono::{DateTime, Duration, Utc};

/// One calendar's inputs: its rules, busy time and reservations per date.
pub struct Calendar {
    pub rules: LinkRules,
    pub busy: Vec<Interval>,
    pub booked: DayCounts,
}

impl Calendar {
    fn view(&self) -> MemberView<'_> {
        MemberView { rules: &self.rules, busy: &self.busy, booked: &self.booked }
    }
}

/// What a case calls.
#[derive(Clone, Copy)]
pub enum Call {
    /// `slots` on the one calendar.
    One,
    /// `team_slots` on a team link whose members are the calendars.
    Team(Scheduling),
}

/// One case: everything the engine is called with.
pub struct Case {
    pub name: &'static str,
    pub call: Call,
    pub calendars: Vec<Calendar>,
    pub range: Interval,
    pub now: DateTime<Utc>,
}

impl Case {
    /// One call of the engine; how many slots it offers.
    pub fn run(&self) -> usize {
        match self.call {
            Call::One => {
                let c = &self.calendars[0];
                slots(&c.rules, self.range, &c.busy, &c.booked, self.now).len()
            }
            Call::Team(kind) => {
                let views: Vec<MemberView<'_>> = self.calendars.iter().map(Calendar::view).collect();
                team_slots(kind, &views, self.range, self.now).len()
            }
        }
    }
}

fn rules() -> LinkRules {
    let day = vec![("09:00", "17:00")];
    let hours = WorkingHours::parse([
        ("mon", day.clone()),
        ("tue", day.clone()),
        ("wed", day.clone()),
        ("thu", day.clone()),
        ("fri", day),
        ("sat", vec![("10:00", "12:00"), ("14:00", "16:00")]),
    ])
    .expect("valid working hours");
    LinkRules {
        duration: Duration::minutes(30),
        buffer: Duration::minutes(10),
        tz: chrono_tz::Europe::Berlin,
        hours,
        schedule: SchedulingRules::default(),
    }
}

/// Deterministic xorshift64* so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> i64 {
        i64::try_from(self.next() % n).expect("small")
    }
}

fn busy_blocks(range: Interval, count: usize, seed: u64) -> Vec<Interval> {
    let mut rng = Rng(seed);
    let fives = u64::try_from((range.end - range.start).num_minutes() / 5).expect("positive");
    (0..count)
        .map(|_| {
            let start = range.start + Duration::minutes(5 * rng.below(fives));
            let end = start + Duration::minutes(15 + 5 * rng.below(22));
            Interval { start, end }
        })
        .collect()
}

fn every_rule(start: DateTime<Utc>, days: i64) -> (LinkRules, DayCounts) {
    let mut rules = rules();
    let first = start.date_naive();
    let text = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    let overrides = (0..60)
        .map(|i| {
            let date = first + Duration::days(i * 6 + 1);
            let windows = match i % 3 {
                0 => vec![],
                1 => vec![pair("07:00", "11:00"), pair("12:00", "15:00")],
                _ => vec![pair("20:00", "24:00")],
            };
            RawDateOverride { date: text(date), windows }
        })
        .chain((0..60).filter(|i| i % 3 == 2).map(|i| RawDateOverride {
            date: text(first + Duration::days(i * 6 + 2)),
            windows: vec![pair("00:00", "02:00")],
        }))
        .collect::<Vec<_>>();
    rules.schedule = SchedulingRules::parse(&RawSchedulingRules {
        min_notice_minutes: Some(240),
        max_days_ahead: Some(300),
        slot_interval_minutes: Some(15),
        buffer_before_minutes: Some(5),
        buffer_after_minutes: Some(20),
        date_overrides: Some(overrides),
        max_bookings_per_day: Some(6),
        min_cancel_notice_minutes: None,
        // Issue #25's: generous enough that slots are still offered, so each is judged.
        max_bookings_per_week: Some(30),
        max_bookings_per_month: Some(120),
        max_bookings_per_year: Some(1500),
        max_minutes_per_day: Some(600),
        max_minutes_per_week: Some(3000),
        week_start: Some(chrono::Weekday::Sun),
        window_days_kind: Some(WindowDays::Business),
        bookable_from: Some(first),
        bookable_until: first.checked_add_days(chrono::Days::new(400)),
        slot_alignment: Some(SlotAlignment::AfterBusy),
        // Seats are judged around `slots` (`seated_slots`: one `check_slot` per session).
        seats_per_slot: None,
        // Approval decides what holds time, in the store; the engine sees busy time alone.
        requires_confirmation: None,
        pending_blocks_slot: None,
        pending_expires_minutes: None,
    })
    .expect("valid rules");
    let booked = (0..days)
        .map(|i| {
            let count = if i % 5 == 0 { 6 } else { 2 };
            (first + Duration::days(i), Tally { count, minutes: count * 30 })
        })
        .collect();
    (rules, booked)
}

const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

fn case(name: &'static str, from: &str, days: i64, blocks: usize, all_rules: bool) -> Case {
    let start: DateTime<Utc> = from.parse().expect("valid instant");
    let (rules, booked) = if all_rules { every_rule(start, days) } else { (rules(), DayCounts::new()) };
    let range = Interval { start, end: start + Duration::days(days) };
    let busy = busy_blocks(range, blocks, SEED ^ blocks as u64);
    Case { name, call: Call::One, calendars: vec![Calendar { rules, busy, booked }], range, now: start }
}

/// A team of `members` calendars with the plain rules, `blocks` busy blocks each (the first
/// member's are the one-calendar case's).
fn team(name: &'static str, kind: Scheduling, from: &str, days: i64, blocks: usize, members: u64) -> Case {
    let start: DateTime<Utc> = from.parse().expect("valid instant");
    let range = Interval { start, end: start + Duration::days(days) };
    let calendars = (0..members)
        .map(|m| Calendar {
            rules: rules(),
            busy: busy_blocks(range, blocks, SEED ^ blocks as u64 ^ (m << 32)),
            booked: DayCounts::new(),
        })
        .collect();
    Case { name, call: Call::Team(kind), calendars, range, now: start }
}

/// The cases, in the order criterion runs them.
pub fn cases() -> Vec<Case> {
    vec![
        // Includes the Berlin spring-forward on 2026-03-29.
        case("31 days, 500 busy blocks", "2026-03-01T08:17:00Z", 31, 500, false),
        case("366 days, 10,000 busy blocks", "2026-01-01T00:00:00Z", 366, 10_000, false),
        case("31 days, 500 busy blocks, every rule", "2026-03-01T08:17:00Z", 31, 500, true),
        case("366 days, 10,000 busy blocks, every rule", "2026-01-01T00:00:00Z", 366, 10_000, true),
        team(
            "31 days, 500 busy blocks, team of 5 (collective)",
            Scheduling::Collective,
            "2026-03-01T08:17:00Z",
            31,
            500,
            5,
        ),
        team(
            "31 days, 500 busy blocks, team of 5 (round robin)",
            Scheduling::RoundRobin,
            "2026-03-01T08:17:00Z",
            31,
            500,
            5,
        ),
    ]
}
