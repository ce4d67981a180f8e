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

/// What the pack of a phase that belongs to no batch is made of: a preamble phase (discovery,
/// requirements, plan) or `plan(m)` of milestone m.
pub struct OverviewInput<'a> {
    pub phase: PromptPhase,
    /// `plan(m)`'s milestone.
    pub milestone: Option<u32>,
    pub tickets_file: &'a str,
    pub doc: Option<&'a Document>,
    pub verify_command: Option<&'a str>,
    pub rules: Option<&'a str>,
}

/// Where such a pack goes: `.leapfrog/context/preamble/<phase>.md`, or
/// `.leapfrog/context/milestone-M/plan.md`.
pub fn overview_path(phase: PromptPhase, milestone: Option<u32>) -> PathBuf {
    let base = Path::new(".leapfrog").join("context");
    match milestone {
        Some(m) => base.join(format!("milestone-{m}")).join("plan.md"),
        None => base.join("preamble").join(format!("{}.md", phase.as_str())),
    }
}

/// The pack's text: the batches as a list (not their specs), milestone m's part of the file
/// for `plan(m)`, the verify command and the role's reading rules.
pub fn render_overview(p: &OverviewInput) -> String {
    let what = match p.milestone {
        Some(m) => format!("plan of milestone {m}"),
        None => p.phase.as_str().to_string(),
    };
    let mut out = format!(
        "# Context: {what}\n\nWritten by Leapfrog for this phase only. Read this before the whole {}.\n",
        p.tickets_file
    );
    let mut add = |title: &str, body: &str| {
        out.push_str(&format!("\n## {title}\n\n{}\n", body.trim_end()));
    };
    if let Some(d) = p.doc {
        let milestones = d.milestones();
        if let Some(m) = p.milestone {
            if let Some(ms) = milestones.iter().find(|x| x.number == m) {
                let end = milestones
                    .iter()
                    .find(|x| x.heading_line > ms.heading_line)
                    .map(|x| x.heading_line)
                    .unwrap_or(d.source.len());
                let text = d.source.slice_lines(ms.heading_line..end);
                add(
                    &format!("Milestone {m} in {}", p.tickets_file),
                    text.trim_end(),
                );
            }
        }
        let mut list = String::new();
        for (bi, b) in d.batches.iter().enumerate() {
            if let Some(ms) = milestones.iter().find(|x| x.batches.first() == Some(&bi)) {
                list.push_str(&format!("- Milestone {}: {}\n", ms.number, ms.title));
            }
            let done = b
                .tickets
                .iter()
                .filter(|&&t| d.tickets[t].status == crate::model::TicketStatus::Done)
                .count();
            let n = b.tickets.len();
            list.push_str(&format!(
                "  - {} ({n} ticket{}, {done} done)\n",
                b.title,
                if n == 1 { "" } else { "s" }
            ));
        }
        if list.is_empty() {
            list.push_str("(no batches yet)\n");
        }
        add(&format!("Batches in {}", p.tickets_file), &list);
    }
    if let Some(v) = p.verify_command.filter(|v| !v.is_empty()) {
        add("Verify command", &format!("`{v}`"));
    }
    if let Some(r) = p.rules.and_then(|r| role_rules(r, p.phase)) {
        add(&format!("Reading rules ({RULES_FILE})"), &r);
    }
    out
}

/// Writes a preamble or `plan(m)` pack under `project`; its relative path.
pub fn write_overview(project: &Path, p: &OverviewInput) -> std::io::Result<PathBuf> {
    let rel = overview_path(p.phase, p.milestone);
    write_file(project, &rel, &render_overview(p))?;
    Ok(rel)
}

fn write_file(project: &Path, rel: &Path, text: &str) -> std::io::Result<()> {
    let path = project.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let ignore = project.join(".leapfrog/context/.gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "*\n")?;
    }
    let tmp = path.with_extension("md.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)
}

/// Writes the pack under `project` (creating its folder) and returns its relative path.
pub fn write(project: &Path, p: &PackInput) -> std::io::Result<PathBuf> {
    let rel = pack_path(p.batch, p.phase);
    // Packs are Leapfrog's working files, not the project's: git ignores the whole folder.
    write_file(project, &rel, &render(p))?;
    Ok(rel)
}

/// The most `docs/CONTEXT.md` may hold (read and write).
pub const MAX_RULES_BYTES: u64 = 256 * 1024;

/// `docs/CONTEXT.md` as the app edits it: its text and a stamp of what was read, so a save never
/// overwrites a change made on disk meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RulesFile {
    pub text: String,
    /// Whether the file exists (when not, `text` is [`DEFAULT_RULES`], not yet written).
    pub exists: bool,
    /// blake3 of the bytes read ("" when the file does not exist).
    pub stamp: String,
}

fn stamp_of(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..16].to_string()
}

/// Reads the project's reading rules (the defaults when it has none yet).
pub fn read_rules(project: &Path) -> Result<RulesFile, String> {
    let path = project.join(RULES_FILE);
    if !path.exists() {
        return Ok(RulesFile {
            text: DEFAULT_RULES.to_string(),
            exists: false,
            stamp: String::new(),
        });
    }
    let bytes = crate::files::read_regular(&path, RULES_FILE, MAX_RULES_BYTES)?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| format!("{RULES_FILE} is not UTF-8 text: edit it in a text editor"))?;
    Ok(RulesFile {
        text,
        exists: true,
        stamp: stamp_of(&bytes),
    })
}

/// Saves the reading rules when the file is still what was read (`stamp`, "" for a file that
/// did not exist); otherwise refuses in words and writes nothing. Written through a temp file
/// renamed over it. Returns the new state. The next pack of every role follows it.
pub fn write_rules(project: &Path, text: &str, stamp: &str) -> Result<RulesFile, String> {
    if text.len() as u64 > MAX_RULES_BYTES {
        return Err(crate::files::too_large(
            RULES_FILE,
            text.len() as u64,
            MAX_RULES_BYTES,
        ));
    }
    let now = read_rules(project)?;
    if now.stamp != stamp {
        return Err(format!(
            "{RULES_FILE} changed on disk since it was opened: nothing was saved. Reload it \
             (your text is still in the editor) and save again"
        ));
    }
    let path = project.join(RULES_FILE);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("md.leapfrog-tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {RULES_FILE}: {e}"))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {RULES_FILE}: {e}")
    })?;
    read_rules(project)
}

/// One context pack on disk, for the app.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PackEntry {
    pub batch: u32,
    /// `design`, `build`, `review`, `fix`, `qa`, `recheck`.
    pub phase: String,
    /// Relative to the project.
    pub path: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
}

/// The packs written so far, by batch then phase.
pub fn list_packs(project: &Path) -> Vec<PackEntry> {
    let root = project.join(".leapfrog/context");
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return out;
    };
    for d in dirs.flatten() {
        let name = d.file_name().to_string_lossy().into_owned();
        let Some(batch) = name
            .strip_prefix("batch-")
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(files) = std::fs::read_dir(d.path()) else {
            continue;
        };
        for f in files.flatten() {
            let file = f.file_name().to_string_lossy().into_owned();
            let Some(phase) = file.strip_suffix(".md") else {
                continue;
            };
            if PromptPhase::parse(phase).is_none() {
                continue;
            }
            let bytes = f.metadata().map(|m| m.len()).unwrap_or(0);
            out.push(PackEntry {
                batch,
                phase: phase.to_string(),
                path: pack_path(batch, PromptPhase::parse(phase).expect("phase"))
                    .display()
                    .to_string(),
                bytes,
            });
        }
    }
    out.sort_by(|a, b| (a.batch, &a.phase).cmp(&(b.batch, &b.phase)));
    out
}

/// One pack's text, by batch and phase name.
pub fn read_pack(project: &Path, batch: u32, phase: &str) -> Result<String, String> {
    let pp = PromptPhase::parse(phase).ok_or_else(|| format!("unknown phase `{phase}`"))?;
    let rel = pack_path(batch, pp);
    let bytes =
        crate::files::read_regular(&project.join(&rel), &rel.display().to_string(), 4 << 20)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
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

    #[test]
    fn the_rules_are_saved_only_over_what_was_read() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path();
        let first = read_rules(p).unwrap();
        assert!(!first.exists && first.text == DEFAULT_RULES && first.stamp.is_empty());
        let saved =
            write_rules(p, "# Context rules\n\n## Builder\n\nRead src/ only.\n", "").unwrap();
        assert!(saved.exists && !saved.stamp.is_empty());
        // Changed on disk after it was read: refused, nothing written.
        std::fs::write(p.join(RULES_FILE), "edited elsewhere\n").unwrap();
        let e = write_rules(p, "mine\n", &saved.stamp).unwrap_err();
        assert!(e.contains("changed on disk"), "{e}");
        assert_eq!(
            std::fs::read_to_string(p.join(RULES_FILE)).unwrap(),
            "edited elsewhere\n"
        );
        // Saving over a file that appeared meanwhile, as if it were new, is refused too.
        assert!(write_rules(p, "mine\n", "").is_err());
        let now = read_rules(p).unwrap();
        write_rules(p, "mine\n", &now.stamp).unwrap();
        assert_eq!(
            std::fs::read_to_string(p.join(RULES_FILE)).unwrap(),
            "mine\n"
        );
        assert!(!p.join("docs/CONTEXT.md.leapfrog-tmp").exists());
    }

    #[test]
    fn packs_are_listed_by_batch_and_phase_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path();
        let doc = Document::parse(TICKETS);
        for (batch, phase) in [
            (2, PromptPhase::Build),
            (1, PromptPhase::Review),
            (1, PromptPhase::Design),
        ] {
            write(
                p,
                &PackInput {
                    phase,
                    batch,
                    tickets_file: "TICKETS.md",
                    doc: Some(&doc),
                    handoff: None,
                    verify_command: None,
                    notes: None,
                    diff: None,
                    rules: None,
                },
            )
            .unwrap();
        }
        std::fs::write(p.join(".leapfrog/context/batch-1/notes.txt"), "x").unwrap();
        let list: Vec<(u32, String)> = list_packs(p)
            .into_iter()
            .map(|e| (e.batch, e.phase))
            .collect();
        assert_eq!(
            list,
            [
                (1, "design".into()),
                (1, "review".into()),
                (2, "build".into())
            ]
        );
        assert!(read_pack(p, 2, "build").unwrap().contains("T-003"));
        assert!(read_pack(p, 3, "build").is_err());
        assert!(read_pack(p, 1, "../../x").is_err());
    }

    #[test]
    fn a_plan_pack_holds_its_milestone_the_batches_and_the_planners_rules() {
        let text = "# Tickets\n\n# Milestone 1: Core\n\n## Batch 1: A\n\n### T-001: a\n- **Status:** done\n\n# Milestone 2: Polish\n\nMake it shine.\n\n## Batch 2: B\n\n### T-002: b\n";
        let doc = Document::parse(text);
        let p = OverviewInput {
            phase: PromptPhase::Plan,
            milestone: Some(2),
            tickets_file: "TICKETS.md",
            doc: Some(&doc),
            verify_command: Some("make test"),
            rules: Some("## Designer\n\nRead docs/.\n"),
        };
        assert_eq!(
            render_overview(&p),
            "# Context: plan of milestone 2\n\nWritten by Leapfrog for this phase only. Read this before the whole TICKETS.md.\n\n\
             ## Milestone 2 in TICKETS.md\n\n# Milestone 2: Polish\n\nMake it shine.\n\n## Batch 2: B\n\n### T-002: b\n\n\
             ## Batches in TICKETS.md\n\n- Milestone 1: Core\n  - Batch 1: A (1 ticket, 1 done)\n- Milestone 2: Polish\n  - Batch 2: B (1 ticket, 0 done)\n\n\
             ## Verify command\n\n`make test`\n\n\
             ## Reading rules (docs/CONTEXT.md)\n\nRead docs/.\n"
        );
        assert_eq!(
            overview_path(PromptPhase::Plan, Some(2)),
            Path::new(".leapfrog/context/milestone-2/plan.md")
        );
        assert_eq!(
            overview_path(PromptPhase::Discovery, None),
            Path::new(".leapfrog/context/preamble/discovery.md")
        );
    }
}
