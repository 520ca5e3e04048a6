//! A property test of the sync client's core against a model server (a real engine over
//! `MemoryStorage`, tests/sync_model): any interleaving of executes (some repeating a
//! `commandId`), pushes whose answers are lost at random, deliveries (partial, duplicated,
//! overlapping), reloads (a new client on the same storage) and server restarts (its refusal
//! cache forgotten) converges once every client drains:
//! - every client's head hash equals the server's;
//! - every command a client acknowledged is in the server's log exactly once (one group of
//!   consecutive events), or was reported refused to that client exactly once — never both;
//! - every client's optimistic view equals its confirmed view once its outbox is empty.

#![cfg(not(target_arch = "wasm32"))]

mod sync_model;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use eventjournal::error::ErrorKind;
use eventjournal::log::ReadAllOptions;
use proptest::prelude::*;
use serde_json::{json, Value};
use sync_model::*;

const CLIENTS: usize = 3;
const ACCOUNTS: u8 = 4;

#[derive(Debug, Clone)]
enum Action {
    Exec {
        client: usize,
        account: u8,
        kind: u8,
        amount: u8,
        repeat: Option<u8>,
    },
    Push {
        client: usize,
        max: usize,
        lose: bool,
    },
    Deliver {
        client: usize,
        limit: usize,
        back: u64,
    },
    Reload {
        client: usize,
    },
    Restart,
}

fn action() -> impl Strategy<Value = Action> {
    let client = 0..CLIENTS;
    prop_oneof![
        6 => (client.clone(), 0..ACCOUNTS, 0u8..5, 1u8..60, prop::option::weighted(0.15, 0u8..8))
            .prop_map(|(client, account, kind, amount, repeat)| Action::Exec { client, account, kind, amount, repeat }),
        4 => (client.clone(), 1usize..5, prop::bool::weighted(0.25))
            .prop_map(|(client, max, lose)| Action::Push { client, max, lose }),
        4 => (client.clone(), 1usize..6, prop_oneof![3 => Just(0u64), 1 => 1u64..4])
            .prop_map(|(client, limit, back)| Action::Deliver { client, limit, back }),
        1 => client.prop_map(|client| Action::Reload { client }),
        1 => Just(Action::Restart),
    ]
}

fn command(kind: u8, amount: u8) -> Value {
    let amount = u64::from(amount);
    match kind {
        0 => json!({"type": "create_account", "accountHolder": "Ada", "initialDeposit": amount}),
        1 => json!({"type": "deposit", "amount": amount}),
        2 | 3 => json!({"type": "withdraw", "amount": amount}),
        _ => json!({"type": "close_account"}),
    }
}

struct World {
    server: Server,
    clients: Vec<Option<Client>>,
    /// Per client: the commandIds it acknowledged (execute resolved), in order.
    acknowledged: Vec<Vec<String>>,
    rejected: Vec<Reports>,
}

impl World {
    fn new() -> World {
        let rejected: Vec<_> = (0..CLIENTS).map(|_| Rc::new(RefCell::new(Vec::new()))).collect();
        World {
            server: Server::new(),
            clients: rejected
                .iter()
                .map(|r| Some(Client::open(ClientStorage::default(), r.clone())))
                .collect(),
            acknowledged: vec![Vec::new(); CLIENTS],
            rejected,
        }
    }

    fn client(&self, i: usize) -> &Client {
        self.clients[i].as_ref().unwrap()
    }

    fn run(&mut self, action: &Action) -> Result<(), TestCaseError> {
        match *action {
            Action::Exec {
                client,
                account,
                kind,
                amount,
                repeat,
            } => {
                let c = self.client(client);
                // A repeat of a command still pending or accepted (a refused id used again
                // after a reload is a new command: the client forgot the refusal).
                let refused: HashSet<String> = self.rejected[client].borrow().iter().map(|r| r.0.clone()).collect();
                let earlier = repeat.and_then(|k| {
                    let list: Vec<&String> = self.acknowledged[client]
                        .iter()
                        .filter(|id| !refused.contains(*id))
                        .collect();
                    (!list.is_empty()).then(|| list[k as usize % list.len()].clone())
                });
                let stream = format!("acc{account}");
                let result = c.execute("BankAccount", &stream, command(kind, amount), earlier.as_deref());
                match (result, earlier) {
                    (Ok(r), None) => self.acknowledged[client].push(r.command_id),
                    (Ok(r), Some(id)) => prop_assert_eq!(r.command_id, id),
                    (Err(e), Some(id)) => prop_assert!(false, "repeat of {} failed: {:?}", id, e),
                    (Err(e), None) => prop_assert!(
                        matches!(e.kind(), ErrorKind::Domain | ErrorKind::Validation),
                        "a local refusal is a business one: {:?}",
                        e
                    ),
                }
            }
            Action::Push { client, max, lose } => {
                self.client(client).push(&self.server, max, lose);
            }
            Action::Deliver { client, limit, back } => {
                let c = self.client(client);
                let head = c.engine.head_position();
                let after = head.saturating_sub(back);
                let (events, hash) = self.server.events(after, limit + back as usize);
                c.sync.check_server(&c.engine, after, hash.as_deref()).unwrap();
                eventjournal_receive(c, events)?;
            }
            Action::Reload { client } => {
                let c = self.clients[client].take().unwrap();
                self.clients[client] = Some(c.reload());
            }
            Action::Restart => self.server.restart(),
        }
        Ok(())
    }

    fn drain(&self) {
        for _ in 0..4 {
            for c in self.clients.iter().flatten() {
                c.drain(&self.server);
            }
        }
    }
}

fn eventjournal_receive(c: &Client, events: Vec<eventjournal::event::Event>) -> Result<(), TestCaseError> {
    let r = block_on(c.sync.receive(&c.engine, events));
    prop_assert!(r.is_ok(), "receive failed: {:?}", r.err());
    prop_assert!(!r.unwrap().gap);
    Ok(())
}

/// The server log's command ids: each in one group of consecutive events.
fn server_commands(server: &Server) -> Result<HashSet<String>, TestCaseError> {
    let events = server.engine.read_all(&ReadAllOptions::default()).unwrap();
    let mut last: HashMap<String, u64> = HashMap::new();
    for e in &events {
        let id = e.command_id().unwrap();
        if let Some(prev) = last.insert(id.clone(), e.position) {
            prop_assert_eq!(prev + 1, e.position, "command {} applied twice", id);
        }
    }
    Ok(last.into_keys().collect())
}

fn check(world: &World) -> Result<(), TestCaseError> {
    let head = world.server.head_hash();
    let in_log = server_commands(&world.server)?;
    for (i, c) in world.clients.iter().flatten().enumerate() {
        prop_assert_eq!(c.head_hash(), head.clone(), "client {} converged", i);
        let status = c.sync.status(&c.engine).unwrap();
        prop_assert_eq!(status.pending, 0);
        prop_assert_eq!(c.storage.inner.outbox_len(), 0);
        let rejected = world.rejected[i].borrow();
        let mut seen = HashSet::new();
        for (id, kind) in rejected.iter() {
            prop_assert!(seen.insert(id.clone()), "{} reported twice", id);
            prop_assert!(!in_log.contains(id), "{} reported refused but in the log", id);
            prop_assert!(matches!(
                kind,
                ErrorKind::Domain | ErrorKind::Validation | ErrorKind::Concurrency
            ));
        }
        for id in &world.acknowledged[i] {
            prop_assert!(
                in_log.contains(id) ^ seen.contains(id),
                "{} neither in the log nor refused once",
                id
            );
        }
        // Optimistic view == confirmed view.
        for a in 0..ACCOUNTS {
            let s = format!("acc{a}");
            prop_assert_eq!(
                c.sync.load(&c.engine, "BankAccount", &s).unwrap(),
                c.engine.load("BankAccount", &s, None).unwrap()
            );
        }
        prop_assert_eq!(
            c.sync.projection(&c.engine, "account_balance").unwrap(),
            c.engine.projection("account_balance", None).unwrap()
        );
        let all = ReadAllOptions::default();
        let optimistic: Value = serde_json::from_str(&c.sync.read_all_json(&c.engine, &all, false).unwrap()).unwrap();
        prop_assert_eq!(optimistic.as_array().unwrap().len() as u64, c.engine.head_position());
        prop_assert!(c.engine.verify().unwrap().ok);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn clients_converge_on_the_server_whatever_the_interleaving(actions in prop::collection::vec(action(), 1..120)) {
        let mut world = World::new();
        for a in &actions {
            world.run(a)?;
        }
        world.drain();
        check(&world)?;
    }
}
