//! A Wing–Gong linearizability search with Lowe's memoisation: find an order of
//! the calls that respects real time (a call that returned before another was
//! invoked comes first) and that the sequential model accepts step by step.
//!
//! A call whose outcome is unknown (a timeout, a `maybe`) has no return time: it
//! may take effect at any point after its invoke, or never, so the search may
//! leave it out. Every other call must be placed. The search is depth first over
//! (calls placed, model state); a pair already explored is not explored again.
//! It gives up after a budget of explored pairs and says so: the caller counts
//! that as a failure, never as a pass.

use std::collections::HashSet;
use std::hash::Hash;

/// A sequential specification: `step` is the state after `call`, or `None` when
/// the call (with the result it observed) is impossible from this state.
pub trait Model: Clone + Eq + Hash {
    type Call;
    fn step(&self, call: &Self::Call) -> Option<Self>;
}

/// One call of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed<C> {
    pub invoke: u64,
    /// `None`: no definite result; the call may take effect later or never.
    pub complete: Option<u64>,
    pub call: C,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Linearizable,
    /// No order exists. `placed`: the most calls any attempt could order;
    /// `stuck`: the indices (into the input) of the required calls left over.
    Not { placed: usize, stuck: Vec<usize> },
    /// The budget of explored states ran out first.
    Unknown { explored: u64 },
}

/// A set of call indices, small enough to hash as a memo key.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn has(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    fn with(&self, i: usize) -> Self {
        let mut b = self.clone();
        b.0[i / 64] |= 1 << (i % 64);
        b
    }
}

/// A search frame: the state reached, the calls placed, and the next candidate
/// to try from here.
struct Frame<M> {
    state: M,
    done: Bits,
    placed: usize,
    next: usize,
}

/// Searches for a linearization of `calls` from `init`, exploring at most
/// `budget` (state, calls placed) pairs.
pub fn check<M: Model>(init: M, calls: &[Timed<M::Call>], budget: u64) -> Answer {
    let n = calls.len();
    let required = calls.iter().filter(|c| c.complete.is_some()).count();
    let mut seen: HashSet<(Bits, M)> = HashSet::new();
    let mut explored = 0u64;
    let mut best: (usize, Bits) = (0, Bits::new(n));
    let mut stack = vec![Frame { state: init, done: Bits::new(n), placed: 0, next: 0 }];
    while let Some(top) = stack.last_mut() {
        let required_placed = (0..n).filter(|&i| top.done.has(i) && calls[i].complete.is_some()).count();
        if required_placed == required {
            return Answer::Linearizable;
        }
        if top.next == 0 {
            if top.placed > best.0 {
                best = (top.placed, top.done.clone());
            }
            explored += 1;
            if explored > budget {
                return Answer::Unknown { explored: budget };
            }
        }
        // A call may go next only if no call still to place returned before it began.
        let frontier = (0..n).filter(|&i| !top.done.has(i)).filter_map(|i| calls[i].complete).min().unwrap_or(u64::MAX);
        let mut pushed = None;
        while top.next < n {
            let i = top.next;
            top.next += 1;
            if top.done.has(i) || calls[i].invoke > frontier {
                continue;
            }
            let Some(state) = top.state.step(&calls[i].call) else { continue };
            let done = top.done.with(i);
            if seen.insert((done.clone(), state.clone())) {
                pushed = Some(Frame { state, done, placed: top.placed + 1, next: 0 });
                break;
            }
        }
        match pushed {
            Some(f) => stack.push(f),
            None => {
                stack.pop();
            }
        }
    }
    let stuck = (0..n).filter(|&i| !best.1.has(i) && calls[i].complete.is_some()).collect();
    Answer::Not { placed: best.0, stuck }
}
