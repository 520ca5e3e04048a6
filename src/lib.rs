//! # eventjournal
//!
//! An event-sourcing engine: commands are decided by pure deciders, the events are persisted
//! by the host's storage, and only then committed to an in-memory log with a SHA-256 hash
//! chain, folded into aggregates and projections, and delivered to subscribers. Every read
//! can travel back in time (by version, position or timestamp).
//!
//! The core (everything but `wasm`) is plain, synchronous Rust, tested natively with
//! `cargo test`; the engine only awaits the [`storage::Storage`] trait.
//!
//! ```
//! use eventjournal::{decider::Command, domains, storage::MemoryStorage, Engine, EngineConfig, ExecuteRequest};
//! use serde_json::json;
//!
//! futures::executor::block_on(async {
//!     let mut config = EngineConfig::default();
//!     domains::register_builtins(&mut config); // the engine knows no domain until told
//!     let engine = Engine::open(MemoryStorage::new(), config).await.unwrap();
//!     let cmd = Command::from_value(json!({"type": "create_account", "accountHolder": "Alice", "initialDeposit": 100000})).unwrap();
//!     let result = engine.execute(ExecuteRequest::new("BankAccount", "account_001", cmd)).await.unwrap();
//!     assert_eq!(result.version, 2);
//!     let state = engine.load("BankAccount", "account_001", None).unwrap().unwrap();
//!     assert!(state.state.contains("\"balance\":100000"));
//! });
//! ```
#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]
#![cfg_attr(target_arch = "wasm32", deny(unsafe_code))]

pub mod arena;
pub mod canonical;
pub mod clock;
pub mod decider;
pub mod domains;
pub mod engine;
pub mod error;
pub mod event;
pub mod filter;
pub mod forms;
pub mod id;
pub mod integrity;
pub mod log;
pub mod personal;
pub mod projection;
pub mod snapshot;
pub mod storage;
pub mod subscription;
pub mod sync;
pub mod time_travel;
pub mod upcast;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
pub mod wasm;

pub use engine::{Engine, EngineConfig, ExecuteRequest, ExecuteResult, Loaded};
pub use error::{Error, ErrorKind, Result};
pub use event::{Event, ExpectedVersion, NewEvent};
