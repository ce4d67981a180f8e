//! The tee sink of an agent's pane: every frame goes to the orchestrator's loop and to the UI
//! sink when one is attached. The pane is spawned in [`crate::pty::AckMode::Consumer`]: an
//! attached UI acks what it rendered; without one (or with a sink that does not ack, such as the
//! service's fan-out) the loop acks each frame once it has read it,
//! so a headless pane has the same bounded buffer as a pane in the window (a flooding agent waits
//! for the loop, instead of its output piling up in the loop's queue).

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::pty::{Pane, PaneExit, PaneSink};

use super::engine::{Backlog, Msg};

/// The UI side of a tee, shared with the orchestrator handle.
pub type UiSlot = Arc<Mutex<Option<Box<dyn PaneSink>>>>;

pub struct Tee {
    pub agent: usize,
    pub generation: u64,
    pub tx: Sender<Msg>,
    pub backlog: Arc<Backlog>,
    pub ui: UiSlot,
    pub pane: Arc<OnceLock<Weak<Pane>>>,
}

impl PaneSink for Tee {
    fn output(&mut self, frame: Vec<u8>) {
        let len = frame.len();
        let mut ui = self.ui.lock().unwrap_or_else(|e| e.into_inner());
        self.backlog.sent(len);
        match ui.as_mut() {
            Some(sink) if sink.acks() => {
                if self
                    .tx
                    .send(Msg::Output {
                        agent: self.agent,
                        generation: self.generation,
                        bytes: frame.clone(),
                        ack: None,
                    })
                    .is_err()
                {
                    self.backlog.gone(len);
                }
                sink.output(frame);
            }
            // No sink, or one that leaves the acks to the loop.
            other => {
                if let Some(sink) = other.filter(|s| s.wants_frames()) {
                    sink.output(frame.clone());
                }
                let pane = self.pane.get().cloned();
                let sent = self.tx.send(Msg::Output {
                    agent: self.agent,
                    generation: self.generation,
                    bytes: frame,
                    ack: pane.clone(),
                });
                // The loop is gone (stopping): nobody will ack, so ack here.
                if sent.is_err() {
                    self.backlog.gone(len);
                    if let Some(p) = pane.and_then(|w| Weak::upgrade(&w)) {
                        p.ack(len);
                    }
                }
            }
        }
    }

    fn exited(&mut self, exit: PaneExit) {
        let _ = self.tx.send(Msg::Exit {
            agent: self.agent,
            generation: self.generation,
            exit: exit.clone(),
        });
        if let Some(sink) = self.ui.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            sink.exited(exit);
        }
    }
}
