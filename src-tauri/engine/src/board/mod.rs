//! The board: TICKETS.md as columns of cards, and the point-and-click operations on it.
//!
//! * [`BoardView::build`] turns a parsed [`Document`] into one column per batch (file order) plus a Backlog
//!   column (tickets outside any batch). Cards carry id, title, status, owner, dependency badges (with
//!   "blocked by unfinished dependency" computed) and their line range. A column header carries the
//!   batch's phase badges, filled by the orchestrator ([`Board::set_phases`]; empty by default).
//! * A [`Board`] is one board session on one file. Each [`BoardOp`] becomes [`Edit`]s applied through
//!   [`TicketsFile`] (hash check, backup, re-apply by ticket ID on external change); moving a ticket into the
//!   Backlog and reordering batches have no `Edit`, so they are whole-line moves written with the same hash
//!   check and backup ([`write_atomic`]). Reordering batches whose headings are numbered renumbers them
//!   in the new order (only the digits of each heading change; tickets stay in their batch).
//! * Undo: every applied operation pushes the previous bytes and its inverse edits. When the file still holds
//!   what the operation wrote, undo restores the previous bytes exactly; when something else changed it
//!   since, the inverse edits are re-applied by ticket ID, and an operation without inverse edits is a
//!   [`BoardError::Conflict`].
//! * Moving (or deleting) a ticket of a batch that is being built, reviewed or fixed returns
//!   [`OpOutcome::NeedsConfirmation`] unless the call says `confirmed`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{PhaseKind, TicketStatus};
use crate::tickets::source::atx_heading;
use crate::tickets::sync::{
    read_doc, write_atomic, write_lock, SyncError, TicketsFile, Watch, WriteOptions,
};
use crate::tickets::{vocab, BatchKind, Document, Edit, EditError};

/// Which column: a batch (by number) or the Backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnKey {
    Batch { number: u32 },
    Backlog,
}

/// Where a phase of a batch stands, as the orchestrator reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PhaseState {
    #[default]
    Waiting,
    Running,
    Passed,
    Failed,
}

/// One phase badge of a column header (`build: running`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PhaseBadge {
    pub kind: PhaseKind,
    pub state: PhaseState,
}

/// A dependency of a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DependencyBadge {
    /// As written in the ticket's `Depends on`.
    pub id: String,
    /// The dependency's status; `None` when no such ticket is in the file.
    pub status: Option<TicketStatus>,
    /// Done or dropped.
    pub finished: bool,
}

/// One ticket on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Card {
    /// The ID as written (or the `line:<n>` key of a ticket without one); what operations take.
    pub id: String,
    pub title: String,
    pub status: TicketStatus,
    /// The file's status marker does not map to a known status (shown as written in `status_raw`).
    pub status_unknown: bool,
    pub status_raw: Option<String>,
    pub owner: Option<String>,
    pub priority: Option<String>,
    pub depends_on: Vec<DependencyBadge>,
    /// Some dependency in the file is neither done nor dropped.
    pub blocked_by_dependency: bool,
    /// 1-based, inclusive line range of the ticket in the file.
    pub line_start: usize,
    pub line_end: usize,
}

/// One column: a batch, or the Backlog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Column {
    pub key: ColumnKey,
    /// The heading as written (`Batch 2: Payments`, `Phase 3 — API`), or `Backlog`.
    pub title: String,
    /// The batch's name without its word and number (`Payments`).
    pub name: String,
    /// 1-based line of the batch heading (`None` for the Backlog).
    pub line: Option<usize>,
    /// The batch's phases, from the orchestrator; empty until it reports.
    pub phases: Vec<PhaseBadge>,
    pub cards: Vec<Card>,
    /// The milestone lane the batch sits in (`# Milestone 2: Polish` above it), when the file
    /// has milestones: its number and title.
    #[serde(default)]
    pub milestone: Option<MilestoneLane>,
}

/// A milestone lane above the batch columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MilestoneLane {
    pub number: u32,
    pub title: String,
}

/// The whole board, ready for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BoardView {
    pub columns: Vec<Column>,
    pub tickets: usize,
    /// What the parser could not make sense of.
    pub warnings: Vec<String>,
}

fn finished(s: TicketStatus) -> bool {
    matches!(s, TicketStatus::Done | TicketStatus::Dropped)
}

impl BoardView {
    /// The board of a parsed file, with the phase badges known per batch number.
    pub fn build(doc: &Document, phases: &BTreeMap<u32, Vec<PhaseBadge>>) -> BoardView {
        // Ticket keys -> index; a duplicated key resolves to its first ticket.
        let mut by_key: HashMap<&str, usize> = HashMap::with_capacity(doc.tickets.len());
        for (i, t) in doc.tickets.iter().enumerate() {
            by_key.entry(t.key.as_str()).or_insert(i);
        }
        let card = |i: usize| -> Card {
            let t = &doc.tickets[i];
            let depends_on: Vec<DependencyBadge> = t
                .depends_on
                .iter()
                .map(|d| {
                    let status = by_key
                        .get(vocab::id_key(d).as_str())
                        .or_else(|| by_key.get(d.as_str()))
                        .map(|&j| doc.tickets[j].status);
                    DependencyBadge {
                        id: d.clone(),
                        status,
                        finished: status.is_some_and(finished),
                    }
                })
                .collect();
            Card {
                id: t.display_id(),
                title: t.title.clone(),
                status: t.status,
                status_unknown: t.status_unknown,
                status_raw: t.status_raw.clone(),
                owner: t.owner.clone(),
                priority: t.priority.clone(),
                blocked_by_dependency: depends_on.iter().any(|d| d.status.is_some() && !d.finished),
                depends_on,
                line_start: t.lines.start + 1,
                line_end: t.lines.end.max(t.lines.start + 1),
            }
        };
        let milestones = doc.milestones();
        let lane_of = |bi: usize| {
            milestones
                .iter()
                .find(|m| m.batches.contains(&bi))
                .map(|m| MilestoneLane {
                    number: m.number,
                    title: m.title.clone(),
                })
        };
        let mut columns: Vec<Column> = doc
            .batches
            .iter()
            .enumerate()
            .map(|(bi, b)| Column {
                milestone: lane_of(bi),
                key: ColumnKey::Batch { number: b.number },
                title: b.title.clone(),
                name: doc
                    .text()
                    .get(b.title_range.clone())
                    .unwrap_or(&b.title)
                    .trim()
                    .to_string(),
                line: Some(b.heading_line + 1),
                phases: phases.get(&b.number).cloned().unwrap_or_default(),
                cards: b.tickets.iter().map(|&i| card(i)).collect(),
            })
            .collect();
        columns.push(Column {
            key: ColumnKey::Backlog,
            title: "Backlog".into(),
            name: "Backlog".into(),
            line: backlog_heading(doc).map(|l| l + 1),
            phases: Vec::new(),
            milestone: None,
            cards: doc
                .tickets
                .iter()
                .enumerate()
                .filter(|(_, t)| t.batch.is_none())
                .map(|(i, _)| card(i))
                .collect(),
        });
        BoardView {
            columns,
            tickets: doc.tickets.len(),
            warnings: doc.warnings.clone(),
        }
    }
}

/// A field value to write on a ticket (`Owner` = `codex`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FieldValue {
    pub field: String,
    pub value: String,
}

/// What the user does on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum BoardOp {
    /// Moves a ticket into a column, before the card at `position` (0-based) or at the end.
    MoveTicket {
        ticket: String,
        to: ColumnKey,
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        position: Option<usize>,
    },
    /// Moves a batch (heading, notes and tickets) to `position` (0-based) among the batches. When every
    /// batch heading carries a number, the numbers follow the new order (`## Batch 3: X` moved first
    /// becomes `## Batch 1: X`, the others shift); only the digits change, in the file's own style.
    MoveBatch {
        batch: u32,
        position: usize,
    },
    /// Adds a ticket at the end of a batch (`None`: after the last ticket outside batches).
    AddTicket {
        batch: Option<u32>,
        title: String,
    },
    /// Changes what is given; everything else stays.
    EditTicket {
        ticket: String,
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        title: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        status: Option<TicketStatus>,
        #[serde(default)]
        fields: Vec<FieldValue>,
    },
    DeleteTicket {
        ticket: String,
    },
    AddBatch {
        title: String,
    },
    RenameBatch {
        batch: u32,
        title: String,
    },
    /// Refused while the batch holds tickets unless `with_tickets`.
    DeleteBatch {
        batch: u32,
        #[serde(default)]
        with_tickets: bool,
    },
}

/// Why an operation was not done. Nothing was written in any case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum BoardError {
    /// The file changed under the board in a way the operation cannot follow; reload and retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The operation does not fit the file (no such ticket, ambiguous id, unsupported by its dialect).
    #[error("{0}")]
    Refused(String),
    /// The file could not be read or written.
    #[error("{0}")]
    File(String),
    #[error("nothing to undo")]
    NothingToUndo,
}

impl From<SyncError> for BoardError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Conflict(_) | SyncError::ChangedDuringWrite(_) | SyncError::Raced(_) => {
                BoardError::Conflict(e.to_string())
            }
            SyncError::Edit(e) => BoardError::Refused(e.to_string()),
            other => BoardError::File(other.to_string()),
        }
    }
}

impl From<EditError> for BoardError {
    fn from(e: EditError) -> Self {
        BoardError::Refused(e.to_string())
    }
}

/// The result of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OpOutcome {
    Applied {
        view: BoardView,
        /// The id of a ticket created by `add_ticket`.
        created: Option<String>,
        /// How many operations undo can take back.
        undo_depth: usize,
    },
    /// Not done: the user has to confirm (call again with `confirmed`).
    NeedsConfirmation { reason: String },
}

/// One step of an operation or of its inverse.
#[derive(Debug, Clone)]
enum Step {
    Edit(Edit),
    ToBacklog {
        ticket: String,
        position: Option<usize>,
    },
    MoveBatch {
        batch: u32,
        position: usize,
    },
}

#[derive(Debug, Clone)]
struct UndoEntry {
    /// The file's bytes before the operation.
    before: String,
    /// The hash of what the operation wrote.
    after: blake3::Hash,
    /// Steps that take it back by ticket ID when the file changed since; `None` when there are none.
    inverse: Option<Vec<Step>>,
    label: String,
}

/// How many operations a board session can take back.
pub const UNDO_LIMIT: usize = 100;

/// One board session on one TICKETS.md.
#[derive(Debug)]
pub struct Board {
    file: TicketsFile,
    phases: BTreeMap<u32, Vec<PhaseBadge>>,
    undo: Vec<UndoEntry>,
}

impl Board {
    pub fn open(path: impl Into<PathBuf>) -> Result<Board, BoardError> {
        Ok(Board {
            file: TicketsFile::open(path)?,
            phases: BTreeMap::new(),
            undo: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn doc(&self) -> &Document {
        self.file.doc()
    }

    pub fn view(&self) -> BoardView {
        BoardView::build(self.file.doc(), &self.phases)
    }

    /// Watches the file for external edits (agents, editors); on an event, call [`Board::reload`].
    pub fn watch(&self) -> Result<Watch, BoardError> {
        Ok(self.file.watch()?)
    }

    /// Re-reads the file after an external change (the watcher saw one).
    pub fn reload(&mut self) -> Result<BoardView, BoardError> {
        self.file.reload()?;
        Ok(self.view())
    }

    /// The orchestrator's phases of a batch: shown in its column header, and used to ask for confirmation
    /// before a ticket leaves a batch that is being built or reviewed.
    pub fn set_phases(&mut self, batch: u32, phases: Vec<PhaseBadge>) {
        if phases.is_empty() {
            self.phases.remove(&batch);
        } else {
            self.phases.insert(batch, phases);
        }
    }

    pub fn undo_depth(&self) -> usize {
        self.undo.len()
    }

    /// Applies one operation (see the module docs).
    pub fn apply(&mut self, op: &BoardOp, confirmed: bool) -> Result<OpOutcome, BoardError> {
        // One step for Leapfrog's other writers (the orchestrator, `leap tickets`): from reading
        // the file to the last write.
        let _lock = write_lock(self.file.path())?;
        // Work on what is on disk now, so ids and line numbers are current.
        self.file.reload()?;
        let doc = self.file.doc().clone();
        if !confirmed {
            if let Some(reason) = self.needs_confirmation(&doc, op)? {
                return Ok(OpOutcome::NeedsConfirmation { reason });
            }
        }
        let (steps, inverse) = plan(&doc, op)?;
        let before = doc.text().to_string();
        let created = self.run(&steps)?;
        let after = blake3::hash(self.file.doc().text().as_bytes());
        if after != blake3::hash(before.as_bytes()) {
            let inverse = match (op, &created) {
                (BoardOp::AddTicket { .. }, Some(id)) => {
                    Some(vec![Step::Edit(Edit::DeleteTicket { ticket: id.clone() })])
                }
                // The batch that was not there before (by heading line text).
                (BoardOp::AddBatch { .. }, _) => {
                    let now = self.file.doc();
                    let old: Vec<&str> = doc
                        .batches
                        .iter()
                        .map(|b| doc.source.line(b.heading_line))
                        .collect();
                    now.batches
                        .iter()
                        .find(|b| !old.contains(&now.source.line(b.heading_line)))
                        .map(|b| {
                            vec![Step::Edit(Edit::DeleteBatch {
                                batch: b.number,
                                with_tickets: false,
                            })]
                        })
                }
                _ => inverse,
            };
            self.undo.push(UndoEntry {
                before,
                after,
                inverse,
                label: label(op),
            });
            if self.undo.len() > UNDO_LIMIT {
                self.undo.remove(0);
            }
        }
        Ok(OpOutcome::Applied {
            view: self.view(),
            created,
            undo_depth: self.undo.len(),
        })
    }

    /// Takes back the last operation (see the module docs).
    pub fn undo(&mut self) -> Result<OpOutcome, BoardError> {
        if self.undo.is_empty() {
            return Err(BoardError::NothingToUndo);
        }
        let _lock = write_lock(self.file.path())?;
        let entry = self.undo.pop().ok_or(BoardError::NothingToUndo)?;
        let result = self.undo_entry(&entry);
        if result.is_err() {
            self.undo.push(entry);
        }
        result?;
        Ok(OpOutcome::Applied {
            view: self.view(),
            created: None,
            undo_depth: self.undo.len(),
        })
    }

    fn undo_entry(&mut self, entry: &UndoEntry) -> Result<(), BoardError> {
        let (_, disk) = read_doc(self.file.path())?;
        if disk == entry.after {
            write_atomic(self.file.path(), entry.before.as_bytes(), &entry.after)?;
            self.file.reload()?;
            return Ok(());
        }
        match &entry.inverse {
            Some(steps) => {
                self.file.reload()?;
                self.run(steps).map(|_| ()).map_err(|e| {
                    BoardError::Conflict(format!(
                        "cannot undo {}: the file changed since and {e}",
                        entry.label
                    ))
                })
            }
            None => Err(BoardError::Conflict(format!(
                "cannot undo {}: {} changed since; its previous content is in .leapfrog/backups/",
                entry.label,
                self.file.path().display()
            ))),
        }
    }

    /// Runs steps: consecutive edits in one write through [`TicketsFile::apply`], line moves on their own.
    fn run(&mut self, steps: &[Step]) -> Result<Option<String>, BoardError> {
        let mut created = None;
        let mut edits: Vec<Edit> = Vec::new();
        let flush = |file: &mut TicketsFile,
                     edits: &mut Vec<Edit>,
                     created: &mut Option<String>|
         -> Result<(), BoardError> {
            if !edits.is_empty() {
                let w = file.apply(edits, WriteOptions::default())?;
                if let Some(c) = w.created.into_iter().next() {
                    *created = Some(c);
                }
                edits.clear();
            }
            Ok(())
        };
        for s in steps {
            match s {
                Step::Edit(e) => edits.push(e.clone()),
                Step::ToBacklog { ticket, position } => {
                    flush(&mut self.file, &mut edits, &mut created)?;
                    let text = to_backlog(self.file.doc(), ticket, *position)?;
                    self.write_text(text)?;
                }
                Step::MoveBatch { batch, position } => {
                    flush(&mut self.file, &mut edits, &mut created)?;
                    let text = move_batch(self.file.doc(), *batch, *position)?;
                    self.write_text(text)?;
                }
            }
        }
        flush(&mut self.file, &mut edits, &mut created)?;
        // `created` is the key (`T-4`); the card shows the id as written.
        Ok(created.map(|k| {
            let doc = self.file.doc();
            doc.find(&k)
                .first()
                .map(|&i| doc.tickets[i].display_id())
                .unwrap_or(k)
        }))
    }

    /// Writes a whole new text over the file, provided it still holds what the board read.
    fn write_text(&mut self, text: Option<String>) -> Result<(), BoardError> {
        let Some(text) = text else { return Ok(()) };
        let expected = blake3::hash(self.file.doc().text().as_bytes());
        write_atomic(self.file.path(), text.as_bytes(), &expected)?;
        self.file.reload()?;
        Ok(())
    }

    fn needs_confirmation(
        &self,
        doc: &Document,
        op: &BoardOp,
    ) -> Result<Option<String>, BoardError> {
        let (ticket, leaving_to) = match op {
            BoardOp::MoveTicket { ticket, to, .. } => (ticket, Some(*to)),
            BoardOp::DeleteTicket { ticket } => (ticket, None),
            BoardOp::MoveBatch { batch, position } => {
                return Ok(self.renumbering_started(doc, *batch, *position));
            }
            _ => return Ok(None),
        };
        let ti = one(doc, ticket)?;
        let Some(b) = doc.tickets[ti].batch else {
            return Ok(None);
        };
        let number = doc.batches[b].number;
        if leaving_to == Some(ColumnKey::Batch { number }) {
            return Ok(None);
        }
        let busy = self.phases.get(&number).and_then(|ps| {
            ps.iter().find(|p| {
                p.state == PhaseState::Running
                    && matches!(
                        p.kind,
                        PhaseKind::Build | PhaseKind::Review | PhaseKind::Fix
                    )
            })
        });
        Ok(busy.map(|p| {
            let doing = match p.kind {
                PhaseKind::Build => "being built",
                PhaseKind::Review => "being reviewed",
                _ => "being fixed",
            };
            let what = if leaving_to.is_some() {
                "Move"
            } else {
                "Delete"
            };
            format!(
                "batch {number} is {doing}; {what} {} anyway?",
                doc.tickets[ti].display_id()
            )
        }))
    }
}

impl Board {
    /// Moving batch `batch` to `position` renumbers batches; when one whose number changes has a
    /// phase started or done (the pipeline knows it by its number), the question to ask first.
    fn renumbering_started(&self, doc: &Document, batch: u32, position: usize) -> Option<String> {
        if !renumbers(doc) {
            return None;
        }
        let order = movable_batches(doc);
        let from = order.iter().position(|&b| doc.batches[b].number == batch)?;
        let to = position.min(order.len() - 1);
        let numbers: Vec<u32> = order.iter().map(|&b| doc.batches[b].number).collect();
        let mut new_order: Vec<usize> = (0..order.len()).collect();
        let moved = new_order.remove(from);
        new_order.insert(to, moved);
        new_order.iter().enumerate().find_map(|(slot, &src)| {
            let old = numbers[src];
            let started = self
                .phases
                .get(&old)
                .is_some_and(|ps| ps.iter().any(|p| p.state != PhaseState::Waiting));
            (old != numbers[slot] && started).then(|| {
                format!(
                    "batch {old} has started and would become batch {}; move batch {batch} anyway?",
                    numbers[slot]
                )
            })
        })
    }
}

fn label(op: &BoardOp) -> String {
    match op {
        BoardOp::MoveTicket { ticket, .. } => format!("moving {ticket}"),
        BoardOp::MoveBatch { batch, .. } => format!("moving batch {batch}"),
        BoardOp::AddTicket { title, .. } => format!("adding ticket {title:?}"),
        BoardOp::EditTicket { ticket, .. } => format!("editing {ticket}"),
        BoardOp::DeleteTicket { ticket } => format!("deleting {ticket}"),
        BoardOp::AddBatch { title } => format!("adding batch {title:?}"),
        BoardOp::RenameBatch { batch, .. } => format!("renaming batch {batch}"),
        BoardOp::DeleteBatch { batch, .. } => format!("deleting batch {batch}"),
    }
}

/// The one ticket with this id.
fn one(doc: &Document, id: &str) -> Result<usize, BoardError> {
    let hits = doc.find(id);
    match hits.len() {
        0 => Err(EditError::NoTicket(id.to_string()).into()),
        1 => Ok(hits[0]),
        n => Err(EditError::Ambiguous(id.to_string(), n).into()),
    }
}

/// The steps of an operation and the steps that take it back (when there are some).
fn plan(doc: &Document, op: &BoardOp) -> Result<(Vec<Step>, Option<Vec<Step>>), BoardError> {
    Ok(match op {
        BoardOp::MoveTicket {
            ticket,
            to,
            position,
        } => {
            let ti = one(doc, ticket)?;
            let t = &doc.tickets[ti];
            let id = t.display_id();
            // Where it is now: its batch and its index there, for the way back.
            let back = match t.batch {
                Some(b) => {
                    let idx = doc.batches[b].tickets.iter().position(|&x| x == ti);
                    Step::Edit(Edit::Move {
                        ticket: id.clone(),
                        to_batch: doc.batches[b].number,
                        position: idx,
                    })
                }
                None => Step::ToBacklog {
                    ticket: id.clone(),
                    position: backlog_tickets(doc).iter().position(|&x| x == ti),
                },
            };
            let step = match to {
                ColumnKey::Batch { number } => {
                    if doc.batch_by_number(*number).is_none() {
                        return Err(EditError::NoBatch(*number).into());
                    }
                    Step::Edit(Edit::Move {
                        ticket: id,
                        to_batch: *number,
                        position: *position,
                    })
                }
                ColumnKey::Backlog => Step::ToBacklog {
                    ticket: id,
                    position: *position,
                },
            };
            (vec![step], Some(vec![back]))
        }
        BoardOp::MoveBatch { batch, position } => {
            let order = movable_batches(doc);
            let from = order
                .iter()
                .position(|&b| doc.batches[b].number == *batch)
                .ok_or(EditError::NoBatch(*batch))?;
            // Renumbered, the batch then carries the number of the place it moved to.
            let to = (*position).min(order.len() - 1);
            let now = if renumbers(doc) {
                doc.batches[order[to]].number
            } else {
                *batch
            };
            (
                vec![Step::MoveBatch {
                    batch: *batch,
                    position: *position,
                }],
                Some(vec![Step::MoveBatch {
                    batch: now,
                    position: from,
                }]),
            )
        }
        BoardOp::AddTicket { batch, title } => (
            vec![Step::Edit(Edit::AddTicket {
                batch: *batch,
                title: title.clone(),
            })],
            None, // filled in with the created id
        ),
        BoardOp::EditTicket {
            ticket,
            title,
            status,
            fields,
        } => {
            let t = &doc.tickets[one(doc, ticket)?];
            let id = t.display_id();
            let mut steps = Vec::new();
            let mut inverse = Some(Vec::new());
            if let Some(title) = title {
                steps.push(Step::Edit(Edit::SetTitle {
                    ticket: id.clone(),
                    title: title.clone(),
                }));
                if let Some(inv) = inverse.as_mut() {
                    inv.push(Step::Edit(Edit::SetTitle {
                        ticket: id.clone(),
                        title: t.title.clone(),
                    }));
                }
            }
            if let Some(status) = status {
                steps.push(Step::Edit(Edit::SetStatus {
                    ticket: id.clone(),
                    status: *status,
                }));
                if let Some(inv) = inverse.as_mut() {
                    inv.push(Step::Edit(Edit::SetStatus {
                        ticket: id.clone(),
                        status: t.status,
                    }));
                }
            }
            for f in fields {
                steps.push(Step::Edit(Edit::SetField {
                    ticket: id.clone(),
                    field: f.field.clone(),
                    value: f.value.clone(),
                }));
                let kind = vocab::field_kind(&f.field);
                let old = t.fields.iter().find(|x| {
                    (kind != vocab::FieldKind::Other && x.kind == kind)
                        || x.key.eq_ignore_ascii_case(f.field.trim())
                });
                match (old, inverse.as_mut()) {
                    (Some(old), Some(inv)) => inv.push(Step::Edit(Edit::SetField {
                        ticket: id.clone(),
                        field: old.key.clone(),
                        value: old.value.clone(),
                    })),
                    // A new field line has no inverse edit: only the exact-bytes undo takes it back.
                    _ => inverse = None,
                }
            }
            if let Some(inv) = inverse.as_mut() {
                inv.reverse();
            }
            (steps, inverse)
        }
        BoardOp::DeleteTicket { ticket } => {
            let id = doc.tickets[one(doc, ticket)?].display_id();
            (vec![Step::Edit(Edit::DeleteTicket { ticket: id })], None)
        }
        BoardOp::AddBatch { title } => (
            vec![Step::Edit(Edit::AddBatch {
                title: title.clone(),
            })],
            None, // filled in from the result
        ),
        BoardOp::RenameBatch { batch, title } => {
            let b = doc
                .batch_by_number(*batch)
                .ok_or(EditError::NoBatch(*batch))?;
            (
                vec![Step::Edit(Edit::RenameBatch {
                    batch: *batch,
                    title: title.clone(),
                })],
                Some(vec![Step::Edit(Edit::RenameBatch {
                    batch: *batch,
                    title: doc.batches[b].title.clone(),
                })]),
            )
        }
        BoardOp::DeleteBatch {
            batch,
            with_tickets,
        } => (
            vec![Step::Edit(Edit::DeleteBatch {
                batch: *batch,
                with_tickets: *with_tickets,
            })],
            None,
        ),
    })
}

/// The line of a `Backlog` heading (0-based), if the file has one.
fn backlog_heading(doc: &Document) -> Option<usize> {
    (0..doc.source.len()).find(|&i| {
        !doc.source.is_opaque(i)
            && atx_heading(doc.source.line(i)).is_some_and(|(_, r)| {
                let text = doc.source.line(i)[r].trim().trim_end_matches(':');
                text.eq_ignore_ascii_case("backlog")
            })
    })
}

/// Tickets outside any batch, in file order.
fn backlog_tickets(doc: &Document) -> Vec<usize> {
    (0..doc.tickets.len())
        .filter(|&i| doc.tickets[i].batch.is_none())
        .collect()
}

/// Batches that are heading sections (checklist groups cannot be moved as blocks).
fn movable_batches(doc: &Document) -> Vec<usize> {
    (0..doc.batches.len())
        .filter(|&b| doc.batches[b].kind != BatchKind::Checklist)
        .collect()
}

/// The file's lines, each with its line ending (the last one gets the dominant ending if it has none).
fn owned_lines(doc: &Document) -> (Vec<String>, bool) {
    let src = &doc.source;
    let eol = src.dominant_ending();
    let lines = (0..src.len())
        .map(|i| {
            let ending = src.ending(i);
            format!(
                "{}{}",
                src.line(i),
                if ending.is_empty() { eol } else { ending }
            )
        })
        .collect();
    (lines, src.has_final_newline())
}

/// The lines joined back, after the file's BOM (if any).
fn join(doc: &Document, lines: Vec<String>, final_newline: bool, eol: &str) -> String {
    let mut text = doc.source.text[..doc.source.bom].to_string();
    text.push_str(&lines.concat());
    if !final_newline && text.ends_with(eol) {
        text.truncate(text.len() - eol.len());
    }
    text
}

/// The text with a ticket moved into the Backlog section (created at the end when missing), before the
/// backlog ticket at `position` or at the section's end. `None` when nothing changes.
fn to_backlog(
    doc: &Document,
    ticket: &str,
    position: Option<usize>,
) -> Result<Option<String>, BoardError> {
    let ti = one(doc, ticket)?;
    let t = &doc.tickets[ti];
    let eol = doc.source.dominant_ending();
    let (mut lines, final_newline) = owned_lines(doc);
    let others: Vec<usize> = backlog_tickets(doc)
        .into_iter()
        .filter(|&i| i != ti)
        .collect();
    // Insertion line in the original numbering.
    let at = match position.and_then(|p| others.get(p)) {
        Some(&i) => doc.tickets[i].span.start,
        None => match backlog_heading(doc) {
            Some(h) => {
                let level = atx_heading(doc.source.line(h)).map(|x| x.0).unwrap_or(2);
                (h + 1..doc.source.len())
                    .find(|&i| {
                        !doc.source.is_opaque(i)
                            && atx_heading(doc.source.line(i)).is_some_and(|(l, _)| l <= level)
                    })
                    .unwrap_or(doc.source.len())
            }
            None => {
                let mut block = Vec::new();
                if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                    block.push(eol.to_string());
                }
                block.push(format!("## Backlog{eol}"));
                block.push(eol.to_string());
                block.extend(lines[t.span.clone()].iter().cloned());
                while block.last().is_some_and(|l| l.trim().is_empty()) {
                    block.pop();
                }
                lines.drain(t.span.clone());
                lines.extend(block);
                return Ok(Some(join(doc, lines, final_newline, eol)));
            }
        },
    };
    if t.batch.is_none() && (at == t.span.start || at == t.span.end) {
        return Ok(None);
    }
    if at > t.span.start && at < t.span.end {
        return Ok(None);
    }
    let mut block: Vec<String> = lines[t.span.clone()].to_vec();
    // A ticket taken from the end of a section keeps a blank line before what follows it.
    if block.last().is_some_and(|l| !l.trim().is_empty()) && at < lines.len() {
        block.push(eol.to_string());
    }
    let removed = t.span.len();
    let at = if at >= t.span.end { at - removed } else { at };
    lines.drain(t.span.clone());
    // At the end of the file: separated from the line before by a blank line, no trailing blank lines.
    if at == lines.len() {
        while block.last().is_some_and(|l| l.trim().is_empty()) {
            block.pop();
        }
        if lines.last().is_some_and(|l| !l.trim().is_empty()) {
            block.insert(0, eol.to_string());
        }
    }
    lines.splice(at..at, block);
    Ok(Some(join(doc, lines, final_newline, eol)))
}

/// The line range a batch occupies as a block: its heading up to the next heading of the same or a higher
/// level (so a `## Backlog` after the last batch stays put).
fn batch_block(doc: &Document, b: usize) -> std::ops::Range<usize> {
    let bt = &doc.batches[b];
    let end = (bt.heading_line + 1..bt.scope.end.max(bt.heading_line + 1))
        .find(|&i| {
            !doc.source.is_opaque(i)
                && atx_heading(doc.source.line(i)).is_some_and(|(l, _)| l <= bt.level)
        })
        .unwrap_or(bt.scope.end);
    bt.heading_line..end.max(bt.heading_line + 1)
}

/// The text with a batch's block moved to `position` among the batches. `None` when nothing changes.
fn move_batch(doc: &Document, batch: u32, position: usize) -> Result<Option<String>, BoardError> {
    let order = movable_batches(doc);
    let from = order
        .iter()
        .position(|&b| doc.batches[b].number == batch)
        .ok_or(EditError::NoBatch(batch))?;
    let to = position.min(order.len() - 1);
    if to == from {
        return Ok(None);
    }
    let blocks: Vec<std::ops::Range<usize>> = order.iter().map(|&b| batch_block(doc, b)).collect();
    for w in blocks.windows(2) {
        if w[0].end > w[1].start {
            return Err(BoardError::Refused(format!(
                "move batch {batch}: batches in this file are nested"
            )));
        }
    }
    let eol = doc.source.dominant_ending();
    let (lines, final_newline) = owned_lines(doc);
    // The batches' blocks in the new order, dropped into the slots the old order occupied.
    let mut new_order: Vec<usize> = (0..blocks.len()).collect();
    let moved = new_order.remove(from);
    new_order.insert(to, moved);
    let blank = |l: &String| l.trim().is_empty();
    let trailing_blanks = |r: &std::ops::Range<usize>| {
        lines[r.clone()]
            .iter()
            .rev()
            .take_while(|l| blank(l))
            .count()
    };
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut cursor = 0;
    for (slot, &src) in new_order.iter().enumerate() {
        out.extend(lines[cursor..blocks[slot].start].iter().cloned());
        let mut block: Vec<String> = lines[blocks[src].clone()].to_vec();
        if blocks[slot].end == lines.len() {
            // The file's last block: the file keeps its own ending (no blank lines added at the end).
            while block.last().is_some_and(blank) {
                block.pop();
            }
            block.extend(std::iter::repeat_n(
                eol.to_string(),
                trailing_blanks(&blocks[slot]),
            ));
        } else if block.last().is_some_and(|l| !blank(l)) {
            // A block taken from the end of the file may lack the blank line before the next heading.
            block.push(eol.to_string());
        }
        out.extend(block);
        cursor = blocks[slot].end;
    }
    out.extend(lines[cursor..].iter().cloned());
    let moved = join(doc, out, final_newline, eol);
    if !renumbers(doc) {
        return Ok(Some(moved));
    }
    // Each place keeps the number it had, as written (`09`): the batch now at place k gets the
    // old k-th number.
    let places: Vec<(u32, usize)> = order
        .iter()
        .map(|&b| {
            let written = heading_number_range(doc, b).map(|r| &doc.source.text[r]);
            let width = written.filter(|w| w.starts_with('0')).map_or(0, str::len);
            (doc.batches[b].number, width)
        })
        .collect();
    Ok(Some(renumber(&moved, &places).unwrap_or(moved)))
}

/// Whether reordering renumbers: every movable batch's heading carries a number.
fn renumbers(doc: &Document) -> bool {
    let order = movable_batches(doc);
    !order.is_empty()
        && order
            .iter()
            .all(|&b| doc.batches[b].heading_number.is_some())
}

/// The byte range of the number in batch `b`'s heading: the first run of digits on the heading line
/// that reads as the batch's number, before its title.
fn heading_number_range(doc: &Document, b: usize) -> Option<std::ops::Range<usize>> {
    let bt = &doc.batches[b];
    let n = bt.heading_number?;
    let start = doc.source.lines[bt.heading_line].start;
    let line = doc.source.line(bt.heading_line);
    let end = bt
        .title_range
        .start
        .checked_sub(start)
        .filter(|&e| e > 0 && e <= line.len())
        .unwrap_or(line.len());
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < end {
        if bytes[i].is_ascii_digit() {
            let j = (i..line.len())
                .find(|&j| !bytes[j].is_ascii_digit())
                .unwrap_or(line.len());
            if line[i..j].parse::<u32>().ok() == Some(n) {
                return Some(start + i..start + j);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

/// `text` with its movable batches' heading numbers set to `places` (number, zero-padded width),
/// in file order. `None` when the text no longer has that many numbered batches.
fn renumber(text: &str, places: &[(u32, usize)]) -> Option<String> {
    let doc = Document::parse(text);
    let order = movable_batches(&doc);
    if order.len() != places.len() {
        return None;
    }
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for (&b, &(want, width)) in order.iter().zip(places) {
        let r = heading_number_range(&doc, b)?;
        let with = format!("{want:0width$}");
        if doc.source.text[r.clone()] != with {
            edits.push((r, with));
        }
    }
    let mut out = doc.source.text.clone();
    for (r, with) in edits.into_iter().rev() {
        out.replace_range(r, &with);
    }
    Some(out)
}

/// A synthetic canonical TICKETS.md: `batches` batches of `per_batch` tickets, each ticket depending on the
/// one before it, and a Backlog with one ticket. For benchmarks and tests of large boards.
pub fn sample_file(batches: usize, per_batch: usize) -> String {
    let mut s = String::from("# Tickets\n\n> Synced with Leapfrog.\n\n");
    let mut n = 0;
    for b in 1..=batches {
        s.push_str(&format!("## Batch {b}: Part {b}\nGoal: part {b}.\n\n"));
        for _ in 0..per_batch {
            n += 1;
            let status = if b == 1 { "done" } else { "todo" };
            s.push_str(&format!(
                "### T-{n:03}: Ticket {n}\n- **Status:** {status}\n"
            ));
            if n > 1 {
                s.push_str(&format!("- **Depends on:** T-{:03}\n", n - 1));
            }
            s.push_str(&format!("\nWork item {n}.\n\n"));
        }
    }
    n += 1;
    s.push_str(&format!(
        "## Backlog\n\n### T-{n:03}: Someday\n- **Status:** todo\n"
    ));
    s
}
