//! The two ways a response model could become JSON, on the answer the server renders most
//! (`getBookingAvailability`, a week of half-hour slots: ~260): poem-openapi's `ToJSON` (a
//! `serde_json::Value` tree, then printed) against the generated `WireJson` writer (printed
//! straight from the model, through serde or by `write_json`, which the server uses); and the
//! instants alone, chrono's printer against the generated `Rfc3339`. `cargo bench --bench wire_json -- --quick`; the figure is cited
//! beside `WireJson` in codegen/templates/runtime.rs.jinja.

use bookings::api::{AvailableSlot, GetBookingAvailability200Response, Rfc3339, Wire, WireJson};
use chrono::{Duration, FixedOffset, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn answer(slots: usize) -> GetBookingAvailability200Response {
    let zone = FixedOffset::east_opt(3600).unwrap();
    let first = Utc.with_ymd_and_hms(2030, 3, 4, 8, 0, 0).unwrap();
    GetBookingAvailability200Response {
        token: "k3n9-xq7pW2vT8aLm4Rz".into(),
        timezone: "Europe/Berlin".into(),
        duration_minutes: 30,
        slots: (0..slots as i64)
            .map(|i| {
                let start = first + Duration::minutes(30 * i);
                AvailableSlot {
                    seats_left: 1,
                    start: start.with_timezone(&zone),
                    end: (start + Duration::minutes(30)).with_timezone(&zone),
                }
            })
            .collect(),
        scheduling: bookings::api::Scheduling::Single,
    }
}

fn benches(c: &mut Criterion) {
    let value = answer(260);
    let mut group = c.benchmark_group("availability answer, 260 slots");
    group.bench_function("ToJSON then print", |b| {
        b.iter(|| serde_json::to_vec(&poem_openapi::types::ToJSON::to_json(black_box(&value))).unwrap())
    });
    group.bench_function("WireJson", |b| b.iter(|| serde_json::to_vec(&Wire(black_box(&value))).unwrap()));
    group.bench_function("WireJson::write_json", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(1024);
            black_box(&value).write_json(&mut out).unwrap();
            out
        })
    });
    group.finish();

    // The instants alone (two per slot): chrono's printer against the generated one.
    let instants: Vec<_> = value.slots.iter().flat_map(|s| [s.start, s.end]).collect();
    let mut group = c.benchmark_group("520 instants");
    group.bench_function("to_rfc3339", |b| {
        b.iter(|| black_box(&instants).iter().map(|t| black_box(t.to_rfc3339()).len()).sum::<usize>())
    });
    group.bench_function("Rfc3339", |b| {
        let mut buffer = Rfc3339::new();
        b.iter(|| black_box(&instants).iter().map(|t| black_box(buffer.format(t)).len()).sum::<usize>())
    });
    group.bench_function("Rfc3339::print", |b| {
        let mut buffer = Rfc3339::new();
        b.iter(|| black_box(&instants).iter().map(|t| black_box(buffer.print(t)).len()).sum::<usize>())
    });
    group.finish();
}

criterion_group!(wire_json, benches);
criterion_main!(wire_json);
