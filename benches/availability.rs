//! Availability engine benchmarks: the cases of `benches/common/availability_cases.rs`
//! (see there). `examples/engine_count.rs` runs the same cases a fixed number of times, for
//! instruction counts under callgrind.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "common/availability_cases.rs"]
mod cases;

fn benches(c: &mut Criterion) {
    for case in cases::cases() {
        eprintln!("{}: {} slots offered", case.name, case.run());
        c.bench_function(case.name, |b| b.iter(|| black_box(&case).run()));
    }
}

criterion_group!(availability, benches);
criterion_main!(availability);
