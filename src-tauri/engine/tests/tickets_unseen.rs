//! Recognition on files the codec was not written against: one data-driven `check(input, expect)` per
//! misreading class (input markdown → compact listing of batches and tickets with id, status and title),
//! and real files from other repositories (tests/corpus/unseen, provenance in its MANIFEST.tsv) with the
//! exact ticket set a careful reader sees.

use std::fs;
use std::path::PathBuf;

use leapfrog_engine::tickets::Document;

fn outline(d: &Document) -> String {
    let t = |i: usize| {
        let t = &d.tickets[i];
        let st = if t.status_unknown {
            "unknown"
        } else {
            t.status.as_str()
        };
        format!("{} {st} «{}»", t.display_id(), t.title)
    };
    let mut s = String::new();
    for b in &d.batches {
        let ids: Vec<String> = b.tickets.iter().map(|&i| t(i)).collect();
        s.push_str(&format!(
            "batch {} «{}»: {}\n",
            b.number,
            b.title,
            ids.join(", ")
        ));
    }
    let loose: Vec<String> = (0..d.tickets.len())
        .filter(|&i| d.tickets[i].batch.is_none())
        .map(t)
        .collect();
    if !loose.is_empty() {
        s.push_str(&format!("no batch: {}\n", loose.join(", ")));
    }
    s
}

fn check(input: &str, expect: &str) -> Document {
    let d = Document::parse(input);
    assert_eq!(d.serialize(), input);
    let got = outline(&d);
    assert_eq!(got.trim(), expect.trim(), "\n{got}");
    d
}

fn warned(d: &Document, needle: &str) {
    assert!(
        d.warnings.iter().any(|w| w.contains(needle)),
        "no warning containing {needle:?} in {:#?}",
        d.warnings
    );
}

// ---------------------------------------------------------------------------------------------
// 1. IDs cut short.

#[test]
fn class_ids_with_several_hyphenated_segments_are_kept_whole() {
    let d = check(
        r#"# Fixes

## Wave 1

### V-01-FIX-08: Clamp negative totals
- **Status:** done

### V-01-FIX-09: Retry on timeout

### CDX-SEC-001: CORS allow-list

### TICKET-SEC-API-12 — Rate limit the export
"#,
        r#"batch 1 «Wave 1»: V-01-FIX-08 done «Clamp negative totals», V-01-FIX-09 todo «Retry on timeout», CDX-SEC-001 todo «CORS allow-list», TICKET-SEC-API-12 todo «Rate limit the export»"#,
    );
    assert!(d.warnings.iter().all(|w| !w.contains("duplicate")));
    assert_eq!(d.find("V-01-FIX-09").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 2. spec-kit tasks.md.

#[test]
fn class_spec_kit_phases_own_their_checkbox_tasks() {
    let d = check(
        r#"# Tasks: Demo

## Format: `[ID] [P?] [Story] Description`

- **[P]**: Can run in parallel
- **[Story]**: User story (US1, US2)

## Phase 1: Setup

- [x] T001 Create project structure
- [ ] T002 [P] Configure linting

---

## Phase 2: User Story 1 - Login (Priority: P1) 🎯 MVP

### Tests for User Story 1

- [ ] T003 [P] [US1] Contract test for login

### Implementation for User Story 1

- [X] T004 [US1] Create User model in src/models/user.py
- [ ] T005 [US1] Implement login endpoint

**Checkpoint**: login works

## Phase 3: Polish

### Docs

- [ ] T006 [P] Update README.md

## Dependencies & Execution Order

### Phase Dependencies

- **Setup (Phase 1)**: No dependencies
- **US1 (Phase 2)**: Depends on Setup
- **Polish (Phase 3)**: Depends on US1

### Parallel Opportunities

- T002, T003 can run in parallel

## Summary

| Phase | Tickets | Description |
|-------|---------|-------------|
| Setup | T001-T002 | scaffolding |
| US1 | T003-T005 | login |
"#,
        r#"batch 1 «Phase 1: Setup»: T001 done «Create project structure», T002 todo «Configure linting»
batch 2 «Phase 2: User Story 1 - Login (Priority: P1) 🎯 MVP»: T003 todo «Contract test for login», T004 done «Create User model in src/models/user.py», T005 todo «Implement login endpoint»
batch 3 «Phase 3: Polish»: T006 todo «Update README.md»"#,
    );
    assert!(d.warnings.iter().all(|w| !w.contains("duplicate")));
}

// ---------------------------------------------------------------------------------------------
// 3. Group words inside ticket titles.

#[test]
fn class_group_words_in_ticket_titles_do_not_make_batches() {
    check(
        r#"# Backlog

## Sprint 1 — Motor

### PH-001 · Andamiaje del motor (Fase 0)
- **Estado:** Done

### P1 · Pulir la interfaz (Phase 2 follow-up)

### PH-002 · Migrar niveles (Fase 1)

## Sprint 2 — UX

### PH-003 · Onboarding (Sprint 3 candidate)
"#,
        r#"batch 1 «Sprint 1 — Motor»: PH-001 done «Andamiaje del motor (Fase 0)», title:pulir-la-interfaz-phase-2-follow-up todo «Pulir la interfaz (Phase 2 follow-up)», PH-002 todo «Migrar niveles (Fase 1)»
batch 2 «Sprint 2 — UX»: PH-003 todo «Onboarding (Sprint 3 candidate)»"#,
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Status before the ID.

#[test]
fn class_status_markers_before_the_id_are_read() {
    check(
        r#"# Tickets

## Phase 0 — Hygiene

### ✅ T-001 · Delete dead code

### ⛔ T-002 · Blocked on vendor

### [x] PH-001 · Scaffold the engine (Fase 0)

### [~] PH-002 · Waiting for art

### [ ] PH-003 · Port the levels

### 🚧 T-003 · Half-way through

### T-004 · Plain, still open
"#,
        r#"batch 0 «Phase 0 — Hygiene»: T-001 done «Delete dead code», T-002 blocked «Blocked on vendor», PH-001 done «Scaffold the engine (Fase 0)», PH-002 blocked «Waiting for art», PH-003 todo «Port the levels», T-003 doing «Half-way through», T-004 todo «Plain, still open»"#,
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Tables.

#[test]
fn class_summary_tables_with_a_tickets_column_do_not_steal_tickets() {
    let d = check(
        r#"# Plan

## Overview

| Phase | Tickets | Goal |
|---|---|---|
| 1 | T-001, T-002 | setup |
| 2 | T-003 | auth |

## Phase 1: Setup

- [x] T-001 Scaffold
- [ ] T-002 CI

## Phase 2: Auth

- [ ] T-003 Login
"#,
        r#"batch 1 «Phase 1: Setup»: T-001 done «Scaffold», T-002 todo «CI»
batch 2 «Phase 2: Auth»: T-003 todo «Login»"#,
    );
    assert!(d.warnings.iter().all(|w| !w.contains("duplicate")));
}

#[test]
fn class_a_blank_line_inside_a_table_keeps_the_rows_after_it() {
    check(
        r#"# Board

| ID | Title | Status |
|----|-------|--------|
| B-1 | Login | done |
| B-2 | Logout | todo |

| B-3 | Profile | doing |
| B-4 | Avatar | blocked |
"#,
        r#"no batch: B-1 done «Login», B-2 todo «Logout», B-3 doing «Profile», B-4 blocked «Avatar»"#,
    );
}

#[test]
fn class_lists_that_only_refer_to_ticket_ids_invent_nothing() {
    let d = check(
        r#"# Tickets

### T-001: Parser
Body.

### T-002: Writer
Body.

## Next up

Next tickets:
- T-007 once the API lands
- T-009 after the review

Related work:
- T-011, T-012
"#,
        r#"no batch: T-001 todo «Parser», T-002 todo «Writer»"#,
    );
    warned(&d, "T-007");
}

// ---------------------------------------------------------------------------------------------
// 6. Missed entirely.

#[test]
fn class_task_headings_in_other_languages() {
    check(
        r#"# Tareas

### Tarea #1 — Configurar el proyecto
- Estado: Hecho
- Prioridad: Alta

### Tarea #2 — Pantalla de login
- Estado: En curso

### Tarefa 3: Documentação
- Status: Pendente

### Aufgabe 4: Tests
"#,
        r#"no batch: Tarea #1 done «Configurar el proyecto», Tarea #2 doing «Pantalla de login», Tarefa 3 todo «Documentação», Aufgabe 4 todo «Tests»"#,
    );
}

#[test]
fn class_kanban_status_columns_with_plain_items() {
    check(
        r#"# Team board

## Notes
- meet on Mondays

### Todo items
#### Inbox
- [ ] Collect the regulations
- [ ] Draft the prompt
    - [ ] sub-step stays in the body
- Plain item without a box

#### Doing
- [ ] Split the product architecture
- [ ] Set up server and DB
#### Done ✓
- [x] Configure the API organisation
"#,
        r#"no batch: title:collect-the-regulations todo «Collect the regulations», title:draft-the-prompt todo «Draft the prompt», title:plain-item-without-a-box todo «Plain item without a box», title:split-the-product-architecture doing «Split the product architecture», title:set-up-server-and-db doing «Set up server and DB», title:configure-the-api-organisation done «Configure the API organisation»"#,
    );
}

#[test]
fn class_id_less_ticket_headings_under_a_qa_section() {
    check(
        r#"# Tickets

## Build

### T-001: Scaffold
- **Status:** done

### T-002: CI
- **Status:** doing

## QA findings

### Login crashes on an empty password
- **Status:** Open
- **Severity:** High

### Footer overlaps on mobile
- **Status:** Fixed

## Notes

### How we test
We run the suite.
"#,
        r#"batch 1 «Build»: T-001 done «Scaffold», T-002 doing «CI»
batch 2 «QA findings»: title:login-crashes-on-an-empty-password todo «Login crashes on an empty password», title:footer-overlaps-on-mobile done «Footer overlaps on mobile»"#,
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Invented tickets.

#[test]
fn class_acceptance_checkboxes_in_a_template_are_not_tickets() {
    let d = check(
        r#"# Ticket template

Copy this block for each new ticket.

## Acceptance Criteria
- [ ] Specific, testable requirement 1
- [ ] Specific, testable requirement 2

**Definition of done:**
- [ ] Tests written first
- [ ] Docs updated
"#,
        "",
    );
    warned(&d, "acceptance");
    warned(&d, "no tickets recognised");
}

#[test]
fn class_numbered_documentation_sections_are_not_tickets() {
    check(
        r#"# Architecture

## 1. Introduction
This document explains the system.

## 2. Components
The engine and the UI.

### 2.1 Engine
Rust.

## 3. Deployment
Docker.
"#,
        "",
    );
}

#[test]
fn class_time_offsets_in_prose_are_not_ids() {
    check(
        r#"# Launch checklist

- T-60 minutes: freeze the release branch
- T-30 min: announce in the channel
- T-1 day: final QA pass
"#,
        "",
    );
}

#[test]
fn class_milestone_progress_lists_are_not_tickets() {
    check(
        r#"# Tickets

## Progress
- M1: 100% (3/3 tickets)
- M2 — 40%
- v1.2: shipped

## M1: Walking skeleton

### M1-001: Parse args
- **Status:** done
"#,
        r#"batch 1 «M1: Walking skeleton»: M1-001 done «Parse args»"#,
    );
}

#[test]
fn class_result_sections_named_like_ids_are_not_new_tickets() {
    let d = check(
        r#"# Tickets

### T-004 — Build the parser
- **Status:** done

### T-004 — Résultat (2026-05-13)
All tests pass.

### T-005 — Results
Numbers below.

### T-005 — Wire the writer
- **Status:** doing
"#,
        r#"no batch: T-004 done «Build the parser», T-005 doing «Wire the writer»"#,
    );
    assert!(d.warnings.iter().all(|w| !w.contains("duplicate")));
    warned(&d, "T-004 — Résultat");
}

// ---------------------------------------------------------------------------------------------
// Real files from other repositories.

fn unseen_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/unseen")
}

fn unseen_files() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(unseen_dir())
        .expect("unseen dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&p).expect("read"))
        })
        .collect()
}

/// Every ticket in file order as `ID status`, or `«title» status` for tickets without an ID.
fn ticket_set(d: &Document) -> String {
    d.tickets
        .iter()
        .map(|t| {
            let st = if t.status_unknown {
                "unknown"
            } else {
                t.status.as_str()
            };
            match &t.id {
                Some(id) => format!("{id} {st}"),
                None => format!("«{}» {st}", t.title),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn run(prefix: &str, from: u32, to: u32, status: &str) -> Vec<String> {
    (from..=to)
        .map(|n| format!("{prefix}{n:03} {status}"))
        .collect()
}

/// What a careful reader sees in each real file (written from reading the files, not from the parser).
fn expected() -> Vec<(&'static str, String)> {
    let lines = |xs: &[&str]| xs.join("\n");
    vec![
        (
            // spec-kit tasks.md: 14 phases, T001–T029 checked [X], T030–T071 open; the dependency,
            // strategy and summary sections list IDs and phases but define nothing.
            "u01_",
            [run("T", 1, 29, "done"), run("T", 30, 71, "todo")]
                .concat()
                .join("\n"),
        ),
        (
            // Kanban TODO.md: the columns Todo / In Progress / Done ✓ hold the cards; the nested
            // items under "Rename Git Repos" are its sub-tasks. (Titles drop a leading emoji, 🐞.)
            "u02_",
            lines(&[
                "«Publish on open-vsx.org» todo",
                "«Get Todo\\*.md files for the dropdown» todo",
                "«Rename Git Repos» todo",
                "«Animate Search Input» todo",
                "«Support Task description» todo",
                "«Markdown links for File or URL» todo",
                "«Press _Enter_ to add the next task» todo",
                "«Task menu: add hyperlinks ?» doing",
                "«Smart positioning for Task Menu» doing",
                "«Change icon on Marketplace» doing",
                "«Fix sub-task toggling for a new task» doing",
                "«Bug: it flashes the default data, then loads the real data» doing",
                "«Markdown text formats 05/21/2021» done",
                "«New task should be at the top 05/20/2021» done",
                "«Dropdown option to help about adding more todo files 05/19/2021» done",
                "«Respect theme colors» done",
                "«Task menu: Insert Emojis 😊» done",
                "«Task menu: Toggle sub-task» done",
                "«Rename to Todo.md Kanban Board» done",
                "«Support sub-task» done",
                "«Optional checkbox in task title» done",
                "«Default to the 1st Task List» done",
                "«Add Help link» done",
                "«Multiple task lists» done",
                "«Add Search Box» done",
                "«Auto save for Task Re-ordering» done",
                "«Add Open File link» done",
                "«Split to different Doc Topics» done",
                "«Auto focus on New Task 2020-03-18» done",
                "«Check mark to mark as Done 2020-03-18» done",
                "«Setup coddx mailbox» done",
            ]),
        ),
        (
            // JIRA-style template TICKETS.md: four tickets under status sections, each with a Status
            // field; the acceptance checkboxes and the usage guide are not tickets.
            "u03_",
            lines(&[
                "TICKET-001 doing",
                "TICKET-002 todo",
                "TICKET-003 todo",
                "TICKET-000 done",
            ]),
        ),
        (
            // Task headings with the status as a checkbox before the ID: [x] done, [>] in progress, [ ] open.
            "u04_",
            lines(&["Task 1 done", "Task 2 doing", "Task 3 todo"]),
        ),
    ]
}

#[test]
fn unseen_real_files_round_trip_byte_for_byte() {
    let files = unseen_files();
    assert!(files.len() >= 4);
    for (name, bytes) in files {
        let d = Document::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            d.serialize().as_bytes() == bytes.as_slice(),
            "{name}: round trip changed bytes"
        );
    }
}

#[test]
fn unseen_manifest_names_every_file() {
    let manifest = fs::read_to_string(unseen_dir().join("MANIFEST.tsv")).expect("manifest");
    let mut rows = manifest.lines();
    assert_eq!(
        rows.next(),
        Some("file\trepo\tpath\tcommit\tchars\tsnapshot_commit")
    );
    let listed: Vec<&str> = rows.map(|r| r.split('\t').next().unwrap_or("")).collect();
    for (name, _) in unseen_files() {
        assert!(
            listed.contains(&name.as_str()),
            "{name} not in MANIFEST.tsv"
        );
    }
}

#[test]
fn unseen_real_files_give_exactly_the_tickets_a_reader_sees() {
    let files = unseen_files();
    let mut right = 0;
    let mut failures = Vec::new();
    let expected = expected();
    for (prefix, want) in &expected {
        let (name, bytes) = files
            .iter()
            .find(|(n, _)| n.starts_with(prefix))
            .expect("file for expectation");
        let got = ticket_set(&Document::parse_bytes(bytes).expect("parses"));
        if got.trim() == want.trim() {
            right += 1;
        } else {
            failures.push(format!("{name}:\n--- got\n{got}\n--- want\n{want}"));
        }
    }
    eprintln!("exactly right ticket set: {right}/{}", expected.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
