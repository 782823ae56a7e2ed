//! Runs the availability engine's benchmark cases (`benches/common/availability_cases.rs`) a
//! fixed number of times each, for measurements that do not depend on how busy the machine is:
//!
//! ```sh
//! cargo build --release --example engine_count
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     --toggle-collect='engine_count::measure*' target/release/examples/engine_count 1 20
//! ```
//!
//! callgrind's "Collected" line is then the instructions of 20 calls of case 1 (0-based; see
//! `cases()`) and nothing else; divide by 20. `bench/engine_count.sh` does this for every case.
//! Without valgrind it prints the wall time per call (noisy on a shared machine).
//!
//! Usage: `engine_count [case index|all] [iterations]` (defaults: all, 1000).

use std::hint::black_box;
use std::time::Instant;

#[path = "../benches/common/availability_cases.rs"]
mod cases;

/// The measured part: `n` calls of one case. Not inlined, so that callgrind can count it alone.
#[inline(never)]
fn measure(case: &cases::Case, n: u64) -> usize {
    let mut total = 0;
    for _ in 0..n {
        total += black_box(black_box(case).run());
    }
    total
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "all".into());
    let n: u64 = args.next().map_or(1000, |s| s.parse().expect("iterations: a number"));
    let all = cases::cases();
    let chosen: Vec<&cases::Case> = if which == "all" {
        all.iter().collect()
    } else {
        vec![&all[which.parse::<usize>().expect("case: an index or `all`")]]
    };
    for case in chosen {
        let offered = case.run();
        let t = Instant::now();
        let total = measure(case, n);
        let per = t.elapsed().as_secs_f64() / n.max(1) as f64;
        assert_eq!(total, offered * usize::try_from(n).expect("fits"));
        println!("{}: {offered} slots, {:.1} us per call ({n} calls)", case.name, per * 1e6);
    }
}
