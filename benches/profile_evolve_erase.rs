//! The two workloads of `benches/evolve_erase.rs` as plain loops, for instruction counts
//! (`valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*'`): the
//! machine is too noisy for wall-clock ratios. Not a criterion bench.
//!
//! `profile_evolve_erase commands plain|sealed [n]`: `n` commands (default 10,000) over 100
//! streams whose event has one personal field, declared or not.
//! `profile_evolve_erase replay none|same|add [events]`: rebuilding both built-in
//! projections over a log of `events` (default 200,000), with an upcaster on every event
//! (keeping the data, or adding a field) or without.
use std::hint::black_box;
use std::rc::Rc;

use eventjournal::canonical::CanonicalJson;
use eventjournal::error::StateError;
use eventjournal::log::EventView;
use eventjournal::storage::MemoryStorage;
use eventjournal::upcast::{Upcast, Upcaster};
use eventjournal::Engine;
use futures::executor::block_on;

#[path = "support/evolve_erase.rs"]
mod workloads;
use workloads::{log, profiles, replaying, update, with_currency};

#[inline(never)]
fn measured_commands(e: &Engine<MemoryStorage>, n: usize) {
    for i in 0..n {
        block_on(e.execute(update(i))).unwrap();
    }
}

fn commands(sealed: bool, n: usize) {
    let engine = profiles(sealed);
    let t = std::time::Instant::now();
    measured_commands(&engine, n);
    println!("{n} commands (sealed: {sealed}): {:?}", t.elapsed());
}

thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn same(data: CanonicalJson, _: &EventView<'_>) -> Result<Upcast, StateError> {
    STEPS.with(|s| s.set(s.get() + 1));
    Ok(Upcast::data(data))
}

#[inline(never)]
fn measured_replay(e: &Engine<MemoryStorage>) -> u64 {
    black_box(e.replay(None).unwrap()).events_replayed
}

fn replay(step: &str, events: usize) {
    let up: Option<Rc<dyn Upcaster>> = match step {
        "none" => None,
        "same" => Some(Rc::new(same)),
        "add" => Some(Rc::new(with_currency)),
        other => panic!("unknown step {other}: none, same or add"),
    };
    let e = replaying(log(events), up, Rc::new(same));
    let t = std::time::Instant::now();
    let replayed = measured_replay(&e);
    println!(
        "replay {replayed} events (step: {step}): {:?}, {} steps keeping the data",
        t.elapsed(),
        STEPS.with(|s| s.get())
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let n = |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    match (args.first().map(String::as_str), args.get(1).map(String::as_str)) {
        (Some("commands"), Some(kind)) => commands(kind == "sealed", n(2, 10_000)),
        (Some("replay"), Some(step)) => replay(step, n(2, 200_000)),
        _ => eprintln!("usage: profile_evolve_erase commands plain|sealed [n] | replay none|same|add [events]"),
    }
}
