//! Recognising batches and tickets (design Part C2): headings, ticket tables, list items, then fallbacks;
//! fields, checkboxes and status inside each ticket. Reads the [`Source`] and never changes it.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use super::source::{self, Source};
use super::vocab::{self, FieldKind, IdStrength};
use super::{Batch, BatchKind, Checkbox, Field, StatusMark, StatusSource, Ticket, TicketKind};
use crate::model::TicketStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    Ticket { weak: bool },
    Group,
    Status(TicketStatus),
}

#[derive(Debug, Clone)]
struct Heading {
    line: usize,
    level: u8,
    /// Absolute byte range of the heading text.
    text: Range<usize>,
    id: Option<vocab::IdMatch>,
    group: Option<(String, Option<u32>)>,
    status: Option<TicketStatus>,
    role: Role,
}

#[derive(Debug, Clone)]
struct Table {
    /// Lines of the header, delimiter and body rows.
    header: usize,
    rows: Range<usize>,
    id_col: Option<usize>,
    title_col: Option<usize>,
    status_col: Option<usize>,
    cols: Vec<FieldKind>,
    col_names: Vec<String>,
}

#[allow(clippy::needless_range_loop)]
pub fn recognize(src: &Source) -> (Vec<Batch>, Vec<Ticket>, Vec<String>) {
    let n = src.len();
    let mut warnings = Vec::new();
    if let Some(open) = src.unclosed_fence {
        warnings.push(format!(
            "line {}: code fence is never closed; the rest of the file is treated as code",
            open + 1
        ));
    }

    // 1. Headings.
    let mut heads: Vec<Heading> = Vec::new();
    let mut head_at: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        if src.is_opaque(i) {
            continue;
        }
        let line = src.line(i);
        let Some((level, r)) = source::atx_heading(line) else {
            continue;
        };
        let base = src.lines[i].start;
        let text = &line[r.clone()];
        let id = vocab::find_id(text);
        let status = vocab::status_section(text);
        // A group word anywhere in the heading (`Infrastructure (Epic 1)`) only counts when the heading has
        // no ID: `PH-001 · Andamiaje (Fase 0)` and `P1 · Pulir (Phase 2 follow-up)` are tickets.
        let no_id = id.as_ref().is_none_or(|m| m.strength == IdStrength::Weak);
        let group = vocab::group_word(text, no_id);
        head_at[i] = Some(heads.len());
        heads.push(Heading {
            line: i,
            level,
            text: base + r.start..base + r.end,
            id,
            group,
            status,
            role: Role::Plain,
        });
    }
    let head_end = |heads: &[Heading], k: usize| -> usize {
        let lvl = heads[k].level;
        heads[k + 1..]
            .iter()
            .find(|h| h.level <= lvl)
            .map(|h| h.line)
            .unwrap_or(n)
    };

    // 2. Tables and their rows with IDs.
    let tables = find_tables(src);
    let mut table_rows: Vec<(usize, usize, vocab::IdMatch)> = Vec::new(); // (table, line, id in cell)
    for (ti, t) in tables.iter().enumerate() {
        let Some(c) = t.id_col else { continue };
        for row in t.rows.clone() {
            let line = src.line(row);
            let cells = source::table_cells(line);
            if let Some(cell) = cells.get(c) {
                let cell_text = &line[cell.clone()];
                if let Some(m) = vocab::find_id(cell_text) {
                    if m.strength == IdStrength::Strong && !names_several_ids(cell_text, &m) {
                        table_rows.push((ti, row, m));
                    }
                }
            }
        }
    }

    // 3. Heading roles.
    for h in heads.iter_mut() {
        h.role = if let Some(st) = h.status {
            Role::Status(st)
        } else if h.group.is_some() {
            Role::Group
        } else {
            match h.id.as_ref().map(|m| m.strength) {
                Some(IdStrength::Strong) => Role::Ticket { weak: false },
                Some(IdStrength::Priority) => Role::Ticket { weak: true },
                _ => Role::Plain,
            }
        };
    }
    // A heading that reports on a ticket (`### T-004 — Résultat`, `### T-005 — Results`) is not a new ticket.
    for h in heads.iter_mut() {
        if !matches!(h.role, Role::Ticket { .. }) {
            continue;
        }
        let text = &src.text[h.text.clone()];
        if let Some(m) = &h.id {
            if is_report_title(&text[m.title_start.min(text.len())..]) {
                warnings.push(format!(
                    "line {}: heading \"{}\" reports on {}; it is read as text, not as a ticket",
                    h.line + 1,
                    text.trim(),
                    &text[m.range.clone()]
                ));
                h.role = Role::Plain;
            }
        }
    }
    // Containment: a ticket-looking heading that holds strong ticket headings, or ≥ 2 ID rows of a table, is a group.
    let strong_lines: Vec<usize> = heads
        .iter()
        .filter(|h| h.role == Role::Ticket { weak: false })
        .map(|h| h.line)
        .collect();
    for k in 0..heads.len() {
        if !matches!(heads[k].role, Role::Ticket { .. }) {
            continue;
        }
        let end = head_end(&heads, k);
        let start = heads[k].line;
        let holds_heading = {
            let first_after = strong_lines.partition_point(|&l| l <= start);
            strong_lines.get(first_after).is_some_and(|&l| l < end)
        };
        let rows = table_rows.partition_point(|(_, l, _)| *l < end)
            - table_rows
                .partition_point(|(_, l, _)| *l <= start)
                .min(table_rows.partition_point(|(_, l, _)| *l < end));
        if holds_heading || rows >= 2 {
            heads[k].role = Role::Group;
        }
    }
    // Bare-number headings are tickets only when nothing stronger exists and they have siblings.
    let any_ticket_heading = heads.iter().any(|h| matches!(h.role, Role::Ticket { .. }));
    if !any_ticket_heading {
        let weak: Vec<usize> = (0..heads.len())
            .filter(|&k| {
                heads[k].role == Role::Plain
                    && heads[k]
                        .id
                        .as_ref()
                        .is_some_and(|m| m.strength == IdStrength::Weak)
            })
            .collect();
        let mut by_level: HashMap<u8, usize> = HashMap::new();
        for &k in &weak {
            *by_level.entry(heads[k].level).or_default() += 1;
        }
        // `weak` is in line order: the first weak heading after `start` says whether one is inside.
        let weak_lines: Vec<usize> = weak.iter().map(|&k| heads[k].line).collect();
        // Numbered documentation sections (`## 1. Introduction`) are not tickets: at a level, at least half
        // of the numbered headings must look like tickets (`N|` titles, fields, checkboxes).
        let mut evidence: HashMap<u8, usize> = HashMap::new();
        for &k in &weak {
            let sep_pipe = heads[k]
                .id
                .as_ref()
                .is_some_and(|m| m.separator.trim() == "|");
            if sep_pipe || body_looks_like_ticket(src, heads[k].line + 1..head_end(&heads, k)) {
                *evidence.entry(heads[k].level).or_default() += 1;
            }
        }
        for &k in &weak {
            let lvl = heads[k].level;
            if by_level[&lvl] >= 2 && evidence.get(&lvl).copied().unwrap_or(0) * 2 >= by_level[&lvl]
            {
                let end = head_end(&heads, k);
                let start = heads[k].line;
                let first_after = weak_lines.partition_point(|&l| l <= start);
                let holds = weak_lines.get(first_after).is_some_and(|&l| l < end);
                if !holds {
                    heads[k].role = Role::Ticket { weak: true };
                }
            }
        }
    }

    let status_ctx = StatusCtx::new(&heads);

    // ID-less headings between two ticket siblings (same parent, same level) are tickets too, weakly.
    {
        let mut siblings: HashMap<(Option<usize>, u8), Vec<usize>> = HashMap::new();
        for k in 0..heads.len() {
            siblings
                .entry((status_ctx.parent[k], heads[k].level))
                .or_default()
                .push(k);
        }
        for group in siblings.values() {
            let ticket_pos: Vec<usize> = group
                .iter()
                .enumerate()
                .filter(|(_, &k)| heads[k].role == Role::Ticket { weak: false })
                .map(|(i, _)| i)
                .collect();
            if ticket_pos.len() < 2 {
                continue;
            }
            let (first, last) = (ticket_pos[0], ticket_pos[ticket_pos.len() - 1]);
            for &k in &group[first + 1..last] {
                if heads[k].role == Role::Plain && heads[k].id.is_none() {
                    let end = head_end(&heads, k);
                    let start = heads[k].line;
                    let first_after = strong_lines.partition_point(|&l| l <= start);
                    if strong_lines.get(first_after).is_none_or(|&l| l >= end) {
                        heads[k].role = Role::Ticket { weak: true };
                    }
                }
            }
        }
    }

    // ID-less sibling headings that each carry a status field (`### Login crashes` / `- **Status:** Open`
    // under `## QA`) are tickets too, weakly: at least two of them under one parent.
    {
        let mut siblings: HashMap<(Option<usize>, u8), Vec<usize>> = HashMap::new();
        for k in 0..heads.len() {
            let h = &heads[k];
            if h.role == Role::Plain && h.id.is_none() && h.group.is_none() {
                let end = head_end(&heads, k);
                let first_after = strong_lines.partition_point(|&l| l <= h.line);
                let holds = strong_lines.get(first_after).is_some_and(|&l| l < end);
                if !holds && has_status_field(src, h.line + 1..end) {
                    siblings
                        .entry((status_ctx.parent[k], h.level))
                        .or_default()
                        .push(k);
                }
            }
        }
        for group in siblings.values() {
            if group.len() >= 2 {
                for &k in group {
                    heads[k].role = Role::Ticket { weak: true };
                }
            }
        }
    }

    // IDs that name groups (`## EPIC-1: …`): rows or items listing them are summaries, not tickets.
    let group_keys: HashSet<String> = heads
        .iter()
        .filter(|h| h.role == Role::Group)
        .filter_map(|h| {
            h.id.as_ref()
                .map(|m| vocab::id_key(&src.text[h.text.clone()][m.range.clone()]))
        })
        .collect();

    // 4. Heading tickets.
    let mut tickets: Vec<Ticket> = Vec::new();
    let mut in_ticket: Vec<Option<usize>> = vec![None; n];
    for k in 0..heads.len() {
        let Role::Ticket { weak } = heads[k].role else {
            continue;
        };
        let h = &heads[k];
        let end = head_end(&heads, k);
        let text = &src.text[h.text.clone()];
        let (id, id_range, title_start, separator) = match &h.id {
            // A priority used as a label (`## P1 — Make … atomic`) is not an ID.
            Some(m) if m.strength == IdStrength::Priority => (
                None,
                None,
                h.text.start + m.title_start,
                m.separator.clone(),
            ),
            Some(m) if m.strength != IdStrength::Weak || weak => (
                Some(text[m.range.clone()].to_string()),
                Some(h.text.start + m.range.start..h.text.start + m.range.end),
                h.text.start + m.title_start,
                m.separator.clone(),
            ),
            _ => (None, None, h.text.start, String::new()),
        };
        let mut t = new_ticket(
            src,
            TicketKind::Heading,
            h.line..end,
            h.level,
            id,
            id_range,
            weak,
        );
        if let Some(tag) = h.id.as_ref().and_then(|m| m.tag.clone()) {
            let raw = text[tag.clone()].to_string();
            t.status_marks.push(StatusMark {
                source: StatusSource::Heading,
                line: h.line,
                range: h.text.start + tag.start..h.text.start + tag.end,
                status: vocab::normalize_status(&raw),
                raw,
            });
        }
        if let Some(cb) = h.id.as_ref().and_then(|m| m.checkbox.clone()) {
            let raw = text[cb.clone()].to_string();
            t.status_marks.push(StatusMark {
                source: StatusSource::Checkbox,
                line: h.line,
                range: h.text.start + cb.start..h.text.start + cb.end,
                status: Some(checkbox_status(&raw)),
                raw,
            });
        }
        t.separator = separator;
        t.title_range = title_start.min(h.text.end)..h.text.end;
        let id_is_priority =
            h.id.as_ref()
                .is_some_and(|m| m.strength == IdStrength::Priority);
        if id_is_priority {
            t.priority = h.id.as_ref().map(|m| text[m.range.clone()].to_string());
        }
        if let Some(p) = h.id.as_ref().and_then(|m| m.priority.clone()) {
            t.priority = Some(text[p].to_string());
        }
        heading_title_and_status(src, &mut t);
        // `T-001 | title | spec refs`: the title is the first pipe cell.
        if t.separator.trim() == "|" {
            if let Some(p) = src.text[t.title_range.clone()].find(" | ") {
                t.title_range.end = t.title_range.start + p;
                t.title = clean_title(&src.text[t.title_range.clone()]);
            }
        }
        for slot in in_ticket.iter_mut().take(end).skip(h.line) {
            *slot = Some(tickets.len());
        }
        tickets.push(t);
    }

    // 5. Table rows: rows of IDs defined by headings are views of those tickets; rows inside a ticket are body.
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, t) in tickets.iter().enumerate() {
        by_key.entry(t.key.clone()).or_insert(i);
    }
    let list_keys = list_item_keys(src, &head_at, &in_ticket);
    for (ti, row, m) in &table_rows {
        if in_ticket[*row].is_some() {
            continue;
        }
        {
            let line = src.line(*row);
            let cells = source::table_cells(line);
            let cell = &cells[tables[*ti].id_col.unwrap_or(0)];
            if group_keys.contains(&vocab::id_key(&line[cell.clone()][m.range.clone()])) {
                continue;
            }
        }
        let t = &tables[*ti];
        let line = src.line(*row);
        let base = src.lines[*row].start;
        let cells = source::table_cells(line);
        let cell = &cells[t.id_col.unwrap_or(0)];
        let raw = &line[cell.clone()][m.range.clone()];
        let key = vocab::id_key(raw);
        if !by_key.contains_key(&key) && list_keys.contains(&key) {
            // An overview row of a ticket that a list item defines below.
            continue;
        }
        // A second row with one ID in the same table is a second ticket with that ID (edits by it are
        // refused), not a view: as a view, whichever row comes first would be the ticket.
        let same_table = |o: usize| {
            tickets[o].kind == TicketKind::TableRow
                && tables.iter().any(|x| {
                    (x.header..x.rows.end).contains(&tickets[o].span.start) && x.rows.contains(row)
                })
        };
        if let Some(&owner) = by_key.get(&key).filter(|&&o| !same_table(o)) {
            tickets[owner].views.push(*row);
            if let Some(sc) = t.status_col.and_then(|c| cells.get(c)) {
                let rawst = line[sc.clone()].to_string();
                tickets[owner].status_marks.push(StatusMark {
                    source: StatusSource::Table,
                    line: *row,
                    range: base + sc.start..base + sc.end,
                    status: vocab::normalize_status(&rawst),
                    raw: rawst,
                });
            }
            continue;
        }
        let abs = |r: &Range<usize>| base + r.start..base + r.end;
        let id_abs = base + cell.start + m.range.start..base + cell.start + m.range.end;
        let mut tk = new_ticket(
            src,
            TicketKind::TableRow,
            *row..*row + 1,
            0,
            Some(raw.to_string()),
            Some(id_abs),
            false,
        );
        // Title: the title column, else the rest of the ID cell.
        match t.title_col.and_then(|c| cells.get(c)) {
            Some(tc) => tk.title_range = abs(tc),
            None => tk.title_range = base + cell.start + m.title_start..base + cell.end,
        }
        tk.title = clean_title(&src.text[tk.title_range.clone()]);
        for (c, cr) in cells.iter().enumerate() {
            if Some(c) == t.id_col || Some(c) == t.title_col {
                continue;
            }
            let kind = t.cols.get(c).copied().unwrap_or(FieldKind::Other);
            let value = line[cr.clone()].to_string();
            if kind == FieldKind::Status {
                tk.status_marks.push(StatusMark {
                    source: StatusSource::Table,
                    line: *row,
                    range: abs(cr),
                    status: vocab::normalize_status(&value),
                    raw: value.clone(),
                });
            }
            tk.fields.push(Field {
                key: t.col_names.get(c).cloned().unwrap_or_default(),
                kind,
                value,
                line: *row,
                value_range: abs(cr),
            });
        }
        by_key.entry(tk.key.clone()).or_insert(tickets.len());
        in_ticket[*row] = Some(tickets.len());
        tickets.push(tk);
    }

    let lead = lead_lines(src, &head_at);
    // 6. List-item tickets and status dividers (plain lines such as `🟩 DONE (Completado)`).
    let mut divider: Option<(TicketStatus, usize)> = None;
    // Items under an acceptance-criteria heading or label (`## Acceptance Criteria` / `- [ ] #1 …`).
    let mut criteria_lines: Vec<usize> = Vec::new();
    let mut section_refs: Vec<(usize, TicketStatus, usize)> = Vec::new(); // (ticket, status, line)
    let mut i = 0;
    while i < n {
        if head_at[i].is_some() {
            divider = None;
            i += 1;
            continue;
        }
        if src.is_opaque(i) || in_ticket[i].is_some() {
            i += 1;
            continue;
        }
        let line = src.line(i);
        let Some((indent, text_off, _)) = source::list_item(line) else {
            let t = line.trim();
            if !t.is_empty() && !source::is_table_row(line) && t.chars().count() < 60 {
                if let Some(st) = vocab::status_section(t) {
                    divider = Some((st, i));
                }
            }
            i += 1;
            continue;
        };
        if indent >= 2 {
            i += 1;
            continue;
        }
        let text = &line[text_off..];
        let (cb, after_cb) = checkbox_prefix(text);
        let rest = &text[after_cb..];
        let Some(m) = vocab::find_id(rest).filter(|m| m.strength == IdStrength::Strong) else {
            i += 1;
            continue;
        };
        let raw = &rest[m.range.clone()];
        let key = vocab::id_key(raw);
        let end = list_item_end(src, i, indent, &head_at);
        // `- M2 — 40%`, `- Phase 1: done`: progress of a group, not a ticket.
        if group_keys.contains(&key) || vocab::group_word(rest, false).is_some() {
            i = end;
            continue;
        }
        // `## Acceptance Criteria` / `- [ ] #1 The board shows …`, `- AC-2: …`: numbered criteria, not
        // tickets (a ticket ID such as `T-005` under such a heading is still read as a ticket).
        let criterion_number = raw.starts_with('#')
            || key
                .strip_prefix("AC")
                .map(|r| r.strip_prefix('-').unwrap_or(r))
                .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()));
        if criterion_number && under_acceptance_label(src, &head_at, &lead, i) {
            criteria_lines.push(i);
            i = end;
            continue;
        }
        // `- T-011, T-012`, `- **US1 (Phase 3)**: …`, or an item in a "next tickets:" / dependency list:
        // it names an ID that nothing defines.
        let title_text = rest[m.title_start.min(rest.len())..].trim();
        let after_id = rest[m.range.end..].trim_start_matches(['*', ']', '`', ' ']);
        let ranged = after_id
            .strip_prefix(['–', '-', '…'])
            .or_else(|| after_id.strip_prefix("to "))
            .or_else(|| after_id.strip_prefix("through "))
            .is_some_and(|r| {
                vocab::find_id(r.trim_start()).is_some_and(|x| x.strength == IdStrength::Strong)
            });
        let listing = after_id.starts_with(',')
            || ranged
            || title_text.is_empty()
            || (m.separator.trim().is_empty() && title_text.starts_with('('));
        // A second list item with the ID of a list-item ticket above and a title of its own, outside a
        // status section (`## Completed`) or a list of references, is a second ticket with that ID
        // (the file uses it twice): read as a reference, whichever of the two comes first would be
        // the ticket, and a move that reorders them would silently swap them. Edits by that ID are
        // then refused as ambiguous.
        let second_item = by_key.get(&key).is_some_and(|&owner| {
            tickets[owner].kind == TicketKind::ListItem
                && !listing
                && divider.is_none()
                && enclosing_status(&heads, &status_ctx, i).is_none()
                && !in_reference_context(src, &heads, &head_at, &lead, i)
        });
        if let Some(&owner) = by_key.get(&key).filter(|_| !second_item) {
            // A reference to a ticket defined elsewhere; its section may say its status.
            if let Some((st, dl)) = divider.or_else(|| enclosing_status(&heads, &status_ctx, i)) {
                section_refs.push((owner, st, dl));
            }
            // A summary checklist of heading tickets (`- [x] **US-002**: Create …` above
            // `### US-002: …`): the box is that ticket's status.
            let owner_t = &tickets[owner];
            if let (Some(mark), false) = (cb, listing) {
                if owner_t.kind == TicketKind::Heading
                    && !owner_t
                        .status_marks
                        .iter()
                        .any(|m| m.source == StatusSource::Checkbox)
                {
                    let at = src.lines[i].start + text_off + 1;
                    tickets[owner].status_marks.push(StatusMark {
                        source: StatusSource::Checkbox,
                        line: i,
                        range: at..at + mark.len(),
                        status: Some(checkbox_status(mark)),
                        raw: mark.to_string(),
                    });
                }
            }
            i = end;
            continue;
        }
        if listing || in_reference_context(src, &heads, &head_at, &lead, i) {
            warnings.push(format!(
                "line {}: {} is only mentioned in a list of references; it is not read as a ticket",
                i + 1,
                raw
            ));
            i = end;
            continue;
        }
        let base = src.lines[i].start + text_off + after_cb;
        let mut tk = new_ticket(
            src,
            TicketKind::ListItem,
            i..end,
            indent as u8,
            Some(raw.to_string()),
            Some(base + m.range.start..base + m.range.end),
            false,
        );
        tk.title_range = base + m.title_start..src.lines[i].content_end;
        tk.separator = m.separator.clone();
        // `- [DONE][P1] T-F003-01 …`, `- ✅ T-001 …`: a status tag before the ID.
        if let Some(tag) = m.tag.clone() {
            let raw = rest[tag.clone()].to_string();
            tk.status_marks.push(StatusMark {
                source: StatusSource::Heading,
                line: i,
                range: base + tag.start..base + tag.end,
                status: vocab::normalize_status(&raw),
                raw,
            });
        }
        if let Some(p) = m.priority.clone() {
            tk.priority = Some(rest[p].to_string());
        }
        if let Some(mark) = cb {
            let at = src.lines[i].start + text_off + 1;
            tk.status_marks.push(StatusMark {
                source: StatusSource::Checkbox,
                line: i,
                range: at..at + mark.len(),
                status: Some(checkbox_status(mark)),
                raw: mark.to_string(),
            });
        }
        heading_title_and_status(src, &mut tk);
        strip_leading_tags(src, &mut tk);
        if let Some((st, dl)) = divider {
            tk.status_marks.push(StatusMark {
                source: StatusSource::Section,
                line: dl,
                range: 0..0,
                raw: src.line(dl).trim().to_string(),
                status: Some(st),
            });
        }
        by_key.entry(key).or_insert(tickets.len());
        for slot in in_ticket.iter_mut().take(end).skip(i) {
            *slot = Some(tickets.len());
        }
        tickets.push(tk);
        i = end;
    }

    // 7. Fallbacks when nothing was found: checklists, then bold numbered paragraphs.
    if !tickets.is_empty() && !criteria_lines.is_empty() {
        warnings.push(format!(
            "lines {}: {} acceptance-criteria items are criteria, not tickets; skipped",
            criteria_lines
                .iter()
                .map(|l| (l + 1).to_string())
                .collect::<Vec<_>>()
                .join(", "),
            criteria_lines.len()
        ));
    }
    if tickets.is_empty() {
        fallback_kanban(src, &heads, &head_at, &mut tickets);
    }
    let mut checklist_groups: Vec<(usize, Range<usize>)> = Vec::new();
    if tickets.is_empty() {
        fallback_checklist(
            src,
            &head_at,
            &mut tickets,
            &mut checklist_groups,
            &mut warnings,
        );
    }
    if tickets.is_empty() {
        fallback_bold_paragraphs(src, &head_at, &mut tickets);
    }
    let mut para_groups: Vec<(usize, Range<usize>, String, Option<u32>)> = Vec::new();
    if tickets.is_empty() {
        fallback_numbered(src, &head_at, &mut tickets, &mut para_groups);
    }

    // 8. Groups: keyword headings, and the nearest heading above any ticket; status sections.
    let mut container: HashSet<usize> = HashSet::new();
    // The file's title: its first heading that is not a ticket, when that is the only first-level
    // heading besides tickets and status sections (`# Backend` beside `# Frontend` is a section like
    // it). Tickets are left out of both counts so that moving one does not change which heading is
    // the title.
    let sections = |h: &&Heading| !matches!(h.role, Role::Ticket { .. } | Role::Status(_));
    let first_heading = heads
        .iter()
        .find(|h| !matches!(h.role, Role::Ticket { .. }))
        .filter(|_| {
            heads
                .iter()
                .filter(sections)
                .filter(|h| h.level == 1)
                .count()
                == 1
        })
        .map(|h| h.line);
    for t in &tickets {
        let line = t.span.start;
        let lvl = if t.kind == TicketKind::Heading {
            t.level
        } else {
            7
        };
        let before = heads.partition_point(|h| h.line < line);
        // The nearest heading above with a lower level: the heading just above for lines that are
        // not headings, the heading's parent for a heading ticket (looked up, not searched for: a
        // batch of thousands of tickets would be scanned back once per ticket).
        let above = if lvl == 7 {
            before.checked_sub(1)
        } else if heads
            .get(before)
            .is_some_and(|h| h.line == line && h.level == lvl)
        {
            status_ctx.parent[before]
        } else {
            heads[..before].iter().rposition(|h| h.level < lvl)
        };
        if let Some(k) = above {
            let h = &heads[k];
            let generic = is_generic_title(&src.text[h.text.clone()]);
            // `### Implementation for User Story 1` under `## Phase 3: …`: list and table tickets belong to
            // the phase, not to the sub-heading.
            let in_keyword_group = lvl == 7 && {
                let mut p = status_ctx.parent[k];
                let mut found = false;
                while let Some(q) = p {
                    if heads[q].role == Role::Group && heads[q].group.is_some() {
                        found = true;
                        break;
                    }
                    p = status_ctx.parent[q];
                }
                found
            };
            let first_h1 = h.level == 1 && Some(h.line) == first_heading;
            if h.role == Role::Plain && !generic && !in_keyword_group && !first_h1 {
                container.insert(k);
            }
        }
    }
    for &k in &container {
        heads[k].role = Role::Group;
    }
    let group_scope = |heads: &[Heading], k: usize| -> usize {
        let lvl = heads[k].level;
        heads[k + 1..]
            .iter()
            .find(|h| h.level < lvl || (h.level == lvl && !matches!(h.role, Role::Ticket { .. })))
            .map(|h| h.line)
            .unwrap_or(n)
    };
    let mut batches: Vec<Batch> = Vec::new();
    let mut batch_of_head: HashMap<usize, usize> = HashMap::new();
    for k in 0..heads.len() {
        if heads[k].role != Role::Group {
            continue;
        }
        let h = &heads[k];
        let text = &src.text[h.text.clone()];
        let (word, num) = match &h.group {
            Some((w, num)) => (Some(w.clone()), *num),
            None => (None, vocab::leading_number(text)),
        };
        let title_off = batch_title_offset(text);
        let mut title_end = text.len();
        if text.ends_with("**") && text[..title_off.min(text.len())].contains("**") {
            title_end -= 2;
        }
        let title_end = text[..title_end].trim_end().len().max(title_off);
        batch_of_head.insert(k, batches.len());
        batches.push(Batch {
            number: 0,
            heading_number: num,
            ordinal: 0,
            title: clean_title(text),
            word,
            kind: if h.group.is_some() {
                BatchKind::Keyword
            } else {
                BatchKind::Container
            },
            level: h.level,
            heading_line: h.line,
            scope: h.line..group_scope(&heads, k),
            tickets: Vec::new(),
            title_range: h.text.start + title_off..h.text.start + title_end,
        });
    }
    for (line, scope) in &checklist_groups {
        let l = src.line(*line);
        let base = src.lines[*line].start;
        let text_off = source::list_item(l).map(|x| x.1).unwrap_or(0);
        let (_, after) = checkbox_prefix(&l[text_off..]);
        batches.push(Batch {
            number: 0,
            heading_number: None,
            ordinal: 0,
            title: clean_title(l[text_off + after..].trim_matches(['[', ']', ' '])),
            word: None,
            kind: BatchKind::Checklist,
            level: 0,
            heading_line: *line,
            scope: scope.clone(),
            tickets: Vec::new(),
            title_range: base + text_off + after..base + l.len(),
        });
    }
    for (line, scope, word, num) in &para_groups {
        let l = src.line(*line);
        let base = src.lines[*line].start;
        let inner_start = l.find("**").map(|p| p + 2).unwrap_or(0);
        let inner_end = l
            .rfind("**")
            .filter(|&e| e >= inner_start)
            .unwrap_or(l.len());
        let inner = &l[inner_start..inner_end];
        let off = batch_title_offset(inner);
        batches.push(Batch {
            number: 0,
            heading_number: *num,
            ordinal: 0,
            title: clean_title(inner),
            word: Some(word.clone()),
            kind: BatchKind::Keyword,
            level: 0,
            heading_line: *line,
            scope: scope.clone(),
            tickets: Vec::new(),
            title_range: base + inner_start + off..base + inner_end,
        });
    }
    // Each ticket joins the innermost batch whose scope holds it.
    let lines: Vec<usize> = tickets.iter().map(|t| t.span.start).collect();
    for (t, best) in tickets.iter_mut().zip(innermost_batches(&batches, &lines)) {
        if best.is_some() {
            t.batch = best;
        }
    }
    for (ti, t) in tickets.iter().enumerate() {
        if let Some(b) = t.batch {
            batches[b].tickets.push(ti);
        }
    }
    // Keep a ticket-less group only as the next of a numbered series that has tickets (`## Phase 6` after
    // `## Phase 5`): same level, same group word, and a number.
    let series: HashSet<(u8, String)> = batches
        .iter()
        .filter(|b| !b.tickets.is_empty())
        .filter_map(|b| b.word.as_ref().map(|w| (b.level, w.to_lowercase())))
        .collect();
    let keep: Vec<bool> = batches
        .iter()
        .map(|b| {
            !b.tickets.is_empty()
                || (b.heading_number.is_some()
                    && b.word
                        .as_ref()
                        .is_some_and(|w| series.contains(&(b.level, w.to_lowercase()))))
        })
        .collect();
    if keep.iter().any(|k| !k) {
        let mut remap = vec![None; batches.len()];
        let mut kept = Vec::new();
        for (i, b) in batches.into_iter().enumerate() {
            if keep[i] {
                remap[i] = Some(kept.len());
                kept.push(b);
            }
        }
        batches = kept;
        for t in tickets.iter_mut() {
            t.batch = t.batch.and_then(|b| remap[b]);
        }
    }
    batches.sort_by_key(|b| b.heading_line);
    // Re-index after sorting (checklist groups were appended).
    let order: HashMap<usize, usize> = batches
        .iter()
        .enumerate()
        .map(|(i, b)| (b.heading_line, i))
        .collect();
    for b in batches.iter_mut() {
        b.tickets.clear();
    }
    let lines: Vec<usize> = tickets.iter().map(|t| t.span.start).collect();
    for (t, best) in tickets.iter_mut().zip(innermost_batches(&batches, &lines)) {
        if t.batch.is_some() {
            t.batch = best;
        }
    }
    let _ = order;
    for (ti, t) in tickets.iter().enumerate() {
        if let Some(b) = t.batch {
            batches[b].tickets.push(ti);
        }
    }
    for (i, b) in batches.iter_mut().enumerate() {
        b.ordinal = i as u32 + 1;
        b.number = b.heading_number.unwrap_or(b.ordinal);
    }

    // 9. Status sections around heading tickets, references in status lists.
    for t in tickets.iter_mut() {
        if !t
            .status_marks
            .iter()
            .any(|m| m.source == StatusSource::Section)
        {
            if let Some((st, dl)) = enclosing_status(&heads, &status_ctx, t.span.start) {
                t.status_marks.push(StatusMark {
                    source: StatusSource::Section,
                    line: dl,
                    range: 0..0,
                    raw: src.line(dl).trim().to_string(),
                    status: Some(st),
                });
            }
        }
    }
    for (ti, st, dl) in section_refs {
        if !tickets[ti]
            .status_marks
            .iter()
            .any(|m| m.source == StatusSource::Section)
        {
            tickets[ti].status_marks.push(StatusMark {
                source: StatusSource::Section,
                line: dl,
                range: 0..0,
                raw: src.line(dl).trim().to_string(),
                status: Some(st),
            });
        }
    }

    // 10. Fields, checkboxes and the final status of each ticket.
    let keys = Keys::new(tickets.iter().map(|t| t.key.as_str()));
    for t in tickets.iter_mut() {
        read_body(src, t, &tables);
        resolve_fields(t, &keys);
        resolve_status(t);
    }

    // 11. Warnings.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for t in &tickets {
        if t.id.is_some() {
            let c = seen.entry(t.key.as_str()).or_default();
            *c += 1;
            if *c == 2 {
                warnings.push(format!(
                    "duplicate ticket id {} (line {}): edits by this id are refused",
                    t.display_id(),
                    t.lines.start + 1
                ));
            }
        }
    }
    for t in &tickets {
        if t.status_unknown {
            warnings.push(format!(
                "line {}: status {:?} of {} is not a known status",
                t.lines.start + 1,
                t.status_raw.clone().unwrap_or_default(),
                t.display_id()
            ));
        }
    }
    if let Some(w) = front_matter_task(src) {
        warnings.push(w);
    }
    if tickets.is_empty() {
        warnings.push(
            "no tickets recognised: the file is read-only unless writing is explicitly allowed"
                .into(),
        );
    }
    (batches, tickets, warnings)
}

/// A file whose front matter is itself one task (`id:`, `title:`, `status:` keys, as Backlog.md writes
/// them): the task is kept as written and not read as a ticket, and the warning says so.
fn front_matter_task(src: &Source) -> Option<String> {
    let block: Vec<usize> = (0..src.len())
        .take_while(|&i| src.opaque[i] == source::Opaque::FrontMatter)
        .collect();
    let value = |key: &str| {
        block.iter().find_map(|&i| {
            let (k, v) = src.line(i).split_once(':')?;
            (k.trim().eq_ignore_ascii_case(key))
                .then(|| v.trim().trim_matches(['\'', '"']).to_string())
        })
    };
    let (title, status) = (value("title")?, value("status")?);
    let id = value("id").filter(|v| !v.is_empty());
    Some(format!(
        "lines 1-{}: the front matter describes one task ({}«{}», status {}); it is kept as written and not read as a ticket",
        block.len(),
        id.map(|v| format!("{v} ")).unwrap_or_default(),
        title,
        if status.is_empty() { "not given" } else { status.as_str() },
    ))
}

/// A table cell that names several tickets (`T-001, T-002`, `T001–T004`, `A-1 to A-3`): an overview, not a row ticket.
fn names_several_ids(cell: &str, m: &vocab::IdMatch) -> bool {
    let mut after = &cell[m.range.end..];
    // `[PR-008](PR-008.md)`: the link target repeats the ID.
    if let Some(rest) = after.strip_prefix("](") {
        after = rest.split_once(')').map(|(_, r)| r).unwrap_or("");
    }
    let after = after.trim_start();
    after.starts_with([',', '–', '—', '…', '/', '&'])
        || after.starts_with(" to ")
        || after.starts_with("..")
        || vocab::ids_in(after)
            .iter()
            .any(|(_, id)| id.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// A title that reports on a ticket rather than naming one: `Résultat (2026-05-13)`, `Results`, `Outcome`.
fn is_report_title(title: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)^(?:résultats?|resultats?|resultados?|results?|outcome|rapport|report|bilan|follow-up|update|notes?|retro(?:spective)?)(?:\s*\(.*\))?\s*[:.]?\s*$")
            .expect("regex")
    });
    re.is_match(&clean_title(title))
}

/// A status field line (`- **Status:** Open`, `Estado: Hecho`) in a section's first lines.
fn has_status_field(src: &Source, lines: Range<usize>) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)^\s*(?:[-*+]\s+)?(?:\*\*)?(?:status|state|estado|statut|stato|статус|状態|ステータス|상태|状态)(?:\*\*)?\s*[:：](?:\*\*)?\s*\S")
            .expect("regex")
    });
    lines
        .filter(|&i| !src.is_opaque(i) && !src.line(i).trim().is_empty())
        .take(8)
        .any(|i| re.is_match(src.line(i)))
}

/// Ticket evidence in a section: a checkbox, or a field whose label is a ticket field (status, depends on, …).
fn body_looks_like_ticket(src: &Source, lines: Range<usize>) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^\s*(?:[-*+]\s+)?(?:\*\*)?([^*:：]{1,40}?)(?:\*\*)?\s*[:：]").expect("regex")
    });
    lines.filter(|&i| !src.is_opaque(i)).any(|i| {
        let l = src.line(i);
        if let Some((_, off, _)) = source::list_item(l) {
            if checkbox_prefix(&l[off..]).0.is_some() {
                return true;
            }
        }
        re.captures(l).is_some_and(|c| {
            !matches!(
                vocab::field_kind(c.get(1).expect("key").as_str()),
                FieldKind::Other | FieldKind::Files | FieldKind::Labels
            )
        })
    })
}

/// Keys of the IDs that top-level list items outside heading tickets start with.
fn list_item_keys(
    src: &Source,
    head_at: &[Option<usize>],
    in_ticket: &[Option<usize>],
) -> HashSet<String> {
    let mut keys = HashSet::new();
    for i in 0..src.len() {
        if src.is_opaque(i) || head_at[i].is_some() || in_ticket[i].is_some() {
            continue;
        }
        let line = src.line(i);
        let Some((indent, off, _)) = source::list_item(line) else {
            continue;
        };
        if indent >= 2 {
            continue;
        }
        let (_, after) = checkbox_prefix(&line[off..]);
        if let Some(m) =
            vocab::find_id(&line[off + after..]).filter(|m| m.strength == IdStrength::Strong)
        {
            keys.insert(vocab::id_key(&line[off + after..][m.range.clone()]));
        }
    }
    keys
}

/// The list at `line` sits under a heading or lead-in that makes it a list of references: next tickets,
/// related work, dependencies, execution order, parallel work, summaries.
fn in_reference_context(
    src: &Source,
    heads: &[Heading],
    head_at: &[Option<usize>],
    lead: &[Option<usize>],
    line: usize,
) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)\b(?:next|up next|related|see also|follow[- ]?ups?|blocked by|depends|dependenc\w*|execution order|parallel\w*|critical path|build order|strategy|summary|siguientes?|próxim\w*|prochains?|nächste)\b")
            .expect("regex")
    });
    // The lead-in: the nearest line above the list that is not part of it.
    if let Some(j) = lead[line] {
        let l = src.line(j);
        if head_at[j].is_none() && l.trim_end().ends_with(':') && re.is_match(l) {
            return true;
        }
    }
    let k = heads.partition_point(|h| h.line < line);
    k > 0 && re.is_match(&src.text[heads[k - 1].text.clone()])
}

/// For each line, the nearest line above it that is not blank, code, a list item or an indented
/// continuation: the heading or paragraph that introduces the list the line is in. One pass.
fn lead_lines(src: &Source, head_at: &[Option<usize>]) -> Vec<Option<usize>> {
    let mut out = vec![None; src.len()];
    let mut prev = None;
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = prev;
        let l = src.line(i);
        let part_of_list = src.is_opaque(i)
            || l.trim().is_empty()
            || source::list_item(l).is_some()
            || (source::indent_width(l) >= 2 && head_at[i].is_none());
        if !part_of_list {
            prev = Some(i);
        }
    }
    out
}

/// Leading spec-kit tags in a list item's title (`[P] [US1] Create …`, `[AUTH-US1] …`) are labels, not title.
fn strip_leading_tags(src: &Source, t: &mut Ticket) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^(?:\[(?:P|[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)\]\s*)+").expect("regex")
    });
    let text = &src.text[t.title_range.clone()];
    if let Some(m) = re.find(text) {
        if m.end() < text.len() {
            t.title_range.start += m.end();
            t.title = clean_title(&src.text[t.title_range.clone()]);
        }
    }
}

/// Kanban files: top-level items (with or without a checkbox) under status-column headings (`#### Doing`,
/// `### Done ✓`), in a file with at least two such columns and no other tickets. The column says the status.
fn fallback_kanban(
    src: &Source,
    heads: &[Heading],
    head_at: &[Option<usize>],
    tickets: &mut Vec<Ticket>,
) {
    if heads
        .iter()
        .filter(|h| matches!(h.role, Role::Status(_)))
        .count()
        < 2
    {
        return;
    }
    let mut i = 0;
    while i < src.len() {
        if src.is_opaque(i) || head_at[i].is_some() {
            i += 1;
            continue;
        }
        let k = heads.partition_point(|h| h.line < i);
        let status = k.checked_sub(1).and_then(|k| match heads[k].role {
            Role::Status(st) => Some((st, heads[k].line)),
            _ => None,
        });
        let line = src.line(i);
        let (Some((st, dl)), Some((indent, off, _))) = (status, source::list_item(line)) else {
            i += 1;
            continue;
        };
        let end = list_item_end(src, i, indent, head_at);
        let (_, after) = checkbox_prefix(&line[off..]);
        let body = line[off + after..].trim();
        if indent >= 2 || body.is_empty() {
            i = end;
            continue;
        }
        let base = src.lines[i].start;
        let mut t = new_ticket(
            src,
            if after > 0 {
                TicketKind::Checkbox
            } else {
                TicketKind::ListItem
            },
            i..end,
            indent as u8,
            None,
            None,
            true,
        );
        t.title_range = base + off + after..src.lines[i].content_end;
        t.title = clean_title(body);
        t.status_marks.push(StatusMark {
            source: StatusSource::Section,
            line: dl,
            range: 0..0,
            raw: src.line(dl).trim().to_string(),
            status: Some(st),
        });
        tickets.push(t);
        i = end;
    }
}

/// A checkbox under an acceptance-criteria heading or bold label (`## Acceptance Criteria`,
/// `**Definition of done:**`), found by walking up over the list.
fn under_acceptance_label(
    src: &Source,
    head_at: &[Option<usize>],
    lead: &[Option<usize>],
    line: usize,
) -> bool {
    if let Some(j) = lead[line] {
        let l = src.line(j);
        let label = match head_at[j] {
            Some(_) => source::atx_heading(l)
                .map(|(_, r)| l[r].to_string())
                .unwrap_or_default(),
            None => l.to_string(),
        };
        let label = clean_title(&label);
        let label = label.trim_end_matches([':', '：', ' ']);
        return vocab::field_kind(label) == FieldKind::Acceptance
            || label.to_lowercase().ends_with("checklist");
    }
    false
}

/// `**Title**: description`, `**Title:** description`, `**Title** — description`: the range of the bold
/// title when a description follows it.
fn bold_lead_title(text: &str) -> Option<Range<usize>> {
    let inner = text.strip_prefix("**")?;
    let close = inner.find("**")?;
    let title = inner[..close].trim_end_matches([':', '：', ' ']);
    let rest = inner[close + 2..].trim_start();
    let described = rest
        .strip_prefix([':', '：'])
        .or_else(|| rest.strip_prefix(['—', '–']))
        .or_else(|| rest.strip_prefix("- "))
        .map(str::trim)
        .or_else(|| {
            inner[..close]
                .trim_end()
                .ends_with([':', '：'])
                .then_some(rest)
        })
        .is_some_and(|d| !d.is_empty());
    (described && !title.trim().is_empty()).then(|| 2..2 + title.len())
}

/// A list item that is an acceptance label with its criteria nested below it (`**Test points**:`,
/// `**测试验证点**: `).
fn is_acceptance_label_item(text: &str) -> bool {
    let label = text.replace("**", "");
    let label = label.trim();
    label
        .strip_suffix(':')
        .or_else(|| label.strip_suffix('：'))
        .is_some_and(|k| vocab::field_kind(k) == FieldKind::Acceptance)
}

/// For each line: the batch with the latest heading line among those whose heading is above the
/// line and whose scope holds it (the last such batch in `batches` on equal heading lines). One
/// sweep in line order with a heap of the batches open so far, instead of every batch for every
/// line: a scope that ended above a line has ended for every later line too.
fn innermost_batches(batches: &[Batch], lines: &[usize]) -> Vec<Option<usize>> {
    use std::collections::BinaryHeap;
    // A batch is a candidate from the first line below its heading and inside its scope.
    let from = |b: usize| (batches[b].heading_line + 1).max(batches[b].scope.start);
    let mut by_heading: Vec<usize> = (0..batches.len()).collect();
    by_heading.sort_by_key(|&b| from(b));
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| lines[i]);
    let mut open: BinaryHeap<(usize, usize)> = BinaryHeap::new(); // (heading line, batch)
    let mut next = 0;
    let mut out = vec![None; lines.len()];
    for i in order {
        let line = lines[i];
        while next < by_heading.len() && from(by_heading[next]) <= line {
            let b = by_heading[next];
            open.push((batches[b].heading_line, b));
            next += 1;
        }
        while open
            .peek()
            .is_some_and(|&(_, b)| !batches[b].scope.contains(&line))
        {
            open.pop();
        }
        out[i] = open.peek().map(|&(_, b)| b);
    }
    out
}

fn new_ticket(
    src: &Source,
    kind: TicketKind,
    span: Range<usize>,
    level: u8,
    id: Option<String>,
    id_range: Option<Range<usize>>,
    weak: bool,
) -> Ticket {
    let lines = span.start..content_end(src, span.clone());
    let key = match &id {
        Some(raw) => vocab::id_key(raw),
        None => format!("line:{}", span.start + 1),
    };
    Ticket {
        weak: weak || id.is_none(),
        id,
        key,
        title: String::new(),
        kind,
        level,
        span,
        lines,
        batch: None,
        status: TicketStatus::Todo,
        status_unknown: false,
        status_source: StatusSource::Derived,
        status_raw: None,
        status_marks: Vec::new(),
        fields: Vec::new(),
        checkboxes: Vec::new(),
        depends_on: Vec::new(),
        files: Vec::new(),
        priority: None,
        owner: None,
        id_range,
        title_range: 0..0,
        views: Vec::new(),
        separator: String::new(),
    }
}

/// The end of a span's content: trailing blank lines and `---` separators are left out (unless opaque).
fn content_end(src: &Source, span: Range<usize>) -> usize {
    let mut end = span.end;
    while end > span.start + 1 {
        let l = src.line(end - 1);
        if !src.is_opaque(end - 1) && (l.trim().is_empty() || source::is_thematic_break(l)) {
            end -= 1;
        } else {
            break;
        }
    }
    end
}

/// Splits the title text (`title_range`) into the title and a status marker (suffix or bracket).
fn heading_title_and_status(src: &Source, t: &mut Ticket) {
    static SUFFIX: OnceLock<Regex> = OnceLock::new();
    static BRACKET: OnceLock<Regex> = OnceLock::new();
    let suffix = SUFFIX.get_or_init(|| {
        Regex::new(r"(?:\s+[—–-]+\s+|\s*)((?:✅|☑️?|✔️?|⬜️?|🟡|🟢|🔴|🟩|🟥|🚧|⏳|❌|⬛️?|⛔️?|🔲)(?:\s*[^\s*][^*]*?)?|(?:[A-Z][A-Z_ ]*[A-Z]|Done|Closed|Complete|Completed|Resolved|Blocked|Open))\s*(\*\*|__)?\s*$")
            .expect("regex")
    });
    let bracket = BRACKET.get_or_init(|| Regex::new(r"\[([^\]\[]{1,40})\]").expect("regex"));
    let r = t.title_range.clone();
    let text = &src.text[r.clone()];
    let mut title_end = text.len();
    if let Some(c) = suffix.captures(text) {
        let whole = c.get(0).expect("match");
        let marker = c.get(1).expect("group");
        let st = vocab::normalize_status(marker.as_str());
        // An uppercase tail only counts when it is a status and follows a dash, or stands alone as a word.
        let emoji = !marker
            .as_str()
            .starts_with(|ch: char| ch.is_ascii_alphabetic());
        let dashed = whole.as_str().trim_start().starts_with(['—', '–', '-']);
        if whole.start() > 0 && st.is_some() && (emoji || dashed) {
            title_end = whole.start();
            t.status_marks.push(StatusMark {
                source: StatusSource::Heading,
                line: t.span.start,
                range: r.start + marker.start()..r.start + marker.end(),
                raw: marker.as_str().to_string(),
                status: st,
            });
        }
    }
    // `[OPEN]`, `[x] [audited]`, `[P0, 4h]`, `[dep: 3, 4]`.
    let mut meta: Vec<Range<usize>> = Vec::new();
    for c in bracket.captures_iter(&text[..title_end]) {
        let whole = c.get(0).expect("match").range();
        let before = t.status_marks.len() + t.fields.len() + usize::from(t.priority.is_some());
        let inner = c.get(1).expect("group");
        let s = inner.as_str().trim();
        let lower = s.to_lowercase();
        if lower.starts_with("dep") {
            if let Some((_, v)) = s.split_once(':') {
                t.fields.push(Field {
                    key: "dep".into(),
                    kind: FieldKind::DependsOn,
                    value: v.trim().to_string(),
                    line: t.span.start,
                    value_range: r.start + inner.start()..r.start + inner.end(),
                });
            }
        } else if s.len() <= 12
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c == ' ')
            || lower == "x"
            || matches!(lower.as_str(), "verified" | "audited")
        {
            if let Some(st) = vocab::normalize_status(s).or(if lower == "x" {
                Some(TicketStatus::Done)
            } else {
                None
            }) {
                t.status_marks.push(StatusMark {
                    source: StatusSource::Heading,
                    line: t.span.start,
                    range: r.start + inner.start()..r.start + inner.end(),
                    raw: s.to_string(),
                    status: Some(st),
                });
            }
        } else if let Some(p) = s
            .split(',')
            .map(str::trim)
            .find(|p| p.len() == 2 && p.starts_with('P') && p.as_bytes()[1].is_ascii_digit())
        {
            t.priority = Some(p.to_string());
        }
        if t.status_marks.len() + t.fields.len() + usize::from(t.priority.is_some()) > before {
            meta.push(whole);
        }
    }
    // Recognised brackets at the end of the title are metadata, not part of it.
    for m in meta.iter().rev() {
        if text[m.end..title_end].trim_matches([' ', '`']).is_empty() {
            title_end = m.start;
        }
    }
    let title = &text[..title_end];
    if title.contains("~~") && title.trim_start().starts_with("~~") {
        t.status_marks.push(StatusMark {
            source: StatusSource::Heading,
            line: t.span.start,
            range: 0..0,
            raw: "~~".into(),
            status: Some(TicketStatus::Dropped),
        });
    }
    // Trailing bold/underscore closers that belong to decoration, not to the title.
    let trimmed = title.trim_end();
    let mut te = trimmed.len();
    for closer in ["**", "__"] {
        if trimmed[..te].ends_with(closer) && !trimmed[..te - closer.len()].contains(closer) {
            te -= closer.len();
        }
    }
    let te = trimmed[..te].trim_end().len();
    t.title_range = r.start..r.start + te;
    t.title = clean_title(&text[..te]);
}

/// A heading that just names the list (`## Tickets`, `## 📋 チケット一覧`, `# Issues`): not a batch.
fn is_generic_title(text: &str) -> bool {
    let t = clean_title(text).to_lowercase();
    let t = t.trim_end_matches([':', '.']).trim();
    matches!(
        t,
        "tickets"
            | "ticket list"
            | "all tickets"
            | "issues"
            | "tasks"
            | "task list"
            | "work items"
            | "items"
            | "backlog items"
            | "ticket backlog"
            | "todo list"
            | "チケット一覧"
            | "チケット"
            | "티켓"
            | "티켓 목록"
            | "тикеты"
            | "задачи"
            | "工单"
            | "任务"
            | "tâches"
            | "tareas"
            | "tickets list"
            | "list of tickets"
            | "user stories"
            | "stories"
    )
}

/// A title for display: no bold/code markers, no leading emoji, trimmed.
fn clean_title(s: &str) -> String {
    let s = s.trim();
    let mut skip = vocab::skip_decoration(s).min(s.len());
    // `` `.github/…` ``, `` `/docs/` ``: decoration stops at a code span, whose text is kept whole.
    if let Some(tick) = s[..skip].find('`') {
        skip = tick;
    }
    let s = &s[skip..];
    s.replace("**", "")
        .replace("__", "")
        .replace("~~", "")
        .replace('`', "")
        .trim()
        .to_string()
}

/// Where a batch heading's name starts: after the group word, number and separator (`Phase 1: ` → name).
fn batch_title_offset(text: &str) -> usize {
    static PREFIX: OnceLock<Regex> = OnceLock::new();
    let re = PREFIX.get_or_init(|| {
        Regex::new(r"^[^\p{L}\p{N}]*(?:\*\*)?(?:(?i:batch|phase|fase|фаза|stage|étape|milestone|sprint|wave|epic|эпик|iteration|release|stream)\s*[-#]?\s*\d+(?:\.\d+)*|[A-Z]{1,3}-?\d+|\d+[.)]?)\s*(?:[:：—–\-·|.]\s*)?")
            .expect("regex")
    });
    re.find(text).map(|m| m.end()).unwrap_or(0)
}

/// `[ ]`, `[x]`, `[]`, `[-]`, `[~]` at the start of an item's text: (mark, offset after the checkbox).
fn checkbox_prefix(text: &str) -> (Option<&str>, usize) {
    let b = text.as_bytes();
    if b.first() != Some(&b'[') {
        return (None, 0);
    }
    let close = match text[1..].find(']') {
        Some(c) => c + 1,
        None => return (None, 0),
    };
    let mark = &text[1..close];
    if !matches!(mark, " " | "x" | "X" | "" | "-" | "~" | "/" | ">") {
        return (None, 0);
    }
    let mut after = close + 1;
    while after < b.len() && b[after] == b' ' {
        after += 1;
    }
    (Some(mark), after)
}

fn checkbox_status(mark: &str) -> TicketStatus {
    match mark {
        "x" | "X" => TicketStatus::Done,
        "-" => TicketStatus::Dropped,
        "~" => TicketStatus::Blocked,
        "/" | ">" => TicketStatus::Doing,
        _ => TicketStatus::Todo,
    }
}

/// The line after a list item's last line: nested or indented lines and blank lines followed by them belong to it.
fn list_item_end(src: &Source, i: usize, indent: usize, head_at: &[Option<usize>]) -> usize {
    let n = src.len();
    let mut j = i + 1;
    let mut last = i + 1;
    while j < n {
        if head_at[j].is_some() {
            break;
        }
        let l = src.line(j);
        if l.trim().is_empty() {
            j += 1;
            continue;
        }
        let w = source::indent_width(l);
        if w >= indent + 2 {
            j += 1;
            last = j;
            continue;
        }
        break;
    }
    last
}

/// For each heading: its parent heading and the innermost status section holding it (itself included).
struct StatusCtx {
    parent: Vec<Option<usize>>,
    inherited: Vec<Option<(TicketStatus, usize)>>,
}

impl StatusCtx {
    fn new(heads: &[Heading]) -> StatusCtx {
        let mut parent = vec![None; heads.len()];
        let mut inherited = vec![None; heads.len()];
        let mut stack: Vec<usize> = Vec::new();
        for (k, h) in heads.iter().enumerate() {
            while stack.last().is_some_and(|&top| heads[top].level >= h.level) {
                stack.pop();
            }
            parent[k] = stack.last().copied();
            inherited[k] = match h.role {
                Role::Status(st) => Some((st, h.line)),
                _ => parent[k].and_then(|p| inherited[p]),
            };
            stack.push(k);
        }
        StatusCtx { parent, inherited }
    }
}

/// The innermost status-section heading whose section holds `line` (a heading line looks at its ancestors).
fn enclosing_status(
    heads: &[Heading],
    ctx: &StatusCtx,
    line: usize,
) -> Option<(TicketStatus, usize)> {
    let k = heads.partition_point(|h| h.line <= line).checked_sub(1)?;
    if heads[k].line == line {
        ctx.parent[k].and_then(|p| ctx.inherited[p])
    } else {
        ctx.inherited[k]
    }
}

fn find_tables(src: &Source) -> Vec<Table> {
    let n = src.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < n {
        if src.is_opaque(i)
            || !source::is_table_row(src.line(i))
            || !source::is_table_delimiter(src.line(i + 1))
        {
            i += 1;
            continue;
        }
        let header = i;
        let mut end = i + 2;
        let width = source::table_cells(src.line(header)).len();
        loop {
            while end < n && !src.is_opaque(end) && source::is_table_row(src.line(end)) {
                end += 1;
            }
            // A blank line inside a table: rows of the same width that follow (and are not a new table's
            // header) continue it.
            let mut j = end;
            while j < n && j < end + 2 && src.line(j).trim().is_empty() {
                j += 1;
            }
            let continues = j > end
                && j < n
                && !src.is_opaque(j)
                && source::is_table_row(src.line(j))
                && source::table_cells(src.line(j)).len() == width
                && !(j + 1 < n && source::is_table_delimiter(src.line(j + 1)));
            if !continues {
                break;
            }
            end = j;
        }
        let hl = src.line(header);
        let names: Vec<String> = source::table_cells(hl)
            .into_iter()
            .map(|r| hl[r].trim_matches(['*', '`', ' ']).to_string())
            .collect();
        let lower: Vec<String> = names.iter().map(|s| s.to_lowercase()).collect();
        let is_id = |s: &str| {
            matches!(
                s,
                "id" | "ticket"
                    | "tickets"
                    | "#"
                    | "tâche"
                    | "チケット"
                    | "티켓"
                    | "тикет"
                    | "key"
                    | "ticket id"
                    | "issue"
                    | "no"
                    | "no."
                    | "番号"
            )
        };
        let mut id_col = lower.iter().position(|s| is_id(s));
        // Or the first column holds ≥ 2 strong IDs.
        if id_col.is_none() {
            let hits = (header + 2..end)
                .filter(|&r| {
                    let l = src.line(r);
                    source::table_cells(l).first().is_some_and(|c| {
                        vocab::find_id(&l[c.clone()])
                            .is_some_and(|m| m.strength == IdStrength::Strong)
                    })
                })
                .count();
            if hits >= 2 {
                id_col = Some(0);
            }
        }
        let cols: Vec<FieldKind> = lower.iter().map(|s| vocab::field_kind(s)).collect();
        let is_title = |s: &str| {
            matches!(
                s,
                "title"
                    | "task"
                    | "summary"
                    | "name"
                    | "description"
                    | "feature"
                    | "タイトル"
                    | "チケット名"
                    | "제목"
                    | "titre"
                    | "descripción"
                    | "titulo"
                    | "título"
                    | "задача"
                    | "название"
                    | "件名"
                    | "概要"
                    | "subject"
                    | "item"
                    | "work"
            )
        };
        let mut title_col = lower
            .iter()
            .enumerate()
            .position(|(c, s)| Some(c) != id_col && is_title(s));
        if title_col.is_none() {
            title_col =
                (0..names.len()).find(|&c| Some(c) != id_col && cols[c] == FieldKind::Other);
        }
        let status_col = cols.iter().position(|k| *k == FieldKind::Status);
        out.push(Table {
            header,
            rows: header + 2..end,
            id_col,
            title_col,
            status_col,
            cols,
            col_names: names,
        });
        i = end;
    }
    out
}

#[allow(clippy::needless_range_loop)]
fn fallback_checklist(
    src: &Source,
    head_at: &[Option<usize>],
    tickets: &mut Vec<Ticket>,
    groups: &mut Vec<(usize, Range<usize>)>,
    warnings: &mut Vec<String>,
) {
    let lead = lead_lines(src, head_at);
    let mut skipped: Vec<usize> = Vec::new();
    // (line, indent, mark, text offset after the checkbox, item text offset)
    let mut items: Vec<(usize, usize, String, usize)> = Vec::new();
    // The list items open above the current line: (indent, is an acceptance label such as
    // `- **Test points**:`), so that criteria nested under such a label are found in one pass.
    let mut open: Vec<(usize, bool)> = Vec::new();
    for i in 0..src.len() {
        if head_at[i].is_some() {
            open.clear();
            continue;
        }
        if src.is_opaque(i) {
            continue;
        }
        let l = src.line(i);
        let mut in_criteria = false;
        let (indent, off) = match source::list_item(l) {
            Some((w, off, _)) => {
                while open.last().is_some_and(|&(pw, _)| pw >= w) {
                    open.pop();
                }
                in_criteria = open.last().is_some_and(|&(_, acc)| acc);
                open.push((w, is_acceptance_label_item(&l[off..])));
                (w, off)
            }
            None => {
                if !l.trim().is_empty() && source::indent_width(l) == 0 {
                    open.clear();
                }
                let t = l.trim_start();
                if t.starts_with('[') && source::indent_width(l) <= 3 {
                    (0, l.len() - t.len())
                } else {
                    continue;
                }
            }
        };
        let (mark, after) = checkbox_prefix(&l[off..]);
        let Some(mark) = mark else { continue };
        if after == 0 {
            continue;
        }
        if in_criteria || under_acceptance_label(src, head_at, &lead, i) {
            skipped.push(i);
            continue;
        }
        items.push((i, indent, mark.to_string(), off));
    }
    if !skipped.is_empty() {
        warnings.push(format!(
            "lines {}: {} acceptance-criteria checkboxes are criteria, not tickets; skipped",
            skipped
                .iter()
                .map(|l| (l + 1).to_string())
                .collect::<Vec<_>>()
                .join(", "),
            skipped.len()
        ));
    }
    if items.len() < 2 {
        return;
    }
    let min_indent = items.iter().map(|x| x.1).min().unwrap_or(0);
    for (k, (line, indent, mark, off)) in items.iter().enumerate() {
        let has_children = items.get(k + 1).is_some_and(|nx| nx.1 > *indent);
        if has_children {
            if *indent == min_indent {
                let end = items[k + 1..]
                    .iter()
                    .find(|x| x.1 <= *indent)
                    .map(|x| x.0)
                    .unwrap_or_else(|| list_item_end(src, *line, *indent, head_at));
                groups.push((*line, *line..end));
            }
            continue;
        }
        let l = src.line(*line);
        let base = src.lines[*line].start;
        let (_, after) = checkbox_prefix(&l[*off..]);
        let end = list_item_end(src, *line, *indent, head_at);
        let mut t = new_ticket(
            src,
            TicketKind::Checkbox,
            *line..end,
            *indent as u8,
            None,
            None,
            true,
        );
        t.title_range = base + off + after..base + l.len();
        // `- [x] **Create scenes.json**: in data/ …`: the bold lead is the title, the rest describes it.
        if let Some(r) = bold_lead_title(&l[off + after..]) {
            t.title_range = base + off + after + r.start..base + off + after + r.end;
        }
        t.title = clean_title(&src.text[t.title_range.clone()]);
        let at = base + off + 1;
        t.status_marks.push(StatusMark {
            source: StatusSource::Checkbox,
            line: *line,
            range: at..at + mark.len(),
            raw: mark.clone(),
            status: Some(checkbox_status(mark)),
        });
        tickets.push(t);
    }
}

fn fallback_bold_paragraphs(src: &Source, head_at: &[Option<usize>], tickets: &mut Vec<Ticket>) {
    static BOLD: OnceLock<Regex> = OnceLock::new();
    let re = BOLD.get_or_init(|| Regex::new(r"^\*\*(\d+)\.\s*([^*]+?)\*\*").expect("regex"));
    let starts: Vec<usize> = (0..src.len())
        .filter(|&i| !src.is_opaque(i) && re.is_match(src.line(i)))
        .collect();
    if starts.len() < 2 {
        return;
    }
    // The first heading line after each line, from the bottom up (not searched once per paragraph).
    let mut next_heading = vec![src.len(); src.len() + 1];
    for j in (0..src.len()).rev() {
        next_heading[j] = if head_at.get(j + 1).is_some_and(|h| h.is_some()) {
            j + 1
        } else {
            next_heading[j + 1]
        };
    }
    for (k, &s) in starts.iter().enumerate() {
        let next_head = next_heading[s];
        let end = starts
            .get(k + 1)
            .copied()
            .unwrap_or(src.len())
            .min(next_head);
        let l = src.line(s);
        let c = re.captures(l).expect("matched");
        let base = src.lines[s].start;
        let num = c.get(1).expect("num");
        let title = c.get(2).expect("title");
        let mut t = new_ticket(
            src,
            TicketKind::BoldParagraph,
            s..end,
            0,
            Some(num.as_str().to_string()),
            Some(base + num.start()..base + num.end()),
            true,
        );
        t.title_range = base + title.start()..base + title.end();
        t.title = title.as_str().trim().to_string();
        t.separator = ". ".into();
        tickets.push(t);
    }
}

/// A loose top-level numbered list (`1.  Title`, pandoc style) in a file with at most one heading; bold
/// paragraphs with a group word (`**🧱 PHASE 1: … **`) group the items.
fn fallback_numbered(
    src: &Source,
    head_at: &[Option<usize>],
    tickets: &mut Vec<Ticket>,
    groups: &mut Vec<(usize, Range<usize>, String, Option<u32>)>,
) {
    if head_at.iter().flatten().count() > 1 {
        return;
    }
    let items: Vec<(usize, usize)> = (0..src.len())
        .filter(|&i| !src.is_opaque(i))
        .filter_map(|i| match source::list_item(src.line(i)) {
            Some((w, off, true)) if w < 2 => Some((i, off)),
            _ => None,
        })
        .collect();
    if items.len() < 3 {
        return;
    }
    for &(i, off) in &items {
        let l = src.line(i);
        let base = src.lines[i].start;
        let lead = l.len() - l.trim_start().len();
        let digits = l[lead..].bytes().take_while(|b| b.is_ascii_digit()).count();
        let end = list_item_end(src, i, 0, head_at);
        let mut t = new_ticket(
            src,
            TicketKind::ListItem,
            i..end,
            0,
            Some(l[lead..lead + digits].to_string()),
            Some(base + lead..base + lead + digits),
            true,
        );
        t.separator = l[lead + digits..off].to_string();
        t.title_range = base + off..base + l.trim_end().len().max(off);
        t.title = clean_title(&l[off..]);
        tickets.push(t);
    }
    let heads: Vec<(usize, String, Option<u32>)> = (0..src.len())
        .filter(|&i| !src.is_opaque(i))
        .filter_map(|i| {
            let t = src.line(i).trim();
            if t.len() > 4 && t.starts_with("**") && t.ends_with("**") {
                vocab::group_word(&t[2..t.len() - 2], true).map(|(w, n)| (i, w, n))
            } else {
                None
            }
        })
        .collect();
    for (k, (line, word, num)) in heads.iter().enumerate() {
        let end = heads.get(k + 1).map(|h| h.0).unwrap_or(src.len());
        groups.push((*line, *line..end, word.clone(), *num));
    }
}

/// Fields and checkboxes inside a ticket's own lines.
fn read_body(src: &Source, t: &mut Ticket, tables: &[Table]) {
    static BOLD: OnceLock<Regex> = OnceLock::new();
    static PLAIN: OnceLock<Regex> = OnceLock::new();
    static LABEL: OnceLock<Regex> = OnceLock::new();
    let bold = BOLD.get_or_init(|| {
        Regex::new(
            r"^\s*(?:[-*+]\s+)?\*\*([^*]{1,60}?)\s*(?::\*\*|：\*\*|\*\*\s*[:：])[ \t]*(.*?)\s*$",
        )
        .expect("regex")
    });
    let plain = PLAIN.get_or_init(|| {
        Regex::new(r"^\s*(?:[-*+]\s+)?([^\s:*`|#>\[][^:*`|]{0,38}?)\s?[:：]\s+(.+?)\s*$")
            .expect("regex")
    });
    let label =
        LABEL.get_or_init(|| Regex::new(r"^\s*\*\*([^*]{1,60}?)[:：]?\*\*\s*$").expect("regex"));
    if t.kind == TicketKind::TableRow {
        return;
    }
    let first = t.lines.start + 1;
    let mut i = first;
    while i < t.lines.end {
        if src.is_opaque(i) {
            i += 1;
            continue;
        }
        let line = src.line(i);
        let base = src.lines[i].start;
        // A per-ticket `| Field | Value |` table.
        if source::is_table_row(line) {
            // Tables are in line order.
            let at = tables.partition_point(|tb| tb.header < i);
            if let Some(tb) = tables.get(at).filter(|tb| tb.header == i) {
                for r in tb.rows.clone() {
                    let l = src.line(r);
                    let cells = source::table_cells(l);
                    if cells.len() >= 2 {
                        let k = l[cells[0].clone()].trim_matches(['*', ' ']).to_string();
                        let kind = vocab::field_kind(&k);
                        if kind != FieldKind::Other {
                            let rb = src.lines[r].start;
                            t.fields.push(Field {
                                key: k,
                                kind,
                                value: l[cells[1].clone()].to_string(),
                                line: r,
                                value_range: rb + cells[1].start..rb + cells[1].end,
                            });
                        }
                    }
                }
                // The header row itself can be `| Field | Value |` data in two-column tables.
                i = tb.rows.end.max(i + 1);
                continue;
            }
        }
        // Checkboxes.
        if let Some((_, off, _)) = source::list_item(line) {
            let (mark, after) = checkbox_prefix(&line[off..]);
            if let Some(mark) = mark {
                t.checkboxes.push(Checkbox {
                    line: i,
                    mark: mark.to_string(),
                    checked: matches!(mark, "x" | "X"),
                    text: line[off + after..].trim().to_string(),
                });
            }
        }
        // Fields: several `**K:** v` on one line split on ` · ` / ` | `.
        let has_bold = line.as_bytes().windows(2).any(|w| w == b"**");
        let has_colon = line.contains(':') || line.contains('：');
        if !has_colon && !has_bold {
            i += 1;
            continue;
        }
        let segments = if has_bold && has_colon {
            split_multi_field(line)
        } else {
            Vec::new()
        };
        let mut matched = false;
        for seg in &segments {
            let s = &line[seg.clone()];
            if let Some(c) = bold.captures(s) {
                let k = c.get(1).expect("key").as_str().trim().to_string();
                let v = c.get(2).expect("val");
                let kind = vocab::field_kind(&k);
                if k.split_whitespace().count() <= 6 {
                    matched = true;
                    t.fields.push(Field {
                        key: k,
                        kind,
                        value: v.as_str().to_string(),
                        line: i,
                        value_range: base + seg.start + v.start()..base + seg.start + v.end(),
                    });
                }
            }
        }
        if !matched {
            if let Some(c) = if has_colon {
                plain.captures(line)
            } else {
                None
            } {
                let k = c.get(1).expect("key").as_str().trim();
                let kind = vocab::field_kind(k);
                if kind != FieldKind::Other {
                    let v = c.get(2).expect("val");
                    t.fields.push(Field {
                        key: k.to_string(),
                        kind,
                        value: v.as_str().to_string(),
                        line: i,
                        value_range: base + v.start()..base + v.end(),
                    });
                }
            } else if let Some(c) = if has_bold { label.captures(line) } else { None } {
                let k = c.get(1).expect("key").as_str().trim();
                let kind = vocab::field_kind(k);
                if kind != FieldKind::Other {
                    t.fields.push(Field {
                        key: k.to_string(),
                        kind,
                        value: String::new(),
                        line: i,
                        value_range: src.lines[i].content_end..src.lines[i].content_end,
                    });
                }
            }
        }
        i += 1;
    }
}

/// Byte ranges of the segments of a line holding several bold fields (`**A:** x | **B:** y`).
fn split_multi_field(line: &str) -> Vec<Range<usize>> {
    let bold_keys = line.matches("**").count();
    if bold_keys < 4 {
        return std::iter::once(0..line.len()).collect();
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        let sep = [" · ", " | ", " • "]
            .into_iter()
            .find(|s| rest.starts_with(s));
        if let Some(s) = sep {
            if rest[s.len()..].trim_start().starts_with("**") {
                out.push(start..i);
                start = i + s.len();
                i = start;
                continue;
            }
        }
        i += rest.chars().next().map(char::len_utf8).unwrap_or(1);
    }
    out.push(start..line.len());
    out
}

fn resolve_fields(t: &mut Ticket, keys: &Keys) {
    let mut status_fields = Vec::new();
    for f in &t.fields {
        let v = f.value.trim();
        match f.kind {
            FieldKind::DependsOn if t.depends_on.is_empty() && !vocab::is_empty_value(v) => {
                t.depends_on = parse_deps(v, keys);
            }
            FieldKind::Files if t.files.is_empty() => {
                t.files = parse_files(v);
            }
            FieldKind::Priority if t.priority.is_none() && !v.is_empty() => {
                t.priority = Some(strip_md(v));
            }
            FieldKind::Owner if t.owner.is_none() && !v.is_empty() && !vocab::is_empty_value(v) => {
                t.owner = Some(strip_md(v));
            }
            FieldKind::Status if !v.is_empty() && t.kind != TicketKind::TableRow => {
                status_fields.push(StatusMark {
                    source: StatusSource::Field,
                    line: f.line,
                    range: f.value_range.clone(),
                    raw: f.value.clone(),
                    status: vocab::normalize_status(v),
                });
            }
            _ => {}
        }
    }
    t.status_marks.extend(status_fields);
}

fn strip_md(v: &str) -> String {
    v.replace("**", "").replace('`', "").trim().to_string()
}

/// The ticket keys of a file, and the keys each short form names: `001A` for `SCOTTISH-001A`,
/// `ETUDE-6` for `TICKET-ETUDE-6`, `3` for `TICKET 3` (what follows a `-` or a space in a key).
/// A short form that several keys end with names the first of them in file order.
pub struct Keys {
    keys: HashSet<String>,
    short: HashMap<String, String>,
}

impl Keys {
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Keys {
        let mut all = HashSet::new();
        let mut short = HashMap::new();
        for key in keys {
            for (i, _) in key.match_indices(['-', ' ']) {
                short
                    .entry(key[i + 1..].to_string())
                    .or_insert_with(|| key.to_string());
            }
            all.insert(key.to_string());
        }
        Keys { keys: all, short }
    }

    /// The ID as written when it is a key, the key its short form names, else as written.
    fn resolve(&self, raw: &str) -> String {
        let k = vocab::id_key(raw);
        if self.keys.contains(&k) {
            return raw.to_string();
        }
        match self.short.get(&k) {
            Some(full) => full.clone(),
            None => raw.to_string(),
        }
    }
}

/// Dependency IDs: comma/`and`/`→` lists, ranges `A–B` and `A through B`, short forms resolved against the file.
pub fn parse_deps(v: &str, keys: &Keys) -> Vec<String> {
    let ids = vocab::ids_in(v);
    let mut out: Vec<String> = Vec::new();
    let resolve = |raw: &str| keys.resolve(raw);
    let mut k = 0;
    while k < ids.len() {
        let (r, raw) = &ids[k];
        if let Some((r2, raw2)) = ids.get(k + 1) {
            let between = v[r.end..r2.start].trim().to_lowercase();
            if matches!(between.as_str(), "–" | "-" | "through" | "to" | "..") {
                if let Some(expanded) = expand_range(raw, raw2) {
                    out.extend(expanded.iter().map(|s| resolve(s)));
                    k += 2;
                    continue;
                }
            }
        }
        // Plain numbers only count when the ticket keys have numbers as their last part.
        out.push(resolve(raw));
        k += 1;
    }
    out.dedup();
    out
}

fn expand_range(a: &str, b: &str) -> Option<Vec<String>> {
    let split = |s: &str| -> Option<(String, String)> {
        let d = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if d == 0 {
            return None;
        }
        Some((s[..s.len() - d].to_string(), s[s.len() - d..].to_string()))
    };
    let (pa, na) = split(a)?;
    let (pb, nb) = split(b)?;
    let prefix = if pb.is_empty() {
        pa.clone()
    } else {
        pb.clone()
    };
    if pa != prefix {
        return None;
    }
    let (x, y): (u32, u32) = (na.parse().ok()?, nb.parse().ok()?);
    if y < x || y - x > 200 {
        return None;
    }
    let width = na.len();
    Some((x..=y).map(|i| format!("{prefix}{i:0width$}")).collect())
}

fn parse_files(v: &str) -> Vec<String> {
    let ticks: Vec<&str> = v
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .collect();
    if !ticks.is_empty() {
        return ticks.into_iter().map(str::to_string).collect();
    }
    if vocab::is_empty_value(v) {
        return Vec::new();
    }
    v.split([',', ';'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Precedence: field > heading > table cell > own checkbox > section > derived from acceptance checkboxes.
fn resolve_status(t: &mut Ticket) {
    let rank = |s: StatusSource| match s {
        StatusSource::Field => 0,
        StatusSource::Heading => 1,
        StatusSource::Table => 2,
        StatusSource::Checkbox => 3,
        StatusSource::Section => 4,
        StatusSource::Derived => 5,
    };
    let best = t
        .status_marks
        .iter()
        .min_by_key(|m| (rank(m.source), m.status.is_none() as u8))
        .cloned();
    let derived = || {
        let total = t.checkboxes.len();
        let done = t.checkboxes.iter().filter(|c| c.checked).count();
        if total > 0 && done == total {
            TicketStatus::Done
        } else if done > 0 {
            TicketStatus::Doing
        } else {
            TicketStatus::Todo
        }
    };
    match best {
        Some(m) => {
            t.status_source = m.source;
            t.status_raw = Some(m.raw.clone());
            match m.status {
                Some(st) => t.status = st,
                None => {
                    t.status_unknown = true;
                    t.status = derived();
                }
            }
        }
        None => {
            t.status_source = StatusSource::Derived;
            t.status = derived();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_lists() {
        let keys = Keys::new(["ACA-2", "ACA-3", "ACA-4", "T-1", "SCOTTISH-1A"]);
        assert_eq!(
            parse_deps("ACA-002 through ACA-004", &keys),
            ["ACA-002", "ACA-003", "ACA-004"]
        );
        assert_eq!(parse_deps("T-001, T-002", &keys), ["T-001", "T-002"]);
        assert_eq!(
            parse_deps("T-001 – T-003", &keys),
            ["T-001", "T-002", "T-003"]
        );
        // Short forms name the key they end; the first key in file order when several do.
        let keys = Keys::new(["SCOTTISH-1A", "TICKET-ETUDE-6", "TICKET 3", "B-ETUDE-6"]);
        assert_eq!(
            parse_deps("001a, ETUDE-06 and 3, Z-9", &keys),
            ["SCOTTISH-1A", "TICKET-ETUDE-6", "TICKET 3", "Z-9"]
        );
        assert!(vocab::is_empty_value("—"));
        assert!(vocab::is_empty_value("aucune (COT câblé)"));
        assert!(vocab::is_empty_value("None"));
        assert!(vocab::is_empty_value("nothing. Do this first."));
        assert!(!vocab::is_empty_value("T-001"));
    }

    #[test]
    fn generic_list_headings_are_not_batches() {
        assert!(is_generic_title("📋 チケット一覧"));
        assert!(is_generic_title("**Tickets**"));
        assert!(!is_generic_title("Backend Tickets"));
    }

    #[test]
    fn multi_field_lines_split() {
        let l = "**Priority**: P0 | **Points**: 5";
        let segs: Vec<&str> = split_multi_field(l).into_iter().map(|r| &l[r]).collect();
        assert_eq!(segs, ["**Priority**: P0", "**Points**: 5"]);
    }
}
