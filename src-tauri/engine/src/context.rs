//! Context packs: each phase's prompt points its agent at a short file holding only what that
//! phase needs (seed gotcha 4: each agent should only read what it needs), written by Leapfrog
//! to `.leapfrog/context/batch-N/<phase>.md` right before the prompt is sent, so it follows
//! TICKETS.md as it is then.
//!
//! ```text
//! design   the batch's section of TICKETS.md, the previous batch's handoff
//! build    the batch's section (tickets with their specs), its handoff (files, dependencies),
//!          the verify command
//! review   the batch's section, its handoff, its diff (the two recorded refs and a stat)
//! fix      the review's findings, the batch's section
//! qa       the batch's section, the verify command
//! recheck  what failed upstream, the batch's section
//! ```
//!
//! Every pack ends with the reading rules for its role from the project's `docs/CONTEXT.md`
//! (`## Designer`, `## Builder`, ... sections), which setup creates when missing and never
//! overwrites.

use std::path::{Path, PathBuf};

use crate::agents::prompts::PromptPhase;
use crate::model::Handoff;
use crate::tickets::Document;

/// Where a phase's pack goes, relative to the project.
pub fn pack_path(batch: u32, phase: PromptPhase) -> PathBuf {
    Path::new(".leapfrog")
        .join("context")
        .join(format!("batch-{batch}"))
        .join(format!("{}.md", phase.as_str()))
}

/// The reading rules file, relative to the project.
pub const RULES_FILE: &str = "docs/CONTEXT.md";

/// What setup writes to `docs/CONTEXT.md` when the project has none.
pub const DEFAULT_RULES: &str = "# Context rules

What each agent reads. Leapfrog copies the section of an agent's role into every context pack it
writes for that agent (`.leapfrog/context/batch-N/<phase>.md`). Edit freely; Leapfrog never
rewrites this file.

## Designer
- Read: the batch's section of TICKETS.md, the previous batch's handoff, docs/ for design notes.
- Do not read: the source of batches still being built.

## Builder
- Read: the batch's tickets and their specs, the files the handoff names, the code they touch.
- Do not read: later batches' tickets, design notes of other batches.

## Reviewer
- Read: the batch's tickets, its handoff, its diff.
- Do not read: later batches' tickets.

## QA
- Read: the batch's tickets and what they deliver.
";

/// The heading of `docs/CONTEXT.md` that holds a phase's role's rules.
fn rules_heading(phase: PromptPhase) -> &'static str {
    match phase {
        PromptPhase::Design | PromptPhase::Recheck | PromptPhase::Plan => "designer",
        PromptPhase::Build | PromptPhase::Fix => "builder",
        PromptPhase::Review => "reviewer",
        PromptPhase::Qa => "qa",
        PromptPhase::Discovery | PromptPhase::Requirements => "designer",
    }
}

/// The `## <Role>` section of `rules` for `phase` (heading excluded, trimmed), if any.
pub fn role_rules(rules: &str, phase: PromptPhase) -> Option<String> {
    let want = rules_heading(phase);
    let mut out: Option<Vec<&str>> = None;
    for line in rules.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            if out.is_some() {
                break;
            }
            if h.trim().eq_ignore_ascii_case(want) {
                out = Some(Vec::new());
            }
            continue;
        }
        if let Some(o) = out.as_mut() {
            o.push(line);
        }
    }
    let text = out?.join("\n").trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// Batch `batch`'s section of TICKETS.md, verbatim: its heading through its last line.
pub fn batch_section(doc: &Document, batch: u32) -> Option<String> {
    let b = doc.batches.iter().find(|b| b.number == batch)?;
    let text = doc.source.slice_lines(b.scope.clone());
    let text = text.trim_end();
    (!text.is_empty()).then(|| text.to_string())
}

/// What a pack is made of.
pub struct PackInput<'a> {
    pub phase: PromptPhase,
    pub batch: u32,
    pub tickets_file: &'a str,
    pub doc: Option<&'a Document>,
    /// The batch's own handoff (build, review), or the previous batch's (design).
    pub handoff: Option<&'a Handoff>,
    pub verify_command: Option<&'a str>,
    /// The failed review's findings (fix), or what failed upstream (recheck).
    pub notes: Option<&'a str>,
    /// The batch's diff: its refs and a stat (review).
    pub diff: Option<&'a str>,
    /// The contents of `docs/CONTEXT.md`, if the project has one.
    pub rules: Option<&'a str>,
}

fn handoff_text(h: &Handoff) -> String {
    let mut out = String::new();
    if !h.tickets.is_empty() {
        out.push_str(&format!("- Tickets: {}\n", h.tickets.join(", ")));
    }
    if !h.files.is_empty() {
        out.push_str(&format!("- Files affected: {}\n", h.files.join(", ")));
    }
    if let Some(d) = &h.dependencies {
        out.push_str(&format!("- Dependencies: {d}\n"));
    }
    if let Some(v) = &h.verify_command {
        out.push_str(&format!("- Verify command: {v}\n"));
    }
    if !h.commits.is_empty() {
        out.push_str(&format!("- Commits: {}\n", h.commits.join(", ")));
    }
    out
}

/// The pack's text.
pub fn render(p: &PackInput) -> String {
    let b = p.batch;
    let mut out = format!(
        "# Context: {} of Batch {b}\n\nWritten by Leapfrog for this phase only. Read this instead of the whole {}.\n",
        p.phase.as_str(),
        p.tickets_file
    );
    let section = p.doc.and_then(|d| batch_section(d, b));
    let mut add = |title: &str, body: &str| {
        out.push_str(&format!("\n## {title}\n\n{}\n", body.trim_end()));
    };
    if matches!(p.phase, PromptPhase::Fix | PromptPhase::Recheck) {
        if let Some(n) = p.notes {
            let title = if p.phase == PromptPhase::Fix {
                "The review's findings"
            } else {
                "What failed upstream"
            };
            add(title, n);
        }
    }
    match &section {
        Some(s) => add(&format!("Batch {b} in {}", p.tickets_file), s),
        None => add(
            &format!("Batch {b} in {}", p.tickets_file),
            &format!("(no `Batch {b}` section in {} yet)", p.tickets_file),
        ),
    }
    if let Some(h) = p.handoff {
        let title = if p.phase == PromptPhase::Design {
            format!("The handoff of Batch {}", h.batch)
        } else {
            "The designer's handoff".to_string()
        };
        let text = handoff_text(h);
        if !text.is_empty() {
            add(&title, &text);
        }
    }
    if matches!(p.phase, PromptPhase::Review) {
        if let Some(d) = p.diff {
            add("The batch's diff", d);
        }
    }
    if matches!(
        p.phase,
        PromptPhase::Build | PromptPhase::Fix | PromptPhase::Qa
    ) {
        if let Some(v) = p.verify_command.filter(|v| !v.is_empty()) {
            add("Verify command", &format!("`{v}`"));
        }
    }
    if let Some(r) = p.rules.and_then(|r| role_rules(r, p.phase)) {
        add(&format!("Reading rules ({RULES_FILE})"), &r);
    }
    out
}

/// Writes the pack under `project` (creating its folder) and returns its relative path.
pub fn write(project: &Path, p: &PackInput) -> std::io::Result<PathBuf> {
    let rel = pack_path(p.batch, p.phase);
    let path = project.join(&rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Packs are Leapfrog's working files, not the project's: git ignores the whole folder.
    let ignore = project.join(".leapfrog/context/.gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "*\n")?;
    }
    let tmp = path.with_extension("md.tmp");
    std::fs::write(&tmp, render(p))?;
    std::fs::rename(&tmp, &path)?;
    Ok(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICKETS: &str = "# Tickets\n\n## Batch 1: Foundation\n\n### T-001: Greeting\n- **Status:** todo\n\nPrint a greeting.\n\n## Batch 2: Options\n\n### T-003: Shout\n- **Status:** todo\n\n`--shout` prints capitals.\n";

    #[test]
    fn a_build_pack_holds_its_batch_the_handoff_verify_and_the_builders_rules() {
        let doc = Document::parse(TICKETS);
        let handoff = Handoff {
            kind: crate::model::HandoffKind::Handoff,
            batch: 2,
            tickets: vec!["T-003".into()],
            files: vec!["src/t-003.sh".into()],
            dependencies: Some("T-001".into()),
            verify_command: None,
            commits: vec![],
            verify: None,
            ready_for: vec![],
        };
        let text = render(&PackInput {
            phase: PromptPhase::Build,
            batch: 2,
            tickets_file: "TICKETS.md",
            doc: Some(&doc),
            handoff: Some(&handoff),
            verify_command: Some("sh verify.sh"),
            notes: None,
            diff: None,
            rules: Some(DEFAULT_RULES),
        });
        assert!(
            text.contains("## Batch 2 in TICKETS.md\n\n## Batch 2: Options\n\n### T-003: Shout"),
            "{text}"
        );
        assert!(!text.contains("T-001: Greeting"), "only its batch: {text}");
        assert!(
            text.contains("- Files affected: src/t-003.sh\n- Dependencies: T-001"),
            "{text}"
        );
        assert!(
            text.contains("## Verify command\n\n`sh verify.sh`"),
            "{text}"
        );
        assert!(
            text.contains("- Read: the batch's tickets and their specs"),
            "{text}"
        );
        assert!(
            !text.contains("the batch's tickets, its handoff, its diff"),
            "not the reviewer's rules: {text}"
        );
    }

    #[test]
    fn a_fix_pack_starts_with_the_findings_and_a_review_pack_has_the_diff() {
        let doc = Document::parse(TICKETS);
        let fix = render(&PackInput {
            phase: PromptPhase::Fix,
            batch: 1,
            tickets_file: "TICKETS.md",
            doc: Some(&doc),
            handoff: None,
            verify_command: None,
            notes: Some("src/t-001.sh:2: print a usage line"),
            diff: None,
            rules: None,
        });
        let findings = fix.find("## The review's findings").unwrap();
        let batch = fix.find("## Batch 1 in TICKETS.md").unwrap();
        assert!(findings < batch, "{fix}");
        let review = render(&PackInput {
            phase: PromptPhase::Review,
            batch: 1,
            tickets_file: "TICKETS.md",
            doc: Some(&doc),
            handoff: None,
            verify_command: Some("sh verify.sh"),
            notes: None,
            diff: Some("git diff refs/leapfrog/batch-1/base refs/leapfrog/batch-1/head\n1\t0\tsrc/t-001.sh"),
            rules: None,
        });
        assert!(review.contains("## The batch's diff"), "{review}");
        assert!(!review.contains("Verify command"), "{review}");
        // A batch not designed yet is said so.
        let empty = render(&PackInput {
            phase: PromptPhase::Design,
            batch: 7,
            tickets_file: "TICKETS.md",
            doc: Some(&doc),
            handoff: None,
            verify_command: None,
            notes: None,
            diff: None,
            rules: None,
        });
        assert!(
            empty.contains("(no `Batch 7` section in TICKETS.md yet)"),
            "{empty}"
        );
    }

    #[test]
    fn role_rules_come_from_the_roles_section() {
        assert_eq!(
            role_rules(
                "# x\n## Builder\n- a\n- b\n## Reviewer\n- c\n",
                PromptPhase::Fix
            )
            .as_deref(),
            Some("- a\n- b")
        );
        assert_eq!(role_rules("## Builder\n", PromptPhase::Build), None);
        assert_eq!(role_rules("## Reviewer\n- c", PromptPhase::Design), None);
        assert_eq!(
            pack_path(3, PromptPhase::Review),
            PathBuf::from(".leapfrog/context/batch-3/review.md")
        );
    }
}
