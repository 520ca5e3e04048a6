//! The engine's pipeline: persist before commit, group commit, failures, conflicts,
//! idempotency, expected versions, subscriptions, re-entrancy, snapshots, lifecycle.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use common::*;
use eventjournal::decider::Aggregate;
use eventjournal::error::{DecideError, Error, ErrorKind, StateError, StorageFailure};
use eventjournal::event::{Event, ExpectedVersion};
use eventjournal::filter::EventFilter;
use eventjournal::log::{Direction, EventView, ReadAllOptions, ReadStreamOptions};
use eventjournal::projection::Projection;
use eventjournal::storage::MemoryStorage;
use eventjournal::subscription::Subscriber;
use eventjournal::time_travel::At;
use eventjournal::{Engine, ExecuteResult};
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use serde_json::{json, Value};

type Results = Rc<RefCell<Vec<(usize, Result<ExecuteResult, Error>)>>>;

fn spawn_deposits<S: eventjournal::storage::Storage + 'static>(
    pool: &LocalPool,
    engine: &Rc<Engine<S>>,
    results: &Results,
    range: std::ops::Range<usize>,
    stream: &str,
) {
    for i in range {
        let (e, r, stream) = (engine.clone(), results.clone(), stream.to_owned());
        pool.spawner()
            .spawn_local(async move {
                let out = e
                    .execute(req(
                        "BankAccount",
                        &stream,
                        json!({"type": "deposit", "amount": 100 + i}),
                    ))
                    .await;
                r.borrow_mut().push((i, out));
            })
            .unwrap();
    }
}

fn bank_with_account<S: eventjournal::storage::Storage>(storage: S) -> Engine<S> {
    let engine = open(storage);
    exec(
        &engine,
        "BankAccount",
        "acc",
        json!({"type": "create_account", "accountHolder": "A"}),
    )
    .unwrap();
    engine
}

#[test]
fn nothing_is_committed_before_the_storage_has_it() {
    let gate = Rc::new(Gate::default());
    gate.open();
    let storage = TestStorage::new().with_gate(gate.clone());
    let engine = Rc::new(bank_with_account(storage.clone()));
    gate.close();
    let mut pool = LocalPool::new();
    let results: Results = Default::default();
    let seen = Rc::new(Cell::new(0u64));
    struct Count(Rc<Cell<u64>>);
    impl Subscriber for Count {
        fn deliver(&self, events: &[Event]) {
            self.0.set(self.0.get() + events.len() as u64);
        }
    }
    engine
        .subscribe(Rc::new(Count(seen.clone())), EventFilter::default(), None)
        .unwrap();
    spawn_deposits(&pool, &engine, &results, 0..1, "acc");
    pool.run_until_stalled();
    // The append is in flight: no state, projection, subscriber or read sees the event.
    assert!(results.borrow().is_empty());
    assert_eq!(engine.stream_version("acc").unwrap(), 1);
    assert_eq!(state(&engine, "BankAccount", "acc").unwrap()["balance"], json!(0));
    assert_eq!(projection(&engine, "account_balance")["acc"]["balance"], json!(0));
    assert_eq!(seen.get(), 0);
    gate.open();
    pool.run_until_stalled();
    assert!(results.borrow()[0].1.is_ok());
    assert_eq!(engine.stream_version("acc").unwrap(), 2);
    assert_eq!(projection(&engine, "account_balance")["acc"]["balance"], json!(100));
    assert_eq!(seen.get(), 1);
}

#[test]
fn commands_arriving_during_an_append_are_persisted_together() {
    let gate = Rc::new(Gate::default());
    gate.open();
    let storage = TestStorage::new().with_gate(gate.clone());
    let engine = Rc::new(bank_with_account(storage.clone()));
    storage.batch_sizes.borrow_mut().clear();
    gate.close();
    let mut pool = LocalPool::new();
    let results: Results = Default::default();
    spawn_deposits(&pool, &engine, &results, 0..1, "acc");
    pool.run_until_stalled(); // first deposit's append is in flight
    spawn_deposits(&pool, &engine, &results, 1..50, "acc");
    pool.run_until_stalled();
    gate.open();
    pool.run_until_stalled();
    assert_eq!(
        *storage.batch_sizes.borrow(),
        vec![1, 49],
        "one append in flight, then one for the 49 queued"
    );
    let results = results.borrow();
    assert_eq!(results.len(), 50);
    let mut balance = 0u64;
    let mut sorted: Vec<_> = results.iter().map(|(i, r)| (*i, r.as_ref().unwrap().clone())).collect();
    sorted.sort_by_key(|(_, r)| r.position);
    for (i, r) in &sorted {
        balance += 100 + *i as u64;
        assert_eq!(r.events.len(), 1);
        assert_eq!(
            serde_json::from_str::<Value>(r.events[0].data.as_str()).unwrap()["balanceAfter"],
            json!(balance)
        );
    }
    assert_eq!(state(&engine, "BankAccount", "acc").unwrap()["balance"], json!(balance));
    assert_log_invariants(&storage.inner.events());
}

fn three_commands() -> Vec<Value> {
    vec![
        json!({"type": "withdraw", "amount": 1000}),
        json!({"type": "withdraw", "amount": 600}),
        json!({"type": "deposit", "amount": 5}),
    ]
}

fn check_failure_left_no_trace(
    engine: &Engine<TestStorage>,
    storage: &TestStorage,
    before: u64,
    committed: u64,
    balance: u64,
) {
    let after = engine.stats().unwrap();
    assert_eq!(after.total_events, before + committed);
    assert_eq!(state(engine, "BankAccount", "acc").unwrap()["balance"], json!(balance));
    assert_eq!(projection(engine, "account_balance")["acc"]["balance"], json!(balance));
    assert_eq!(storage.inner.events().len() as u64, after.total_events);
    assert!(engine.verify().unwrap().ok);
    assert_log_invariants(&storage.inner.events());
    // And the next command works.
    exec(engine, "BankAccount", "acc", json!({"type": "deposit", "amount": 1})).unwrap();
}

fn assert_injected_failure(r: &Result<ExecuteResult, Error>) {
    match r {
        Err(Error::Storage(s)) => {
            assert_eq!(s.reason, StorageFailure::Failed);
            assert_eq!(
                s.cause.as_ref().and_then(|c| c.downcast_ref::<&str>()),
                Some(&"disk on fire")
            );
        }
        other => panic!("expected the storage error, got {other:?}"),
    }
}

#[test]
fn a_failed_append_fails_its_commands_and_those_behind_it_are_decided_on_the_true_state() {
    let gate = Rc::new(Gate::default());
    gate.open();
    let storage = TestStorage::new().with_gate(gate.clone());
    let engine = Rc::new(bank_with_account(storage.clone()));
    exec(
        &engine,
        "BankAccount",
        "acc",
        json!({"type": "deposit", "amount": 1000}),
    )
    .unwrap();
    let before = engine.stats().unwrap().total_events;
    gate.close();
    storage.fail_appends.set(1);
    let mut pool = LocalPool::new();
    let results: Results = Default::default();
    // The first command's append is in flight when the others arrive.
    for (i, c) in three_commands().into_iter().enumerate() {
        let (e, r) = (engine.clone(), results.clone());
        pool.spawner()
            .spawn_local(async move {
                let out = e.execute(req("BankAccount", "acc", c)).await;
                r.borrow_mut().push((i, out));
            })
            .unwrap();
        pool.run_until_stalled();
    }
    gate.open();
    pool.run_until_stalled();
    let mut results = results.borrow().clone();
    results.sort_by_key(|(i, _)| *i);
    assert_injected_failure(&results[0].1);
    // Queued behind the failed append: decided against the state without it.
    let second = results[1].1.as_ref().expect("decided on the true state");
    assert_eq!(
        serde_json::from_str::<Value>(second.events[0].data.as_str()).unwrap()["balanceAfter"],
        json!(400)
    );
    let third = results[2].1.as_ref().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(third.events[0].data.as_str()).unwrap()["balanceAfter"],
        json!(405)
    );
    assert_eq!(
        *storage.batch_sizes.borrow().last().unwrap(),
        2,
        "the two queued commands went together"
    );
    check_failure_left_no_trace(&engine, &storage, before, 2, 405);
}

#[test]
fn a_failed_batch_fails_every_command_with_events_and_re_decides_the_refused() {
    let storage = TestStorage::new();
    let engine = Rc::new(bank_with_account(storage.clone()));
    exec(
        &engine,
        "BankAccount",
        "acc",
        json!({"type": "deposit", "amount": 1000}),
    )
    .unwrap();
    let before = engine.stats().unwrap().total_events;
    storage.fail_appends.set(1);
    storage.batch_sizes.borrow_mut().clear();
    // All three are queued before anything runs: one batch. The second is refused in it only
    // because of the first.
    let futures: Vec<_> = three_commands()
        .into_iter()
        .map(|c| engine.execute(req("BankAccount", "acc", c)))
        .collect();
    let results = block_on(futures::future::join_all(futures));
    assert_eq!(*storage.batch_sizes.borrow(), vec![2, 1]);
    assert_injected_failure(&results[0]);
    assert_injected_failure(&results[2]);
    let second = results[1].as_ref().expect("re-decided against the true state");
    assert_eq!(
        serde_json::from_str::<Value>(second.events[0].data.as_str()).unwrap()["balanceAfter"],
        json!(400)
    );
    check_failure_left_no_trace(&engine, &storage, before, 1, 400);
}

#[test]
fn an_append_that_failed_after_writing_is_picked_up_not_duplicated() {
    let storage = TestStorage::new();
    let engine = bank_with_account(storage.clone());
    storage.fail_after_write.set(1);
    let r =
        block_on(engine.execute(req("BankAccount", "acc", json!({"type": "deposit", "amount": 10})).command_id("c-1")));
    assert!(matches!(r, Err(Error::Storage(ref s)) if s.reason == StorageFailure::Timeout));
    assert_eq!(engine.stream_version("acc").unwrap(), 1, "not committed on a failure");
    // The retry with the same commandId finds the stored events (the engine re-reads the
    // head first) and returns them instead of appending again.
    let retry =
        block_on(engine.execute(req("BankAccount", "acc", json!({"type": "deposit", "amount": 10})).command_id("c-1")))
            .unwrap();
    assert_eq!(retry.version, 2);
    assert_eq!(storage.inner.len(), 2);
    assert_eq!(state(&engine, "BankAccount", "acc").unwrap()["balance"], json!(10));
}

#[test]
fn two_engines_on_one_storage_never_lose_an_update() {
    let shared = MemoryStorage::new();
    let a = Rc::new(bank_with_account(TestStorage::sharing(&shared)));
    let b_storage = TestStorage::sharing(&shared);
    let b = Rc::new(open(b_storage.clone()));
    let mut pool = LocalPool::new();
    let results: Results = Default::default();
    for round in 0..20 {
        spawn_deposits(&pool, &a, &results, round * 10..round * 10 + 5, "acc");
        spawn_deposits(&pool, &b, &results, round * 10 + 5..round * 10 + 10, "acc");
        pool.run_until_stalled();
    }
    let results = results.borrow();
    assert_eq!(results.len(), 200);
    let acknowledged: u64 = results
        .iter()
        .map(|(i, r)| {
            assert!(r.is_ok(), "{r:?}");
            100 + *i as u64
        })
        .sum();
    assert!(
        b_storage.conflicts.get() > 0,
        "the test must actually produce conflicts"
    );
    block_on(a.catch_up()).unwrap();
    block_on(b.catch_up()).unwrap();
    for e in [&a, &b] {
        assert_eq!(state(e, "BankAccount", "acc").unwrap()["balance"], json!(acknowledged));
        assert_eq!(projection(e, "account_balance")["acc"]["balance"], json!(acknowledged));
    }
    assert_eq!(a.stats().unwrap(), b.stats().unwrap());
    assert_log_invariants(&shared.events());
}

#[test]
fn conflicts_are_retried_then_given_up() {
    // A storage that always conflicts.
    #[derive(Clone)]
    struct AlwaysConflict(MemoryStorage);
    impl eventjournal::storage::Storage for AlwaysConflict {
        async fn read_events(&self, after: u64, limit: u32) -> Result<Vec<Event>, Error> {
            self.0.read_events(after, limit).await
        }
        async fn append_events(&self, _: &[Event], _: u64) -> Result<(), eventjournal::storage::AppendError> {
            Err(eventjournal::storage::AppendError::Conflict)
        }
    }
    let mut cfg = config(clock());
    cfg.max_conflict_retries = 3;
    let engine = block_on(Engine::open(AlwaysConflict(MemoryStorage::new()), cfg)).unwrap();
    let err = exec(
        &engine,
        "BankAccount",
        "x",
        json!({"type": "create_account", "accountHolder": "A"}),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Concurrency);
    assert!(err.message().contains("after 3 retries"), "{}", err.message());
    assert_eq!(engine.stats().unwrap().total_events, 0);
}

#[test]
fn expected_versions() {
    let engine = open(MemoryStorage::new());
    let run = |ev: ExpectedVersion, c: Value| block_on(engine.execute(req("BankAccount", "a", c).expected_version(ev)));
    let create = json!({"type": "create_account", "accountHolder": "A"});
    let dep = json!({"type": "deposit", "amount": 1});
    assert_eq!(
        run(ExpectedVersion::Exists, dep.clone()).unwrap_err().kind(),
        ErrorKind::Concurrency
    );
    assert_eq!(
        run(ExpectedVersion::Exact(1), create.clone()).unwrap_err().kind(),
        ErrorKind::Concurrency
    );
    assert!(run(ExpectedVersion::NoStream, create.clone()).is_ok());
    let err = run(ExpectedVersion::NoStream, dep.clone()).unwrap_err();
    match &err {
        Error::Concurrency(c) => {
            assert_eq!(c.actual, 1);
            assert_eq!(c.expected.as_deref(), Some("no_stream"));
            assert_eq!(c.stream_id, "a");
        }
        other => panic!("{other:?}"),
    }
    assert!(run(ExpectedVersion::Exists, dep.clone()).is_ok());
    assert_eq!(
        run(ExpectedVersion::Exact(1), dep.clone()).unwrap_err().kind(),
        ErrorKind::Concurrency
    );
    assert!(run(ExpectedVersion::Exact(2), dep.clone()).is_ok());
    assert!(run(ExpectedVersion::Any, dep).is_ok());
    assert_eq!(engine.stream_version("a").unwrap(), 4);
}

#[test]
fn command_ids_make_retries_idempotent_and_survive_a_reopen() {
    let storage = MemoryStorage::new();
    let engine = open(storage.clone());
    let create = || {
        req(
            "BankAccount",
            "a",
            json!({"type": "create_account", "accountHolder": "A", "initialDeposit": 500}),
        )
        .command_id("cmd-1")
    };
    let first = block_on(engine.execute(create())).unwrap();
    assert_eq!(first.events.len(), 2);
    assert_eq!(first.events[0].command_id().as_deref(), Some("cmd-1"));
    // Same id, whatever the command says: the first result, nothing appended.
    let again =
        block_on(engine.execute(req("BankAccount", "a", json!({"type": "withdraw", "amount": 1})).command_id("cmd-1")))
            .unwrap();
    assert_eq!(again, first);
    assert_eq!(storage.len(), 2);
    // A refused command records nothing: its id can be used again.
    let refused = block_on(
        engine.execute(req("BankAccount", "a", json!({"type": "withdraw", "amount": 10_000})).command_id("cmd-2")),
    );
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::Domain);
    let ok = block_on(
        engine.execute(req("BankAccount", "a", json!({"type": "withdraw", "amount": 100})).command_id("cmd-2")),
    )
    .unwrap();
    assert_eq!(ok.version, 3);
    // commandId in metadata counts too, and must agree with the option.
    let mut meta = serde_json::Map::new();
    meta.insert("commandId".into(), json!("cmd-2"));
    meta.insert("userId".into(), json!("u1"));
    let via_meta = block_on(
        engine.execute(req("BankAccount", "a", json!({"type": "deposit", "amount": 1})).metadata(meta.clone())),
    )
    .unwrap();
    assert_eq!(via_meta, ok);
    let clash = block_on(
        engine.execute(
            req("BankAccount", "a", json!({"type": "deposit", "amount": 1}))
                .metadata(meta)
                .command_id("cmd-9"),
        ),
    );
    assert_eq!(clash.unwrap_err().kind(), ErrorKind::Validation);
    // Reopen: the ids are still known.
    let reopened = open(storage.clone());
    assert_eq!(block_on(reopened.execute(create())).unwrap(), first);
    assert_eq!(storage.len(), 3);
}

#[test]
fn duplicate_command_ids_in_one_batch_share_the_first_result() {
    let storage = TestStorage::new();
    let engine = Rc::new(open(storage.clone()));
    let mut pool = LocalPool::new();
    let out: Rc<RefCell<Vec<ExecuteResult>>> = Default::default();
    for _ in 0..3 {
        let (e, o) = (engine.clone(), out.clone());
        pool.spawner()
            .spawn_local(async move {
                let r = e
                    .execute(
                        req(
                            "BankAccount",
                            "a",
                            json!({"type": "create_account", "accountHolder": "A"}),
                        )
                        .command_id("same"),
                    )
                    .await
                    .unwrap();
                o.borrow_mut().push(r);
            })
            .unwrap();
    }
    pool.run_until_stalled();
    let out = out.borrow();
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|r| *r == out[0]));
    assert_eq!(storage.inner.len(), 1);
    assert_eq!(*storage.batch_sizes.borrow(), vec![1]);
}

#[test]
fn metadata_is_recorded_on_every_event() {
    let engine = open(MemoryStorage::new());
    let mut meta = serde_json::Map::new();
    meta.insert("correlationId".into(), json!("corr-1"));
    meta.insert("userId".into(), json!("u1"));
    let r = block_on(
        engine.execute(
            req(
                "BankAccount",
                "a",
                json!({"type": "create_account", "accountHolder": "A", "initialDeposit": 5}),
            )
            .metadata(meta)
            .command_id("c1"),
        ),
    )
    .unwrap();
    for e in &r.events {
        assert_eq!(
            e.metadata.as_str(),
            r#"{"commandId":"c1","correlationId":"corr-1","userId":"u1"}"#
        );
    }
}

#[test]
fn a_stream_keeps_the_type_of_its_first_event() {
    let engine = open(MemoryStorage::new());
    exec(
        &engine,
        "BankAccount",
        "x",
        json!({"type": "create_account", "accountHolder": "A"}),
    )
    .unwrap();
    let err = exec(&engine, "Order", "x", json!({"type": "confirm_order"})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(err.message().contains("is a BankAccount stream"));
    assert_eq!(
        engine.load("Order", "x", None).unwrap_err().kind(),
        ErrorKind::Validation
    );
    let err = exec(&engine, "Nope", "y", json!({"type": "x"})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(engine.load("Nope", "y", None).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(engine.projection("nope", None).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn bad_names_are_validation_errors() {
    let engine = open(MemoryStorage::new());
    for (t, id) in [
        ("", "a"),
        ("BankAccount", ""),
        ("BankAccount", &"x".repeat(257) as &str),
    ] {
        let err = exec(&engine, t, id, json!({"type": "create_account", "accountHolder": "A"})).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation);
    }
    assert_eq!(engine.stream_version("").unwrap_err().kind(), ErrorKind::Validation);
    let err = block_on(
        engine.execute(
            req(
                "BankAccount",
                "a",
                json!({"type": "create_account", "accountHolder": "A"}),
            )
            .command_id(""),
        ),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
}

#[test]
fn oversized_events_are_refused() {
    let engine = open(MemoryStorage::new());
    let big = "x".repeat(eventjournal::event::MAX_EVENT_BYTES);
    let err = exec(
        &engine,
        "BankAccount",
        "a",
        json!({"type": "create_account", "accountHolder": big}),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(err.message().contains("limit"), "{}", err.message());
    assert_eq!(engine.stats().unwrap().total_events, 0);
}

#[test]
fn reads_forward_backward_and_filtered() {
    let engine = open(MemoryStorage::new());
    exec(
        &engine,
        "BankAccount",
        "a",
        json!({"type": "create_account", "accountHolder": "A", "initialDeposit": 10}),
    )
    .unwrap();
    exec(&engine, "Order", "o", json!({"type": "place_order", "customerId": "c", "shippingAddress": "x", "items": [{"itemId": "i", "quantity": 1, "price": 1}]})).unwrap();
    for n in 1..=3 {
        exec(&engine, "BankAccount", "a", json!({"type": "deposit", "amount": n})).unwrap();
    }
    let versions =
        |o: ReadStreamOptions| -> Vec<u64> { engine.read_stream("a", &o).unwrap().iter().map(|e| e.version).collect() };
    assert_eq!(versions(ReadStreamOptions::default()), [1, 2, 3, 4, 5]);
    assert_eq!(
        versions(ReadStreamOptions {
            from_version: Some(2),
            limit: Some(2),
            ..Default::default()
        }),
        [3, 4]
    );
    assert_eq!(
        versions(ReadStreamOptions {
            direction: Direction::Backward,
            ..Default::default()
        }),
        [5, 4, 3, 2, 1]
    );
    assert_eq!(
        versions(ReadStreamOptions {
            direction: Direction::Backward,
            from_version: Some(4),
            limit: Some(2)
        }),
        [3, 2]
    );
    assert_eq!(
        versions(ReadStreamOptions {
            from_version: Some(9),
            ..Default::default()
        }),
        Vec::<u64>::new()
    );
    assert!(engine
        .read_stream("missing", &ReadStreamOptions::default())
        .unwrap()
        .is_empty());
    let positions =
        |o: ReadAllOptions| -> Vec<u64> { engine.read_all(&o).unwrap().iter().map(|e| e.position).collect() };
    let types = |t: &[&str]| EventFilter {
        types: t.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    assert_eq!(positions(ReadAllOptions::default()), [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        positions(ReadAllOptions {
            from_position: 4,
            ..Default::default()
        }),
        [5, 6]
    );
    assert_eq!(
        positions(ReadAllOptions {
            limit: Some(2),
            ..Default::default()
        }),
        [1, 2]
    );
    assert_eq!(
        positions(ReadAllOptions {
            filter: types(&["money_deposited"]),
            ..Default::default()
        }),
        [2, 4, 5, 6]
    );
    assert_eq!(
        positions(ReadAllOptions {
            filter: types(&["money_deposited", "order_placed"]),
            from_position: 2,
            ..Default::default()
        }),
        [3, 4, 5, 6]
    );
    assert_eq!(
        positions(ReadAllOptions {
            filter: EventFilter {
                stream_type: Some("Order".into()),
                ..Default::default()
            },
            ..Default::default()
        }),
        [3]
    );
    assert_eq!(
        positions(ReadAllOptions {
            filter: types(&["nope"]),
            ..Default::default()
        }),
        Vec::<u64>::new()
    );
    assert_eq!(
        positions(ReadAllOptions {
            filter: EventFilter {
                stream_type: Some("Nope".into()),
                ..Default::default()
            },
            ..Default::default()
        }),
        Vec::<u64>::new()
    );
    // One stream (its own index), with a type and a lower bound.
    let stream = |id: &str, t: &[&str], from: u64| ReadAllOptions {
        from_position: from,
        filter: EventFilter {
            stream_id: Some(id.into()),
            ..types(t)
        },
        ..Default::default()
    };
    assert_eq!(positions(stream("a", &[], 0)), [1, 2, 4, 5, 6]);
    assert_eq!(positions(stream("a", &["money_deposited"], 4)), [5, 6]);
    assert_eq!(positions(stream("o", &["money_deposited"], 0)), Vec::<u64>::new());
    assert_eq!(positions(stream("missing", &[], 0)), Vec::<u64>::new());
}

#[test]
fn time_range_reads_are_inclusive() {
    let c = clock();
    let engine = block_on(Engine::open(MemoryStorage::new(), config(c.clone()))).unwrap();
    for t in [
        1000.0, 2000.0, 2000.0, 3000.0, 2500.0, /* clock went back: held at 3000 */
    ] {
        c.set(t);
        exec(
            &engine,
            "BankAccount",
            &format!("a{t}"),
            json!({"type": "create_account", "accountHolder": "A"}),
        )
        .unwrap_or_else(|_| {
            exec(
                &engine,
                "BankAccount",
                "x",
                json!({"type": "create_account", "accountHolder": "A"}),
            )
            .unwrap()
        });
    }
    let ts: Vec<i64> = engine
        .read_all(&ReadAllOptions::default())
        .unwrap()
        .iter()
        .map(|e| e.timestamp)
        .collect();
    assert_eq!(ts, [1000, 2000, 2000, 3000, 3000]);
    let positions = |from: Option<i64>, to: Option<i64>| -> Vec<u64> {
        engine
            .read_all(&ReadAllOptions {
                from_timestamp: from,
                to_timestamp: to,
                ..Default::default()
            })
            .unwrap()
            .iter()
            .map(|e| e.position)
            .collect()
    };
    assert_eq!(positions(Some(2000), Some(2000)), [2, 3]);
    assert_eq!(positions(Some(1500), None), [2, 3, 4, 5]);
    assert_eq!(positions(None, Some(2999)), [1, 2, 3]);
    assert_eq!(positions(Some(4000), None), Vec::<u64>::new());
}

struct Recorder {
    seen: RefCell<Vec<u64>>,
}
impl Subscriber for Recorder {
    fn deliver(&self, events: &[Event]) {
        self.seen.borrow_mut().extend(events.iter().map(|e| e.position));
    }
}

#[test]
fn subscriptions_catch_up_then_follow_in_order_filtered() {
    let engine = open(MemoryStorage::new());
    exec(
        &engine,
        "BankAccount",
        "a",
        json!({"type": "create_account", "accountHolder": "A", "initialDeposit": 10}),
    )
    .unwrap();
    exec(
        &engine,
        "BankAccount",
        "b",
        json!({"type": "create_account", "accountHolder": "B"}),
    )
    .unwrap();
    let all = Rc::new(Recorder {
        seen: RefCell::new(vec![]),
    });
    let from_head = Rc::new(Recorder {
        seen: RefCell::new(vec![]),
    });
    let only_b = Rc::new(Recorder {
        seen: RefCell::new(vec![]),
    });
    let deposits = Rc::new(Recorder {
        seen: RefCell::new(vec![]),
    });
    engine.subscribe(all.clone(), EventFilter::default(), Some(0)).unwrap();
    engine
        .subscribe(from_head.clone(), EventFilter::default(), None)
        .unwrap();
    engine
        .subscribe(
            only_b.clone(),
            EventFilter {
                stream_id: Some("b".into()),
                ..Default::default()
            },
            Some(0),
        )
        .unwrap();
    let dep_id = engine
        .subscribe(
            deposits.clone(),
            EventFilter {
                types: vec!["money_deposited".into()],
                ..Default::default()
            },
            Some(1),
        )
        .unwrap();
    engine.pump_subscriptions();
    assert_eq!(*all.seen.borrow(), [1, 2, 3]);
    assert!(from_head.seen.borrow().is_empty());
    assert_eq!(*deposits.seen.borrow(), [2]);
    exec(&engine, "BankAccount", "b", json!({"type": "deposit", "amount": 5})).unwrap();
    assert!(engine.unsubscribe(dep_id));
    assert!(!engine.unsubscribe(dep_id));
    exec(&engine, "BankAccount", "a", json!({"type": "deposit", "amount": 5})).unwrap();
    assert_eq!(*all.seen.borrow(), [1, 2, 3, 4, 5]);
    assert_eq!(*from_head.seen.borrow(), [4, 5]);
    assert_eq!(*only_b.seen.borrow(), [3, 4]);
    assert_eq!(*deposits.seen.borrow(), [2, 4]);
}

#[test]
fn a_subscriber_may_call_back_into_the_engine() {
    // On each deposit, the subscriber reads the engine and issues another command.
    struct Reactor {
        engine: RefCell<Option<Rc<Engine<MemoryStorage>>>>,
        pool: futures::executor::LocalSpawner,
        reads: Cell<u64>,
    }
    impl Subscriber for Reactor {
        fn deliver(&self, events: &[Event]) {
            let engine = self.engine.borrow().clone().unwrap();
            for e in events {
                self.reads.set(self.reads.get() + engine.stats().unwrap().total_events);
                if e.event_type == "money_deposited" && e.stream_id == "a" {
                    let e2 = engine.clone();
                    self.pool
                        .spawn_local(async move {
                            e2.execute(req("BankAccount", "audit", json!({"type": "deposit", "amount": 1})))
                                .await
                                .unwrap();
                        })
                        .unwrap();
                }
            }
        }
    }
    let engine = Rc::new(open(MemoryStorage::new()));
    exec(
        &engine,
        "BankAccount",
        "a",
        json!({"type": "create_account", "accountHolder": "A"}),
    )
    .unwrap();
    exec(
        &engine,
        "BankAccount",
        "audit",
        json!({"type": "create_account", "accountHolder": "Audit"}),
    )
    .unwrap();
    let mut pool = LocalPool::new();
    let reactor = Rc::new(Reactor {
        engine: RefCell::new(Some(engine.clone())),
        pool: pool.spawner(),
        reads: Cell::new(0),
    });
    engine.subscribe(reactor.clone(), EventFilter::default(), None).unwrap();
    for _ in 0..3 {
        let e = engine.clone();
        pool.spawner()
            .spawn_local(async move {
                e.execute(req("BankAccount", "a", json!({"type": "deposit", "amount": 10})))
                    .await
                    .unwrap();
            })
            .unwrap();
    }
    pool.run_until_stalled();
    assert_eq!(state(&engine, "BankAccount", "audit").unwrap()["balance"], json!(3));
    assert!(reactor.reads.get() > 0);
    reactor.engine.borrow_mut().take();
}

/// An aggregate whose `decide` calls back into the engine while it decides.
struct Nosy {
    engine: RefCell<Option<std::rc::Weak<Engine<MemoryStorage>>>>,
    saw: RefCell<Vec<String>>,
}
impl Aggregate for Nosy {
    fn initial_state(&self) -> Result<eventjournal::decider::AnyState, StateError> {
        Ok(eventjournal::decider::AnyState::new(()))
    }
    fn decide(
        &self,
        _: &eventjournal::decider::AnyState,
        _: &eventjournal::decider::Command,
    ) -> Result<Vec<eventjournal::NewEvent>, DecideError> {
        if let Some(engine) = self.engine.borrow().as_ref().and_then(|w| w.upgrade()) {
            // A synchronous read from inside decide: a clear error, never a panic.
            let err = engine.stats().unwrap_err();
            self.saw
                .borrow_mut()
                .push(format!("{:?}: {}", err.kind(), err.message()));
            // Asynchronous callers (the binding) wait while the engine says it is busy.
            self.saw.borrow_mut().push(format!("busy: {}", engine.is_busy()));
            // Enqueuing a command works: it runs after this batch.
            drop(engine.execute(req(
                "BankAccount",
                "other",
                json!({"type": "create_account", "accountHolder": "X"}),
            )));
        }
        Ok(vec![eventjournal::NewEvent::new("poked", json!({}))])
    }
    fn evolve(
        &self,
        s: eventjournal::decider::AnyState,
        _: &EventView<'_>,
    ) -> Result<eventjournal::decider::AnyState, StateError> {
        Ok(s)
    }
    fn clone_state(&self, _: &eventjournal::decider::AnyState) -> Result<eventjournal::decider::AnyState, StateError> {
        Ok(eventjournal::decider::AnyState::new(()))
    }
    fn state_json(&self, _: &eventjournal::decider::AnyState) -> Result<String, StateError> {
        Ok("{}".into())
    }
}

#[test]
fn re_entrant_calls_from_decide_get_a_clear_error_not_a_panic() {
    let engine = Rc::new(open(MemoryStorage::new()));
    let nosy = Rc::new(Nosy {
        engine: RefCell::new(Some(Rc::downgrade(&engine))),
        saw: RefCell::new(vec![]),
    });
    engine.define_aggregate("Nosy", nosy.clone()).unwrap();
    exec(&engine, "Nosy", "n", json!({"type": "poke"})).unwrap();
    let saw = nosy.saw.borrow();
    assert_eq!(saw.len(), 2);
    assert!(saw[0].starts_with("Validation: re-entrant call"), "{}", saw[0]);
    assert_eq!(saw[1], "busy: true");
    assert!(!engine.is_busy());
    assert_eq!(engine.stream_version("n").unwrap(), 1);
}

struct Fragile;
impl Projection for Fragile {
    type State = u64;
    fn initial_state(&self) -> u64 {
        0
    }
    fn evolve(&self, n: &mut u64, e: &EventView<'_>) -> Result<(), StateError> {
        if e.event_type == "money_withdrawn" {
            return Err("cannot handle withdrawals".into());
        }
        *n += 1;
        Ok(())
    }
    fn state_json(&self, n: &u64) -> Result<String, StateError> {
        Ok(n.to_string())
    }
}

#[test]
fn a_failing_projection_stops_without_failing_commands() {
    let engine = open(MemoryStorage::new());
    engine.define_projection("fragile", Rc::new(Fragile)).unwrap();
    assert_eq!(
        engine
            .define_projection("fragile", Rc::new(Fragile))
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );
    exec(
        &engine,
        "BankAccount",
        "a",
        json!({"type": "create_account", "accountHolder": "A", "initialDeposit": 10}),
    )
    .unwrap();
    assert_eq!(engine.projection("fragile", None).unwrap(), "2");
    exec(&engine, "BankAccount", "a", json!({"type": "withdraw", "amount": 1})).expect("the command still succeeds");
    exec(&engine, "BankAccount", "a", json!({"type": "deposit", "amount": 1})).unwrap();
    let err = engine.projection("fragile", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Projection);
    match &err {
        Error::Projection(p) => {
            assert_eq!(p.position, 3);
            assert!(p.cause.contains("withdrawals"));
        }
        other => panic!("{other:?}"),
    }
    // History before the failure is still readable; replay keeps failing until fixed.
    assert_eq!(engine.projection("fragile", Some(At::Position(2))).unwrap(), "2");
    assert_eq!(
        engine.replay(Some("fragile")).unwrap_err().kind(),
        ErrorKind::Projection
    );
    // Other projections are fine.
    assert_eq!(projection(&engine, "account_balance")["a"]["balance"], json!(10));
}

#[test]
fn replay_counts_the_log_once() {
    let engine = open(MemoryStorage::new());
    for i in 0..10 {
        exec(
            &engine,
            "BankAccount",
            &format!("a{i}"),
            json!({"type": "create_account", "accountHolder": "A", "initialDeposit": 5}),
        )
        .unwrap();
    }
    let before = projection(&engine, "account_balance");
    let all = engine.replay(None).unwrap();
    assert_eq!((all.events_replayed, all.projections_rebuilt), (20, 2));
    let one = engine.replay(Some("order_status")).unwrap();
    assert_eq!((one.events_replayed, one.projections_rebuilt), (20, 1));
    assert_eq!(projection(&engine, "account_balance"), before);
    assert_eq!(engine.replay(Some("nope")).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn refusals_and_no_ops_keep_the_state_cached() {
    let (tally, evolves) = Tally::new();
    let mut cfg = config(clock());
    cfg.snapshot_every = 10;
    let engine = block_on(Engine::open(MemoryStorage::new(), cfg)).unwrap();
    engine.define_aggregate("Tally", Rc::new(tally)).unwrap();
    exec(&engine, "Tally", "t", json!({"type": "append", "n": 13})).unwrap();
    assert_eq!(evolves.get(), 13);
    let refused = exec(&engine, "Tally", "t", json!({"type": "append", "refuse": true}));
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::Domain);
    exec(&engine, "Tally", "t", json!({"type": "append", "n": 0})).unwrap();
    // The next command evolves only its own event: nothing was refolded from the snapshot.
    exec(&engine, "Tally", "t", json!({"type": "append", "n": 1})).unwrap();
    assert_eq!(evolves.get(), 14);
}

/// A decider whose `evolve` (when strict) cannot fold its `broken` events: a bug in it,
/// not a refusal.
struct Picky {
    strict: bool,
}
impl eventjournal::decider::Decider for Picky {
    type State = u64;
    fn initial_state(&self) -> u64 {
        0
    }
    fn decide(
        &self,
        _: &u64,
        c: &eventjournal::decider::Command,
    ) -> Result<Vec<eventjournal::NewEvent>, eventjournal::error::Rejection> {
        Ok(vec![eventjournal::NewEvent::new(c.kind(), json!({}))])
    }
    fn evolve(&self, n: u64, e: &EventView<'_>) -> Result<u64, StateError> {
        match e.event_type {
            "broken" if self.strict => Err("cannot fold a broken event".into()),
            _ => Ok(n + 1),
        }
    }
}

#[test]
fn an_aggregate_that_cannot_fold_its_own_events_is_an_internal_error_not_a_refusal() {
    let storage = TestStorage::new();
    let engine = open(storage.clone());
    engine
        .define_aggregate("Picky", Rc::new(Picky { strict: true }))
        .unwrap();
    exec(&engine, "Picky", "p", json!({"type": "fine"})).unwrap();
    // Not state-dependent: answered without a confirming read (which would fail here).
    storage.fail_reads.set(1);
    let err = exec(&engine, "Picky", "p", json!({"type": "broken"})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(
        err.message()
            .contains("Picky evolve failed on its own 'broken' event: cannot fold a broken event"),
        "{}",
        err.message()
    );
    assert_eq!(storage.fail_reads.get(), 1, "no read was needed");
    storage.fail_reads.set(0);
    assert_eq!(engine.stream_version("p").unwrap(), 1, "nothing was appended");
    // The stream goes on from its true state.
    assert_eq!(exec(&engine, "Picky", "p", json!({"type": "fine"})).unwrap().version, 2);
    assert_eq!(engine.load("Picky", "p", None).unwrap().unwrap().state, "2");

    // Another writer, whose code accepts `broken` events, stores one: this engine's code
    // cannot fold the stream any more. Loading it, or deciding on it, is an internal error.
    let other = open(TestStorage::sharing(&storage.inner));
    other
        .define_aggregate("Picky", Rc::new(Picky { strict: false }))
        .unwrap();
    exec(&other, "Picky", "p", json!({"type": "broken"})).unwrap();
    assert_eq!(block_on(engine.catch_up()).unwrap(), 1);
    let err = engine.load("Picky", "p", None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(
        err.message().contains("evolve failed at version 3 of stream 'p'"),
        "{}",
        err.message()
    );
    let err = exec(&engine, "Picky", "p", json!({"type": "fine"})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(
        err.message().contains("cannot fold a broken event"),
        "{}",
        err.message()
    );
    assert!(engine.verify().unwrap().ok);
}

#[test]
fn loads_fold_at_most_one_snapshot_interval() {
    let (tally, evolves) = Tally::new();
    let mut cfg = config(clock());
    cfg.snapshot_every = 10;
    let engine = block_on(Engine::open(MemoryStorage::new(), cfg)).unwrap();
    engine.define_aggregate("Tally", Rc::new(tally)).unwrap();
    for _ in 0..25 {
        exec(&engine, "Tally", "t", json!({"type": "append", "n": 4})).unwrap();
    }
    // Commands evolve only their own new events (the state is cached).
    assert_eq!(evolves.get(), 100);
    // A fresh engine on the same log: the first load folds the stream once...
    let storage = engine.storage().clone();
    let (tally2, evolves2) = Tally::new();
    let mut cfg = config(clock());
    cfg.snapshot_every = 10;
    let fresh = block_on(Engine::open(storage, cfg)).unwrap();
    fresh.define_aggregate("Tally", Rc::new(tally2)).unwrap();
    fresh.load("Tally", "t", None).unwrap();
    assert_eq!(evolves2.get(), 100);
    // ...then any version costs at most 9 evolves.
    for v in [1, 9, 10, 11, 55, 99, 100] {
        evolves2.set(0);
        let l = fresh.load("Tally", "t", Some(At::Version(v))).unwrap().unwrap();
        assert_eq!(l.version, v);
        assert!(evolves2.get() <= 9, "version {v} took {} evolves", evolves2.get());
        let (count, _): (u64, u64) = serde_json::from_str(&l.state).unwrap();
        assert_eq!(count, v);
    }
}

#[test]
fn projection_time_travel_is_bounded_by_the_snapshot_interval() {
    struct Counting(Rc<Cell<u64>>);
    impl Projection for Counting {
        type State = u64;
        fn initial_state(&self) -> u64 {
            0
        }
        fn evolve(&self, n: &mut u64, _: &EventView<'_>) -> Result<(), StateError> {
            self.0.set(self.0.get() + 1);
            *n += 1;
            Ok(())
        }
        fn state_json(&self, n: &u64) -> Result<String, StateError> {
            Ok(n.to_string())
        }
    }
    let mut cfg = config(clock());
    cfg.projection_snapshot_every = 64;
    let engine = block_on(Engine::open(MemoryStorage::new(), cfg)).unwrap();
    let calls = Rc::new(Cell::new(0));
    engine
        .define_projection("count", Rc::new(Counting(calls.clone())))
        .unwrap();
    let (tally, _) = Tally::new();
    engine.define_aggregate("Tally", Rc::new(tally)).unwrap();
    for i in 0..100 {
        exec(
            &engine,
            "Tally",
            &format!("t{}", i % 7),
            json!({"type": "append", "n": 10}),
        )
        .unwrap();
    }
    for p in [0u64, 1, 63, 64, 65, 500, 999, 1000, 5000] {
        calls.set(0);
        let s = engine.projection("count", Some(At::Position(p))).unwrap();
        assert_eq!(s, p.min(1000).to_string());
        assert!(calls.get() < 64, "position {p} took {} evolves", calls.get());
    }
}

#[test]
fn close_finishes_queued_work_then_refuses_everything() {
    let storage = TestStorage::new();
    let engine = Rc::new(open(storage.clone()));
    let mut pool = LocalPool::new();
    let results: Results = Default::default();
    exec(
        &engine,
        "BankAccount",
        "acc",
        json!({"type": "create_account", "accountHolder": "A"}),
    )
    .unwrap();
    spawn_deposits(&pool, &engine, &results, 0..5, "acc");
    let e = engine.clone();
    let closed = Rc::new(Cell::new(false));
    let c = closed.clone();
    pool.spawner()
        .spawn_local(async move {
            e.close().await.unwrap();
            c.set(true);
        })
        .unwrap();
    pool.run_until_stalled();
    assert!(closed.get());
    assert!(storage.closed.get());
    assert_eq!(results.borrow().len(), 5);
    assert!(results.borrow().iter().all(|(_, r)| r.is_ok()));
    let err = exec(&engine, "BankAccount", "acc", json!({"type": "deposit", "amount": 1})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    assert_eq!(engine.stats().unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(
        engine.load("BankAccount", "acc", None).unwrap_err().kind(),
        ErrorKind::Closed
    );
    assert_eq!(block_on(engine.catch_up()).unwrap_err().kind(), ErrorKind::Closed);
    block_on(engine.close()).expect("closing twice is harmless");
}

#[test]
fn catch_up_applies_what_another_writer_appended() {
    let shared = MemoryStorage::new();
    let a = open(shared.clone());
    let b = open(shared.clone());
    let rec = Rc::new(Recorder {
        seen: RefCell::new(vec![]),
    });
    b.subscribe(rec.clone(), EventFilter::default(), None).unwrap();
    exec(
        &a,
        "BankAccount",
        "x",
        json!({"type": "create_account", "accountHolder": "A", "initialDeposit": 7}),
    )
    .unwrap();
    assert_eq!(b.stream_version("x").unwrap(), 0);
    assert_eq!(block_on(b.catch_up()).unwrap(), 2);
    assert_eq!(b.stream_version("x").unwrap(), 2);
    assert_eq!(projection(&b, "account_balance")["x"]["balance"], json!(7));
    assert_eq!(*rec.seen.borrow(), [1, 2]);
    assert_eq!(block_on(b.catch_up()).unwrap(), 0);
}

#[test]
fn storage_read_failures_at_open_are_storage_errors() {
    let storage = TestStorage::new();
    storage.fail_reads.set(1);
    let err = block_on(Engine::open(storage, config(clock()))).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Storage);
}

#[test]
fn projection_at_needs_a_position_or_timestamp() {
    let engine = open(MemoryStorage::new());
    assert_eq!(
        engine
            .projection("account_balance", Some(At::Version(1)))
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );
    assert_eq!(
        engine.projection("account_balance", Some(At::Position(99))).unwrap(),
        "{}"
    );
}

#[test]
fn load_returns_none_for_missing_streams_and_points_before_them() {
    let c = clock();
    let engine = block_on(Engine::open(MemoryStorage::new(), config(c.clone()))).unwrap();
    assert!(engine.load("BankAccount", "a", None).unwrap().is_none());
    c.set(5000.0);
    exec(
        &engine,
        "BankAccount",
        "a",
        json!({"type": "create_account", "accountHolder": "A"}),
    )
    .unwrap();
    assert!(engine.load("BankAccount", "a", Some(At::Version(0))).unwrap().is_none());
    assert!(engine
        .load("BankAccount", "a", Some(At::Timestamp(4999)))
        .unwrap()
        .is_none());
    assert!(engine
        .load("BankAccount", "a", Some(At::Position(0)))
        .unwrap()
        .is_none());
    assert_eq!(
        engine
            .load("BankAccount", "a", Some(At::Version(99)))
            .unwrap()
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        engine
            .load("BankAccount", "a", Some(At::Timestamp(5000)))
            .unwrap()
            .unwrap()
            .version,
        1
    );
}

#[test]
fn a_refusal_that_cannot_be_confirmed_against_the_storage_is_a_storage_error() {
    let shared = MemoryStorage::new();
    let a_storage = TestStorage::sharing(&shared);
    let a = open(a_storage.clone());
    let b = open(shared.clone());
    exec(
        &b,
        "BankAccount",
        "x",
        json!({"type": "create_account", "accountHolder": "B"}),
    )
    .unwrap();
    // A has not seen x; its confirming read fails: no stale "Account does not exist".
    a_storage.fail_reads.set(1);
    let err = exec(&a, "BankAccount", "x", json!({"type": "deposit", "amount": 5})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    // Bad input needs no confirmation.
    a_storage.fail_reads.set(1);
    let err = exec(&a, "BankAccount", "x", json!({"type": "deposit", "amount": 0})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    // With the storage back, the command is decided on the true state.
    a_storage.fail_reads.set(0);
    exec(&a, "BankAccount", "x", json!({"type": "deposit", "amount": 5})).unwrap();
    assert_eq!(state(&a, "BankAccount", "x").unwrap()["balance"], json!(5));
}
