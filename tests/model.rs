//! Property tests of the log and the engine against a plain reference model: a Vec of
//! events, a version per stream, and the command ids seen. Random sequences of commands
//! (with random expected versions and repeated command ids), bursts (group commit), appends
//! by another writer (conflicts), failing appends, reopens and reads. The engine and the
//! model must never diverge; positions and versions stay gapless and the chain verifies.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::HashMap;
use std::rc::Rc;

use common::*;
use eventjournal::error::{Error, ErrorKind};
use eventjournal::event::ExpectedVersion;
use eventjournal::log::{Direction, ReadAllOptions, ReadStreamOptions};
use eventjournal::storage::MemoryStorage;
use eventjournal::{Engine, ExecuteRequest, ExecuteResult};
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
struct Cmd {
    stream: u8,
    n: u8,
    refuse: bool,
    expected: ExpectedVersion,
    cid: Option<u8>,
}

#[derive(Debug, Clone)]
enum Action {
    Exec(Cmd),
    Burst(Vec<Cmd>),
    External {
        stream: u8,
        n: u8,
    },
    FailNext,
    Reopen,
    ReadStream {
        stream: u8,
        from: Option<u8>,
        backward: bool,
        limit: Option<u8>,
    },
    ReadAll {
        from: u8,
        limit: Option<u8>,
    },
}

fn expected() -> impl Strategy<Value = ExpectedVersion> {
    prop_oneof![
        3 => Just(ExpectedVersion::Any),
        1 => Just(ExpectedVersion::NoStream),
        1 => Just(ExpectedVersion::Exists),
        2 => (0u64..6).prop_map(ExpectedVersion::Exact),
    ]
}

fn cmd() -> impl Strategy<Value = Cmd> {
    (
        0u8..4,
        0u8..4,
        prop::bool::weighted(0.15),
        expected(),
        prop::option::weighted(0.4, 0u8..6),
    )
        .prop_map(|(stream, n, refuse, expected, cid)| Cmd {
            stream,
            n,
            refuse,
            expected,
            cid,
        })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => cmd().prop_map(Action::Exec),
        3 => prop::collection::vec(cmd(), 1..6).prop_map(Action::Burst),
        2 => (0u8..4, 1u8..3).prop_map(|(stream, n)| Action::External { stream, n }),
        2 => Just(Action::FailNext),
        1 => Just(Action::Reopen),
        2 => (0u8..4, prop::option::of(0u8..6), any::<bool>(), prop::option::of(1u8..4))
            .prop_map(|(stream, from, backward, limit)| Action::ReadStream { stream, from, backward, limit }),
        1 => (0u8..12, prop::option::of(1u8..5)).prop_map(|(from, limit)| Action::ReadAll { from, limit }),
    ]
}

/// What the model predicts for one command.
#[derive(Debug, Clone, PartialEq)]
enum Predicted {
    Ok { version: u64, position: u64, events: usize },
    Err(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Decision {
    Events(u64),
    NoEvents,
    Rejected(&'static str),
    Done,
    SameAs(usize),
}

#[derive(Default, Clone)]
struct Model {
    /// (stream, i) of every stored event.
    events: Vec<(String, u64)>,
    /// How many of them the engine under test has applied.
    known: usize,
    needs_resync: bool,
    fail_pending: bool,
    /// commandId → (version, position, events) of the first result.
    cids: HashMap<String, (u64, u64, usize)>,
}

fn stream_name(s: u8) -> String {
    format!("s{s}")
}

impl Model {
    fn version_in(&self, stream: &str, upto: usize, pending: &[(String, u64)]) -> u64 {
        (self.events[..upto]
            .iter()
            .chain(pending)
            .filter(|(s, _)| s == stream)
            .count()) as u64
    }

    fn decide(&self, c: &Cmd, pending: &[(String, u64)], batch_cids: &HashMap<String, usize>) -> Decision {
        if let Some(cid) = c.cid {
            let key = format!("c{cid}");
            if self.cids.contains_key(&key) {
                return Decision::Done;
            }
            if let Some(&i) = batch_cids.get(&key) {
                return Decision::SameAs(i);
            }
        }
        let version = self.version_in(&stream_name(c.stream), self.known, pending);
        if !c.expected.matches(version) {
            return Decision::Rejected("CONCURRENCY");
        }
        if c.refuse {
            return Decision::Rejected("DOMAIN");
        }
        if c.n == 0 {
            return Decision::NoEvents;
        }
        Decision::Events(c.n as u64)
    }

    /// Runs one batch the way the engine does; returns predictions in command order.
    fn run_batch(&mut self, cmds: &[Cmd]) -> Vec<Predicted> {
        if self.needs_resync {
            self.known = self.events.len();
            self.needs_resync = false;
        }
        loop {
            let mut pending: Vec<(String, u64)> = Vec::new();
            let mut decisions = Vec::new();
            let mut batch_cids = HashMap::new();
            for (k, c) in cmds.iter().enumerate() {
                let d = self.decide(c, &pending, &batch_cids);
                if let Decision::Events(n) = d {
                    for i in 0..n {
                        pending.push((stream_name(c.stream), i));
                    }
                    if let Some(cid) = c.cid {
                        batch_cids.insert(format!("c{cid}"), k);
                    }
                }
                decisions.push(d);
            }
            let stale = self.known < self.events.len();
            if pending.is_empty() {
                if stale
                    && decisions
                        .iter()
                        .any(|d| matches!(d, Decision::NoEvents | Decision::Rejected(_)))
                {
                    self.known = self.events.len();
                    continue;
                }
                return cmds
                    .iter()
                    .zip(&decisions)
                    .map(|(c, d)| self.settle_without_append(c, *d))
                    .collect();
            }
            if self.fail_pending {
                self.fail_pending = false;
                self.needs_resync = true;
                let mut out: Vec<Option<Predicted>> = vec![None; cmds.len()];
                let mut again = Vec::new();
                for (k, d) in decisions.iter().enumerate() {
                    match d {
                        Decision::Events(_) => out[k] = Some(Predicted::Err("STORAGE")),
                        Decision::SameAs(i) if matches!(decisions[*i], Decision::Events(_)) => {
                            out[k] = Some(Predicted::Err("STORAGE"))
                        }
                        Decision::Done => out[k] = Some(self.done(&cmds[k])),
                        _ => again.push(k),
                    }
                }
                let again_cmds: Vec<Cmd> = again.iter().map(|&k| cmds[k].clone()).collect();
                let redone = if again_cmds.is_empty() {
                    vec![]
                } else {
                    self.run_batch(&again_cmds)
                };
                for (k, p) in again.into_iter().zip(redone) {
                    out[k] = Some(p);
                }
                return out.into_iter().map(|p| p.expect("every command settled")).collect();
            }
            if stale {
                // Conflict: catch up and decide again.
                self.known = self.events.len();
                continue;
            }
            // Commit.
            let base = self.events.len() as u64;
            let mut out = Vec::new();
            let mut offset = 0u64;
            let mut results: Vec<Option<Predicted>> = Vec::new();
            for (k, (c, d)) in cmds.iter().zip(&decisions).enumerate() {
                let p = match d {
                    Decision::Events(n) => {
                        offset += n;
                        let version =
                            self.version_in(&stream_name(c.stream), self.events.len(), &pending[..offset as usize]);
                        let r = (version, base + offset, *n as usize);
                        if let Some(cid) = c.cid {
                            self.cids.entry(format!("c{cid}")).or_insert(r);
                        }
                        Predicted::Ok {
                            version: r.0,
                            position: r.1,
                            events: r.2,
                        }
                    }
                    Decision::NoEvents => Predicted::Ok {
                        version: self.version_in(
                            &stream_name(c.stream),
                            self.events.len(),
                            &pending[..offset as usize],
                        ),
                        position: base + pending.len() as u64,
                        events: 0,
                    },
                    Decision::Rejected(code) => Predicted::Err(code),
                    Decision::Done => self.done(c),
                    Decision::SameAs(i) => results[*i].clone().expect("earlier"),
                };
                let _ = k;
                results.push(Some(p.clone()));
                out.push(p);
            }
            self.events.extend(pending);
            self.known = self.events.len();
            return out;
        }
    }

    fn done(&self, c: &Cmd) -> Predicted {
        let (version, position, events) = self.cids[&format!("c{}", c.cid.expect("cid"))];
        Predicted::Ok {
            version,
            position,
            events,
        }
    }

    fn settle_without_append(&self, c: &Cmd, d: Decision) -> Predicted {
        match d {
            Decision::NoEvents => Predicted::Ok {
                version: self.version_in(&stream_name(c.stream), self.known, &[]),
                position: self.known as u64,
                events: 0,
            },
            Decision::Rejected(code) => Predicted::Err(code),
            Decision::Done => self.done(c),
            other => panic!("unexpected {other:?} in a batch without events"),
        }
    }
}

fn request(c: &Cmd) -> ExecuteRequest {
    let mut r = req(
        "Tally",
        &stream_name(c.stream),
        json!({"type": "append", "n": c.n, "refuse": c.refuse}),
    )
    .expected_version(c.expected);
    if let Some(cid) = c.cid {
        r = r.command_id(format!("c{cid}"));
    }
    r
}

fn observed(r: &Result<ExecuteResult, Error>) -> Predicted {
    match r {
        Ok(r) => Predicted::Ok {
            version: r.version,
            position: r.position,
            events: r.events.len(),
        },
        Err(e) => Predicted::Err(match e.kind() {
            ErrorKind::Concurrency => "CONCURRENCY",
            ErrorKind::Domain => "DOMAIN",
            ErrorKind::Storage => "STORAGE",
            other => panic!("unexpected error {other:?}: {e}"),
        }),
    }
}

fn open_tally(storage: TestStorage) -> Engine<TestStorage> {
    let engine = open(storage);
    engine.define_aggregate("Tally", Rc::new(Tally::new().0)).unwrap();
    engine
}

fn check_log(engine: &Engine<TestStorage>, model: &Model, storage: &MemoryStorage) -> Result<(), TestCaseError> {
    let log = engine.read_all(&ReadAllOptions::default()).unwrap();
    prop_assert_eq!(log.len(), model.known, "the engine applied exactly what the model says");
    for (e, (stream, i)) in log.iter().zip(&model.events) {
        prop_assert_eq!(&e.stream_id, stream);
        let data: Value = serde_json::from_str(e.data.as_str()).unwrap();
        prop_assert_eq!(&data["i"], &json!(i));
    }
    let stored = storage.events();
    prop_assert_eq!(
        stored.len(),
        model.events.len(),
        "storage holds every acknowledged event and nothing else"
    );
    assert_log_invariants(&stored);
    prop_assert!(engine.verify().unwrap().ok);
    Ok(())
}

fn run(actions: Vec<Action>) -> Result<(), TestCaseError> {
    let shared = MemoryStorage::new();
    let storage = TestStorage::sharing(&shared);
    let mut engine = open_tally(storage.clone());
    let other = open_tally(TestStorage::sharing(&shared));
    let mut model = Model::default();
    for action in actions {
        match action {
            Action::Exec(c) => {
                let predicted = model.run_batch(std::slice::from_ref(&c));
                let got = block_on(engine.execute(request(&c)));
                prop_assert_eq!(observed(&got), predicted[0].clone(), "{:?}", c);
            }
            Action::Burst(cmds) => {
                let predicted = model.run_batch(&cmds);
                let futures: Vec<_> = cmds.iter().map(|c| engine.execute(request(c))).collect();
                let got: Vec<Predicted> = block_on(futures::future::join_all(futures))
                    .iter()
                    .map(observed)
                    .collect();
                prop_assert_eq!(got, predicted, "{:?}", cmds);
            }
            Action::External { stream, n } => {
                block_on(other.catch_up()).unwrap();
                let r = block_on(other.execute(req("Tally", &stream_name(stream), json!({"type": "append", "n": n}))));
                prop_assert!(r.is_ok());
                for i in 0..n as u64 {
                    model.events.push((stream_name(stream), i));
                }
            }
            Action::FailNext => {
                storage.fail_appends.set(1);
                model.fail_pending = true;
            }
            Action::Reopen => {
                engine = open_tally(storage.clone());
                model.known = model.events.len();
                model.needs_resync = false;
            }
            Action::ReadStream {
                stream,
                from,
                backward,
                limit,
            } => {
                let name = stream_name(stream);
                let opts = ReadStreamOptions {
                    from_version: from.map(u64::from),
                    direction: if backward {
                        Direction::Backward
                    } else {
                        Direction::Forward
                    },
                    limit: limit.map(usize::from),
                };
                let got: Vec<u64> = engine
                    .read_stream(&name, &opts)
                    .unwrap()
                    .iter()
                    .map(|e| e.version)
                    .collect();
                let n = model.version_in(&name, model.known, &[]);
                let mut want: Vec<u64> = if backward {
                    let before = from.map_or(n + 1, u64::from).min(n + 1);
                    (1..before).rev().collect()
                } else {
                    ((from.map_or(0, u64::from) + 1)..=n).collect()
                };
                if let Some(l) = limit {
                    want.truncate(l as usize);
                }
                prop_assert_eq!(got, want);
            }
            Action::ReadAll { from, limit } => {
                let opts = ReadAllOptions {
                    from_position: from as u64,
                    limit: limit.map(usize::from),
                    ..Default::default()
                };
                let got: Vec<u64> = engine.read_all(&opts).unwrap().iter().map(|e| e.position).collect();
                let mut want: Vec<u64> = ((from as u64 + 1)..=model.known as u64).collect();
                if let Some(l) = limit {
                    want.truncate(l as usize);
                }
                prop_assert_eq!(got, want);
            }
        }
        check_log(&engine, &model, &shared)?;
    }
    // Finally: a fresh engine over the storage sees exactly the model.
    let fresh = open_tally(TestStorage::sharing(&shared));
    model.known = model.events.len();
    check_log(&fresh, &model, &shared)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_the_reference_model(actions in prop::collection::vec(action(), 1..40)) {
        run(actions)?;
    }
}
