//! Subscriptions: catch up from a position, then receive each committed event once, in
//! position order, filtered, in its read form (`crate::forms`). An event that cannot be read
//! (a missing or failing upcaster) stops the subscription before it: the subscriber is told
//! once ([`Subscriber::failed`], with the event's stored form), and delivery resumes from
//! there on a later pump.
//!
//! Delivery never happens while the engine's state is borrowed, so a subscriber may call back
//! into the engine (read, execute, subscribe, unsubscribe). A delivery that triggers another
//! delivery (re-entrantly) is folded into the running one, which keeps the order.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::error::Error;
use crate::event::Event;
use crate::filter::EventFilter;
use crate::forms::Forms;
use crate::log::Log;

/// Receives committed events.
pub trait Subscriber {
    /// Called with one or more events in position order. Errors are the subscriber's own
    /// business (the binding reports them to `onError`); they never stop the engine.
    fn deliver(&self, events: &[Event]);

    /// The next event cannot be read (`error` says why; `event` is its stored form); called
    /// once per such event.
    fn failed(&self, _error: &Error, _event: &Event) {}

    /// True for a subscriber that wants the events in their stored form (what is hashed and
    /// persisted: a sync server's live channel), filtered on that form.
    fn raw(&self) -> bool {
        false
    }
}

/// Lends the log (and how its events read) to a closure for the duration of the call;
/// false when it cannot.
pub type LendLog<'a> = &'a dyn Fn(&mut dyn FnMut(&Log, &Forms)) -> bool;

/// Events collected per delivery call.
const DELIVERY_BATCH: usize = 256;
/// Positions scanned per step while looking for matching events.
const SCAN_STEP: u64 = 4096;

struct Entry {
    id: u64,
    filter: EventFilter,
    /// Last position delivered or skipped.
    cursor: u64,
    subscriber: Rc<dyn Subscriber>,
    /// The position that could not be read, already reported.
    failed_at: Option<u64>,
}

/// The subscriptions of an engine.
#[derive(Default)]
pub struct Subscriptions {
    entries: RefCell<Vec<Entry>>,
    next_id: Cell<u64>,
    pumping: Cell<bool>,
    again: Cell<bool>,
}

impl Subscriptions {
    /// Adds a subscriber that has seen everything up to `cursor`.
    pub fn add(&self, subscriber: Rc<dyn Subscriber>, filter: EventFilter, cursor: u64) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        self.entries.borrow_mut().push(Entry {
            id,
            filter,
            cursor,
            subscriber,
            failed_at: None,
        });
        if self.pumping.get() {
            self.again.set(true);
        }
        id
    }

    /// Removes a subscriber; true if it was there.
    pub fn remove(&self, id: u64) -> bool {
        let mut entries = self.entries.borrow_mut();
        let before = entries.len();
        entries.retain(|e| e.id != id);
        entries.len() != before
    }

    /// Number of live subscriptions.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// Delivers everything each subscriber has not seen yet. `with_log` lends the log for the
    /// duration of a closure and returns false when it cannot (the state is borrowed by a
    /// re-entrant call). Returns false when delivery could not finish for that reason (call
    /// again later); true when every subscriber is up to date or a running pump will finish.
    pub fn pump(&self, with_log: LendLog<'_>) -> bool {
        if self.pumping.replace(true) {
            self.again.set(true);
            return true;
        }
        let mut complete = true;
        'outer: loop {
            self.again.set(false);
            let ids: Vec<u64> = self.entries.borrow().iter().map(|e| e.id).collect();
            for id in ids {
                if !self.pump_one(id, with_log) {
                    complete = false;
                    break 'outer;
                }
            }
            if !self.again.get() {
                break;
            }
        }
        self.pumping.set(false);
        complete
    }

    fn pump_one(&self, id: u64, with_log: LendLog<'_>) -> bool {
        loop {
            let mut batch: Vec<Event> = Vec::new();
            let mut subscriber: Option<Rc<dyn Subscriber>> = None;
            let mut more = false;
            let mut failure: Option<(Error, Event)> = None;
            let lent = with_log(&mut |log: &Log, forms: &Forms| {
                let mut entries = self.entries.borrow_mut();
                let Some(entry) = entries.iter_mut().find(|e| e.id == id) else {
                    return;
                };
                let head = log.head_position();
                let stop = head.min(entry.cursor.saturating_add(SCAN_STEP));
                let mut last = entry.cursor;
                let filter = entry.filter.compile(log);
                let mut stopped = false;
                let raw = entry.subscriber.raw();
                for stored in log.range(entry.cursor + 1, stop) {
                    if raw {
                        last = stored.position;
                        if filter.matches(&stored) {
                            batch.push(stored.to_event());
                            if batch.len() >= DELIVERY_BATCH {
                                break;
                            }
                        }
                        continue;
                    }
                    let read = match forms.read(stored) {
                        Ok(read) => read,
                        Err(e) => {
                            if entry.failed_at != Some(stored.position) {
                                entry.failed_at = Some(stored.position);
                                failure = Some((e, stored.to_event()));
                            }
                            stopped = true;
                            break;
                        }
                    };
                    let e = read.view();
                    last = e.position;
                    if filter.matches(&e) {
                        batch.push(e.to_event());
                        if batch.len() >= DELIVERY_BATCH {
                            break;
                        }
                    }
                }
                entry.cursor = last;
                if !stopped {
                    entry.failed_at = None;
                }
                more = last < head && !stopped;
                subscriber = Some(entry.subscriber.clone());
            });
            if !lent {
                return false;
            }
            if let (Some(sub), false) = (&subscriber, batch.is_empty()) {
                sub.deliver(&batch);
            }
            if let (Some(sub), Some((e, event))) = (&subscriber, &failure) {
                sub.failed(e, event);
            }
            if !more {
                return true;
            }
        }
    }
}
