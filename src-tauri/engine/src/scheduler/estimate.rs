//! Duration estimates learned per agent and phase kind from finished phases: an exponentially
//! weighted mean (weight [`ALPHA`] on the newest run), with [`default_minutes`] before any history.

use serde::{Deserialize, Serialize};

use super::core::PhaseKind;

/// Weight of the newest observation in the exponentially weighted mean.
pub const ALPHA: f64 = 0.3;

/// Estimate before any history, in minutes (the seed's orders of magnitude).
pub fn default_minutes(kind: PhaseKind) -> f64 {
    match kind {
        PhaseKind::Preamble => 10.0,
        PhaseKind::Design => 10.0,
        PhaseKind::Build => 20.0,
        PhaseKind::Review => 5.0,
        PhaseKind::Fix => 8.0,
        PhaseKind::Qa => 5.0,
        PhaseKind::Recheck => 3.0,
        PhaseKind::Verify => 2.0,
    }
}

/// An exponentially weighted mean of observed minutes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ewma {
    pub mean: f64,
    pub count: u32,
}

impl Ewma {
    fn observe(&mut self, minutes: f64) {
        if self.count == 0 {
            self.mean = minutes;
        } else {
            self.mean = ALPHA * minutes + (1.0 - ALPHA) * self.mean;
        }
        self.count = self.count.saturating_add(1);
    }
}

/// Learned estimates: `learned[agent][kind]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Estimator {
    learned: Vec<[Option<Ewma>; PhaseKind::COUNT]>,
}

impl Estimator {
    pub fn new(agents: usize) -> Estimator {
        Estimator {
            learned: vec![[None; PhaseKind::COUNT]; agents],
        }
    }

    pub fn memory_bytes(&self) -> usize {
        self.learned.capacity() * std::mem::size_of::<[Option<Ewma>; PhaseKind::COUNT]>()
    }

    /// Record a finished phase. Non-finite or negative durations are ignored.
    pub fn observe(&mut self, agent: usize, kind: PhaseKind, minutes: f64) {
        if !minutes.is_finite() || minutes < 0.0 {
            return;
        }
        if let Some(row) = self.learned.get_mut(agent) {
            row[kind.index()]
                .get_or_insert(Ewma {
                    mean: 0.0,
                    count: 0,
                })
                .observe(minutes);
        }
    }

    /// What this agent is expected to take for a phase of this kind.
    pub fn for_agent(&self, agent: usize, kind: PhaseKind) -> Option<f64> {
        self.learned
            .get(agent)
            .and_then(|row| row[kind.index()])
            .map(|e| e.mean)
    }

    /// How this project's finished phases compare to [`default_minutes`]: the geometric mean of
    /// learned ÷ default over every agent and kind with history (`None` without any).
    pub fn pace(&self) -> Option<f64> {
        let (mut log_sum, mut count) = (0.0, 0u32);
        for row in &self.learned {
            for kind in PhaseKind::ALL {
                if let Some(e) = row[kind.index()] {
                    if e.mean > 0.0 {
                        log_sum += (e.mean / default_minutes(kind)).ln();
                        count += 1;
                    }
                }
            }
        }
        (count > 0).then(|| (log_sum / f64::from(count)).exp())
    }

    /// The mean of the learned estimates of the given agents (those with history), if any.
    pub fn for_any(&self, agents: impl Iterator<Item = usize>, kind: PhaseKind) -> Option<f64> {
        let (mut sum, mut count) = (0.0, 0);
        for a in agents {
            if let Some(m) = self.for_agent(a, kind) {
                sum += m;
                count += 1;
            }
        }
        (count > 0).then(|| sum / count as f64)
    }
}
