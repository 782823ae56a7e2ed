//! Availability engine benchmarks.
//!
//! Rules: 30-minute slots, 10-minute buffer, Europe/Berlin, Mon-Fri
//! 09:00-17:00 plus a split Saturday (10:00-12:00, 14:00-16:00). Busy blocks
//! are 15-120 minutes long at pseudo-random 5-minute positions across the
//! range, passed unsorted (so the sort is measured too).

use std::hint::black_box;

use bookings::domain::availability::{available_slots, Interval, LinkRules, SchedulingRules, WorkingHours};
use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};

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

fn case(c: &mut Criterion, name: &str, from: &str, days: i64, blocks: usize) {
    let rules = rules();
    let start: DateTime<Utc> = from.parse().expect("valid instant");
    let range = Interval { start, end: start + Duration::days(days) };
    let busy = busy_blocks(range, blocks, 0x9E37_79B9_7F4A_7C15 ^ blocks as u64);
    let now = start;
    let slots = available_slots(&rules, range, &busy, now);
    eprintln!("{name}: {} slots offered", slots.len());
    c.bench_function(name, |b| {
        b.iter(|| available_slots(black_box(&rules), black_box(range), black_box(&busy), black_box(now)))
    });
}

fn benches(c: &mut Criterion) {
    // Includes the Berlin spring-forward on 2026-03-29.
    case(c, "31 days, 500 busy blocks", "2026-03-01T08:17:00Z", 31, 500);
    case(c, "366 days, 10,000 busy blocks", "2026-01-01T00:00:00Z", 366, 10_000);
}

criterion_group!(availability, benches);
criterion_main!(availability);
