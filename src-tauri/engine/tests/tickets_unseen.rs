//! Recognition on files the codec was not written against: one data-driven `check(input, expect)` per
//! misreading class (input markdown → compact listing of batches and tickets with id, status and title),
//! and real files from other repositories (tests/corpus/unseen, provenance in its MANIFEST.tsv) with the
//! exact ticket set a careful reader sees.

use std::fs;
use std::path::PathBuf;

use leapfrog_engine::model::TicketStatus;
use leapfrog_engine::tickets::{Document, Edit};

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
// 8. Second round of real files (u05–u11): the classes they showed.

#[test]
fn class_status_word_and_priority_in_brackets_before_a_list_item_id() {
    // lee-spec-kit (Korean): `- [DONE][P1] T-F003-01 …`; the status word, then labels, then the ID.
    let d = check(
        r#"# Tasks: 3D 시각화

## 태스크 규칙

- **상태**: `[TODO]` → `[DOING]` → `[DONE]`

## Phase 1: 환경 설정

- [DONE][P1] T-F003-01 React Three Fiber 설치
  - Owner: @agent
  - Status Log: 2026-01-07 [TODO] → 2026-01-07 [DOING] → 2026-01-07 [DONE]
  - Checklist:
    - [x] @react-three/fiber 설치
    - [ ] 타입 정의 확인

- [DOING][P2] T-F003-02 Scene 컴포넌트
  - Owner: @agent

## Phase 2: 검증

- [TODO][P1][PRD-FR-001] T-F003-03 브라우저 테스트
- [REVIEW][P3] T-F003-04 문서 업데이트
- [DONE] [BE-050] Keep the bracketed id
"#,
        r#"batch 1 «Phase 1: 환경 설정»: T-F003-01 done «React Three Fiber 설치», T-F003-02 doing «Scene 컴포넌트»
batch 2 «Phase 2: 검증»: T-F003-03 todo «브라우저 테스트», T-F003-04 review «문서 업데이트», BE-050 done «Keep the bracketed id»"#,
    );
    let prio: Vec<Option<&str>> = d.tickets.iter().map(|t| t.priority.as_deref()).collect();
    assert_eq!(prio, [Some("P1"), Some("P2"), Some("P1"), Some("P3"), None]);
    // The bracket is the status marker edits write back.
    let done = d
        .apply(&Edit::SetStatus {
            ticket: "T-F003-03".into(),
            status: TicketStatus::Done,
        })
        .expect("set status")
        .doc
        .serialize();
    assert!(done.contains("- [DONE][P1][PRD-FR-001] T-F003-03 브라우저 테스트\n"));
}

#[test]
fn class_numbered_acceptance_criteria_are_not_tickets() {
    // Backlog.md: one task per file, its id/title/status in the front matter, criteria `- [ ] #1 …`.
    let d = check(
        r#"---
id: BACK-7
title: Show parent tasks
status: To Do
labels: []
---

## Description

Show the hierarchy.

## Acceptance Criteria
<!-- AC:BEGIN -->
- [ ] #1 The board shows parent and child tasks
- [x] #2 Progress counts done children
<!-- AC:END -->

## Definition of Done
- [ ] #1 Tests pass
"#,
        "",
    );
    warned(&d, "acceptance-criteria checkboxes");
    warned(
        &d,
        "front matter describes one task (BACK-7 «Show parent tasks», status To Do)",
    );
    // Beside real tickets the criteria are skipped too, and said so.
    let d = check(
        r#"# Tickets

## T-001: Cache pages
- [x] Service worker

## T-002: Measure load times

## Acceptance Criteria

- [ ] #1 Every page loads in a second
- [ ] AC-2: Works offline
"#,
        r#"no batch: T-001 done «Cache pages», T-002 todo «Measure load times»"#,
    );
    warned(&d, "2 acceptance-criteria items are criteria, not tickets");
}

#[test]
fn class_summary_checklist_gives_heading_tickets_their_status() {
    // jmespath.site PRD: the summary boxes say done although acceptance boxes are still open.
    let text = r#"# PRD: Workflows

## Summary of User Stories

- [x] **US-001**: Update build workflow (Model: `sonnet`)
- [x] **US-002**: Create deployment workflow
- [ ] **US-003**: Write the README

---

## User Stories

### US-001: Update Build Workflow

**Acceptance Criteria**:

- [x] Workflow file created

### US-002: Create Deployment Workflow

**Acceptance Criteria**:

- [x] Deploys to gh-pages
- [ ] Site reachable at the custom domain

### US-003: Write the README

**Acceptance Criteria**:

- [x] README exists
- [ ] Tested from scratch

## Suggested Execution Order

1. **US-001** (Build Workflow)
2. **US-003** (README)
"#;
    let d = check(
        text,
        r#"no batch: US-001 done «Update Build Workflow», US-002 done «Create Deployment Workflow», US-003 todo «Write the README»"#,
    );
    // Setting the status writes the summary box.
    let out = d
        .apply(&Edit::SetStatus {
            ticket: "US-003".into(),
            status: TicketStatus::Done,
        })
        .expect("set status")
        .doc
        .serialize();
    assert!(out.contains("- [x] **US-003**: Write the README\n"));
}

#[test]
fn class_titles_that_start_with_a_code_span_keep_its_punctuation() {
    check(
        r#"# Tasks: 移行

## Phase 1: Setup

- [x] T001 [US1] `.specify/` ディレクトリ構造の確認
- [x] T002 [P] [US1] `/docs/` ディレクトリ構造の確認
- [ ] T003 `.github/chatmodes/` を削除
"#,
        r#"batch 1 «Phase 1: Setup»: T001 done «.specify/ ディレクトリ構造の確認», T002 done «/docs/ ディレクトリ構造の確認», T003 todo «.github/chatmodes/ を削除»"#,
    );
}

#[test]
fn class_bold_lead_titles_and_criteria_nested_under_a_label_item() {
    // poetry_metaverse (Chinese): `- [x] **标题**: 描述`, and checkboxes under `- **测试验证点**:`.
    let d = check(
        r#"# 重构 TODO

## 任务列表

### 第一阶段：场景实体创建
- [x] **创建scenes.json文件**: 在 `data/` 目录下创建新的数据文件
- [ ] **设计数据结构**：实现 schema

### 第二阶段：数据引用关系更新
- [x] **验证引用一致性** — 确保所有引用都存在
- [ ] **URGENTE: Corrigir o roteamento (Frontend)**

## 更新日志关联
- **更新目录**: `documentation/changelog/`
- **测试验证点**: 
  - [x] scenes.json文件存在
  - [ ] 运行validate_all.cjs时无错误输出

## 完成后的操作
- [x] 创建更新目录
- [ ] 提交所有更改到Git
"#,
        r#"batch 1 «第一阶段：场景实体创建»: title:创建scenes-json文件 done «创建scenes.json文件», title:设计数据结构 todo «设计数据结构»
batch 2 «第二阶段：数据引用关系更新»: title:验证引用一致性 done «验证引用一致性», title:urgente-corrigir-o-roteamento-frontend todo «URGENTE: Corrigir o roteamento (Frontend)»
batch 3 «完成后的操作»: title:创建更新目录 done «创建更新目录», title:提交所有更改到git todo «提交所有更改到Git»"#,
    );
    warned(&d, "2 acceptance-criteria checkboxes are criteria");
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
    run_padded(prefix, from, to, 3, status)
}

fn run_padded(prefix: &str, from: u32, to: u32, width: usize, status: &str) -> Vec<String> {
    (from..=to)
        .map(|n| format!("{prefix}{n:0width$} {status}"))
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
        (
            // Japanese spec-kit tasks.md: 19 tasks in 9 phases (Phase 2 has none), all checked.
            "u05_",
            run("T", 1, 19, "done").join("\n"),
        ),
        (
            // Backlog.md: the file is one task whose id, title and status live in the front matter. The
            // codec keeps front matter as written, so it reads no ticket and says so (see the warnings
            // test); the eight `- [ ] #1 …` boxes are its acceptance criteria, not tickets.
            "u07_",
            String::new(),
        ),
        (
            // Korean lee-spec-kit: `- [DONE][P1] T-F003-01 …`; only T-F003-09 is still TODO. The nested
            // `Checklist:` boxes belong to their task.
            "u08_",
            [
                run_padded("T-F003-", 1, 8, 2, "done"),
                run_padded("T-F003-", 9, 9, 2, "todo"),
                run_padded("T-F003-", 10, 15, 2, "done"),
            ]
            .concat()
            .join("\n"),
        ),
        (
            // Bold user-story IDs `- [x] **US-001**: …` by phase; the `## Completed` section repeats
            // done stories (one line names three) and defines nothing new.
            "u09_",
            [
                run("US-", 1, 18, "done"),
                run("US-", 19, 22, "todo"),
                run("US-", 23, 25, "done"),
                run("US-", 26, 34, "todo"),
            ]
            .concat()
            .join("\n"),
        ),
        (
            // PRD: the summary checklist says US-001–US-003 are done (their acceptance boxes are not all
            // ticked), US-004 open; the stories themselves are `### US-00N: …` sections.
            "u10_",
            lines(&["US-001 done", "US-002 done", "US-003 done", "US-004 todo"]),
        ),
        (
            // Chinese TODO: the bold lead of each item is its title; the verification points nested
            // under `- **测试验证点**:` are criteria; the post-completion checklist is work too.
            "u11_",
            lines(&[
                "«创建scenes.json文件» done",
                "«设计数据结构» done",
                "«填充场景数据» done",
                "«场景类型重构» done",
                "«受控冗余实现» done",
                "«验证脚本更新» done",
                "«统计报告增强» done",
                "«修改poems.json的locations字段» done",
                "«验证引用一致性» done",
                "«编写validate_scenes.cjs» done",
                "«实现引用验证» done",
                "«实现反向验证» done",
                "«更新validate_all.cjs» done",
                "«测试完整验证流程» done",
                "«更新validate_simple_data_references.cjs» done",
                "«重构validate_scenes.cjs» done",
                "«合并场景相关脚本» done",
                "«更新其他验证脚本» done",
                "«测试验证脚本优化» done",
                "«创建更新目录：documentation/changelog/2025-08-01_毛小豆宇宙场景实体引入/» done",
                "«将本TODO文件移动到更新目录并重命名为 TODO.md» done",
                "«创建对应的更新日志文档：更新日志.md» todo",
                "«更新 public/当前进展.md 文件» todo",
                "«提交所有更改到Git» todo",
                "«更新项目状态» todo",
            ]),
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
        Some("file\trepo\tpath\tcommit\tchars\tsnapshot_commit\tlicence\tnotes")
    );
    let rows: Vec<Vec<&str>> = rows.map(|r| r.split('\t').collect()).collect();
    for r in &rows {
        assert_eq!(r.len(), 8, "every row names its licence and dialect: {r:?}");
        assert!(
            !r[6].is_empty() && !r[7].is_empty(),
            "{}: licence or notes missing",
            r[0]
        );
    }
    let listed: Vec<&str> = rows.iter().map(|r| r[0]).collect();
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

/// Each batch with its number, title and ticket count, then the count of tickets outside batches.
fn batch_outline(d: &Document) -> String {
    let mut s: Vec<String> = d
        .batches
        .iter()
        .map(|b| format!("{} «{}» {}", b.number, b.title, b.tickets.len()))
        .collect();
    let loose = d.tickets.iter().filter(|t| t.batch.is_none()).count();
    if loose > 0 {
        s.push(format!("no batch {loose}"));
    }
    s.join("\n")
}

#[test]
fn unseen_real_files_group_their_tickets_as_written_and_say_what_they_skipped() {
    let files = unseen_files();
    let doc = |prefix: &str| {
        let (_, bytes) = files
            .iter()
            .find(|(n, _)| n.starts_with(prefix))
            .expect("file");
        Document::parse_bytes(bytes).expect("parses")
    };
    let expect = |prefix: &str, want: &str| {
        let got = batch_outline(&doc(prefix));
        assert_eq!(got.trim(), want.trim(), "{prefix}\n{got}");
    };
    // Phase 2 has no tasks but stays, as the next of the numbered series.
    expect(
        "u05_",
        "1 «Phase 1: Setup (事前確認)» 3
2 «Phase 2: Foundational (ブロッキング前提条件)» 0
3 «Phase 3: User Story 1 - Spec Kit ワークフローへの完全移行 (Priority: P1) 🎯 MVP» 3
4 «Phase 4: User Story 2 - 旧ワークフローからの円滑な移行 (Priority: P2)» 2
5 «Phase 5: User Story 3 - copilot-instructions.mdの更新 (Priority: P3)» 1
6 «Phase 6: User Story 4 - 設定ファイルの役割整理 (Priority: P4)» 3
7 «Phase 7: User Story 5 - chatmodesディレクトリの廃止 (Priority: P5)» 2
8 «Phase 8: User Story 6 - 旧ワークフローファイルの削除 (Priority: P6)» 2
9 «Phase 9: Polish & Cross-Cutting Concerns» 3",
    );
    let d = doc("u05_");
    let t = &d.tickets[d.find("T004")[0]];
    assert_eq!(t.title, ".specify/ ディレクトリ構造が正しいことを確認");
    let d = doc("u07_");
    warned(
        &d,
        "8 acceptance-criteria checkboxes are criteria, not tickets",
    );
    warned(
        &d,
        "front matter describes one task (BACK-222 «Improve parent and subtask presentation in the Web UI», status To Do)",
    );
    expect(
        "u08_",
        "1 «Phase 1: 환경 설정» 1
2 «Phase 2: 기본 3D 컴포넌트» 2
3 «Phase 3: 타워 조립» 1
4 «Phase 4: UI 연동» 2
5 «Phase 5: 테스트» 1
6 «Phase 6: UI 리디자인» 6
7 «Phase 7: 버그 수정» 1
8 «Phase 8: UI 개선» 1",
    );
    let d = doc("u08_");
    assert!(d.tickets.iter().all(|t| t.priority.is_some()));
    // Sub-headings (`### Backend`) sit inside the phases; the `## Completed` list is not a batch.
    expect(
        "u09_",
        "1 «Phase 1: Foundation» 9
2 «Phase 2: FOMOD Visualizer» 11
3 «Phase 3: Load Order» 6
4 «Phase 4: Conflict Detection» 8",
    );
    let d = doc("u09_");
    assert!(d.warnings.iter().all(|w| !w.contains("duplicate")));
    // `## User Stories` only names the list.
    expect("u10_", "no batch 4");
    expect(
        "u11_",
        "1 «第一阶段：场景实体创建与数据填充» 3
2 «第一阶段补充：场景分类优化与受控冗余实现» 4
3 «第二阶段：数据引用关系更新» 2
4 «第三阶段：验证器开发与集成» 5
5 «第四阶段：验证脚本优化与重构 ✅ 已完成» 5
6 «完成后的操作» 6",
    );
    warned(
        &doc("u11_"),
        "9 acceptance-criteria checkboxes are criteria, not tickets",
    );
}
