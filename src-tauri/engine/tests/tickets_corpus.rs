//! TICKETS.md codec on 33 real files (tests/corpus/tickets, provenance in MANIFEST.tsv): byte-exact round
//! trip, idempotence, edits that touch only their lines, and golden outlines of the files the design names.

use std::fs;
use std::path::PathBuf;

use leapfrog_engine::model::TicketStatus;
use leapfrog_engine::tickets::{Document, Edit, TicketKind};

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/tickets");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        33,
        "corpus should hold the 33 odd-numbered files"
    );
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&p).expect("read"))
        })
        .collect()
}

fn doc(name_prefix: &str) -> Document {
    let (_, bytes) = corpus()
        .into_iter()
        .find(|(n, _)| n.starts_with(name_prefix))
        .expect("file in corpus");
    Document::parse_bytes(&bytes).expect("parses")
}

#[test]
fn every_corpus_file_round_trips_byte_for_byte_and_is_idempotent() {
    for (name, bytes) in corpus() {
        let d = Document::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = d.serialize();
        assert!(
            out.as_bytes() == bytes.as_slice(),
            "{name}: round trip changed bytes"
        );
        let again = Document::parse(&out);
        assert_eq!(again.serialize(), out, "{name}: not idempotent");
        assert_eq!(
            again.tickets.len(),
            d.tickets.len(),
            "{name}: reparse differs"
        );
    }
}

#[test]
fn the_crlf_file_keeps_its_crlf_and_mutations_round_trip() {
    let (_, bytes) = corpus()
        .into_iter()
        .find(|(n, _)| n.starts_with("39_"))
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\r\n"));
    for variant in [
        text.clone(),
        format!("\u{feff}{text}"),
        text.trim_end().to_string(),
        text.replace("\r\n", "\n"),
        format!("{text}\n```rust\n# not a heading\n"),
    ] {
        let d = Document::parse(&variant);
        assert_eq!(d.serialize(), variant);
        assert_eq!(d.tickets.len(), 32);
    }
}

/// A compact outline: one line per batch with its tickets and statuses, then tickets outside batches.
fn outline(d: &Document) -> String {
    let t = |i: usize| {
        let t = &d.tickets[i];
        let st = if t.status_unknown {
            "unknown"
        } else {
            t.status.as_str()
        };
        format!("{} {st}", t.display_id())
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

fn check(file: &str, expect: &str) {
    let got = outline(&doc(file));
    assert_eq!(got.trim(), expect.trim(), "outline of {file}:\n{got}");
}

#[test]
fn golden_09_kanban_list_items_under_plain_line_status_dividers() {
    check(
        "09_",
        "batch 1 «VERSION 1.1.0 \"IDENTITY CORE\" - LATEST ✅»: ANK-603 done, ANK-113 done, ANK-112 done, ANK-111 done, ANK-900 done, ANK-805 done, ANK-801 done, ANK-800 done, ANK-600 done, ANK-601 done, ANK-602 done, ANK-400 done, ANK-401 done, ANK-402 done, ANK-300 done, ANK-301 done, ANK-302 done, ANK-107 done, ANK-106 done, ANK-104 done, ANK-105 done, ANK-108 done, ANK-102 done, ANK-103 done, ANK-100 done, ANK-101 done, ANK-110 todo, ANK-802 todo",
    );
}

#[test]
fn golden_13_nested_checklist_is_the_grouping() {
    check(
        "13_",
        "batch 1 «frontend»: title:github-setup todo, title:license-setup todo, title:launcher-screen todo, title:user-setting-screen todo, title:user-register-screen todo, title:register todo, title:setting todo, title:update-information-of-user todo, title:login todo
batch 2 «backend»: title:user-domain-modeling todo, title:consider-register-email-credential todo, title:consider-phone-authentication todo, title:login-with-jwt todo, title:logout-with-jwt todo, title:social-login todo, title:unit-test-structure todo, title:e2e-test-structure todo, title:github-action-ci-cd-setup todo, title:aws-ec2-deployment-setup todo, title:aws-rds-deployment-setup todo, title:docker-image-setup todo, title:docker-compose-setup todo, title:kubernetes-setup todo",
    );
}

#[test]
fn golden_27_status_table_merges_into_heading_tickets() {
    check(
        "27_",
        "batch 1 «Backend Tickets (Backend/)»: BE-1 done, BE-2 done, BE-3 done, BE-4 done, BE-5 done, BE-6 done, BE-7 blocked, BE-8 done, BE-9 doing
batch 2 «UI Tickets (UI/)»: UI-1 done, UI-2 done, UI-3 done, UI-4 done, UI-5 done, UI-6 done, UI-7 doing",
    );
}

#[test]
fn golden_39_crlf_phases() {
    check(
        "39_",
        "batch 0 «Phase 0 — Topology JSON Format»: T-001 todo, T-002 todo, T-003 todo
batch 1 «Phase 1 — Core Primitives»: T-004 todo, T-005 todo, T-006 todo, T-007 todo
batch 2 «Phase 2 — Simulation Engine»: T-008 todo, T-009 todo, T-010 todo, T-011 todo
batch 3 «Phase 3 — Network & Edge Modeling»: T-012 todo
batch 4 «Phase 4 — Failure Injection & Propagation»: T-013 todo, T-014 todo
batch 5 «Phase 5 — Resilience Patterns»: T-015 todo, T-016 todo
batch 6 «Phase 6 — Metrics, Tracing & Output»: T-017 todo, T-018 todo, T-019 todo, T-020 todo, T-021 todo
batch 7 «Phase 7 — Scenarios & Chaos»: T-022 todo, T-023 todo, T-024 todo
batch 8 «Phase 8 — UI ↔ Engine Integration»: T-025 todo, T-026 todo, T-027 todo, T-028 todo
batch 9 «Phase 9 — Advanced Features»: T-029 todo, T-030 todo, T-031 todo, T-032 todo",
    );
}

#[test]
fn golden_53_french_statuses_template_outside_fence_and_duplicate_ids() {
    let d = doc("53_");
    // The template `### TICKET-XXX — Titre` is not a ticket; the `### TICKET-ETUDE-06 — Résultat` addenda
    // report on tickets defined further down and are read as text, with a warning, not as duplicates.
    assert!(d
        .tickets
        .iter()
        .all(|t| t.id.as_deref() != Some("TICKET-XXX")));
    assert!(d
        .warnings
        .iter()
        .any(|w| w.contains("TICKET-ETUDE-06 — Résultat") && w.contains("not as a ticket")));
    assert!(d.warnings.iter().all(|w| !w.contains("duplicate")));
    assert_eq!(d.find("TICKET-ETUDE-06").len(), 1);
    let r01 = &d.tickets[d.find("TICKET-R01")[0]];
    assert_eq!(r01.status, TicketStatus::Done);
    assert_eq!(r01.status_raw.as_deref(), Some("`DONE`"));
    assert_eq!(r01.owner.as_deref(), Some("Claude Code"));
    assert!(r01.depends_on.is_empty(), "`aucune` means no dependency");
    check(
        "53_",
        "batch 0 «Tickets actifs — Phase 0»: TICKET-R01 done, TICKET-R02 done, TICKET-R03 done, TICKET-CQR01 done
batch 1 «Tickets actifs — Phase 1»: TICKET-D01 done, TICKET-D02 done, TICKET-D03 done, TICKET-D04 done, TICKET-M01 done, TICKET-M02 done, TICKET-M03 done
batch 4 «Tickets actifs — Phase 4 (DEFERRED_PLATFORM)»: TICKET-P01 done, TICKET-P02 done, TICKET-P03 done
batch 5 «Tickets actifs — Phase 5 (DEFERRED_PIPELINE)»: TICKET-Q01 done, TICKET-ETUDE-09 todo
batch 5 «Phase Étude — Nouvelle architecture notebooks + recherche»: TICKET-ETUDE-01 done, TICKET-ETUDE-02 done, TICKET-ETUDE-03 done, TICKET-ETUDE-04 done, TICKET-ETUDE-05 done, TICKET-ETUDE-06 done, TICKET-ETUDE-07 done, TICKET-ETUDE-08 done
batch 6 «Tickets nouveaux — Priorité zéro + correctifs + différés (2026-05-14)»: TICKET-ETUDE-00 done, TICKET-ETUDE-12 done, TICKET-ETUDE-14 done, TICKET-ETUDE-15 done, TICKET-ETUDE-10 done, TICKET-ETUDE-11 done, TICKET-ETUDE-13 done, TICKET-ETUDE-16 done, TICKET-ETUDE-17 todo",
    );
}

#[test]
fn golden_65_h1_milestones_h2_tickets_after_leading_blank_lines() {
    check(
        "65_",
        "batch 1 «Milestone 1 — Backend Auth Foundation»: Ticket 1.1 todo, Ticket 1.2 todo, Ticket 1.3 todo, Ticket 1.4 todo
batch 2 «Milestone 2 — Tenant Isolation and API Protection»: Ticket 2.1 todo, Ticket 2.2 todo, Ticket 2.3 todo, Ticket 2.4 todo
batch 3 «Milestone 3 — API Security Hardening»: Ticket 3.1 todo, Ticket 3.2 todo, Ticket 3.3 todo, Ticket 3.4 todo
batch 4 «Milestone 4 — Upload Validation Hardening»: Ticket 4.1 todo
batch 5 «Milestone 5 — Frontend Foundation»: Ticket 5.1 todo, Ticket 5.2 todo, Ticket 5.3 todo, Ticket 5.4 todo, Ticket 5.5 todo
batch 6 «Milestone 6 — Frontend Dashboard and Documents»: Ticket 6.1 todo, Ticket 6.2 todo, Ticket 6.3 todo, Ticket 6.4 todo
batch 7 «Milestone 7 — Frontend Model Evaluation»: Ticket 7.1 todo
batch 8 «Milestone 8 — Maintenance and Retention Groundwork»: Ticket 8.1 todo
batch 9 «Milestone 9 — Multi-Instance SSE Readiness»: Ticket 9.1 todo
batch 10 «Milestone 10 — Optional Organization Admin Overview»: Ticket 10.1 todo
batch 11 «Milestone 11 — Tests»: Ticket 11.1 todo, Ticket 11.2 todo, Ticket 11.3 todo, Ticket 11.4 todo, Ticket 11.5 todo
batch 12 «Milestone 12 — Documentation and Developer Experience»: Ticket 12.1 todo, Ticket 12.2 todo, Ticket 12.3 todo
batch 13 «Milestone 13 — Docker Compose»: Ticket 13.1 todo
batch 14 «Milestone 14 — Security Hardening (HttpOnly Cookies)»: Ticket 14.1 todo",
    );
}

#[test]
fn files_without_tickets_are_recognised_as_such() {
    for f in ["19_", "21_", "23_", "37_", "43_"] {
        let d = doc(f);
        assert!(d.tickets.is_empty(), "{f}: {}", outline(&d));
        assert!(d.warnings.iter().any(|w| w.contains("no tickets")));
    }
}

// ---- edits touch only their lines -------------------------------------------------------------------

/// Lines of `old` that are not in `new` and lines of `new` that are not in `old` (LCS on lines, after
/// trimming the common prefix and suffix). Indices are 0-based.
fn diff_lines(old: &str, new: &str) -> (Vec<usize>, Vec<usize>) {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let mut p = 0;
    while p < a.len() && p < b.len() && a[p] == b[p] {
        p += 1;
    }
    let mut s = 0;
    while s < a.len() - p && s < b.len() - p && a[a.len() - 1 - s] == b[b.len() - 1 - s] {
        s += 1;
    }
    let (am, bm) = (&a[p..a.len() - s], &b[p..b.len() - s]);
    let (n, m) = (am.len(), bm.len());
    let mut dp = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            dp[i][j] = if am[i] == bm[j] {
                dp[i + 1][j + 1] + 1
            } else {
                dp[i + 1][j].max(dp[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    while i < n || j < m {
        if i < n && j < m && am[i] == bm[j] {
            i += 1;
            j += 1;
        } else if j < m && (i == n || dp[i][j + 1] >= dp[i + 1][j]) {
            added.push(p + j);
            j += 1;
        } else {
            removed.push(p + i);
            i += 1;
        }
    }
    (removed, added)
}

fn unique_tickets(d: &Document) -> Vec<usize> {
    (0..d.tickets.len())
        .filter(|&i| d.find(&d.tickets[i].key).len() == 1)
        .collect()
}

fn sample(v: &[usize]) -> Vec<usize> {
    let mut s = vec![];
    if let Some(&f) = v.first() {
        s.push(f);
    }
    if v.len() > 2 {
        s.push(v[v.len() / 2]);
    }
    if let Some(&l) = v.last() {
        s.push(l);
    }
    s.dedup();
    s
}

#[test]
fn set_status_title_and_field_touch_only_the_tickets_lines() {
    for (name, bytes) in corpus() {
        let d = Document::parse_bytes(&bytes).unwrap();
        let old = d.serialize();
        for ti in sample(&unique_tickets(&d)) {
            let t = &d.tickets[ti];
            let key = t.key.clone();
            let mut allowed: Vec<usize> = t.span.clone().collect();
            allowed.extend(&t.views);
            allowed.extend(t.status_marks.iter().map(|m| m.line));
            for status in [TicketStatus::Done, TicketStatus::Doing, TicketStatus::Todo] {
                let edit = Edit::SetStatus {
                    ticket: key.clone(),
                    status,
                };
                let Ok(applied) = d.apply(&edit) else {
                    assert!(
                        t.kind != TicketKind::Heading,
                        "{name}: {key} status refused"
                    );
                    continue;
                };
                let new = applied.doc.serialize();
                let (removed, added) = diff_lines(&old, &new);
                assert!(
                    removed.iter().all(|l| allowed.contains(l)),
                    "{name}: {key} -> {status:?} changed lines {removed:?} outside {allowed:?}"
                );
                assert!(
                    added.len() <= removed.len() + 1,
                    "{name}: {key} added {added:?}"
                );
                let nt = &applied.doc.tickets[applied.doc.find(&key)[0]];
                assert_eq!(
                    nt.status,
                    status,
                    "{name}: {key} status not applied:\n{}",
                    &new[..0]
                );
                assert_eq!(applied.doc.tickets.len(), d.tickets.len(), "{name}");
                assert_eq!(Document::parse(&new).serialize(), new);
            }
            // Title: exactly one line changes.
            let applied = d
                .apply(&Edit::SetTitle {
                    ticket: key.clone(),
                    title: "Renamed by Leapfrog".into(),
                })
                .unwrap();
            let new = applied.doc.serialize();
            let (removed, added) = diff_lines(&old, &new);
            assert_eq!(removed.len(), 1, "{name}: {key} title");
            assert_eq!(added.len(), 1, "{name}: {key} title");
            assert!(allowed.contains(&removed[0]));
            if t.id.is_some() {
                let nt = &applied.doc.tickets[applied.doc.find(&key)[0]];
                assert_eq!(nt.title, "Renamed by Leapfrog", "{name}: {key}");
            }
            // Owner field: replaced in place or one line inserted inside the ticket.
            if t.kind == TicketKind::Heading {
                let applied = d
                    .apply(&Edit::SetField {
                        ticket: key.clone(),
                        field: "Owner".into(),
                        value: "codex".into(),
                    })
                    .unwrap();
                let new = applied.doc.serialize();
                let (removed, added) = diff_lines(&old, &new);
                assert!(
                    removed.len() <= 1 && added.len() == 1,
                    "{name}: {key} owner {removed:?} {added:?}"
                );
                assert!(removed.iter().all(|l| allowed.contains(l)));
                let nt = &applied.doc.tickets[applied.doc.find(&key)[0]];
                assert_eq!(
                    nt.owner.as_deref(),
                    Some("codex"),
                    "{name}: {key}:\n{}",
                    applied.doc.body(nt)
                );
            }
        }
    }
}

#[test]
fn moves_deletes_and_additions_keep_everything_else() {
    for (name, bytes) in corpus() {
        let d = Document::parse_bytes(&bytes).unwrap();
        let old = d.serialize();
        let uniq = unique_tickets(&d);
        // Delete: exactly the ticket's span (and its mirrored table rows) disappears.
        for &ti in sample(&uniq).iter() {
            let t = &d.tickets[ti];
            let applied = d
                .apply(&Edit::DeleteTicket {
                    ticket: t.key.clone(),
                })
                .unwrap();
            let new = applied.doc.serialize();
            let (removed, added) = diff_lines(&old, &new);
            let mut expect: Vec<usize> = t.span.clone().chain(t.views.iter().copied()).collect();
            expect.sort();
            assert!(
                added.is_empty() || (added.len() == 1 && !old.ends_with('\n')),
                "{name}: delete {} added {added:?}",
                t.key
            );
            assert_eq!(removed.len(), expect.len(), "{name}: delete {}", t.key);
            // Exactly those lines are gone (compared by content: the line diff may pick an equal blank line).
            let kept: String = old
                .split_inclusive('\n')
                .enumerate()
                .filter(|(i, _)| !expect.contains(i))
                .map(|(_, l)| l)
                .collect();
            assert_eq!(
                kept.trim_end_matches(['\r', '\n']),
                new.trim_end_matches(['\r', '\n']),
                "{name}: delete {}",
                t.key
            );
            // (A list elsewhere that only referred to it may now define it; no ticket of this kind remains.)
            let left = applied.doc.find(&t.key);
            assert!(
                t.id.is_none() || left.iter().all(|&i| applied.doc.tickets[i].kind != t.kind),
                "{name}: {} still there",
                t.key
            );
        }
        // Move the first ticket of the first batch to the end of the last batch with tickets.
        let with: Vec<usize> = (0..d.batches.len())
            .filter(|&b| !d.batches[b].tickets.is_empty())
            .collect();
        if with.len() >= 2 {
            let (b0, b1) = (with[0], *with.last().unwrap());
            let ti = d.batches[b0].tickets[0];
            let t = &d.tickets[ti];
            if t.id.is_some()
                && d.find(&t.key).len() == 1
                && d.tickets[d.batches[b1].tickets[0]].kind == t.kind
            {
                let to = d.batches[b1].number;
                assert_eq!(
                    d.batch_by_number(to),
                    Some(b1),
                    "{name}: batch numbers are unique here"
                );
                let applied = d
                    .apply(&Edit::Move {
                        ticket: t.key.clone(),
                        to_batch: to,
                        position: None,
                    })
                    .unwrap();
                let nd = &applied.doc;
                let nt = &nd.tickets[nd.find(&t.key)[0]];
                // (Compared by title: a heading batch that loses its last ticket stops being a batch.)
                assert_eq!(
                    nd.batches[nt.batch.unwrap()].title,
                    d.batches[b1].title,
                    "{name}: moved {}",
                    t.key
                );
                assert_eq!(nt.title, t.title);
                assert_eq!(nd.tickets.len(), d.tickets.len(), "{name}");
                // Every non-blank line survives the move.
                let mut a: Vec<&str> = old.lines().filter(|l| !l.trim().is_empty()).collect();
                let mut b: Vec<&str> = nd.text().lines().filter(|l| !l.trim().is_empty()).collect();
                a.sort();
                b.sort();
                assert_eq!(a, b, "{name}: move lost or changed lines");
            }
        }
        // Add a ticket outside any batch, and a batch: nothing existing changes, the result round-trips.
        for edit in [
            Edit::AddTicket {
                batch: None,
                title: "Loose".into(),
            },
            Edit::AddBatch {
                title: "Later".into(),
            },
        ] {
            let applied = d.apply(&edit).unwrap();
            let new = applied.doc.serialize();
            let (removed, _) = diff_lines(&old, &new);
            assert!(
                removed.len() <= usize::from(!old.ends_with('\n')),
                "{name}: {edit:?} changed {removed:?}"
            );
            assert_eq!(Document::parse(&new).serialize(), new);
        }
        // Add a ticket to the first batch that has tickets: nothing existing changes.
        if let Some(&b) = with.first() {
            let n = d.batches[b].number;
            let applied = d
                .apply(&Edit::AddTicket {
                    batch: Some(n),
                    title: "Added by Leapfrog".into(),
                })
                .unwrap();
            let nd = &applied.doc;
            let new = nd.serialize();
            let (removed, _) = diff_lines(&old, &new);
            assert!(removed.is_empty(), "{name}: add changed {removed:?}");
            let created = applied.created.unwrap();
            let hits = nd.find(&created);
            if d.tickets[d.batches[b].tickets[0]].id.is_some() {
                assert_eq!(
                    hits.len(),
                    1,
                    "{name}: new id {created} not found once:\n{new}"
                );
                let nt = &nd.tickets[hits[0]];
                assert_eq!(nt.title, "Added by Leapfrog", "{name}");
                assert_eq!(nd.batches[nt.batch.unwrap()].number, n, "{name}");
            }
            assert_eq!(nd.tickets.len(), d.tickets.len() + 1, "{name}");
        }
    }
}

#[test]
fn canonical_dialect_edits_read_like_the_design() {
    let input = "# Tickets\n\n## Batch 1: Foundation\n\n### T-001: Scaffold\n- **Status:** done\n- **Depends on:** —\n\n### T-002: CI\n- **Status:** doing\n- **Depends on:** T-001\n\n## Batch 2: Payments\n\n### T-003: Stripe\n- **Status:** todo\n";
    let d = Document::parse(input);
    let a = d
        .apply(&Edit::AddTicket {
            batch: Some(2),
            title: "Refunds".into(),
        })
        .unwrap();
    assert_eq!(a.created.as_deref(), Some("T-004"));
    assert!(
        a.doc.text().ends_with(
            "### T-003: Stripe\n- **Status:** todo\n\n### T-004: Refunds\n- **Status:** todo\n"
        ),
        "{}",
        a.doc.text()
    );
    let m = d
        .apply(&Edit::Move {
            ticket: "T-2".into(),
            to_batch: 2,
            position: Some(0),
        })
        .unwrap();
    assert_eq!(
        m.doc.text(),
        "# Tickets\n\n## Batch 1: Foundation\n\n### T-001: Scaffold\n- **Status:** done\n- **Depends on:** —\n\n## Batch 2: Payments\n\n### T-002: CI\n- **Status:** doing\n- **Depends on:** T-001\n\n### T-003: Stripe\n- **Status:** todo\n"
    );
    let s = d
        .apply(&Edit::SetStatus {
            ticket: "T-003".into(),
            status: TicketStatus::Review,
        })
        .unwrap();
    assert!(s
        .doc
        .text()
        .contains("### T-003: Stripe\n- **Status:** review\n"));
    let b = d
        .apply(&Edit::AddBatch {
            title: "Polish".into(),
        })
        .unwrap();
    assert!(
        b.doc
            .text()
            .ends_with("- **Status:** todo\n\n## Batch 3: Polish\n"),
        "{}",
        b.doc.text()
    );
    let r = d
        .apply(&Edit::RenameBatch {
            batch: 2,
            title: "Billing".into(),
        })
        .unwrap();
    assert!(r.doc.text().contains("## Batch 2: Billing\n"));
    assert_eq!(d.tickets[1].depends_on, ["T-001"]);
}

#[test]
fn heading_suffix_dialect_is_kept_when_status_changes() {
    // 45 writes status as `✅ COMPLETE` after the title.
    let d = doc("45_");
    let t = &d.tickets[d.find("E1-008")[0]];
    assert_eq!(t.status, TicketStatus::Done);
    let a = d
        .apply(&Edit::SetStatus {
            ticket: "E1-008".into(),
            status: TicketStatus::Todo,
        })
        .unwrap();
    let line = a.doc.source.line(t.span.start);
    assert_eq!(line, "### E1-008: NestJS API Scaffolding");
    // All its acceptance boxes are ticked, so "todo" also needs an explicit field to hold.
    assert_eq!(
        a.doc.tickets[a.doc.find("E1-008")[0]].status,
        TicketStatus::Todo
    );
    // A ticket without a marker in a heading-marker file gets the file's marker.
    let d = Document::parse("# T\n\n### A-1: x ✅ DONE\n\n### A-2: y\n\n### A-3: z ✅ DONE\n");
    let a = d
        .apply(&Edit::SetStatus {
            ticket: "A-2".into(),
            status: TicketStatus::Done,
        })
        .unwrap();
    assert_eq!(
        a.doc.text(),
        "# T\n\n### A-1: x ✅ DONE\n\n### A-2: y ✅ DONE\n\n### A-3: z ✅ DONE\n"
    );
    let b = d
        .apply(&Edit::SetStatus {
            ticket: "A-3".into(),
            status: TicketStatus::Todo,
        })
        .unwrap();
    assert_eq!(
        b.doc.text(),
        "# T\n\n### A-1: x ✅ DONE\n\n### A-2: y\n\n### A-3: z\n"
    );
}

#[test]
fn duplicate_ids_are_refused_not_guessed() {
    // 53 with one of its tickets defined twice.
    let (_, bytes) = corpus()
        .into_iter()
        .find(|(n, _)| n.starts_with("53_"))
        .expect("file in corpus");
    let text = String::from_utf8(bytes).expect("utf-8")
        + "\n### TICKET-ETUDE-06 — Refaire encore le backtest\n\n- **Statut :** `READY`\n";
    let d = Document::parse(&text);
    let err = d
        .apply(&Edit::SetStatus {
            ticket: "TICKET-ETUDE-06".into(),
            status: TicketStatus::Done,
        })
        .unwrap_err();
    assert!(err.to_string().contains("used by 2 tickets"), "{err}");
}

/// The next ID is one past the highest, counted as text: an ID with more digits than a u64 holds
/// (the hour-long fuzz run found `C18446744073709551615` overflowing) gets one more, padding kept.
#[test]
fn a_new_ticket_id_follows_numbers_of_any_length() {
    let cases = [
        ("T-009", "T-010"),
        ("T-099", "T-100"),
        ("T-999", "T-1000"),
        ("C18446744073709551615", "C18446744073709551616"),
        (
            "C99999999999999999999999999999999999999999",
            "C100000000000000000000000000000000000000000",
        ),
        ("T-000", "T-001"),
    ];
    for (id, next) in cases {
        let d = Document::parse(&format!("## Batch 1: One\n\n### {id}: First\n"));
        let a = d
            .apply(&Edit::AddTicket {
                batch: Some(1),
                title: "Second".into(),
            })
            .unwrap();
        assert_eq!(a.created.as_deref(), Some(next), "after {id}");
    }
}
