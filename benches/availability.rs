//! Availability engine benchmarks: the cases of `benches/common/availability_cases.rs`
//! (see there). `examples/engine_count.rs` runs the same cases a fixed number of times, for
//! instruction counts under callgrind.

use std::hint::black_box;

use bookings::domain::availability::slots;
use criterion::{criterion_group, criterion_main, Criterion};

#[path = "common/availability_cases.rs"]
mod cases;

fn benches(c: &mut Criterion) {
    for case in cases::cases() {
        eprintln!("{}: {} slots offered", case.name, case.run().len());
        c.bench_function(case.name, |b| {
            b.iter(|| {
                slots(
                    black_box(&case.rules),
                    black_box(case.range),
                    black_box(&case.busy),
                    black_box(&case.booked),
                    black_box(case.now),
                )
            })
        });
    }
}

criterion_group!(availability, benches);
criterion_main!(availability);
