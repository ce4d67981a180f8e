//! The ready batch phases, kept in order between decisions.
//!
//! Deciding used to scan every batch between the first unaccepted one and the next design on
//! every event, and compare every ready phase for every free agent: with thousands of reviews
//! waiting for a designer busy ahead, each event cost time in proportion to the whole project
//! (`leap simulate` of 100 000 batches grew 4× per doubling). Now the core marks the positions
//! whose state changed, [`ReadyIndex`] recomputes only those, and keeps each group of ready
//! phases (by role, and by the role of the phase each unlocks) sorted by priority: the best phase
//! a set of free agents can run is the first of a few sets.
//!
//! The phases and their order are exactly those of a full scan (debug builds check it on small
//! plans); only the cost changed.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::core::PhaseKind;

/// A minute count ordered by `f64::total_cmp` (the order the priority comparison uses).
#[derive(Debug, Clone, Copy)]
pub(super) struct Total(pub f64);

impl PartialEq for Total {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Total {}
impl PartialOrd for Total {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Total {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The priority of a ready phase, smallest first: `(a, b, kind rank, position)`. The rule decides
/// `a` and `b` (see `Scheduler::dispatch`); feed-idle puts its starving flag before them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Key {
    pub a: Total,
    pub b: Total,
    pub rank: u8,
    pub pos: usize,
}

/// Roles of the batch phases the index holds (a re-check runs on a design agent).
pub(super) const SLOTS: [PhaseKind; 5] = [
    PhaseKind::Recheck,
    PhaseKind::Build,
    PhaseKind::Review,
    PhaseKind::Fix,
    PhaseKind::Qa,
];

/// The role a phase unlocks next (feed-idle's question): none, build, review or fix.
pub(super) const CLASSES: usize = 4;

/// Where an entry is filed: the set of its role and class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub key: Key,
    /// Index into [`SLOTS`].
    pub slot: u8,
    pub class: u8,
}

impl Entry {
    fn set(&self) -> usize {
        self.slot as usize * CLASSES + self.class as usize
    }
}

/// The ready phases of the positions `[lo, hi)` (first unaccepted batch to next design).
#[derive(Debug, Clone, Default)]
pub(super) struct ReadyIndex {
    lo: usize,
    hi: usize,
    /// The entries of each position filed now (a position has at most two ready phases).
    at: Vec<[Option<Entry>; 2]>,
    /// Positions to recompute at the next decision.
    dirty: Vec<usize>,
    is_dirty: Vec<bool>,
    sets: Vec<BTreeSet<Key>>,
    /// Filed entries per slot.
    count: [usize; SLOTS.len()],
    /// Per position: builds it waits for (`builds_after`, with repeats) that are not done yet.
    pub pending_builds: Vec<u32>,
}

impl ReadyIndex {
    /// An empty index of `n` positions: every position of the window is computed at the first
    /// [`ReadyIndex::begin_sync`].
    pub fn new(n: usize, pending_builds: Vec<u32>) -> ReadyIndex {
        ReadyIndex {
            lo: 0,
            hi: 0,
            at: vec![[None, None]; n],
            dirty: Vec::new(),
            is_dirty: vec![false; n],
            sets: vec![BTreeSet::new(); SLOTS.len() * CLASSES],
            count: [0; SLOTS.len()],
            pending_builds,
        }
    }

    /// The state of position `p` changed: recompute it at the next decision.
    pub fn mark(&mut self, p: usize) {
        if let Some(d) = self.is_dirty.get_mut(p) {
            if !*d {
                *d = true;
                self.dirty.push(p);
            }
        }
    }

    pub fn mark_range(&mut self, r: std::ops::Range<usize>) {
        for p in r {
            self.mark(p);
        }
    }

    /// Moves the index to the window `[lo, hi)`: positions that left it lose their entries.
    /// Returns the positions to recompute (marked ones and those that entered it): they have no
    /// entries until [`ReadyIndex::file`] gets them.
    pub fn begin_sync(&mut self, lo: usize, hi: usize) -> Vec<usize> {
        let hi = hi.max(lo);
        let (old_lo, old_hi) = (self.lo, self.hi);
        // Left the window: [old_lo, old_hi) minus [lo, hi).
        for p in (old_lo..old_hi.min(lo)).chain(old_lo.max(hi)..old_hi) {
            self.remove(p);
        }
        // Entered it: [lo, hi) minus [old_lo, old_hi).
        for p in (lo..hi.min(old_lo)).chain(lo.max(old_hi)..hi) {
            self.mark(p);
        }
        self.lo = lo;
        self.hi = hi;
        let mut todo = std::mem::take(&mut self.dirty);
        for &p in &todo {
            self.is_dirty[p] = false;
            self.remove(p);
        }
        todo.retain(|p| (lo..hi).contains(p));
        todo
    }

    /// Files a recomputed position's ready phases.
    pub fn file(&mut self, p: usize, entries: [Option<Entry>; 2]) {
        for e in entries.into_iter().flatten() {
            self.insert(p, e);
        }
    }

    fn insert(&mut self, p: usize, e: Entry) {
        let free = self.at[p]
            .iter()
            .position(Option::is_none)
            .expect("at most two ready phases per batch");
        self.at[p][free] = Some(e);
        self.sets[e.set()].insert(e.key);
        self.count[e.slot as usize] += 1;
    }

    fn remove(&mut self, p: usize) {
        for e in std::mem::take(&mut self.at[p]).into_iter().flatten() {
            self.sets[e.set()].remove(&e.key);
            self.count[e.slot as usize] -= 1;
        }
    }

    /// A phase was dispatched: it is no longer ready (its position is recomputed later).
    pub fn take(&mut self, e: Entry) {
        let p = e.key.pos;
        if let Some(i) = self.at[p].iter().position(|x| *x == Some(e)) {
            self.at[p][i] = None;
            self.sets[e.set()].remove(&e.key);
            self.count[e.slot as usize] -= 1;
        }
        self.mark(p);
    }

    /// The first entry of a slot's class.
    pub fn first(&self, slot: usize, class: usize) -> Option<Entry> {
        self.sets[slot * CLASSES + class].first().map(|&key| Entry {
            key,
            slot: slot as u8,
            class: class as u8,
        })
    }

    pub fn count(&self, slot: usize) -> usize {
        self.count[slot]
    }

    /// Every filed entry (for the debug check against a full scan).
    #[cfg(debug_assertions)]
    pub fn entries(&self) -> Vec<Entry> {
        self.at.iter().flatten().flatten().copied().collect()
    }

    /// Approximate bytes held.
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        let filed: usize = self.count.iter().sum();
        self.at.capacity() * size_of::<[Option<Entry>; 2]>()
            + self.is_dirty.capacity()
            + self.dirty.capacity() * size_of::<usize>()
            + self.pending_builds.capacity() * size_of::<u32>()
            // a B-tree holds its keys in nodes of up to 11, often half full
            + filed * 2 * size_of::<Key>()
    }
}

/// Counts of set positions, with prefix sums and "next set position" in O(log n).
#[derive(Debug, Clone, Default)]
struct Fenwick {
    tree: Vec<i64>,
}

impl Fenwick {
    fn new(n: usize) -> Fenwick {
        Fenwick {
            tree: vec![0; n + 1],
        }
    }

    fn add(&mut self, p: usize, d: i64) {
        let mut i = p + 1;
        while i < self.tree.len() {
            self.tree[i] += d;
            i += i & i.wrapping_neg();
        }
    }

    /// Set positions before `p`.
    fn before(&self, p: usize) -> i64 {
        let mut i = p.min(self.tree.len() - 1);
        let mut s = 0;
        while i > 0 {
            s += self.tree[i];
            i &= i - 1;
        }
        s
    }

    /// The first set position at or after `p`.
    fn next(&self, p: usize) -> Option<usize> {
        let n = self.tree.len() - 1;
        let mut want = self.before(p); // the (want+1)-th set position, 0-based count `want`
        let mut pos = 0;
        let mut step = n.checked_ilog2().map_or(0, |l| 1usize << l);
        while step > 0 {
            if pos + step <= n && self.tree[pos + step] <= want {
                pos += step;
                want -= self.tree[pos];
            }
            step >>= 1;
        }
        (pos < n).then_some(pos)
    }
}

/// The builds that are waiting, and those of them whose batch is not flagged for a re-check, by
/// position: the cascade of a failed review flags every waiting build up to the next design not
/// done, and may skip the built ones in between (a builder far ahead of the reviews) instead of
/// stepping over each. Positions are touched when their slots may change and re-read lazily.
#[derive(Debug, Clone, Default)]
pub(super) struct WaitingBuilds {
    waiting: Fenwick,
    unflagged: Fenwick,
    /// What the counts hold per position: (waiting, waiting and not flagged).
    held: Vec<(bool, bool)>,
    touched: Vec<usize>,
    is_touched: Vec<bool>,
}

impl WaitingBuilds {
    /// `state(p)`: (build waiting, and not flagged for a re-check).
    pub fn new(n: usize, state: impl Fn(usize) -> (bool, bool)) -> WaitingBuilds {
        let mut w = WaitingBuilds {
            waiting: Fenwick::new(n),
            unflagged: Fenwick::new(n),
            held: vec![(false, false); n],
            touched: Vec::new(),
            is_touched: vec![false; n],
        };
        for p in 0..n {
            w.set(p, state(p));
        }
        w
    }

    fn set(&mut self, p: usize, (waiting, unflagged): (bool, bool)) {
        let (w0, u0) = self.held[p];
        self.waiting.add(p, waiting as i64 - w0 as i64);
        self.unflagged.add(p, unflagged as i64 - u0 as i64);
        self.held[p] = (waiting, unflagged);
    }

    /// Position `p`'s build or re-check flag may change.
    pub fn touch(&mut self, p: usize) {
        if let Some(t) = self.is_touched.get_mut(p) {
            if !*t {
                *t = true;
                self.touched.push(p);
            }
        }
    }

    /// Re-reads the touched positions.
    pub fn refresh(&mut self, state: impl Fn(usize) -> (bool, bool)) {
        for p in std::mem::take(&mut self.touched) {
            self.is_touched[p] = false;
            self.set(p, state(p));
        }
    }

    /// Waiting builds in `r`.
    pub fn count(&self, r: std::ops::Range<usize>) -> usize {
        (self.waiting.before(r.end) - self.waiting.before(r.start)).max(0) as usize
    }

    /// The first waiting build at or after `p`, before `end`.
    pub fn next_waiting(&self, p: usize, end: usize) -> Option<usize> {
        self.waiting.next(p).filter(|&q| q < end)
    }

    /// The first waiting build of a batch not flagged for a re-check at or after `p`, before `end`.
    pub fn next_unflagged(&self, p: usize, end: usize) -> Option<usize> {
        self.unflagged.next(p).filter(|&q| q < end)
    }

    pub fn memory_bytes(&self) -> usize {
        (self.waiting.tree.capacity() + self.unflagged.tree.capacity()) * 8
            + self.held.capacity() * 2
            + self.is_touched.capacity()
            + self.touched.capacity() * 8
    }
}
