//! [`Store`] in memory: for tests and for running without a data directory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{validate, Ack, Change, Event, Result, Store, StoreError};
use crate::model::{now_ms, Batch, HandoffRecord, PhaseRun, Project, Ticket};

/// Everything in maps behind one mutex; a change is applied under the lock, so it is atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    projects: BTreeMap<String, Project>,
    batches: BTreeMap<(String, u32), Batch>,
    tickets: BTreeMap<(String, String), Ticket>,
    phase_runs: BTreeMap<(String, u64), PhaseRun>,
    handoffs: BTreeMap<(String, u64), HandoffRecord>,
    events: BTreeMap<(String, u64), Event>,
    last_seq: HashMap<String, u64>,
    last_id: u64,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied change: every change
        // is applied by plain map inserts after validation, so the data stays consistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn of_project<K: Ord, V: Clone>(map: &BTreeMap<(String, K), V>, project: &str) -> Vec<V> {
    map.iter()
        .filter(|((p, _), _)| p == project)
        .map(|(_, v)| v.clone())
        .collect()
}

impl Store for MemoryStore {
    fn apply(&self, change: Change) -> Result<Ack> {
        validate(&change)?;
        let mut inner = self.lock();
        let project = change.project().to_owned();
        if !matches!(change, Change::PutProject { .. }) && !inner.projects.contains_key(&project) {
            return Err(StoreError::UnknownProject(project));
        }
        match &change {
            Change::PutProject { project: p } => {
                inner.projects.insert(p.id.clone(), p.clone());
            }
            Change::PutBatch { batch, .. } => {
                inner
                    .batches
                    .insert((project.clone(), batch.number), batch.clone());
            }
            Change::PutTicket { ticket, .. } => {
                inner
                    .tickets
                    .insert((project.clone(), ticket.id.clone()), ticket.clone());
            }
            Change::DeleteTicket { id, .. } => {
                inner.tickets.remove(&(project.clone(), id.clone()));
            }
            Change::PutPhaseRun { run } => {
                inner
                    .phase_runs
                    .insert((project.clone(), run.id), run.clone());
            }
            Change::PutHandoff { handoff } => {
                inner
                    .handoffs
                    .insert((project.clone(), handoff.id), handoff.clone());
            }
            Change::Note { .. } => {}
        }
        let seq = {
            let last = inner.last_seq.entry(project.clone()).or_insert(0);
            *last += 1;
            *last
        };
        let at = now_ms();
        inner.events.insert(
            (project.clone(), seq),
            Event {
                project: project.clone(),
                seq,
                at,
                change,
            },
        );
        Ok(Ack { project, seq, at })
    }

    fn project(&self, id: &str) -> Result<Option<Project>> {
        Ok(self.lock().projects.get(id).cloned())
    }

    fn projects(&self) -> Result<Vec<Project>> {
        Ok(self.lock().projects.values().cloned().collect())
    }

    fn batch(&self, project: &str, number: u32) -> Result<Option<Batch>> {
        Ok(self
            .lock()
            .batches
            .get(&(project.to_owned(), number))
            .cloned())
    }

    fn batches(&self, project: &str) -> Result<Vec<Batch>> {
        Ok(of_project(&self.lock().batches, project))
    }

    fn ticket(&self, project: &str, id: &str) -> Result<Option<Ticket>> {
        Ok(self
            .lock()
            .tickets
            .get(&(project.to_owned(), id.to_owned()))
            .cloned())
    }

    fn tickets(&self, project: &str) -> Result<Vec<Ticket>> {
        Ok(of_project(&self.lock().tickets, project))
    }

    fn phase_run(&self, project: &str, id: u64) -> Result<Option<PhaseRun>> {
        Ok(self
            .lock()
            .phase_runs
            .get(&(project.to_owned(), id))
            .cloned())
    }

    fn phase_runs(&self, project: &str) -> Result<Vec<PhaseRun>> {
        Ok(of_project(&self.lock().phase_runs, project))
    }

    fn handoff(&self, project: &str, id: u64) -> Result<Option<HandoffRecord>> {
        Ok(self.lock().handoffs.get(&(project.to_owned(), id)).cloned())
    }

    fn handoffs(&self, project: &str) -> Result<Vec<HandoffRecord>> {
        Ok(of_project(&self.lock().handoffs, project))
    }

    fn events(&self, project: &str, after: u64, limit: usize) -> Result<Vec<Event>> {
        let Some(first) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        let inner = self.lock();
        Ok(inner
            .events
            .range((project.to_owned(), first)..=(project.to_owned(), u64::MAX))
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect())
    }

    fn generate_id(&self) -> Result<u64> {
        let mut inner = self.lock();
        inner.last_id += 1;
        Ok(inner.last_id)
    }

    fn last_seq(&self, project: &str) -> Result<u64> {
        Ok(self.lock().last_seq.get(project).copied().unwrap_or(0))
    }
}
