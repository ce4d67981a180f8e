//! Dialects from the design study (files kept back from the corpus), written as small inputs:
//! data-driven `check(input, expect)` over the recognised outline (batches, tickets, statuses).

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

fn check(input: &str, expect: &str) {
    let d = Document::parse(input);
    assert_eq!(d.serialize(), input);
    let got = outline(&d);
    assert_eq!(got.trim(), expect.trim(), "\n{got}");
}

#[test]
fn dialect_06_milestone_groups_that_look_like_ids_and_heading_markers() {
    check(
        r#"run # TDD Agent tickets

## M1: CLI Walking Skeleton (3 days) ✅ COMPLETE

### M1-001: Parse args ✅
Body.

### M1-002: Print help ✅ DONE

## M2: Storage

### M2-001: Save file
- [ ] saves
"#,
        r#"batch 1 «M1: CLI Walking Skeleton (3 days) ✅ COMPLETE»: M1-001 done «Parse args», M1-002 done «Print help»
batch 2 «M2: Storage»: M2-001 todo «Save file»"#,
    );
}

#[test]
fn dialect_22_ticket_table_with_a_completed_table_repeating_rows() {
    check(
        r#"# Tickets

## Phase 1

| Ticket | Task | Status | Assignee | Depends on | Notes |
|---|---|---|---|---|---|
| P1-01 | Setup | DONE | claude | — | |
| P1-02 | API | IN PROGRESS (agent: bob) | bob | P1-01 | |
| P1-03 | UI | OPEN | | P1-01, P1-02 | |

## Completed Tickets

| Ticket | Task | Status |
|---|---|---|
| P1-01 | Setup | DONE |
"#,
        r#"batch 1 «Phase 1»: P1-01 done «Setup», P1-02 doing «API», P1-03 todo «UI»"#,
    );
}

#[test]
fn dialect_24_bracketed_ids_korean_status_field_and_numbered_subheadings() {
    check(
        r#"# 티켓

## 🎯 BACKEND 티켓

### [BE-050] Proxy — 서브타이틀
**상태**: 🔴 오픈

#### 1. proxy.ts
code

#### 완료 조건
- [ ] works

### [BE-051] Next
**상태**: 🟡 PR #42 리뷰 대기 (2026-03-1x)
"#,
        r#"batch 1 «BACKEND 티켓»: BE-050 todo «Proxy — 서브타이틀», BE-051 review «Next»"#,
    );
}

#[test]
fn dialect_30_bare_number_pipe_headings() {
    check(
        r#"# Todo

## 1| Make the thing work end to end with tests

## 2| Second whole-sentence ticket
"#,
        r#"no batch: 1 todo «Make the thing work end to end with tests», 2 todo «Second whole-sentence ticket»"#,
    );
}

#[test]
fn dialect_32_id_less_heading_between_ticket_siblings() {
    check(
        r#"# Bugs

## Ticket 1: Login misaligned
### Repro
x

## Crash when saving
text

## Ticket 3: Slow search
text

## Notes
end
"#,
        r#"no batch: Ticket 1 todo «Login misaligned», title:crash-when-saving todo «Crash when saving», Ticket 3 todo «Slow search»"#,
    );
}

#[test]
fn dialect_36_sticky_phases_at_ticket_level_and_bracket_markers() {
    check(
        r#"# Tickets

Legend: `[ ]` open | `[x]` complete | `[x] [verified]` | `[-]` skipped | `[~]` blocked

### Phase 7: Polish

### T-029: Old thing [x] [verified]
Did it.

### T-030: Research caching
**Status:** In Progress
**Depends on:** T-029

### Phase 8: Ship

### T-031: Deploy
- [x] a
- [ ] b
"#,
        r#"batch 7 «Phase 7: Polish»: T-029 done «Old thing», T-030 doing «Research caching»
batch 8 «Phase 8: Ship»: T-031 doing «Deploy»"#,
    );
}

#[test]
fn dialect_40_bold_list_item_tickets_under_phases() {
    check(
        r#"# Backlog

## Phase 0 – MVP Foundations

- **BK-001 – Setup repo**
  Acceptance: repo builds
- **BK-002 – Add auth**
  - sub point

## Phase 1 – More

- **BK-003 – Billing**
"#,
        r#"batch 0 «Phase 0 – MVP Foundations»: BK-001 todo «Setup repo», BK-002 todo «Add auth»
batch 1 «Phase 1 – More»: BK-003 todo «Billing»"#,
    );
}

#[test]
fn dialect_46_duplicate_ids_and_component_tags() {
    check(
        r#"# Backlog

## T-001 UI: Replace the header
- ✅ done bullet
**Status:** Done

## T-019 Fix login
Text

## T-019 Fix logout
Text
"#,
        r#"no batch: T-001 done «UI: Replace the header», T-019 todo «Fix login», T-019 todo «Fix logout»"#,
    );
}

#[test]
fn dialect_52_h1_phase_h2_epic_h3_ticket_with_pipes_and_strikethrough() {
    check(
        r#"# Фаза P0 — Основа

## Эпик 1: Инфра

### T-001 | Scaffold | spec §1
text

### T-080 | ~~wf-tg-incoming~~ УДАЛЕНО

# Фаза P1 — Дальше

## Эпик 2: API

### T-081 | Endpoint | spec §2
"#,
        r#"batch 1 «Эпик 1: Инфра»: T-001 todo «Scaffold», T-080 dropped «wf-tg-incoming УДАЛЕНО»
batch 2 «Эпик 2: API»: T-081 todo «Endpoint»"#,
    );
}

#[test]
fn dialect_54_status_sections_and_the_setext_trap() {
    check(
        r#"# Tickets

## 🔥 In Progress

### TICKET-001: Login
Some paragraph
---

### TICKET-002: Logout

## ✅ Done

### TICKET-003: Setup
"#,
        r#"no batch: TICKET-001 doing «Login», TICKET-002 doing «Logout», TICKET-003 done «Setup»"#,
    );
}

#[test]
fn dialect_56_bold_numbered_paragraphs_with_dep_brackets() {
    check(
        r#"Plan

**1. Setup repo** [dep: —]
AC: repo exists

**2. Add CI** [dep: 1]
AC: green

**3. Deploy** [dep: 1, 2]
"#,
        r#"no batch: 1 todo «Setup repo», 2 todo «Add CI», 3 todo «Deploy»"#,
    );
}

#[test]
fn dialect_58_open_prefix_and_resolved_suffix() {
    check(
        r#"# Tickets

## Open

### [OPEN] TICKET-004: Crash on save
**Steps to Reproduce:** click

## Resolved

### TICKET-R001: Old crash [RESOLVED]
"#,
        r#"no batch: TICKET-004 todo «Crash on save», TICKET-R001 done «Old crash»"#,
    );
}

#[test]
fn dialect_64_marker_less_checkbox_lines() {
    check(
        r#"[x] As a user I can log in
[ ] As a user I can log out
[x] As an admin I can see stats
"#,
        r#"no batch: title:as-a-user-i-can-log-in done «As a user I can log in», title:as-a-user-i-can-log-out todo «As a user I can log out», title:as-an-admin-i-can-see-stats done «As an admin I can see stats»"#,
    );
}

#[test]
fn dialect_66_bracketed_bold_list_items_under_status_sections() {
    check(
        r#"# Tracker

## 🔥 In Progress
*   **[SH-100] Build the thing**
    * detail
*   **[SH-101] Other**

## ✅ Done
*   **[SH-090] Old**
"#,
        r#"no batch: SH-100 doing «Build the thing», SH-101 doing «Other», SH-090 done «Old»"#,
    );
}

#[test]
fn dialect_04_epic_tables_and_a_summary_table_naming_the_epics() {
    check(
        r#"# План

## EPIC-1: Инфраструктура

| ID | Тикет | Зависимости |
|---|---|---|
| INF-1 | Docker | — |
| INF-2 | CI | INF-1 |

## EPIC-2: API

| ID | Тикет | Зависимости |
|---|---|---|
| API-1 | Auth | INF-1, INF-2 |

## Итого

| Эпик | Тикетов |
|---|---|
| EPIC-1 | 2 |
| EPIC-2 | 1 |
"#,
        r#"batch 1 «EPIC-1: Инфраструктура»: INF-1 todo «Docker», INF-2 todo «CI»
batch 2 «EPIC-2: API»: API-1 todo «Auth»"#,
    );
}

#[test]
fn dialect_38_hash_ids_french_status_words_and_sprints() {
    check(
        r#"# Backlog

## Sprint 1 — Fondations

### #001 · Initialiser le dépôt
**Statut :** Terminé

### #002 · CI
**Statut :** En cours

## Sprint 2 — Suite

### #003 · Déployer
"#,
        r#"batch 1 «Sprint 1 — Fondations»: #001 done «Initialiser le dépôt», #002 doing «CI»
batch 2 «Sprint 2 — Suite»: #003 todo «Déployer»"#,
    );
}

#[test]
fn dialect_48_index_tables_under_german_status_sections() {
    check(
        r#"# Tickets

## 🔴 Offen

| ID | Titel | Priorität |
|---|---|---|
| [PR-008](PR-008.md) | Login | 🔥 Hoch |
| [PR-009](PR-009.md) | Logout | ⚡ Mittel |

## 🟢 Erledigt

| ID | Titel | Priorität |
|---|---|---|
| [PR-001](PR-001.md) | Setup | 💤 Niedrig |
"#,
        r#"no batch: PR-008 todo «Login», PR-009 todo «Logout», PR-001 done «Setup»"#,
    );
}

#[test]
fn dialect_60_loose_numbered_list_under_bold_phase_paragraphs() {
    check(
        r#"**🧱 PHASE 1: Foundations (Tickets 1--10)**

1.  Set up the repo

2.  Add CI

3.  Deploy preview

**🧱 PHASE 2: More (Tickets 11--20)**

11. Billing
"#,
        r#"batch 1 «PHASE 1: Foundations (Tickets 1--10)»: 1 todo «Set up the repo», 2 todo «Add CI», 3 todo «Deploy preview»
batch 2 «PHASE 2: More (Tickets 11--20)»: 11 todo «Billing»"#,
    );
}

// ---- edits in each dialect: check_edit(input, edit, expected text) ------------------------------------

use leapfrog_engine::model::TicketStatus;
use leapfrog_engine::tickets::Edit;

fn check_edit(input: &str, edit: Edit, expect: &str) {
    let d = Document::parse(input);
    let a = d.apply(&edit).unwrap_or_else(|e| panic!("{edit:?}: {e}"));
    assert_eq!(a.doc.serialize(), expect, "{edit:?}");
}

fn status(id: &str, s: TicketStatus) -> Edit {
    Edit::SetStatus {
        ticket: id.into(),
        status: s,
    }
}

#[test]
fn table_dialect_writes_the_files_own_status_words_in_every_view() {
    let input = "## Phase 1\n\n| Ticket | Task | Status |\n|---|---|---|\n| P1-01 | Setup | DONE |\n| P1-02 | API | OPEN |\n\n## Done\n\n| Ticket | Task | Status |\n|---|---|---|\n| P1-01 | Setup | DONE |\n";
    check_edit(
        input,
        status("P1-02", TicketStatus::Done),
        &input.replace("| P1-02 | API | OPEN |", "| P1-02 | API | DONE |"),
    );
    check_edit(
        input,
        status("P1-01", TicketStatus::Todo),
        &input.replace("| P1-01 | Setup | DONE |", "| P1-01 | Setup | OPEN |"),
    );
    check_edit(
        input,
        Edit::AddTicket {
            batch: Some(1),
            title: "Docs".into(),
        },
        &input.replace(
            "| P1-02 | API | OPEN |\n",
            "| P1-02 | API | OPEN |\n| P1-03 | Docs | OPEN |\n",
        ),
    );
}

#[test]
fn list_item_dialect_adds_items_like_its_neighbours() {
    let input = "### Version 1\n\n🟩 DONE\n- [ANK-100] Setup\n- [ANK-101] Contract\n";
    check_edit(
        input,
        Edit::AddTicket {
            batch: Some(1),
            title: "Kernel".into(),
        },
        "### Version 1\n\n🟩 DONE\n- [ANK-100] Setup\n- [ANK-101] Contract\n- [ANK-102] Kernel\n",
    );
}

#[test]
fn bracket_and_suffix_markers_are_rewritten_in_place() {
    let input = "## Open\n\n### [OPEN] TICKET-004: Crash on save\n\n## Resolved\n\n### TICKET-R001: Old crash [RESOLVED]\n";
    check_edit(
        input,
        status("TICKET-004", TicketStatus::Done),
        &input.replace("[OPEN] TICKET-004", "[RESOLVED] TICKET-004"),
    );
    let input = "# Closed Tickets\n\n## TF-101: complete fails — CLOSED\n\n# Open Tickets\n\n## TF-102: Add deletion\n";
    // The section says "open"; an explicit field overrides it, in the file's field syntax (canonical here).
    check_edit(
        input,
        status("TF-102", TicketStatus::Doing),
        &input.replace(
            "## TF-102: Add deletion\n",
            "## TF-102: Add deletion\n- **Status:** doing\n",
        ),
    );
}

#[test]
fn checkbox_tickets_toggle_their_own_box_and_refuse_what_a_box_cannot_say() {
    let input = "[x] As a user I can log in\r\n[ ] As a user I can log out\r\n";
    check_edit(
        input,
        status("title:as-a-user-i-can-log-out", TicketStatus::Done),
        "[x] As a user I can log in\r\n[x] As a user I can log out\r\n",
    );
    let d = Document::parse(input);
    assert!(d
        .apply(&status(
            "title:as-a-user-i-can-log-out",
            TicketStatus::Review
        ))
        .is_err());
}

#[test]
fn plain_field_dialect_and_french_labels_are_reused() {
    let input = "### PH-001 Review\nStatus: Done\nGoal: x\n\n### PH-002 Validate\nGoal: y\n";
    check_edit(
        input,
        status("PH-002", TicketStatus::Doing),
        "### PH-001 Review\nStatus: Done\nGoal: x\n\n### PH-002 Validate\nStatus: Doing\nGoal: y\n",
    );
    let input = "### TICKET-R01 — A\n\n- **Statut :** `DONE`\n- **Difficulté :** `simple`\n\n### TICKET-R02 — B\n\n- **Difficulté :** `simple`\n";
    check_edit(
        input,
        status("TICKET-R02", TicketStatus::Done),
        "### TICKET-R01 — A\n\n- **Statut :** `DONE`\n- **Difficulté :** `simple`\n\n### TICKET-R02 — B\n\n- **Difficulté :** `simple`\n- **Statut :** `DONE`\n",
    );
}

#[test]
fn moves_reorder_within_a_batch_and_keep_crlf_and_the_missing_final_newline() {
    let input = "## Phase 1: A\r\n\r\n### T-001: One\r\n\r\n### T-002: Two\r\n\r\n## Phase 2: B\r\n\r\n### T-003: Three";
    check_edit(
        input,
        Edit::Move {
            ticket: "T-002".into(),
            to_batch: 1,
            position: Some(0),
        },
        "## Phase 1: A\r\n\r\n### T-002: Two\r\n\r\n### T-001: One\r\n\r\n## Phase 2: B\r\n\r\n### T-003: Three",
    );
    check_edit(
        input,
        Edit::Move {
            ticket: "T-003".into(),
            to_batch: 1,
            position: None,
        },
        // The blank line that separated T-003 goes with it: the file still ends without a line
        // ending.
        "## Phase 1: A\r\n\r\n### T-001: One\r\n\r\n### T-002: Two\r\n\r\n### T-003: Three\r\n\r\n## Phase 2: B",
    );
    // Moving into a batch whose tickets sit one level deeper re-levels the heading and its sub-headings.
    let input = "# M1\n\n## T-1: a\n### Notes\nx\n\n# M2\n\n### T-2: b\n";
    check_edit(
        input,
        Edit::Move {
            ticket: "T-1".into(),
            to_batch: 2,
            position: None,
        },
        "# M1\n\n# M2\n\n### T-2: b\n\n### T-1: a\n#### Notes\nx\n",
    );
}

/// `head`, then `item(1)`, `item(2)`, … while the text stays within `bytes`.
fn generated(bytes: usize, head: &str, item: impl Fn(usize) -> String) -> String {
    let mut text = String::from(head);
    for n in 1.. {
        let next = item(n);
        if text.len() + next.len() > bytes {
            break;
        }
        text.push_str(&next);
    }
    text
}

/// Large files parse in one pass: each shape here used to compare every ticket, heading or key
/// with every other (1 MiB of one-ticket batches took 105 s), and now parses in a fraction of a
/// second. Counts and a few tickets (index, ID, batch number) show the outline is whole.
#[test]
fn large_files_parse_in_one_pass() {
    /// (ticket index, ID, batch number)
    type Sample = (usize, &'static str, Option<u32>);
    /// (shape, bytes, head, item, batches, tickets, samples)
    type Case = (
        &'static str,
        usize,
        &'static str,
        fn(usize) -> String,
        usize,
        usize,
        [Sample; 2],
    );
    let cases: [Case; 7] = [
        (
            "1 MiB of one-ticket batches (the report's file)",
            1 << 20,
            "# Tickets\n\n",
            |n| format!("## Batch {n}\n### T-{n}: x\n"),
            35_692,
            35_692,
            [
                (17_845, "T-17846", Some(17_846)),
                (35_691, "T-35692", Some(35_692)),
            ],
        ),
        (
            "one batch of heading tickets",
            300_000,
            "# Tickets\n\n## Batch 1: All\n",
            |n| format!("### T-{n}: Ticket\n"),
            1,
            15_553,
            [(0, "T-1", Some(1)), (15_552, "T-15553", Some(1))],
        ),
        (
            "sticky phases at ticket level",
            300_000,
            "# Tickets\n\n",
            |n| format!("### Phase {n}: p\n### T-{n}: t\n"),
            9_443,
            9_443,
            [(0, "T-1", Some(1)), (9_442, "T-9443", Some(9_443))],
        ),
        (
            "list-item tickets",
            300_000,
            "# Tickets\n\n## Batch 1: All\n",
            |n| format!("- T-{n}: Ticket\n"),
            1,
            17_282,
            [(0, "T-1", Some(1)), (17_281, "T-17282", Some(1))],
        ),
        (
            "numbered headings, no IDs",
            200_000,
            "# Notes\n\n",
            |n| format!("## {n}| Note\n"),
            0,
            14_073,
            [(0, "1", None), (14_072, "14073", None)],
        ),
        (
            "bold paragraphs, no headings",
            200_000,
            "Notes\n\n",
            |n| format!("**{n}. Title**\ntext\n"),
            0,
            9_576,
            [(0, "1", None), (9_575, "9576", None)],
        ),
        (
            "dependencies on tickets not in the file",
            300_000,
            "# Tickets\n\n## Batch 1: All\n",
            |n| format!("### T-{n}: Ticket\n- **Depends on:** X-{n}, {}\n", n + 7),
            1,
            6_065,
            [(0, "T-1", Some(1)), (6_064, "T-6065", Some(1))],
        ),
    ];
    for (shape, bytes, head, item, batches, tickets, samples) in cases {
        let text = generated(bytes, head, item);
        let d = Document::parse_bytes(text.as_bytes()).unwrap();
        assert_eq!(
            (d.batches.len(), d.tickets.len()),
            (batches, tickets),
            "{shape}"
        );
        for (i, id, batch) in samples {
            let t = &d.tickets[i];
            assert_eq!(t.display_id(), id, "{shape}");
            assert_eq!(t.batch.map(|b| d.batches[b].number), batch, "{shape}: {id}");
        }
    }
}

/// Past the cap, a file is refused in words, with the limit.
#[test]
fn a_file_past_the_cap_is_refused_with_the_limit() {
    use leapfrog_engine::tickets::MAX_FILE_BYTES;
    let cases: [(usize, String); 2] = [
        (
            MAX_FILE_BYTES + 1,
            format!(
                "too large: {} bytes; Leapfrog reads TICKETS.md files up to 4 MB ({MAX_FILE_BYTES} bytes)",
                MAX_FILE_BYTES + 1
            ),
        ),
        (
            17_200_000,
            "too large: 17.2 MB; Leapfrog reads TICKETS.md files up to 4 MB".to_string(),
        ),
    ];
    for (size, message) in cases {
        let err = Document::parse_bytes(&vec![b'x'; size]).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    assert!(Document::parse_bytes(&vec![b'x'; MAX_FILE_BYTES]).is_ok());
}
