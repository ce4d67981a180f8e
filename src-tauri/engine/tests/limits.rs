//! Usage limits read off the pinned CLIs' screens and hooks (`agents::limits`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use leapfrog_engine::agents::limits::{limit_in_text, limit_on_screen, local_hh_mm};
use leapfrog_engine::model::CliKind;

/// 2026-12-04 20:00:00 UTC, a Friday.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_796_414_400)
}

/// What a line says: `None` (no limit), `Some(None)` (a limit with no reset time), or
/// `Some(Some((hh:mm local, min hours ahead, max hours ahead)))`.
type Expect = Option<Option<(&'static str, u64, u64)>>;

fn check(cli: CliKind, line: &str, expect: Expect) {
    let got = limit_in_text(cli, line, now());
    let got = got.map(|l| {
        l.until.map(|t| {
            let ahead = t
                .duration_since(now())
                .expect("a reset in the future")
                .as_secs();
            (local_hh_mm(t), ahead)
        })
    });
    match (got, expect) {
        (None, None) | (Some(None), Some(None)) => {}
        (Some(Some((hhmm, ahead))), Some(Some((want, min_h, max_h)))) => {
            assert_eq!(hhmm, want, "{line}");
            assert!(
                ahead >= min_h * 3600 && ahead <= max_h * 3600,
                "{line}: {ahead}s ahead, want {min_h}-{max_h} h"
            );
        }
        (got, expect) => panic!("{line}: got {got:?}, want {expect:?}"),
    }
}

#[test]
fn limit_lines_of_the_pinned_clis() {
    use CliKind::*;
    let table: &[(CliKind, &str, Expect)] = &[
        // Claude Code 2.1.332: the final line under the prompt, and the StopFailure hook's text.
        (
            ClaudeCode,
            "  ⎿  You've hit your 5-hour limit · resets 7:46pm (UTC)",
            Some(Some(("19:46", 0, 24))),
        ),
        (
            ClaudeCode,
            "You've hit your weekly limit · resets Dec 10, 10:53am (UTC)",
            Some(Some(("10:53", 5 * 24, 7 * 24))),
        ),
        (
            ClaudeCode,
            "You've hit your 5-hour limit · resets 12:05am (UTC)",
            Some(Some(("00:05", 0, 24))),
        ),
        (ClaudeCode, "  ⎿  You've hit your 5-hour limit", Some(None)),
        (
            ClaudeCode,
            "● API Error: Request rejected (429) · This request would exceed your account's rate limit.",
            Some(None),
        ),
        // A retry in progress is the CLI's own business, and an overload is no limit.
        (
            ClaudeCode,
            "✻ 5-hour limit reached · retrying in 16s (9:20pm) · attempt 1/10",
            None,
        ),
        (
            ClaudeCode,
            "● API Error: 529 Overloaded. This is a server-side issue, usually temporary",
            None,
        ),
        // Codex 0.171.0 (U+2019 in "You’ve").
        (
            Codex,
            "■ You’ve hit your usage limit. Try again at 9:18 PM.",
            Some(Some(("21:18", 0, 2))),
        ),
        (
            Codex,
            "■ You’ve hit your usage limit. Try again at Dec 5th, 2026 7:46 PM.",
            Some(Some(("19:46", 23, 24))),
        ),
        (
            Codex,
            "■ You’ve hit your usage limit. Try again later.",
            Some(None),
        ),
        (
            Codex,
            "■ exceeded retry limit, last status: 429 Too Many Requests",
            Some(None),
        ),
        (
            Codex,
            "■ Selected model is at capacity. Please try a different model.",
            None,
        ),
        (Codex, "• Batch 2 is built and committed.", None),
    ];
    for (cli, line, expect) in table {
        check(*cli, line, *expect);
    }
}

#[test]
fn only_the_bottom_of_the_screen_counts() {
    let limit = "  ⎿  You've hit your 5-hour limit · resets 7:46pm (UTC)";
    let mut screen = format!("{limit}\n");
    for i in 0..20 {
        screen.push_str(&format!("● later answer {i}\n"));
    }
    screen.push_str("❯ \n");
    assert_eq!(limit_on_screen(CliKind::ClaudeCode, &screen, now()), None);
    let screen = format!("● Working on it\n{limit}\n\n────\n❯ \n────\n  ⏵⏵ auto mode on\n");
    let got = limit_on_screen(CliKind::ClaudeCode, &screen, now()).expect("a limit");
    // The limit's words, without the screen's decoration: the hook's text reads the same.
    assert_eq!(
        got.line,
        "You've hit your 5-hour limit · resets 7:46pm (UTC)"
    );
    assert!(
        got.reason().starts_with("limited until "),
        "{}",
        got.reason()
    );
}
