//! Bytes held by the engine per event, natively, with a counting allocator: what the wasm
//! build's linear memory must at least hold. `cargo bench --bench profile_memory -- 1000000`.
use std::alloc::{GlobalAlloc, Layout, System};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use eventjournal::clock::ManualClock;
use eventjournal::decider::Command;
use eventjournal::storage::MemoryStorage;
use eventjournal::{Engine, EngineConfig, ExecuteRequest};
use futures::executor::block_on;
use serde_json::json;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        System.dealloc(p, l)
    }
}

#[global_allocator]
static A: Counting = Counting;

fn mib(n: usize) -> String {
    format!("{:.1} MiB", n as f64 / 1048576.0)
}

fn main() {
    let n: usize = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(1_000_000);
    let clock = Rc::new(ManualClock::new(1_700_000_000_000.0));
    let base = LIVE.load(Ordering::Relaxed);
    let mut config = EngineConfig::new(clock);
    eventjournal::domains::register_builtins(&mut config);
    let e = block_on(Engine::open(MemoryStorage::new(), config)).unwrap();
    let futures: Vec<_> = (0..1000)
        .map(|a| {
            let c = json!({"type": "create_account", "accountHolder": format!("Holder {a}"), "initialDeposit": 1000});
            e.execute(ExecuteRequest::new(
                "BankAccount",
                format!("account_{a}"),
                Command::from_value(c).unwrap(),
            ))
        })
        .collect();
    block_on(futures::future::join_all(futures));
    let mut made = 2000;
    let mut i = 0usize;
    while made < n {
        let burst = (n - made).min(1000);
        let futures: Vec<_> = (0..burst)
            .map(|_| {
                i += 1;
                if i % 100 == 0 {
                    let c = json!({"type": "place_order", "customerId": format!("c{}", i % 50), "shippingAddress": "1 Main St", "items": [{"itemId": "sku-1", "quantity": 1, "price": 999}]});
                    e.execute(ExecuteRequest::new("Order", format!("order_{i}"), Command::from_value(c).unwrap()))
                } else {
                    let c = json!({"type": "deposit", "amount": 1 + (i % 100)});
                    e.execute(ExecuteRequest::new("BankAccount", format!("account_{}", i % 1000), Command::from_value(c).unwrap()))
                }
            })
            .collect();
        block_on(futures::future::join_all(futures));
        made += burst;
    }
    // The memory storage holds its own copy of every event: measure the engine alone.
    let storage_bytes: usize = e
        .storage()
        .events()
        .iter()
        .map(|ev| {
            std::mem::size_of_val(ev)
                + ev.id.capacity()
                + ev.stream_id.capacity()
                + ev.stream_type.capacity()
                + ev.event_type.capacity()
                + ev.data.len()
                + ev.metadata.len()
                + ev.hash.capacity()
        })
        .sum();
    let live = LIVE.load(Ordering::Relaxed) - base;
    let total = e.stats().unwrap().total_events as usize;
    println!(
        "{total} events: live {} (storage copy ≈ {}), engine ≈ {} = {:.0} B/event; peak {}",
        mib(live),
        mib(storage_bytes),
        mib(live.saturating_sub(storage_bytes)),
        live.saturating_sub(storage_bytes) as f64 / total as f64,
        mib(PEAK.load(Ordering::Relaxed))
    );
}
