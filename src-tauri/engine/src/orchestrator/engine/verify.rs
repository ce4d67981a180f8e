//! Verify runs: the project's verify command in its own PTY for a sync point, `leap verify` or
//! the button; its result recorded and told to the scheduler and to waiting callers. (Merging a
//! sync point's batches first is in `branches.rs`.)

use super::{Core, Msg};
use crate::control::Reply;
use crate::model::{now_ms, CompletionDetection, PhaseKind, PhaseOutcome, PhaseRun};
use crate::orchestrator::{EngineEvent, VerifyRecord};
use crate::scheduler::{Event, PhaseId};
use crate::verify::{spawn_verify, VerifyOutcome, VerifySpec};

impl Core {
    pub(super) fn start_verify(&mut self, sync: Option<u32>) {
        let Some(command) = self.config.verify_command().map(str::to_string) else {
            if let Some(sync) = sync {
                let effects = self.scheduler.step(Event::VerifyFinished {
                    sync,
                    passed: true,
                    at: self.minutes(),
                });
                self.apply_effects(effects);
            }
            return;
        };
        let run_id = self.store.generate_id().unwrap_or_else(|_| now_ms());
        let run = PhaseRun {
            id: run_id,
            project: self.project_id.clone(),
            kind: PhaseKind::Verify,
            batch: sync,
            agent: None,
            started_at: self.clock.wall_ms(),
            ended_at: None,
            outcome: PhaseOutcome::Running,
            detection: None,
        };
        self.put_run(&run);
        let (tx_line, tx_done) = (self.tx.clone(), self.tx.clone());
        let log = self.state_file.with_file_name("verify.log");
        let spec = VerifySpec {
            command: command.clone(),
            cwd: self.project_dir.clone(),
            env: Vec::new(),
            log: Some(log),
        };
        match spawn_verify(
            &self.panes,
            &spec,
            move |line| {
                let _ = tx_line.send(Msg::VerifyLine(line));
            },
            move |outcome| {
                let _ = tx_done.send(Msg::VerifyDone {
                    run_id,
                    sync,
                    outcome,
                });
            },
        ) {
            Ok(pane) => {
                self.verifying.insert(run_id, sync);
                self.verifies.push(VerifyRecord {
                    sync,
                    passed: None,
                    duration_ms: None,
                });
                self.emit(EngineEvent::VerifyStarted {
                    sync,
                    command,
                    pane,
                });
            }
            Err(e) => {
                self.notify(e.clone());
                let fake = VerifyOutcome {
                    passed: false,
                    code: 127,
                    duration_ms: 0,
                    tail: vec![e],
                };
                self.on_verify_done(run_id, sync, fake);
            }
        }
    }

    pub(super) fn on_verify_done(
        &mut self,
        run_id: u64,
        sync: Option<u32>,
        outcome: VerifyOutcome,
    ) {
        self.verifying.remove(&run_id);
        if let Some(v) = self
            .verifies
            .iter_mut()
            .rev()
            .find(|v| v.sync == sync && v.passed.is_none())
        {
            v.passed = Some(outcome.passed);
            v.duration_ms = Some(outcome.duration_ms);
        }
        let outcome_kind = if outcome.passed {
            PhaseOutcome::Passed
        } else {
            PhaseOutcome::Failed
        };
        self.finish_run(
            run_id,
            outcome_kind,
            CompletionDetection::VerifyExit,
            None,
            PhaseId::Verify {
                sync: sync.unwrap_or(0),
            },
        );
        self.emit(EngineEvent::VerifyFinished {
            sync,
            passed: outcome.passed,
            duration_ms: outcome.duration_ms,
        });
        for w in self.verify_waiters.drain(..) {
            let _ = w.send(Ok(Reply::with_data(
                format!(
                    "verify {} in {:.1}s",
                    outcome.verdict(),
                    outcome.duration_ms as f64 / 1000.0
                ),
                serde_json::json!({"passed": outcome.passed, "duration_ms": outcome.duration_ms,
                                   "sync": sync, "code": outcome.code, "tail": outcome.tail}),
            )));
        }
        let where_ = sync
            .map(|s| format!("sync point {s}"))
            .unwrap_or_else(|| "verify".into());
        if !outcome.passed {
            self.notify(format!(
                "{where_}: verify FAILED (exit {}); later builds wait until it passes (Verify / Retry){} \
                 (whole output: {})",
                outcome.code,
                outcome
                    .tail
                    .last()
                    .map(|l| format!(": {l}"))
                    .unwrap_or_default(),
                self.state_file.with_file_name("verify.log").display()
            ));
        }
        if let Some(sync) = sync {
            let effects = self.scheduler.step(Event::VerifyFinished {
                sync,
                passed: outcome.passed,
                at: self.minutes(),
            });
            self.apply_effects(effects);
        }
    }
}
