//! Milestones in TICKETS.md (rule 9 of the pipeline contract): `# Milestone N` headings above
//! batch headings group the batches, one `check(input, expect)` per shape.

use leapfrog_engine::tickets::Document;

/// `expect`: one line per milestone, `N «title»: batch numbers`, or `none`.
fn check(input: &str, expect: &str) {
    let d = Document::parse(input);
    assert_eq!(d.serialize(), input);
    let ms = d.milestones();
    let got = if ms.is_empty() {
        "none".to_string()
    } else {
        ms.iter()
            .map(|m| {
                let batches: Vec<String> = m
                    .batches
                    .iter()
                    .map(|&b| d.batches[b].number.to_string())
                    .collect();
                format!("{} «{}»: {}", m.number, m.title, batches.join(" "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(got.trim(), expect.trim(), "\n{got}");
}

const BATCHES: &str = "## Batch 1: A\n\n### T-001: a\n\n## Batch 2: B\n\n### T-002: b\n\n";

#[test]
fn two_milestones_above_batches_group_them() {
    check(
        "# Tickets\n\n# Milestone 1: Core\n\n## Batch 1: A\n\n### T-001: a\n\n## Batch 2: B\n\n### T-002: b\n\n# Milestone 2: Polish\n\n## Batch 3: C\n\n### T-003: c\n",
        "1 «Core»: 1 2\n2 «Polish»: 3",
    );
}

#[test]
fn batches_above_the_first_milestone_heading_make_the_milestone_before_it() {
    check(
        &format!("# Tickets\n\n{BATCHES}# Milestone 2 — Later\n\n## Batch 3: C\n\n### T-003: c\n"),
        "1 «»: 1 2\n2 «Later»: 3",
    );
}

#[test]
fn one_milestone_or_none_changes_nothing() {
    check(&format!("# Milestone 1: All\n\n{BATCHES}"), "none");
    check(BATCHES, "none");
}

#[test]
fn milestones_that_are_the_batches_themselves_are_not_groups() {
    check(
        "## Milestone 1: A\n\n### T-001: a\n\n## Milestone 2: B\n\n### T-002: b\n",
        "none",
    );
}

#[test]
fn a_milestone_heading_inside_a_batch_is_prose() {
    check(
        "## Batch 1: A\n\n### Milestone 2 notes\n\n### T-001: a\n\n## Batch 2: B\n\n### Milestone 3\n\n### T-002: b\n",
        "none",
    );
}

#[test]
fn milestones_in_other_languages_and_markers() {
    check(
        &format!("# ✅ Meilenstein 1: Kern\n\n{BATCHES}# Hito 2 · Pulido\n\n## Batch 3: C\n\n### T-003: c\n"),
        "1 «Kern»: 1 2\n2 «Pulido»: 3",
    );
    check(
        &format!("# M1: Core\n\n{BATCHES}# M2: Polish\n\n## Batch 3: C\n\n### T-003: c\n"),
        "1 «Core»: 1 2\n2 «Polish»: 3",
    );
}

#[test]
fn a_milestone_heading_in_a_code_block_is_not_one() {
    check(
        &format!("# Milestone 1: Core\n\n{BATCHES}```\n# Milestone 2: not a heading\n```\n\n## Batch 3: C\n\n### T-003: c\n"),
        "none",
    );
}
