//! The command queue behind group commit, and the one-shot slots commands wait on.
//!
//! There is no executor in the core: whichever waiting future finds no leader becomes the
//! leader ([`Queue::try_lead`]) and drives batches until its own command is settled, then
//! hands over (waking the others so one of them takes the lead). Futures only ever wait on
//! their own slot; `close` waits for the queue to become idle.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::error::Error;

use super::{ExecuteRequest, ExecuteResult};

/// A one-shot result with a waker.
pub(crate) struct Slot<T> {
    value: RefCell<Option<Result<T, Error>>>,
    waker: RefCell<Option<Waker>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            value: RefCell::new(None),
            waker: RefCell::new(None),
        }
    }
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }

    pub(crate) fn fill(&self, result: Result<T, Error>) {
        *self.value.borrow_mut() = Some(result);
        self.wake();
    }

    pub(crate) fn take(&self) -> Option<Result<T, Error>> {
        self.value.borrow_mut().take()
    }

    pub(crate) fn is_filled(&self) -> bool {
        self.value.borrow().is_some()
    }

    /// Wakes the waiting future without filling (leadership is free).
    pub(crate) fn wake(&self) {
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
}

/// Waits until the slot is filled or its future is woken (once).
pub(crate) struct Wait<'a, T> {
    slot: &'a Slot<T>,
    registered: bool,
}

impl<'a, T> Wait<'a, T> {
    pub(crate) fn new(slot: &'a Slot<T>) -> Self {
        Wait {
            slot,
            registered: false,
        }
    }
}

impl<T> Future for Wait<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.registered || self.slot.is_filled() {
            return Poll::Ready(());
        }
        *self.slot.waker.borrow_mut() = Some(cx.waker().clone());
        self.registered = true;
        Poll::Pending
    }
}

/// A command waiting for its batch, with the slot its caller waits on.
pub(crate) type PendingExecute = (ExecuteRequest, Rc<Slot<ExecuteResult>>);

/// A queued piece of work.
pub(crate) enum Job {
    Execute(ExecuteRequest, Rc<Slot<ExecuteResult>>),
    /// Read what other writers appended.
    Sync(Rc<Slot<u64>>),
}

impl Job {
    fn wake(&self) {
        match self {
            Job::Execute(_, s) => s.wake(),
            Job::Sync(s) => s.wake(),
        }
    }
}

/// The queued jobs and who leads them.
#[derive(Default)]
pub(crate) struct Queue {
    jobs: VecDeque<Job>,
    leader: bool,
    idle: Vec<Waker>,
}

impl Queue {
    /// Takes the lead if nobody has it; the lead is released when the guard is dropped (the
    /// leading future finished or was dropped).
    pub(crate) fn try_lead(queue: &RefCell<Queue>) -> Option<LeaderGuard<'_>> {
        let mut q = queue.try_borrow_mut().ok()?;
        if std::mem::replace(&mut q.leader, true) {
            return None;
        }
        Some(LeaderGuard { queue })
    }

    /// Nothing queued and nobody leading.
    pub(crate) fn is_idle(&self) -> bool {
        self.jobs.is_empty() && !self.leader
    }

    /// Adds a job at the end.
    pub(crate) fn push(&mut self, job: Job) {
        self.jobs.push_back(job);
    }

    /// Takes the syncs and up to `max` executes from the front.
    pub(crate) fn take(&mut self, max: usize) -> (Vec<PendingExecute>, Vec<Rc<Slot<u64>>>) {
        let mut executes = Vec::new();
        let mut syncs = Vec::new();
        let mut rest = VecDeque::new();
        while let Some(job) = self.jobs.pop_front() {
            match job {
                Job::Sync(s) => syncs.push(s),
                Job::Execute(r, s) if executes.len() < max => executes.push((r, s)),
                other => rest.push_back(other),
            }
        }
        self.jobs = rest;
        (executes, syncs)
    }

    /// Puts commands back at the front, in their order.
    pub(crate) fn push_front(&mut self, executes: Vec<PendingExecute>) {
        for (r, s) in executes.into_iter().rev() {
            self.jobs.push_front(Job::Execute(r, s));
        }
    }

    /// Leadership is released: wake the queued futures (one will lead) or, if nothing is
    /// left, whoever waits for the queue to drain.
    fn release(&mut self) {
        self.leader = false;
        if self.jobs.is_empty() {
            for w in self.idle.drain(..) {
                w.wake();
            }
        } else {
            for job in &self.jobs {
                job.wake();
            }
            // Those waiting for idle must look again too (they may need to lead).
            for w in self.idle.drain(..) {
                w.wake();
            }
        }
    }
}

/// Releases leadership when the leading future finishes or is dropped.
pub(crate) struct LeaderGuard<'a> {
    queue: &'a RefCell<Queue>,
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut q) = self.queue.try_borrow_mut() {
            q.release();
        }
    }
}

/// Waits once for the queue to become idle (or for leadership to be released).
pub(crate) struct IdleWait<'a> {
    queue: &'a RefCell<Queue>,
    registered: bool,
}

impl<'a> IdleWait<'a> {
    pub(crate) fn new(queue: &'a RefCell<Queue>) -> Self {
        IdleWait {
            queue,
            registered: false,
        }
    }
}

impl Future for IdleWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.registered {
            return Poll::Ready(());
        }
        let Ok(mut q) = self.queue.try_borrow_mut() else {
            return Poll::Ready(());
        };
        if q.is_idle() {
            return Poll::Ready(());
        }
        q.idle.push(cx.waker().clone());
        drop(q);
        self.registered = true;
        Poll::Pending
    }
}
