//! The tee sink of an agent's pane: every frame goes to the orchestrator's loop and to the UI
//! sink when one is attached. Without a UI sink the tee acks each frame itself (the pane is
//! spawned in [`crate::pty::AckMode::Consumer`] so that an attached UI can do flow control).

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::pty::{Pane, PaneExit, PaneSink};

use super::engine::Msg;

/// The UI side of a tee, shared with the orchestrator handle.
pub type UiSlot = Arc<Mutex<Option<Box<dyn PaneSink>>>>;

pub struct Tee {
    pub agent: usize,
    pub generation: u64,
    pub tx: Sender<Msg>,
    pub ui: UiSlot,
    pub pane: Arc<OnceLock<Weak<Pane>>>,
}

impl PaneSink for Tee {
    fn output(&mut self, frame: Vec<u8>) {
        let len = frame.len();
        let mut ui = self.ui.lock().unwrap_or_else(|e| e.into_inner());
        match ui.as_mut() {
            Some(sink) => {
                let _ = self.tx.send(Msg::Output {
                    agent: self.agent,
                    generation: self.generation,
                    bytes: frame.clone(),
                });
                sink.output(frame);
            }
            None => {
                let _ = self.tx.send(Msg::Output {
                    agent: self.agent,
                    generation: self.generation,
                    bytes: frame,
                });
                if let Some(p) = self.pane.get().and_then(Weak::upgrade) {
                    p.ack(len);
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
