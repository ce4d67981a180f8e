//! The orchestrator's clock: the one place where its loop and the loop's state read the time.
//!
//! Every timer of the loop (a status reading's [`super::DEBOUNCE`], the screen's quiet period, the
//! Enter after a paste and its retries, a new CLI's settling, [`super::UNREPORTED_AFTER`], the look
//! at Claude Code's session file, the scheduler's 10 s tick, a usage limit's reset), the inbox
//! thread's drain, and every time the run records (its minutes, phase runs' start and end,
//! dispatch latency) come from [`super::OpenOptions::clock`]: [`SystemClock`] in a real run, a
//! [`ManualClock`] in tests. The pure scheduler takes its time from the events it is given.
//!
//! ```text
//! trait Clock: Send + Sync
//!   .now() -> Instant          monotonic: timers and durations
//!   .wall() -> SystemTime      calendar: phase-run timestamps, usage-limit resets
//!   .wall_ms() -> u64          .wall() in milliseconds since the Unix epoch
//!   .on_advance(AdvanceHook)   called after the clock jumps (a real clock never does)
//! SystemClock                  the default
//! ManualClock::new()           starts at the real now and stands still
//!   .advance(Duration)         moves both readings on; returns once every loop on the clock
//!                              has run the timers due by then
//! ```
//!
//! A test with a [`ManualClock`] proves that something happens only after a time ("not before
//! 10 s, at 10 s") without waiting that time, and that nothing happened without sleeping: while the
//! clock stands still no timer fires, and `advance` hands the loop the new time and waits until the
//! loop has acted on it. Time standing still also means that two steps of a test are at the same
//! instant until the test advances the clock between them.
//!
//! Waits on real things stay on the real clock: a control request's reply, `start`'s wait for the
//! loop, a previous run's process getting its grace period.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a clock calls after it jumps forward (see [`Clock::on_advance`]). It returns `false`
/// once whoever registered it is gone; the clock then drops it.
pub type AdvanceHook = Box<dyn Fn() -> bool + Send + Sync>;

/// Where the orchestrator reads the time.
pub trait Clock: Send + Sync {
    /// The monotonic now: what timers and durations are measured on.
    fn now(&self) -> Instant;

    /// The calendar now: phase runs' timestamps, the reset of a usage limit.
    fn wall(&self) -> SystemTime;

    /// [`Clock::wall`] in milliseconds since the Unix epoch (the store's timestamps).
    fn wall_ms(&self) -> u64 {
        self.wall()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    /// Registers `hook`, called every time the clock jumps forward, so that a loop that waits for
    /// a timer wakes and reads the new time. A real clock never jumps: the default drops it.
    fn on_advance(&self, hook: AdvanceHook) {
        drop(hook);
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The default clock of [`super::OpenOptions`].
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A clock for tests: it starts at the real now and stands still until [`ManualClock::advance`]
/// moves it.
pub struct ManualClock {
    now: Mutex<(Instant, SystemTime)>,
    hooks: Mutex<Vec<AdvanceHook>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock {
            now: Mutex::new((Instant::now(), SystemTime::now())),
            hooks: Mutex::new(Vec::new()),
        }
    }

    /// Moves both readings on by `by`, then calls every hook registered on the clock. An
    /// orchestrator's hook returns once its loop has run every timer due by the new time, so what
    /// was due has happened (its events sent, its state published) when this returns.
    pub fn advance(&self, by: Duration) {
        {
            let mut now = lock(&self.now);
            *now = (now.0 + by, now.1 + by);
        }
        // Called without the lock: a loop may register a hook meanwhile.
        let hooks = std::mem::take(&mut *lock(&self.hooks));
        let kept: Vec<AdvanceHook> = hooks.into_iter().filter(|h| h()).collect();
        lock(&self.hooks).splice(0..0, kept);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        lock(&self.now).0
    }

    fn wall(&self) -> SystemTime {
        lock(&self.now).1
    }

    fn on_advance(&self, hook: AdvanceHook) {
        lock(&self.hooks).push(hook);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_manual_clock_stands_still_until_advanced_and_then_calls_its_hooks() {
        let clock = ManualClock::new();
        let (now, wall) = (clock.now(), clock.wall());
        assert_eq!((clock.now(), clock.wall()), (now, wall), "stands still");
        let calls = Arc::new(AtomicUsize::new(0));
        let (kept, gone) = (calls.clone(), calls.clone());
        clock.on_advance(Box::new(move || {
            kept.fetch_add(1, Ordering::SeqCst);
            true
        }));
        // A hook whose owner is gone says so and is dropped after this call.
        clock.on_advance(Box::new(move || {
            gone.fetch_add(100, Ordering::SeqCst);
            false
        }));
        clock.advance(Duration::from_secs(10));
        assert_eq!(clock.now(), now + Duration::from_secs(10));
        assert_eq!(clock.wall(), wall + Duration::from_secs(10));
        assert_eq!(
            clock.wall_ms(),
            (wall + Duration::from_secs(10))
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis() as u64
        );
        assert_eq!(calls.load(Ordering::SeqCst), 101);
        clock.advance(Duration::from_millis(1));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            102,
            "the gone hook was dropped"
        );
        assert_eq!(clock.now(), now + Duration::from_millis(10_001));
    }
}
