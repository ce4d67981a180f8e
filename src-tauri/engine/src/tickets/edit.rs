//! Edits as minimal line splices, written in the file's own dialect (design Part C3).
//!
//! Every edit replaces, inserts or removes whole lines; lines it does not touch keep their bytes, including
//! their line endings. New lines use the file's dominant line ending; a file without a final newline stays so.
//! Templates come from the file itself: a new ticket copies a neighbour's heading shape (level, ID prefix and
//! padding, separator, bold), a new field copies an existing field line (`- **Key:** v`, `**Key**: v`,
//! `Key: v`), a new status uses the words the file already uses for that status.

use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::source::{self, Source};
use super::vocab::{self, FieldKind};
use super::{Document, StatusSource, Ticket, TicketKind};
use crate::model::TicketStatus;

/// One change the app (or `leap`) asks for. Tickets are addressed by ID (raw or normalised, `T-1` ≡ `T-001`)
/// or by the `line:<n>` key of tickets without an ID; batches by number (see the module docs of `tickets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Edit {
    SetStatus {
        ticket: String,
        status: TicketStatus,
    },
    SetTitle {
        ticket: String,
        title: String,
    },
    /// `field` is a label (`Owner`, `Depends on`, or any label the file uses).
    SetField {
        ticket: String,
        field: String,
        value: String,
    },
    /// Moves a ticket to `to_batch`, before the ticket at `position` (0-based) or at the end.
    Move {
        ticket: String,
        to_batch: u32,
        position: Option<usize>,
    },
    /// Moves a ticket to the batch named `group`: its title as written (`Batch 2: Two again`),
    /// its name (`Two again`), or `line:<n>` of its heading. Addresses one of two batches that
    /// share a number.
    MoveToGroup {
        ticket: String,
        group: String,
        position: Option<usize>,
    },
    /// Adds a ticket at the end of a batch (or after the last ticket outside batches), with the next ID.
    AddTicket {
        batch: Option<u32>,
        title: String,
    },
    DeleteTicket {
        ticket: String,
    },
    AddBatch {
        title: String,
    },
    /// Deletes a batch heading and the prose under it; refused while it holds tickets unless `with_tickets`.
    DeleteBatch {
        batch: u32,
        with_tickets: bool,
    },
    RenameBatch {
        batch: u32,
        title: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("no ticket {0} in the file")]
    NoTicket(String),
    #[error("ticket id {0} is used by {1} tickets; refusing to guess which one")]
    Ambiguous(String, usize),
    #[error("no batch {0} in the file")]
    NoBatch(u32),
    #[error("{0}")]
    AmbiguousBatch(String),
    #[error("no batch named {0:?} in the file")]
    NoBatchNamed(String),
    #[error("nothing to change: {0}")]
    Unchanged(String),
    #[error("cannot {0}")]
    Unsupported(String),
}

/// The result of an edit: the new document and, for `AddTicket`, the new ticket's key.
#[derive(Debug, Clone)]
pub struct Applied {
    pub doc: Document,
    pub created: Option<String>,
}

/// A batch as compared across a move: kind, group word, number in the heading, title (its number
/// can change when an earlier batch stops being one).
type BatchLabel = (super::BatchKind, Option<String>, Option<u32>, String);
/// A ticket as compared across a move: the ID as written, title, kind.
type TicketLabel = (Option<String>, String, TicketKind);
/// Tickets per batch in order, then the tickets outside batches.
type Outline = Vec<(Option<BatchLabel>, Vec<TicketLabel>)>;

/// Replace lines `at` with `text` (which carries its own line endings); `at` empty = insert.
#[derive(Debug, Clone)]
struct Splice {
    at: Range<usize>,
    text: String,
}

impl Document {
    /// Applies one edit and returns the re-parsed result. `self` is not changed.
    pub fn apply(&self, edit: &Edit) -> Result<Applied, EditError> {
        let mut created = None;
        let mut moving = None;
        let splices = match edit {
            Edit::SetStatus { ticket, status } => {
                let ti = self.one(ticket)?;
                let s = self.set_status(ti, *status)?;
                let doc = Document::parse(&splice(&self.source, s.clone()));
                let ok = doc.find(ticket).first().map(|&i| doc.tickets[i].status) == Some(*status);
                let t = &self.tickets[ti];
                if ok {
                    s
                } else if !matches!(t.kind, TicketKind::Heading | TicketKind::BoldParagraph) {
                    return Err(EditError::Unsupported(format!(
                        "write status {} for {}: the file's marker cannot express it",
                        status.as_str(),
                        t.display_id()
                    )));
                } else {
                    // A section or another source still says otherwise: an explicit field wins over those.
                    let mut s = s;
                    if !t
                        .status_marks
                        .iter()
                        .any(|m| m.source == StatusSource::Field)
                    {
                        s.push(self.insert_field(
                            t,
                            FieldKind::Status,
                            "",
                            &self.status_word(*status),
                        ));
                    }
                    s
                }
            }
            Edit::SetTitle { ticket, title } => {
                let t = &self.tickets[self.one(ticket)?];
                vec![self.replace_range(t.title_range.clone(), title)]
            }
            Edit::SetField {
                ticket,
                field,
                value,
            } => self.set_field(self.one(ticket)?, field, value)?,
            Edit::Move {
                ticket,
                to_batch,
                position,
            } => {
                let (ti, b) = (self.one(ticket)?, self.batch_exact(*to_batch)?);
                moving = Some((ti, b, *position));
                self.move_ticket(ti, b, *position)?
            }
            Edit::MoveToGroup {
                ticket,
                group,
                position,
            } => {
                let (ti, b) = (self.one(ticket)?, self.batch_named(group)?);
                moving = Some((ti, b, *position));
                self.move_ticket(ti, b, *position)?
            }
            Edit::AddTicket { batch, title } => {
                let (s, id) = self.add_ticket(*batch, title)?;
                created = Some(id);
                s
            }
            Edit::DeleteTicket { ticket } => {
                let t = &self.tickets[self.one(ticket)?];
                let mut s = vec![Splice {
                    at: t.span.clone(),
                    text: String::new(),
                }];
                for &v in &t.views {
                    s.push(Splice {
                        at: v..v + 1,
                        text: String::new(),
                    });
                }
                s
            }
            Edit::AddBatch { title } => self.add_batch(title),
            Edit::DeleteBatch {
                batch,
                with_tickets,
            } => {
                let b = self.batch_exact(*batch)?;
                let bt = &self.batches[b];
                if !bt.tickets.is_empty() && !with_tickets {
                    return Err(EditError::Unsupported(format!(
                        "delete batch {batch}: it still holds {} tickets (move them first, or delete them with it)",
                        bt.tickets.len()
                    )));
                }
                if bt.kind == super::BatchKind::Checklist {
                    return Err(EditError::Unsupported(format!(
                        "delete the checklist group {batch}"
                    )));
                }
                vec![Splice {
                    at: bt.heading_line..bt.scope.end,
                    text: String::new(),
                }]
            }
            Edit::RenameBatch { batch, title } => {
                let b = self.batch_exact(*batch)?;
                vec![self.replace_range(self.batches[b].title_range.clone(), title)]
            }
        };
        let text = splice(&self.source, splices);
        if text == self.source.text {
            if let Edit::Move { ticket, .. } | Edit::MoveToGroup { ticket, .. } = edit {
                return Err(EditError::Unchanged(format!(
                    "{ticket} is already there (same batch, same place)"
                )));
            }
        }
        let doc = Document::parse(&text);
        if let Some((ti, b, position)) = moving {
            self.check_move(ti, b, position, &doc)?;
        }
        Ok(Applied { doc, created })
    }

    /// The outline of the file (tickets per batch in order, batches without tickets left out, then
    /// the tickets outside batches), without tickets whose first line reads `drop`; with `moving`, the
    /// one expected after moving ticket `ti` to batch `b` at `position`.
    fn outline(
        &self,
        moving: Option<(usize, usize, Option<usize>)>,
        drop: Option<&str>,
    ) -> Outline {
        let label = |i: usize| {
            let t = &self.tickets[i];
            (t.id.clone(), t.title.clone(), t.kind)
        };
        let skip = |i: usize| {
            moving.is_some_and(|(ti, _, _)| ti == i)
                || drop.is_some_and(|l| self.source.line(self.tickets[i].lines.start) == l)
        };
        let mut out: Outline = Vec::new();
        for (bi, bt) in self.batches.iter().enumerate() {
            let mut ts: Vec<TicketLabel> = bt
                .tickets
                .iter()
                .filter(|&&i| !skip(i))
                .map(|&i| label(i))
                .collect();
            if let Some((ti, b, position)) = moving {
                if bi == b {
                    ts.insert(position.unwrap_or(usize::MAX).min(ts.len()), label(ti));
                }
            }
            if !ts.is_empty() {
                let l = (
                    bt.kind,
                    bt.word.clone(),
                    bt.heading_number,
                    bt.title.clone(),
                );
                out.push((Some(l), ts));
            }
        }
        let loose = (0..self.tickets.len())
            .filter(|&i| !skip(i) && self.tickets[i].batch.is_none())
            .map(label)
            .collect();
        out.push((None, loose));
        out
    }

    /// A move is applied only when the moved file reads as asked: the ticket in batch `b` at
    /// `position`, every other ticket with its ID, title, kind and batch, in the same order. Headings,
    /// indentation and tables are read by their context, so a move can change what a neighbour is
    /// (a container heading that keeps no ticket below its own level stops being a batch, a reference
    /// item that comes first becomes the ticket); such a move is refused, naming what would change. The
    /// one change allowed: a batch that loses its last ticket stops being one, and its heading may
    /// then read as a ticket itself (a checklist item without sub-items).
    fn check_move(
        &self,
        ti: usize,
        b: usize,
        position: Option<usize>,
        new: &Document,
    ) -> Result<(), EditError> {
        let t = &self.tickets[ti];
        let dissolved = t
            .batch
            .filter(|&s| s != b && self.batches[s].tickets == [ti])
            .map(|s| self.source.line(self.batches[s].heading_line));
        let want = self.outline(Some((ti, b, position)), None);
        let got = new.outline(None, dissolved);
        if want == got {
            return Ok(());
        }
        let flat = |o: &Outline| -> Vec<(Option<BatchLabel>, TicketLabel)> {
            o.iter()
                .flat_map(|(bl, ts)| ts.iter().map(move |x| (bl.clone(), x.clone())))
                .collect()
        };
        let (want, got) = (flat(&want), flat(&got));
        let name = |(id, title, _): &TicketLabel| match id {
            Some(id) => format!("{id} ({title:?})"),
            None => format!("{title:?}"),
        };
        let group = |l: &Option<BatchLabel>| match l {
            Some(l) => format!("batch {:?}", l.3),
            None => "no batch".to_string(),
        };
        let why = if let Some((l, x)) = want.iter().find(|e| !got.contains(e)) {
            format!(
                "{} would no longer read as a ticket in {}",
                name(x),
                group(l)
            )
        } else if let Some((l, x)) = got.iter().find(|e| !want.contains(e)) {
            format!("{} would read as a ticket in {}", name(x), group(l))
        } else {
            "the tickets would read in another order".to_string()
        };
        Err(EditError::Unsupported(format!(
            "move {} to batch {} ({}) there: {why}",
            t.display_id(),
            self.batches[b].number,
            self.batches[b].title
        )))
    }

    /// The one ticket with this ID; duplicates are refused.
    fn one(&self, id: &str) -> Result<usize, EditError> {
        let hits = self.find(id);
        match hits.len() {
            0 => Err(EditError::NoTicket(id.to_string())),
            1 => Ok(hits[0]),
            k => {
                // Named by their lines, so the user can tell them apart.
                let mut lines: Vec<String> = hits
                    .iter()
                    .map(|&i| (self.tickets[i].lines.start + 1).to_string())
                    .collect();
                let last = lines.pop().unwrap_or_default();
                Err(EditError::Ambiguous(
                    format!("{id} (lines {} and {last})", lines.join(", ")),
                    k,
                ))
            }
        }
    }

    fn line_of(&self, byte: usize) -> usize {
        self.source
            .lines
            .partition_point(|l| l.end <= byte)
            .min(self.source.len().saturating_sub(1))
    }

    /// Replaces a byte range that lies within one line, as a whole-line splice.
    fn replace_range(&self, r: Range<usize>, with: &str) -> Splice {
        self.replace_many(self.line_of(r.start), vec![(r, with.to_string())])
    }

    /// Several replacements on one line.
    fn replace_many(&self, line: usize, mut reps: Vec<(Range<usize>, String)>) -> Splice {
        let l = self.source.lines[line];
        let mut content = self.source.text[l.start..l.content_end].to_string();
        reps.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
        for (r, with) in reps {
            let a = r.start.clamp(l.start, l.content_end) - l.start;
            let b = r.end.clamp(l.start, l.content_end) - l.start;
            content.replace_range(a..b, &with);
        }
        content.push_str(&self.source.text[l.content_end..l.end]);
        Splice {
            at: line..line + 1,
            text: content,
        }
    }

    fn eol(&self) -> &'static str {
        self.source.dominant_ending()
    }

    /// The word this file uses for `status` with this mechanism, most frequent first.
    fn vocab_for(&self, source: StatusSource, status: TicketStatus) -> Option<String> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for t in &self.tickets {
            for m in &t.status_marks {
                if m.source == source && m.status == Some(status) && !m.range.is_empty() {
                    *counts.entry(m.raw.as_str()).or_default() += 1;
                }
            }
        }
        counts
            .into_iter()
            .max_by_key(|(k, c)| (*c, std::cmp::Reverse(k.len())))
            .map(|(k, _)| k.to_string())
    }

    fn set_status(&self, ti: usize, status: TicketStatus) -> Result<Vec<Splice>, EditError> {
        let t = &self.tickets[ti];
        let mut by_line: HashMap<usize, Vec<(Range<usize>, String)>> = HashMap::new();
        let mut any = false;
        for m in &t.status_marks {
            if m.range.is_empty() && m.source != StatusSource::Checkbox {
                continue;
            }
            let new = match m.source {
                StatusSource::Field | StatusSource::Table => self
                    .vocab_for(m.source, status)
                    .unwrap_or_else(|| styled_like(&m.raw, status)),
                StatusSource::Heading => match self.vocab_for(StatusSource::Heading, status) {
                    Some(v) => v,
                    None if status == TicketStatus::Todo => {
                        // No marker means open: remove the marker and the separator before it.
                        let line =
                            &self.source.text[self.source.lines[m.line].start..m.range.start];
                        let keep = line.trim_end_matches([' ', '—', '–', '-', '\t']).len();
                        let start = self.source.lines[m.line].start + keep;
                        by_line
                            .entry(m.line)
                            .or_default()
                            .push((start..m.range.end, String::new()));
                        any = true;
                        continue;
                    }
                    None => styled_like(&m.raw, status),
                },
                StatusSource::Checkbox => match status {
                    TicketStatus::Done => {
                        if m.raw == "X" {
                            "X".into()
                        } else {
                            "x".into()
                        }
                    }
                    TicketStatus::Dropped if m.raw == "-" => "-".into(),
                    _ if m.raw.is_empty() => String::new(),
                    _ => " ".into(),
                },
                _ => continue,
            };
            any = true;
            by_line
                .entry(m.line)
                .or_default()
                .push((m.range.clone(), new));
        }
        let mut out: Vec<Splice> = by_line
            .into_iter()
            .map(|(line, reps)| self.replace_many(line, reps))
            .collect();
        if !any && t.kind == TicketKind::Heading && self.status_mechanism() == StatusSource::Heading
        {
            if let Some(v) = self.vocab_for(StatusSource::Heading, status) {
                out.push(
                    self.replace_range(t.title_range.end..t.title_range.end, &format!(" {v}")),
                );
                any = true;
            } else if status == TicketStatus::Todo {
                any = true;
            }
        }
        if !any {
            match t.kind {
                TicketKind::Heading | TicketKind::BoldParagraph => {
                    out.push(self.insert_field(
                        t,
                        FieldKind::Status,
                        "",
                        &self.status_word(status),
                    ));
                }
                _ => {
                    return Err(EditError::Unsupported(format!(
                        "set the status of {}: it has no status marker and no room for a field",
                        t.display_id()
                    )))
                }
            }
        }
        Ok(out)
    }

    /// How most tickets of this file carry an explicit status (field, heading marker, table cell…).
    fn status_mechanism(&self) -> StatusSource {
        let mut counts: HashMap<StatusSource, usize> = HashMap::new();
        for t in &self.tickets {
            let mut seen: Vec<StatusSource> = t.status_marks.iter().map(|m| m.source).collect();
            seen.dedup();
            for s in seen {
                *counts.entry(s).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|(s, _)| *s != StatusSource::Section)
            .max_by_key(|(s, c)| (*c, *s == StatusSource::Field))
            .map(|(s, _)| s)
            .unwrap_or(StatusSource::Field)
    }

    fn status_word(&self, status: TicketStatus) -> String {
        self.vocab_for(StatusSource::Field, status)
            .unwrap_or_else(|| {
                let sample = self
                    .tickets
                    .iter()
                    .flat_map(|t| &t.status_marks)
                    .find(|m| m.source == StatusSource::Field)
                    .map(|m| m.raw.clone())
                    .unwrap_or_default();
                styled_like(&sample, status)
            })
    }

    fn set_field(&self, ti: usize, label: &str, value: &str) -> Result<Vec<Splice>, EditError> {
        let t = &self.tickets[ti];
        let kind = vocab::field_kind(label);
        let existing = t.fields.iter().find(|f| {
            (kind != FieldKind::Other && f.kind == kind) || f.key.eq_ignore_ascii_case(label.trim())
        });
        if let Some(f) = existing {
            return Ok(vec![self.replace_range(f.value_range.clone(), value)]);
        }
        match t.kind {
            TicketKind::Heading | TicketKind::BoldParagraph => {
                Ok(vec![self.insert_field(t, kind, label, value)])
            }
            _ => Err(EditError::Unsupported(format!(
                "add field {label:?} to {}: the ticket has no such column or field",
                t.display_id()
            ))),
        }
    }

    /// A new field line in the file's own syntax, after the ticket's leading field block (or its heading).
    fn insert_field(&self, t: &Ticket, kind: FieldKind, label: &str, value: &str) -> Splice {
        let key = self.label_for(kind).unwrap_or_else(|| {
            if kind == FieldKind::Other || label.is_empty() {
                if label.is_empty() {
                    kind.canonical_label().to_string()
                } else {
                    label.to_string()
                }
            } else {
                kind.canonical_label().to_string()
            }
        });
        let template = self.field_template();
        let line = template.replace("{K}", &key).replace("{V}", value);
        // After the last field line of the block that follows the heading (blank lines allowed before it).
        let mut at = t.lines.start + 1;
        let mut i = t.lines.start + 1;
        let field_lines: Vec<usize> = t.fields.iter().map(|f| f.line).collect();
        while i < t.lines.end {
            let l = self.source.line(i);
            if field_lines.contains(&i) {
                at = i + 1;
            } else if !l.trim().is_empty() || at > t.lines.start + 1 {
                break;
            }
            i += 1;
        }
        Splice {
            at: at..at,
            text: format!("{line}{}", self.eol()),
        }
    }

    /// How this file spells the label of `kind` (`Statut`, `Depends on`, `依存`).
    fn label_for(&self, kind: FieldKind) -> Option<String> {
        if kind == FieldKind::Other {
            return None;
        }
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for f in self.tickets.iter().flat_map(|t| &t.fields) {
            if f.kind == kind
                && self
                    .tickets
                    .iter()
                    .all(|t| t.kind != TicketKind::TableRow || t.fields.is_empty())
            {
                *counts.entry(f.key.as_str()).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .max_by_key(|(_, c)| *c)
            .map(|(k, _)| k.to_string())
    }

    /// The shape of a field line, with `{K}` and `{V}` placeholders, learned from the file's field lines.
    fn field_template(&self) -> String {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for t in &self.tickets {
            if t.kind != TicketKind::Heading {
                continue;
            }
            for f in &t.fields {
                let l = self.source.lines[f.line];
                if f.value_range.start < l.start || f.value_range.end > l.content_end {
                    continue;
                }
                let line = &self.source.text[l.start..l.content_end];
                let vs = f.value_range.start - l.start;
                let ve = f.value_range.end - l.start;
                let Some(kpos) = line[..vs].find(f.key.as_str()) else {
                    continue;
                };
                if source::is_table_row(line) || line[..vs].matches("**").count() > 2 {
                    continue;
                }
                let tpl = format!(
                    "{}{{K}}{}{{V}}{}",
                    &line[..kpos],
                    &line[kpos + f.key.len()..vs],
                    &line[ve..]
                );
                *counts.entry(tpl).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .max_by_key(|(k, c)| (*c, std::cmp::Reverse(k.len())))
            .map(|(k, _)| k)
            .unwrap_or_else(|| "- **{K}:** {V}".to_string())
    }

    /// Where a ticket goes at the end of batch `b` (or after the last unbatched ticket), and a neighbour.
    fn batch_end(&self, b: Option<usize>, skip: Option<usize>) -> (usize, Option<usize>) {
        let members: Vec<usize> = match b {
            Some(b) => self.batches[b].tickets.clone(),
            None => (0..self.tickets.len())
                .filter(|&i| self.tickets[i].batch.is_none())
                .collect(),
        };
        let last = members
            .iter()
            .copied()
            .filter(|&i| Some(i) != skip)
            .max_by_key(|&i| self.tickets[i].span.end);
        match (last, b) {
            (Some(i), _) => (self.tickets[i].span.end, Some(i)),
            // An empty batch: before the first batch nested in it (`## Epic 2` under `# Phase 7`),
            // else at its end.
            (None, Some(b)) => {
                let scope = &self.batches[b].scope;
                let nested = self
                    .batches
                    .iter()
                    .map(|x| x.heading_line)
                    .filter(|&l| l > scope.start && l < scope.end)
                    .min();
                (nested.unwrap_or(scope.end), None)
            }
            (None, None) => (self.source.len(), None),
        }
    }

    /// The one batch numbered `n`: an error naming each when several share it.
    pub fn batch_exact(&self, n: u32) -> Result<usize, EditError> {
        let hits: Vec<usize> = (0..self.batches.len())
            .filter(|&b| self.batches[b].number == n)
            .collect();
        match hits[..] {
            [] => Err(EditError::NoBatch(n)),
            [b] => Ok(b),
            _ => Err(EditError::AmbiguousBatch(format!(
                "{} batches are numbered {n}: {}; name the one you mean by its title or its \
                 heading's line (`line:N`)",
                hits.len(),
                hits.iter()
                    .map(|&b| format!(
                        "\"{}\" (line {})",
                        self.batches[b].title,
                        self.batches[b].heading_line + 1
                    ))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
        }
    }

    /// The batch named `group`: its heading's `line:<n>`, its title as written or its name
    /// (case-insensitive); an error when none or several match.
    pub fn batch_named(&self, group: &str) -> Result<usize, EditError> {
        let g = group.trim();
        if let Some(line) = g
            .strip_prefix("line:")
            .and_then(|n| n.trim().parse::<usize>().ok())
        {
            return self
                .batches
                .iter()
                .position(|b| b.heading_line + 1 == line)
                .ok_or_else(|| EditError::NoBatchNamed(g.to_string()));
        }
        let name = |b: &super::Batch| {
            self.text()
                .get(b.title_range.clone())
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let hits: Vec<usize> = (0..self.batches.len())
            .filter(|&b| {
                let bt = &self.batches[b];
                bt.title.trim().eq_ignore_ascii_case(g) || name(bt).eq_ignore_ascii_case(g)
            })
            .collect();
        match hits[..] {
            [] => Err(EditError::NoBatchNamed(g.to_string())),
            [b] => Ok(b),
            _ => Err(EditError::AmbiguousBatch(format!(
                "{} batches are named {g:?} (lines {}); name one by its heading's line (`line:N`)",
                hits.len(),
                hits.iter()
                    .map(|&b| (self.batches[b].heading_line + 1).to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
        }
    }

    fn move_ticket(
        &self,
        ti: usize,
        b: usize,
        position: Option<usize>,
    ) -> Result<Vec<Splice>, EditError> {
        let to_batch = self.batches[b].number;
        let t = &self.tickets[ti];
        let members: Vec<usize> = self.batches[b]
            .tickets
            .iter()
            .copied()
            .filter(|&i| i != ti)
            .collect();
        // Already in that batch, at that place: nothing to do, and that is said.
        if t.batch == Some(b) {
            let index = self.batches[b].tickets.iter().position(|&i| i == ti);
            let there = match position {
                None => self.batches[b]
                    .tickets
                    .iter()
                    .all(|&i| self.tickets[i].span.start <= t.span.start),
                Some(p) => index == Some(p.min(members.len())),
            };
            if there {
                return Err(EditError::Unchanged(format!(
                    "{} is already in batch {to_batch} ({}), at that place",
                    t.display_id(),
                    self.batches[b].title
                )));
            }
        }
        let (mut at, neighbour) = match position.and_then(|p| members.get(p)) {
            Some(&i) => (self.tickets[i].span.start, Some(i)),
            None => self.batch_end(Some(b), Some(ti)),
        };
        let like = neighbour.or_else(|| members.first().copied());
        if let Some(nb) = like {
            if self.tickets[nb].kind != t.kind {
                return Err(EditError::Unsupported(format!(
                    "move {} into batch {to_batch}: its tickets are written differently",
                    t.display_id()
                )));
            }
        } else if t.kind != TicketKind::Heading {
            return Err(EditError::Unsupported(format!(
                "move {} into the empty batch {to_batch}",
                t.display_id()
            )));
        }
        // A batch heading inside the ticket's lines (a first-level ticket heading runs to the next
        // one, over `## Phase 5`) would move with it.
        if let Some(inner) = self
            .batches
            .iter()
            .find(|x| x.heading_line > t.span.start && x.heading_line < t.span.end)
        {
            return Err(EditError::Unsupported(format!(
                "move {}: the heading of batch {} ({}, line {}) is inside it and would move with it",
                t.display_id(),
                inner.number,
                inner.title,
                inner.heading_line + 1
            )));
        }
        // A table row only reads as the same ticket in a table with the same columns.
        if let (TicketKind::TableRow, Some(nb)) = (t.kind, like) {
            let (from, to) = (
                self.table_header(t.span.start),
                self.table_header(self.tickets[nb].span.start),
            );
            if header_key(self.source.line(from)) != header_key(self.source.line(to)) {
                return Err(EditError::Unsupported(format!(
                    "move {} into batch {to_batch}: its table there has other columns ({} on line \
                     {}, not {})",
                    t.display_id(),
                    self.source.line(to).trim(),
                    to + 1,
                    self.source.line(from).trim()
                )));
            }
        }
        // A nested checklist item whose parent item is not a group: the parent must keep another
        // sub-item, or it would read as a ticket itself.
        if t.kind == TicketKind::Checkbox {
            if let Some(p) = self.lone_child_of(ti) {
                return Err(EditError::Unsupported(format!(
                    "move {}: it is the only sub-item of {:?} (line {}), which would then read as a \
                     ticket",
                    t.display_id(),
                    self.source.line(p).trim(),
                    p + 1
                )));
            }
        }
        if at > t.span.start && at < t.span.end {
            at = t.span.start;
        }
        // Heading level: match the target's tickets, else one below the batch heading.
        let want = match like {
            Some(nb) => self.tickets[nb].level,
            None => (self.batches[b].level + 1).min(6),
        };
        // List items: the target's indentation (a top-level item put among nested ones would not
        // be in that group), nested lines shifted with them.
        let indent_of = |line: usize| {
            let l = self.source.line(line);
            &l[..l.len() - l.trim_start_matches([' ', '\t']).len()]
        };
        let reindent = match like {
            Some(nb) if matches!(t.kind, TicketKind::ListItem | TicketKind::Checkbox) => {
                let (old, new) = (
                    indent_of(t.span.start),
                    indent_of(self.tickets[nb].span.start),
                );
                (old != new).then_some((old, new))
            }
            _ => None,
        };
        let mut block = String::new();
        for i in t.span.clone() {
            let line = self.source.line(i);
            let ending = self.source.ending(i);
            let ending = if ending.is_empty() {
                self.eol()
            } else {
                ending
            };
            if t.kind == TicketKind::Heading && want != t.level && !self.source.is_opaque(i) {
                if let Some((lvl, _)) = source::atx_heading(line) {
                    let new_lvl = (lvl as i32 + want as i32 - t.level as i32).clamp(1, 6) as usize;
                    let indent = line.len() - line.trim_start_matches(' ').len();
                    let rest = &line[indent + lvl as usize..];
                    block.push_str(&format!(
                        "{}{}{}{}",
                        &line[..indent],
                        "#".repeat(new_lvl),
                        rest,
                        ending
                    ));
                    continue;
                }
            }
            if let Some((old, new)) = reindent.filter(|_| !line.trim().is_empty()) {
                if let Some(rest) = line.strip_prefix(old) {
                    block.push_str(new);
                    block.push_str(rest);
                    block.push_str(ending);
                    continue;
                }
            }
            block.push_str(line);
            block.push_str(ending);
        }
        if at == t.span.start || at == t.span.end {
            // Already where it goes: only its level or indentation may change.
            if block == self.source.slice_lines(t.span.clone()) {
                return Ok(Vec::new());
            }
            return Ok(vec![Splice {
                at: t.span.clone(),
                text: block,
            }]);
        }
        // A ticket last in the file takes the blank line that separated it with it, so a move
        // there and back gives the bytes it started from.
        let mut removed = t.span.clone();
        if removed.end == self.source.len()
            && removed.start > 0
            && self.source.line(removed.start - 1).trim().is_empty()
            && (removed.start < 2 || !self.source.line(removed.start - 2).trim().is_empty())
        {
            removed.start -= 1;
        }
        let mut out = vec![Splice {
            at: removed.clone(),
            text: String::new(),
        }];
        out.push(self.insert_block(at, block, Some(removed)));
        Ok(out)
    }

    /// The header line of the table that holds row `line`.
    fn table_header(&self, line: usize) -> usize {
        let mut h = line;
        while h > 0 && source::is_table_row(self.source.line(h - 1)) {
            h -= 1;
        }
        h
    }

    /// The parent item of nested checklist ticket `ti` when the ticket is its only sub-item and the
    /// parent is not a batch (a checklist item with sub-items is a group or nothing, without them a
    /// ticket).
    fn lone_child_of(&self, ti: usize) -> Option<usize> {
        let t = &self.tickets[ti];
        let item_indent = |i: usize| {
            let l = self.source.line(i);
            (!self.source.is_opaque(i))
                .then(|| source::list_item(l).map(|(w, _, _)| w))
                .flatten()
        };
        let parent = (0..t.span.start)
            .rev()
            .take_while(|&i| source::atx_heading(self.source.line(i)).is_none())
            .find(|&i| item_indent(i).is_some_and(|w| w < t.level as usize))?;
        if self.batches.iter().any(|b| b.heading_line == parent) {
            return None;
        }
        let pw = item_indent(parent)?;
        // Another item nested in the parent, before or after the ticket.
        let nested = |i: usize| item_indent(i).is_some_and(|w| w > pw);
        let ends = |i: &usize| {
            let l = self.source.line(*i);
            !l.trim().is_empty() && source::indent_width(l) <= pw
        };
        let before = (parent + 1..t.span.start).any(nested);
        let after = (t.span.end..self.source.len())
            .take_while(|i| !ends(i))
            .any(nested);
        (!before && !after).then_some(parent)
    }

    /// Inserts `block` at line `at`, adding a blank line before/after when a neighbour is not blank.
    fn insert_block(&self, at: usize, mut block: String, removed: Option<Range<usize>>) -> Splice {
        let eol = self.eol();
        let skip = |i: usize| removed.as_ref().is_some_and(|r| r.contains(&i));
        let prev = (0..at).rev().find(|&i| !skip(i));
        // List items follow each other without a blank line; anything else gets one.
        let block_is_list = block.lines().next().is_some_and(is_list_line);
        let glued = |line: &str| block_is_list && is_list_line(line);
        if let Some(p) = prev {
            let line = self.source.line(p);
            if !line.trim().is_empty() && !source::is_table_row(line) && !glued(line) {
                block.insert_str(0, eol);
            }
        }
        let next = (at..self.source.len()).find(|&i| !skip(i));
        if next.is_none() {
            // Last in the file: no blank line after it.
            while block.ends_with(&format!("{eol}{eol}")) {
                block.truncate(block.len() - eol.len());
            }
        }
        let ends_blank = block.trim_end_matches(['\r', '\n']).len() < block.len()
            && block.lines().last().is_some_and(|l| l.trim().is_empty());
        if let Some(nx) = next {
            let line = self.source.line(nx);
            if !line.trim().is_empty() && !ends_blank && !source::is_table_row(line) && !glued(line)
            {
                block.push_str(eol);
            }
        }
        Splice {
            at: at..at,
            text: block,
        }
    }

    fn add_ticket(
        &self,
        batch: Option<u32>,
        title: &str,
    ) -> Result<(Vec<Splice>, String), EditError> {
        let b = match batch {
            Some(n) => Some(self.batch_by_number(n).ok_or(EditError::NoBatch(n))?),
            None => None,
        };
        let (at, neighbour) = self.batch_end(b, None);
        let like = neighbour
            .or_else(|| b.and_then(|b| self.batches[b].tickets.first().copied()))
            .or_else(|| {
                self.tickets
                    .iter()
                    .position(|t| t.kind == TicketKind::Heading && t.id.is_some())
            });
        let id = self.next_id(b);
        let eol = self.eol();
        let Some(nb) = like.map(|i| &self.tickets[i]) else {
            // No ticket to copy: the canonical format.
            let level = b.map(|b| (self.batches[b].level + 1).min(6)).unwrap_or(3) as usize;
            let text = format!(
                "{} {id}: {title}{eol}{eol}{}{eol}",
                "#".repeat(level),
                "- **Status:** todo"
            );
            return Ok((vec![self.insert_block(at, text, None)], id));
        };
        let line_no = nb.span.start;
        let l = self.source.lines[line_no];
        let line = &self.source.text[l.start..l.content_end];
        let rel = |x: usize| x.saturating_sub(l.start).min(line.len());
        let slice = |a: usize, b: usize| line.get(a..b.max(a)).unwrap_or("");
        let (pre, mid) = match &nb.id_range {
            Some(r) if r.start >= l.start && r.end <= l.content_end => (
                slice(0, rel(r.start)),
                slice(rel(r.end), rel(nb.title_range.start)),
            ),
            _ => (slice(0, rel(nb.title_range.start)), ""),
        };
        let after_title = slice(rel(nb.title_range.end), line.len());
        let closer = if after_title.trim_end().ends_with("**") && pre.contains("**") {
            "**"
        } else {
            ""
        };
        let has_id = nb.id_range.is_some();
        let head = if has_id {
            format!("{pre}{id}{mid}{title}{closer}")
        } else {
            format!("{pre}{title}{closer}")
        };
        let mut text = String::new();
        match nb.kind {
            TicketKind::TableRow => {
                let cells = source::table_cells(line);
                let mut row = String::from("|");
                for c in &cells {
                    let r = l.start + c.start..l.start + c.end;
                    let v = if nb
                        .id_range
                        .as_ref()
                        .is_some_and(|x| r.start <= x.start && x.end <= r.end)
                    {
                        id.clone()
                    } else if r == nb.title_range {
                        title.to_string()
                    } else if nb.status_marks.iter().any(|m| m.range == r) {
                        self.vocab_for(StatusSource::Table, TicketStatus::Todo)
                            .unwrap_or_else(|| {
                                styled_like(&self.source.text[r.clone()], TicketStatus::Todo)
                            })
                    } else {
                        String::new()
                    };
                    row.push_str(&format!(" {v} |"));
                }
                text.push_str(&row);
                text.push_str(eol);
                return Ok((
                    vec![Splice {
                        at: at.min(nb.span.end)..at.min(nb.span.end),
                        text,
                    }],
                    id,
                ));
            }
            TicketKind::ListItem | TicketKind::Checkbox => {
                let head = if nb
                    .status_marks
                    .iter()
                    .any(|m| m.source == StatusSource::Checkbox)
                {
                    head.replacen("[x]", "[ ]", 1).replacen("[X]", "[ ]", 1)
                } else {
                    head
                };
                text.push_str(&head);
                text.push_str(eol);
                return Ok((vec![Splice { at: at..at, text }], id));
            }
            _ => {}
        }
        text.push_str(&head);
        text.push_str(eol);
        // Status: a field when the file writes status in fields, a heading marker when it uses those.
        let uses_fields = self.tickets.iter().any(|t| {
            t.status_marks
                .iter()
                .any(|m| m.source == StatusSource::Field)
        });
        if uses_fields {
            let key = self
                .label_for(FieldKind::Status)
                .unwrap_or_else(|| "Status".into());
            let tpl = self.field_template();
            let field = tpl
                .replace("{K}", &key)
                .replace("{V}", &self.status_word(TicketStatus::Todo));
            if !self
                .source
                .line((line_no + 1).min(self.source.len() - 1))
                .trim()
                .is_empty()
            {
                text.push_str(&field);
                text.push_str(eol);
            } else {
                text.push_str(eol);
                text.push_str(&field);
                text.push_str(eol);
            }
        } else if let Some(v) = self.vocab_for(StatusSource::Heading, TicketStatus::Todo) {
            let trimmed = text.trim_end().trim_end_matches("**").len();
            text.insert_str(trimmed, &format!(" {v}"));
        }
        Ok((vec![self.insert_block(at, text, None)], id))
    }

    /// The next ID in the file's scheme: the prefix most used in the batch (else the file), one past the
    /// highest number with that prefix, with the usual padding.
    fn next_id(&self, b: Option<usize>) -> String {
        let split = |raw: &str| -> Option<(String, String)> {
            let r = raw
                .trim_end_matches(['\''])
                .trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let d = r.len() - r.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            if d == 0 {
                return None;
            }
            Some((r[..r.len() - d].to_string(), r[r.len() - d..].to_string()))
        };
        let pool: Vec<&Ticket> = match b {
            Some(b) if !self.batches[b].tickets.is_empty() => self.batches[b]
                .tickets
                .iter()
                .map(|&i| &self.tickets[i])
                .collect(),
            _ => self.tickets.iter().collect(),
        };
        let mut prefixes: HashMap<String, (usize, usize)> = HashMap::new(); // prefix → (count, width)
        for t in &pool {
            if let Some((p, d)) = t.id.as_deref().and_then(split) {
                let e = prefixes.entry(p).or_insert((0, d.len()));
                e.0 += 1;
                e.1 = e.1.min(d.len()).max(1);
            }
        }
        let Some((prefix, (_, width))) =
            prefixes.into_iter().max_by_key(|(p, (c, _))| (*c, p.len()))
        else {
            return "T-001".to_string();
        };
        // The largest number as written, compared as a number of any length (an ID may carry more
        // digits than a u64 holds), then incremented as text: never an overflow.
        let max = self
            .tickets
            .iter()
            .filter_map(|t| t.id.as_deref().and_then(split))
            .filter(|(p, _)| *p == prefix)
            .map(|(_, d)| {
                let d = d.trim_start_matches('0');
                (d.len(), d.to_string())
            })
            .max()
            .map(|(_, d)| d)
            .unwrap_or_default();
        format!("{prefix}{:0>width$}", increment_decimal(&max))
    }

    fn add_batch(&self, title: &str) -> Vec<Splice> {
        let eol = self.eol();
        let Some(last) = self
            .batches
            .iter()
            .rfind(|b| b.kind != super::BatchKind::Checklist)
        else {
            let level = self
                .tickets
                .iter()
                .find(|t| t.kind == TicketKind::Heading)
                .map(|t| t.level.saturating_sub(1).max(1))
                .unwrap_or(2) as usize;
            let text = format!("{} Batch 1: {title}{eol}", "#".repeat(level));
            return vec![self.insert_block(self.source.len(), text, None)];
        };
        let next = self
            .batches
            .iter()
            .filter_map(|b| b.heading_number)
            .max()
            .map(|n| n + 1);
        let l = self.source.lines[last.heading_line];
        let line = &self.source.text[l.start..l.content_end];
        let pre_end = last
            .title_range
            .start
            .saturating_sub(l.start)
            .min(line.len());
        let mut prefix = line[..pre_end].to_string();
        if let (Some(n), Some(old)) = (next, last.heading_number) {
            // Replace the last number in the prefix (`Phase 3: ` → `Phase 4: `), keeping its padding.
            let digits: Vec<(usize, char)> = prefix
                .char_indices()
                .filter(|(_, c)| c.is_ascii_digit())
                .collect();
            if let Some(&(end_pos, _)) = digits.last() {
                let mut start = end_pos;
                while start > 0 && prefix.as_bytes()[start - 1].is_ascii_digit() {
                    start -= 1;
                }
                let width = end_pos + 1 - start;
                if prefix[start..=end_pos].parse::<u32>().ok() == Some(old) {
                    prefix.replace_range(start..=end_pos, &format!("{n:0width$}"));
                }
            }
        }
        let closer = if prefix.contains("**") && line.trim_end().ends_with("**") {
            "**"
        } else {
            ""
        };
        let text = format!("{prefix}{title}{closer}{eol}");
        vec![self.insert_block(last.scope.end, text, None)]
    }
}

/// `status` written in the style of `sample`: backticks, bold, UPPERCASE, Capitalised or lowercase; with
/// an emoji when the sample starts with one.
fn styled_like(sample: &str, status: TicketStatus) -> String {
    let s = sample.trim();
    let emoji =
        !s.is_empty() && !s.starts_with(|c: char| c.is_alphanumeric() || "`*_[(".contains(c));
    let core = s.trim_matches(|c: char| c == '`' || c == '*' || c == '_');
    let word_part = core
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .trim();
    let word = status.as_str();
    let word = if !word_part.is_empty()
        && word_part
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(|c| c.is_uppercase())
    {
        word.to_uppercase()
    } else if word_part.starts_with(|c: char| c.is_uppercase()) {
        let mut w = word.to_string();
        w[..1].make_ascii_uppercase();
        w
    } else {
        word.to_string()
    };
    let mut out = if emoji {
        let e = match status {
            TicketStatus::Done => "✅",
            TicketStatus::Doing => "🚧",
            TicketStatus::Review => "👀",
            TicketStatus::Blocked => "⛔",
            TicketStatus::Dropped => "❌",
            TicketStatus::Todo => "⬜",
        };
        if word_part.is_empty() {
            e.to_string()
        } else {
            format!("{e} {word}")
        }
    } else {
        word
    };
    if s.starts_with("**") {
        out = format!("**{out}**");
    }
    if s.starts_with('`') {
        out = format!("`{out}`");
    }
    out
}

/// Applies splices (sorted by position; inserts at the same line keep their order) to the source lines.
fn splice(src: &Source, mut edits: Vec<Splice>) -> String {
    edits.sort_by_key(|e| (e.at.start, e.at.end > e.at.start));
    let eol = src.dominant_ending();
    let mut out = String::with_capacity(src.text.len() + 256);
    out.push_str(&src.text[..src.bom]);
    let push = |out: &mut String, s: &str| {
        if s.is_empty() {
            return;
        }
        if out.len() > src.bom && !out.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(s);
    };
    let mut pos = 0;
    for e in &edits {
        if e.at.start > pos {
            push(&mut out, src.slice_lines(pos..e.at.start));
        }
        push(&mut out, &e.text);
        pos = pos.max(e.at.end);
    }
    if pos < src.len() {
        push(&mut out, src.slice_lines(pos..src.len()));
    }
    if !src.has_final_newline() && !src.is_empty() {
        if out.ends_with("\r\n") {
            out.truncate(out.len() - 2);
        } else if out.ends_with('\n') {
            out.truncate(out.len() - 1);
        }
    }
    out
}

/// A table's header row as compared across tables: its cells, trimmed and lowercased.
fn header_key(line: &str) -> Vec<String> {
    source::table_cells(line)
        .into_iter()
        .map(|c| line[c].trim().to_lowercase())
        .collect()
}

/// A Markdown list item (`- x`, `* [ ] x`, `1. x`) or a bare checkbox line (`[ ] x`).
fn is_list_line(line: &str) -> bool {
    let t = line.trim_start();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    t.starts_with("- ")
        || t.starts_with("* ")
        || t.starts_with("+ ")
        || t.starts_with('[') && t.get(2..3) == Some("]")
        || t.starts_with("[]")
        || (digits > 0 && (t[digits..].starts_with(". ") || t[digits..].starts_with(") ")))
}

/// `digits` (ASCII digits, possibly empty for zero) plus one, as text.
fn increment_decimal(digits: &str) -> String {
    let mut out: Vec<u8> = digits.bytes().collect();
    for b in out.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return String::from_utf8(out).unwrap_or_default();
        }
    }
    out.insert(0, b'1');
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_follow_the_sample_style() {
        assert_eq!(styled_like("`DONE`", TicketStatus::Doing), "`DOING`");
        assert_eq!(styled_like("Completed", TicketStatus::Todo), "Todo");
        assert_eq!(styled_like("✅ COMPLETE", TicketStatus::Doing), "🚧 DOING");
        assert_eq!(styled_like("", TicketStatus::Review), "review");
    }
}
