//! The sync client's core: optimistic execute and its outbox, reads of confirmed plus
//! pending, pushing and the classification of answers, the replica (verify, persist, commit,
//! forks), rebase, reloads, `settled`, and the follower seam — against a model server that
//! is a real engine (tests/sync_model).

#![cfg(not(target_arch = "wasm32"))]

mod sync_model;

use std::rc::Rc;

use eventjournal::error::{Error, ErrorKind};
use eventjournal::log::{Direction, ReadAllOptions, ReadStreamOptions};
use eventjournal::sync::Failure;
use eventjournal::ExecuteRequest;
use serde_json::{json, Value};
use sync_model::*;

fn open_account(c: &Client, id: &str, amount: u64) -> eventjournal::sync::SyncResult {
    c.execute(
        "BankAccount",
        id,
        json!({"type": "create_account", "accountHolder": "Ada", "initialDeposit": amount}),
        None,
    )
    .unwrap()
}

fn balance(c: &Client, id: &str, confirmed: bool) -> Option<u64> {
    let loaded = if confirmed {
        c.engine.load("BankAccount", id, None).unwrap()
    } else {
        c.sync.load(&c.engine, "BankAccount", id).unwrap()
    };
    loaded.map(|l| {
        serde_json::from_str::<Value>(&l.state).unwrap()["balance"]
            .as_u64()
            .unwrap()
    })
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn execute_resolves_pending_with_a_generated_command_id_and_persists_the_outbox() {
    let c = Client::new();
    let r = open_account(&c, "a1", 100);
    assert!(r.pending);
    assert_eq!(r.position, None);
    assert_eq!(r.version, 2);
    assert_eq!(r.events.len(), 2);
    assert_eq!(uuid_version(&r.command_id), Some(7));
    assert_eq!(r.events[0].command_id().as_deref(), Some(r.command_id.as_str()));
    assert_eq!(c.storage.inner.outbox_len(), 1);
    assert_eq!(
        c.engine.stats().unwrap().total_events,
        0,
        "the log holds only the server's events"
    );
    let status = c.sync.status(&c.engine).unwrap();
    assert_eq!(
        (status.pending, status.confirmed_position, status.online),
        (1, 0, false)
    );

    // Reads: pending by default, the server's alone on request.
    assert_eq!(balance(&c, "a1", false), Some(100));
    assert_eq!(balance(&c, "a1", true), None);
    assert_eq!(c.sync.stream_version(&c.engine, "a1").unwrap(), 2);
    assert_eq!(c.engine.stream_version("a1").unwrap(), 0);
    let all = parse(
        &c.sync
            .read_all_json(&c.engine, &ReadAllOptions::default(), false)
            .unwrap(),
    );
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["position"], Value::Null);
    assert_eq!(all[0]["hash"], Value::Null);
    assert_eq!(all[0]["pending"], json!(true));
    let balances = parse(&c.sync.projection(&c.engine, "account_balance").unwrap());
    assert_eq!(balances["a1"]["balance"], json!(100));
    assert_eq!(parse(&c.engine.projection("account_balance", None).unwrap()), json!({}));
    let rows = parse(
        &c.sync
            .query(&c.engine, "account_balance", &serde_json::Map::new())
            .unwrap(),
    );
    assert_eq!(rows.as_array().unwrap().len(), 1);
}

fn uuid_version(id: &str) -> Option<usize> {
    id.chars().nth(14).and_then(|c| c.to_digit(16)).map(|d| d as usize)
}

#[test]
fn a_refusal_on_the_optimistic_state_rejects_at_once_and_queues_nothing() {
    let c = Client::new();
    open_account(&c, "a1", 100);
    let err = c
        .execute("BankAccount", "a1", json!({"type": "withdraw", "amount": 500}), None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Domain);
    let err = c
        .execute("BankAccount", "a1", json!({"type": "deposit", "amount": 0}), None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    // Decided on confirmed + pending: the pending deposit makes this withdrawal possible.
    c.execute("BankAccount", "a1", json!({"type": "deposit", "amount": 900}), None)
        .unwrap();
    c.execute("BankAccount", "a1", json!({"type": "withdraw", "amount": 1000}), None)
        .unwrap();
    assert_eq!(balance(&c, "a1", false), Some(0));
    assert_eq!(c.storage.inner.outbox_len(), 3);
    let err = c.execute("Nope", "x", json!({"type": "go"}), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn a_repeated_command_id_answers_its_first_result_pending_or_confirmed() {
    let server = Server::new();
    let c = Client::new();
    let first = c
        .execute(
            "BankAccount",
            "a1",
            json!({"type": "create_account", "accountHolder": "Ada"}),
            Some("c1"),
        )
        .unwrap();
    let again = c
        .execute("BankAccount", "a1", json!({"type": "deposit", "amount": 5}), Some("c1"))
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(c.storage.inner.outbox_len(), 1);
    c.drain(&server);
    let confirmed = c
        .execute("BankAccount", "a1", json!({"type": "deposit", "amount": 5}), Some("c1"))
        .unwrap();
    assert!(!confirmed.pending);
    assert_eq!(confirmed.position, Some(1));
    assert_eq!(
        confirmed.events[0].hash,
        server.engine.read_all(&Default::default()).unwrap()[0].hash
    );
}

#[test]
fn push_then_deliver_confirms_settles_and_empties_the_outbox() {
    let server = Server::new();
    let c = Client::new();
    let r = open_account(&c, "a1", 100);
    let dep = c
        .execute("BankAccount", "a1", json!({"type": "deposit", "amount": 50}), None)
        .unwrap();
    let settled = c.sync.settled(&c.engine, &dep.command_id).wait();
    let mut settled = Box::pin(settled);
    assert!(
        now(settled.as_mut()).is_none(),
        "pending until the server's events arrive"
    );

    assert_eq!(c.push(&server, 100, false), 2);
    assert_eq!(
        c.sync.next_batch(100).unwrap().len(),
        0,
        "accepted commands wait for their events"
    );
    assert_eq!(c.sync.status(&c.engine).unwrap().pending, 2);
    assert_eq!(c.pull(&server, 1).unwrap(), 1, "a partial delivery");
    assert_eq!(c.pull(&server, 100).unwrap(), 2);
    let result = now(settled.as_mut()).expect("settled").unwrap();
    assert_eq!((result.version, result.position), (3, 3));
    assert_eq!(c.storage.inner.outbox_len(), 0);
    assert_eq!(c.sync.status(&c.engine).unwrap().pending, 0);
    assert_eq!(c.head_hash(), server.head_hash());
    assert_eq!(balance(&c, "a1", false), balance(&c, "a1", true));
    assert_eq!(balance(&c, "a1", true), Some(150));
    let first = block_on(c.sync.settled(&c.engine, &r.command_id).wait()).unwrap();
    assert_eq!(first.position, 2);
    assert_eq!(
        c.sync.projection(&c.engine, "account_balance").unwrap(),
        c.engine.projection("account_balance", None).unwrap()
    );
}

#[test]
fn a_double_spend_decided_offline_on_two_clients_is_accepted_once_and_refused_once() {
    let server = Server::new();
    let a = Client::new();
    let b = Client::new();
    open_account(&a, "acc", 100);
    a.drain(&server);
    b.drain(&server);
    let wa = a
        .execute(
            "BankAccount",
            "acc",
            json!({"type": "withdraw", "amount": 80}),
            Some("wa"),
        )
        .unwrap();
    let wb = b
        .execute(
            "BankAccount",
            "acc",
            json!({"type": "withdraw", "amount": 80}),
            Some("wb"),
        )
        .unwrap();
    assert!(wa.pending && wb.pending);
    let mut b_settled = Box::pin(b.sync.settled(&b.engine, "wb").wait());
    a.drain(&server);
    assert_eq!(
        balance(&b, "acc", false),
        Some(20),
        "b still sees its own optimistic withdrawal"
    );
    b.drain(&server);
    assert_eq!(*b.rejected.borrow(), vec![("wb".to_owned(), ErrorKind::Domain)]);
    let err = now(b_settled.as_mut()).unwrap().unwrap_err();
    assert_eq!(err.message(), "Insufficient funds");
    assert_eq!(balance(&b, "acc", false), Some(20), "its optimistic events are gone");
    assert_eq!(b.head_hash(), server.head_hash());
    assert_eq!(
        block_on(b.sync.settled(&b.engine, "wb").wait()).unwrap_err().kind(),
        ErrorKind::Domain
    );
    assert_eq!(
        b.execute(
            "BankAccount",
            "acc",
            json!({"type": "deposit", "amount": 1}),
            Some("wb")
        )
        .unwrap_err()
        .kind(),
        ErrorKind::Domain
    );
    assert!(a.rejected.borrow().is_empty());
    assert_eq!(server.command_ids().iter().filter(|c| *c == "wa").count(), 1);
    assert!(!server.command_ids().contains(&"wb".to_owned()));
}

#[test]
fn a_pending_command_that_can_no_longer_be_decided_stays_pending_until_the_server_answers() {
    let server = Server::new();
    let a = Client::new();
    let b = Client::new();
    open_account(&a, "acc", 100);
    a.drain(&server);
    b.drain(&server);
    b.execute(
        "BankAccount",
        "acc",
        json!({"type": "withdraw", "amount": 80}),
        Some("wb"),
    )
    .unwrap();
    b.execute(
        "BankAccount",
        "acc",
        json!({"type": "deposit", "amount": 7}),
        Some("db"),
    )
    .unwrap();
    a.execute(
        "BankAccount",
        "acc",
        json!({"type": "withdraw", "amount": 90}),
        Some("wa"),
    )
    .unwrap();
    a.drain(&server);
    b.pull(&server, 100).unwrap(); // rebase on a's withdrawal: b's withdrawal is undecidable now
    let status = b.sync.status(&b.engine).unwrap();
    assert_eq!(status.pending, 2);
    assert_eq!(
        balance(&b, "acc", false),
        Some(17),
        "the deposit still applies, the withdrawal does not"
    );
    let all = parse(
        &b.sync
            .read_stream_json(&b.engine, "acc", &ReadStreamOptions::default(), false)
            .unwrap(),
    );
    let kinds: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "account_created",
            "money_deposited",
            "money_withdrawn",
            "money_deposited"
        ]
    );
    assert_eq!(all[3]["pending"], json!(true));
    assert_eq!(all[3]["version"], json!(4));
    b.drain(&server);
    assert_eq!(*b.rejected.borrow(), vec![("wb".to_owned(), ErrorKind::Domain)]);
    assert_eq!(balance(&b, "acc", true), Some(17));
}

#[test]
fn reads_interleave_pending_after_confirmed_with_limits_and_directions() {
    let server = Server::new();
    let c = Client::new();
    open_account(&c, "acc", 100);
    c.drain(&server);
    c.execute("BankAccount", "acc", json!({"type": "deposit", "amount": 1}), None)
        .unwrap();
    c.execute("BankAccount", "acc", json!({"type": "deposit", "amount": 2}), None)
        .unwrap();
    let read = |opts: ReadStreamOptions| -> Vec<u64> {
        parse(&c.sync.read_stream_json(&c.engine, "acc", &opts, false).unwrap())
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["version"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(read(ReadStreamOptions::default()), [1, 2, 3, 4]);
    assert_eq!(
        read(ReadStreamOptions {
            from_version: Some(2),
            ..Default::default()
        }),
        [3, 4]
    );
    assert_eq!(
        read(ReadStreamOptions {
            limit: Some(3),
            ..Default::default()
        }),
        [1, 2, 3]
    );
    let back = |from: Option<u64>, limit: Option<usize>| {
        read(ReadStreamOptions {
            direction: Direction::Backward,
            from_version: from,
            limit,
        })
    };
    assert_eq!(back(None, None), [4, 3, 2, 1]);
    assert_eq!(back(None, Some(1)), [4]);
    assert_eq!(back(None, Some(3)), [4, 3, 2]);
    assert_eq!(back(Some(4), Some(2)), [3, 2]);
    assert_eq!(back(Some(3), None), [2, 1]);
    let all = |opts: ReadAllOptions| -> Vec<Value> {
        parse(&c.sync.read_all_json(&c.engine, &opts, false).unwrap())
            .as_array()
            .unwrap()
            .clone()
    };
    assert_eq!(all(ReadAllOptions::default()).len(), 4);
    assert_eq!(
        all(ReadAllOptions {
            limit: Some(3),
            ..Default::default()
        })
        .len(),
        3
    );
    let filtered = all(ReadAllOptions {
        filter: eventjournal::filter::EventFilter {
            types: vec!["account_created".into()],
            ..Default::default()
        },
        ..Default::default()
    });
    assert_eq!(filtered.len(), 1);
}

#[test]
fn the_outbox_survives_a_reload_and_confirmed_entries_are_dropped_at_open() {
    let server = Server::new();
    let c = Client::new();
    open_account(&c, "a1", 100);
    c.execute("BankAccount", "a1", json!({"type": "deposit", "amount": 5}), Some("d1"))
        .unwrap();
    let c = c.reload();
    assert_eq!(c.sync.status(&c.engine).unwrap().pending, 2);
    assert_eq!(balance(&c, "a1", false), Some(105));
    c.push(&server, 100, false);
    // A crash between replicating and deleting: the events are in the log, the entries
    // still in the outbox. Simulated by failing the delete.
    c.storage.fail_outbox_deletes.set(1);
    c.pull(&server, 100).unwrap();
    assert_eq!(c.storage.inner.outbox_len(), 2);
    assert_eq!(
        c.sync.status(&c.engine).unwrap().pending,
        0,
        "confirmed, only not yet deleted"
    );
    assert!(c.sync.next_batch(100).unwrap().is_empty());
    let c = c.reload();
    assert_eq!(c.storage.inner.outbox_len(), 0);
    assert_eq!(block_on(c.sync.settled(&c.engine, "d1").wait()).unwrap().position, 3);
    assert_eq!(c.head_hash(), server.head_hash());
}

#[test]
fn a_failed_outbox_write_rejects_and_leaves_nothing_behind() {
    let c = Client::new();
    open_account(&c, "a1", 100);
    c.storage.fail_outbox_writes.set(1);
    let err = c
        .execute("BankAccount", "a1", json!({"type": "deposit", "amount": 5}), Some("d1"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert_eq!(balance(&c, "a1", false), Some(100));
    assert_eq!(c.sync.status(&c.engine).unwrap().pending, 1);
    assert_eq!(
        block_on(c.sync.settled(&c.engine, "d1").wait()).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    c.execute("BankAccount", "a1", json!({"type": "deposit", "amount": 5}), Some("d1"))
        .unwrap();
    assert_eq!(balance(&c, "a1", false), Some(105));
}

#[test]
fn only_persisted_entries_are_pushed() {
    let server = Server::new();
    let c = Client::new();
    let mut req = ExecuteRequest::new(
        "BankAccount",
        "a1",
        eventjournal::decider::Command::from_value(json!({"type": "create_account", "accountHolder": "A"})).unwrap(),
    );
    req.command_id = Some("c1".into());
    let mut writing = Box::pin(c.sync.execute(&c.engine, req));
    // Decided at the call, not yet written (the future has not run).
    assert_eq!(c.sync.status(&c.engine).unwrap().pending, 1);
    assert!(c.sync.next_batch(10).unwrap().is_empty());
    assert!(now(writing.as_mut()).unwrap().is_ok());
    assert_eq!(c.push(&server, 10, false), 1);
}

#[test]
fn settled_for_an_unknown_id_is_not_found_and_waiters_get_closed_on_close() {
    let c = Client::new();
    let err = block_on(c.sync.settled(&c.engine, "never").wait()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("never"));
    let r = open_account(&c, "a1", 1);
    let mut waiting = Box::pin(c.sync.settled(&c.engine, &r.command_id).wait());
    assert!(now(waiting.as_mut()).is_none());
    c.sync.close();
    assert_eq!(now(waiting.as_mut()).unwrap().unwrap_err().kind(), ErrorKind::Closed);
}

#[test]
fn a_server_with_another_history_is_a_fork_and_local_data_is_kept() {
    let server = Server::new();
    let c = Client::new();
    open_account(&c, "a1", 100);
    c.drain(&server);
    let before = c.head_hash();
    let pending = c
        .execute("BankAccount", "a1", json!({"type": "deposit", "amount": 2}), None)
        .unwrap();
    let mut waiting = Box::pin(c.sync.settled(&c.engine, &pending.command_id).wait());
    assert!(now(waiting.as_mut()).is_none());

    // Another server (another history of the same length and longer).
    let other = Server::new();
    let o = Client::new();
    open_account(&o, "zz", 5);
    o.execute("BankAccount", "zz", json!({"type": "deposit", "amount": 1}), None)
        .unwrap();
    o.drain(&other);

    let err = c.pull(&other, 100).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity);
    let status = c.sync.status(&c.engine).unwrap();
    assert!(matches!(status.last_error, Some(Failure::Engine(Error::Integrity(_)))));
    assert!(c.sync.is_stopped());
    assert_eq!(c.head_hash(), before, "local data untouched");
    assert_eq!(c.storage.inner.len(), 2);
    // Whoever waits on settled hears of the fork (the answer cannot come), then and later.
    assert_eq!(now(waiting.as_mut()).unwrap().unwrap_err().kind(), ErrorKind::Integrity);
    let later = block_on(c.sync.settled(&c.engine, &pending.command_id).wait());
    assert_eq!(later.unwrap_err().kind(), ErrorKind::Integrity);
    // Sync stays stopped: nothing is pushed, nothing received.
    c.execute("BankAccount", "a1", json!({"type": "deposit", "amount": 1}), None)
        .unwrap();
    assert!(c.sync.next_batch(10).unwrap().is_empty());
    assert_eq!(
        block_on(c.sync.receive(&c.engine, Vec::new())).unwrap_err().kind(),
        ErrorKind::Integrity
    );
}

#[test]
fn a_server_that_lost_history_or_sends_a_different_event_is_a_fork() {
    let server = Server::new();
    let c = Client::new();
    open_account(&c, "a1", 100);
    c.drain(&server);
    // afterHash null: the server's log ends before the client's head.
    let empty = Server::new();
    let err = c.pull(&empty, 10).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity);
    assert!(err.message().contains("ends before"));

    let c2 = Client::new();
    c2.pull(&server, 10).unwrap();
    // A duplicate delivery of a position the client has, with another content.
    let mut events = server.events(0, 10).0;
    events[1].hash = "0".repeat(64);
    let err = block_on(c2.sync.receive(&c2.engine, events)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity);
    assert!(c2.sync.is_stopped());

    // A batch that does not continue the chain is refused before anything is written.
    let c3 = Client::new();
    let mut events = server.events(0, 10).0;
    events[1].data = eventjournal::canonical::CanonicalJson::parse("{\"amount\":1}", "data").unwrap();
    let err = block_on(c3.sync.receive(&c3.engine, events)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity);
    assert_eq!(c3.storage.inner.len(), 0);
    assert_eq!(c3.engine.head_position(), 0);
}

#[test]
fn duplicate_and_gapped_deliveries_are_harmless() {
    let server = Server::new();
    let writer = Client::new();
    open_account(&writer, "a1", 100);
    writer
        .execute("BankAccount", "a1", json!({"type": "deposit", "amount": 1}), None)
        .unwrap();
    writer.drain(&server);
    let c = Client::new();
    let events = server.events(0, 10).0;
    let r = block_on(c.sync.receive(&c.engine, events[2..].to_vec())).unwrap();
    assert!(r.gap);
    assert_eq!(r.applied, 0);
    assert_eq!(
        block_on(c.sync.receive(&c.engine, events[..2].to_vec()))
            .unwrap()
            .applied,
        2
    );
    assert_eq!(block_on(c.sync.receive(&c.engine, events.clone())).unwrap().applied, 1);
    assert_eq!(block_on(c.sync.receive(&c.engine, events)).unwrap().applied, 0);
    assert_eq!(c.head_hash(), server.head_hash());
    assert!(!c.sync.is_stopped());
}

#[test]
fn a_failed_replica_write_commits_nothing_and_is_retried() {
    let server = Server::new();
    let writer = Client::new();
    open_account(&writer, "a1", 100);
    writer.drain(&server);
    let c = Client::new();
    c.storage.fail_appends.set(1);
    let err = c.pull(&server, 10).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert_eq!(c.engine.head_position(), 0);
    assert!(matches!(
        c.sync.status(&c.engine).unwrap().last_error,
        Some(Failure::Engine(Error::Storage(_)))
    ));
    assert!(!c.sync.is_stopped());
    assert_eq!(c.pull(&server, 10).unwrap(), 2);
    assert_eq!(c.sync.status(&c.engine).unwrap().last_error, None);
}

#[test]
fn another_engine_on_the_same_storage_wrote_the_batch_first() {
    let server = Server::new();
    let writer = Client::new();
    open_account(&writer, "a1", 100);
    writer.drain(&server);
    let events = server.events(0, 10).0;
    let storage = ClientStorage::default();
    let c = Client::open(storage.clone(), Rc::default());
    // Another tab on this storage replicated the same events first.
    block_on(eventjournal::storage::Storage::append_events(
        &storage.inner,
        &events,
        0,
    ))
    .unwrap();
    assert_eq!(block_on(c.sync.receive(&c.engine, events)).unwrap().applied, 0);
    assert_eq!(c.head_hash(), server.head_hash());

    // ... or other events (another server's): a fork.
    let other = Server::new();
    let o = Client::new();
    open_account(&o, "zz", 1);
    o.drain(&other);
    let storage = ClientStorage::default();
    let c = Client::open(storage.clone(), Rc::default());
    block_on(eventjournal::storage::Storage::append_events(
        &storage.inner,
        &other.events(0, 10).0,
        0,
    ))
    .unwrap();
    let err = block_on(c.sync.receive(&c.engine, server.events(0, 10).0)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity);
}

#[test]
fn unknown_outcomes_are_pushed_again_with_the_same_command_id() {
    let server = Server::new();
    let c = Client::new();
    open_account(&c, "a1", 100);
    // The answer is lost: the server has it, the client does not know.
    assert_eq!(c.push(&server, 10, true), 1);
    assert_eq!(c.sync.next_batch(10).unwrap().len(), 1);
    assert_eq!(c.push(&server, 10, false), 1);
    assert_eq!(
        server.command_ids().len(),
        2,
        "appended once (two events of one command)"
    );
    let results = eventjournal::sync::parse_results(&json!({"results": [
        {"commandId": c.sync.next_batch(10).unwrap().first().map_or("x".to_owned(), |e| e.command_id().to_owned()), "ok": false,
         "error": {"code": "STORAGE", "message": "disk"}}
    ]}))
    .unwrap();
    let effects = block_on(c.sync.apply_results(&c.engine, results)).unwrap();
    assert!(effects.rejected.is_empty());
    c.drain(&server);
    assert_eq!(c.head_hash(), server.head_hash());
}

#[test]
fn a_refusal_whose_delete_fails_is_reported_once_later() {
    let server = Server::new();
    let a = Client::new();
    open_account(&a, "acc", 10);
    a.drain(&server);
    a.execute(
        "BankAccount",
        "acc",
        json!({"type": "withdraw", "amount": 10}),
        Some("w1"),
    )
    .unwrap();
    // Another client empties the account first.
    let b = Client::new();
    b.drain(&server);
    b.execute(
        "BankAccount",
        "acc",
        json!({"type": "withdraw", "amount": 10}),
        Some("w2"),
    )
    .unwrap();
    b.drain(&server);
    a.storage.fail_outbox_deletes.set(1);
    a.push(&server, 10, false);
    assert!(
        a.rejected.borrow().is_empty(),
        "not reported while it is still in the storage"
    );
    assert!(matches!(
        a.sync.status(&a.engine).unwrap().last_error,
        Some(Failure::Engine(Error::Storage(_)))
    ));
    assert!(a.sync.next_batch(10).unwrap().is_empty());
    let effects = block_on(a.sync.apply_results(&a.engine, Vec::new())).unwrap();
    assert_eq!(effects.rejected.len(), 1);
    a.drain(&server);
    assert_eq!(a.storage.inner.outbox_len(), 0);
}

#[test]
fn forbidden_and_not_found_refusals_are_final() {
    let c = Client::new();
    open_account(&c, "a1", 1);
    let id = c.sync.next_batch(1).unwrap()[0].command_id().to_owned();
    let results = eventjournal::sync::parse_results(&json!({"results": [
        {"commandId": id, "ok": false, "error": {"name": "ForbiddenError", "code": "FORBIDDEN", "message": "not yours"}}
    ]}))
    .unwrap();
    let effects = block_on(c.sync.apply_results(&c.engine, results)).unwrap();
    assert_eq!(effects.rejected.len(), 1);
    assert_eq!(effects.rejected[0].error.kind(), ErrorKind::Forbidden);
    assert_eq!(effects.rejected[0].request.stream_id, "a1");
    assert_eq!(
        block_on(c.sync.settled(&c.engine, &id).wait()).unwrap_err().message(),
        "not yours"
    );
    assert_eq!(balance(&c, "a1", false), None);
}

#[test]
fn a_storage_without_an_outbox_cannot_sync() {
    let storage = ClientStorage {
        no_outbox: true,
        ..Default::default()
    };
    let err = Client::try_open(storage, Rc::default()).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.message().contains("readOutbox"));
}

#[test]
fn the_follower_seam_reads_the_outbox_and_reports_refusals_left_for_it() {
    let server = Server::new();
    let storage = ClientStorage::default();
    let leader = Client::open(storage.clone(), Rc::default());
    let follower = Client::open(storage.clone(), Rc::default());
    leader.sync.set_live_issuers([follower.sync.issuer().to_owned()]);
    // The follower issues commands into the shared outbox; the leader picks them up.
    follower
        .execute(
            "BankAccount",
            "a1",
            json!({"type": "create_account", "accountHolder": "F"}),
            Some("f1"),
        )
        .unwrap();
    follower
        .execute(
            "BankAccount",
            "a1",
            json!({"type": "withdraw", "amount": 5}),
            Some("f2"),
        )
        .unwrap_err();
    block_on(leader.sync.refresh(&leader.engine)).unwrap();
    assert_eq!(leader.sync.next_batch(10).unwrap().len(), 1);
    leader.drain(&server);
    // The follower follows the storage: the log moved, its entry is gone.
    let mut settled = Box::pin(follower.sync.settled(&follower.engine, "f1").wait());
    block_on(follower.sync.refresh(&follower.engine)).unwrap();
    assert_eq!(now(settled.as_mut()).unwrap().unwrap().position, 1);
    assert_eq!(follower.head_hash(), server.head_hash());

    // A refusal of the follower's command is left in the outbox for it.
    let other = Client::new();
    other.drain(&server);
    follower
        .execute("BankAccount", "a1", json!({"type": "close_account"}), Some("f3"))
        .unwrap();
    other
        .execute("BankAccount", "a1", json!({"type": "close_account"}), Some("o1"))
        .unwrap();
    other.drain(&server);
    block_on(leader.sync.refresh(&leader.engine)).unwrap();
    leader.push(&server, 10, false);
    assert!(leader.rejected.borrow().is_empty());
    assert_eq!(storage.inner.outbox_len(), 1);
    let effects = block_on(follower.sync.refresh(&follower.engine)).unwrap();
    assert_eq!(effects.rejected.len(), 1);
    assert_eq!(effects.rejected[0].error.kind(), ErrorKind::Domain);
    assert_eq!(storage.inner.outbox_len(), 0);
}

#[test]
fn an_outcome_left_for_an_issuer_that_is_gone_is_adopted_by_the_next_engine_to_open() {
    let server = Server::new();
    let storage = ClientStorage::default();
    let setup = Client::new();
    open_account(&setup, "a1", 1);
    setup.drain(&server);
    let leader = Client::open(storage.clone(), Rc::default());
    leader.pull(&server, 10).unwrap();
    let follower = Client::open(storage.clone(), Rc::default());
    leader.sync.set_live_issuers([follower.sync.issuer().to_owned()]);
    follower
        .execute("BankAccount", "a1", json!({"type": "close_account"}), Some("f1"))
        .unwrap();
    setup
        .execute("BankAccount", "a1", json!({"type": "close_account"}), Some("s1"))
        .unwrap();
    setup.drain(&server);
    block_on(leader.sync.refresh(&leader.engine)).unwrap();
    leader.push(&server, 10, false);
    assert_eq!(storage.inner.outbox_len(), 1, "left for the follower");
    drop(follower); // the follower's tab closed before it looked
    let rejected = Rc::default();
    let next = Client::open(storage.clone(), Rc::clone(&rejected));
    assert_eq!(*rejected.borrow(), vec![("f1".to_owned(), ErrorKind::Domain)]);
    assert_eq!(storage.inner.outbox_len(), 0);
    assert_eq!(
        block_on(next.sync.settled(&next.engine, "f1").wait())
            .unwrap_err()
            .kind(),
        ErrorKind::Domain
    );
}
