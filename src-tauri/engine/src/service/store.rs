//! The service's store for a client that cannot open it (the service holds it): every
//! [`Store`] method is a [`StoreCall`] over the socket.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::model::{Batch, HandoffRecord, PhaseRun, Project, Ticket};
use crate::store::{Ack, Change, Event, Result, Store, StoreError};

use super::protocol::{ServiceRequest, StoreCall};
use super::ServiceClient;

/// [`Store`] through a running service: each call is a request, answered by the service's own
/// store. Errors, the store's or the connection's, are [`StoreError::Backend`] in words.
pub struct ServiceStore {
    client: Arc<ServiceClient>,
}

impl ServiceStore {
    pub fn new(client: Arc<ServiceClient>) -> ServiceStore {
        ServiceStore { client }
    }

    fn call<T: DeserializeOwned>(&self, call: StoreCall) -> Result<T> {
        self.client
            .typed(ServiceRequest::Store { call })
            .map_err(|e| StoreError::Backend(format!("through the Leapfrog service: {e}")))
    }
}

impl Store for ServiceStore {
    fn apply(&self, change: Change) -> Result<Ack> {
        self.call(StoreCall::Apply {
            change: Box::new(change),
        })
    }

    fn project(&self, id: &str) -> Result<Option<Project>> {
        self.call(StoreCall::Project { id: id.into() })
    }

    fn projects(&self) -> Result<Vec<Project>> {
        self.call(StoreCall::Projects)
    }

    fn batch(&self, project: &str, number: u32) -> Result<Option<Batch>> {
        self.call(StoreCall::Batch {
            project: project.into(),
            number,
        })
    }

    fn batches(&self, project: &str) -> Result<Vec<Batch>> {
        self.call(StoreCall::Batches {
            project: project.into(),
        })
    }

    fn ticket(&self, project: &str, id: &str) -> Result<Option<Ticket>> {
        self.call(StoreCall::Ticket {
            project: project.into(),
            id: id.into(),
        })
    }

    fn tickets(&self, project: &str) -> Result<Vec<Ticket>> {
        self.call(StoreCall::Tickets {
            project: project.into(),
        })
    }

    fn phase_run(&self, project: &str, id: u64) -> Result<Option<PhaseRun>> {
        self.call(StoreCall::PhaseRun {
            project: project.into(),
            id,
        })
    }

    fn phase_runs(&self, project: &str) -> Result<Vec<PhaseRun>> {
        self.call(StoreCall::PhaseRuns {
            project: project.into(),
        })
    }

    fn handoff(&self, project: &str, id: u64) -> Result<Option<HandoffRecord>> {
        self.call(StoreCall::Handoff {
            project: project.into(),
            id,
        })
    }

    fn handoffs(&self, project: &str) -> Result<Vec<HandoffRecord>> {
        self.call(StoreCall::Handoffs {
            project: project.into(),
        })
    }

    fn events(&self, project: &str, after: u64, limit: usize) -> Result<Vec<Event>> {
        self.call(StoreCall::Events {
            project: project.into(),
            after,
            limit,
        })
    }

    fn last_seq(&self, project: &str) -> Result<u64> {
        self.call(StoreCall::LastSeq {
            project: project.into(),
        })
    }

    fn generate_id(&self) -> Result<u64> {
        self.call(StoreCall::GenerateId)
    }
}
