//! The coalescer and the DEC 2026 scanner, driven by a fake clock.

use std::time::{Duration, Instant};

use leapfrog_engine::pty::{CoalesceConfig, Coalescer, SyncMarker, SyncScanner};
use proptest::prelude::*;

/// `<h>` / `<l>` stand for `CSI ? 2026 h` / `CSI ? 2026 l` in test strings.
fn expand(s: &str) -> Vec<u8> {
    s.replace("<h>", "\x1b[?2026h")
        .replace("<l>", "\x1b[?2026l")
        .into_bytes()
}

fn shorten(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .replace("\x1b[?2026h", "<h>")
        .replace("\x1b[?2026l", "<l>")
}

fn config() -> CoalesceConfig {
    CoalesceConfig {
        linger: Duration::from_millis(4),
        max_frame: 16,
        sync_timeout: Duration::from_millis(150),
        sync_max: 64,
    }
}

/// Runs a script of `(ms, bytes)` steps (empty bytes = just let time pass), polling before
/// and after each push as the delivery thread does, and compares the frames produced as
/// `"ms:frame"`.
fn check(steps: &[(u64, &str)], expect: &[&str]) {
    let t0 = Instant::now();
    let mut c = Coalescer::new(config());
    let mut got = Vec::new();
    for &(ms, input) in steps {
        let now = t0 + Duration::from_millis(ms);
        while let Some(frame) = c.poll(now) {
            got.push(format!("{ms}:{}", shorten(&frame)));
        }
        c.push(&expand(input), now);
        while let Some(frame) = c.poll(now) {
            got.push(format!("{ms}:{}", shorten(&frame)));
        }
    }
    assert_eq!(got, expect, "script {steps:?}");
}

#[test]
fn frames_leave_after_linger_or_size_and_sync_frames_stay_whole() {
    // Linger counts from the oldest pending byte.
    check(&[(0, "a"), (1, "b"), (3, ""), (4, "")], &["4:ab"]);
    check(
        &[(0, "a"), (10, "b"), (13, ""), (14, "")],
        &["10:a", "14:b"],
    );
    // max_frame (16) flushes at once.
    check(&[(0, "0123456789abcdef")], &["0:0123456789abcdef"]);
    check(
        &[(0, "0123456789"), (1, "abcdefgh")],
        &["1:0123456789abcdefgh"],
    );
    // A synchronized frame is held past the linger and sent whole when it ends.
    check(
        &[(0, "<h>abc"), (10, ""), (20, "def<l>")],
        &["20:<h>abcdef<l>"],
    );
    // Bytes before a frame wait with it (nothing flushes mid-frame).
    check(&[(0, "pre"), (1, "<h>x"), (9, "<l>")], &["9:pre<h>x<l>"]);
    // One frame ends and the next begins in the same read: only the finished one goes.
    check(
        &[(0, "<h>A<l>x<h>B"), (30, "C<l>")],
        &["0:<h>A<l>", "30:x<h>BC<l>"],
    );
    // Markers split across reads are still recognised.
    check(
        &[
            (0, "\x1b[?20"),
            (1, "26h"),
            (2, "abc"),
            (50, "\x1b[?2026"),
            (51, "l"),
        ],
        &["51:<h>abc<l>"],
    );
    // A missing end: the frame is abandoned after sync_timeout, later bytes linger normally.
    check(
        &[(0, "<h>abc"), (149, ""), (150, ""), (151, "<l>"), (155, "")],
        &["150:<h>abc", "155:<l>"],
    );
    // A frame larger than sync_max (64) is abandoned at once.
    let big = format!("<h>{}", "z".repeat(60));
    check(&[(0, &big)], &[&format!("0:{big}")]);
    // An end without a begin is ordinary output.
    check(&[(0, "<l>abc"), (4, "")], &["4:<l>abc"]);
    // A nested begin does not extend the frame.
    check(&[(0, "<h>a<h>b<l>")], &["0:<h>a<h>b<l>"]);
    // ESC ESC [ ? 2026 h: the second ESC starts the marker.
    check(&[(0, "\x1b<h>q"), (100, "<l>")], &["100:\x1b<h>q<l>"]);
    // Other private modes are not markers.
    check(&[(0, "\x1b[?2025h"), (4, "")], &["4:\x1b[?2025h"]);
    check(&[(0, "\x1b[?20266h"), (4, "")], &["4:\x1b[?20266h"]);
}

#[test]
fn deadlines_say_how_long_the_delivery_thread_may_sleep() {
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    let mut c = Coalescer::new(config());
    assert_eq!(
        c.next_deadline(),
        None,
        "nothing pending: sleep until input"
    );
    c.push(b"a", ms(2));
    assert_eq!(c.next_deadline(), Some(ms(6)));
    c.push(&expand("<h>b"), ms(3));
    assert!(c.in_sync());
    assert_eq!(c.next_deadline(), Some(ms(153)));
    assert_eq!(c.poll(ms(152)), None);
    // A forced flush (end of stream / starved reader) keeps the frame open, timer restarted.
    assert_eq!(shorten(&c.flush(ms(160)).unwrap()), "a<h>b");
    assert!(c.in_sync());
    c.push(b"c", ms(170));
    assert_eq!(c.next_deadline(), Some(ms(310)));
    c.push(&expand("<l>"), ms(171));
    assert_eq!(c.poll(ms(171)).map(|f| shorten(&f)), Some("c<l>".into()));
    assert_eq!(c.pending_len(), 0);
    assert_eq!(c.next_deadline(), None);
}

fn scan_all(chunks: &[&[u8]]) -> Vec<(SyncMarker, usize)> {
    let mut s = SyncScanner::default();
    let mut found = Vec::new();
    let mut base = 0;
    for chunk in chunks {
        s.scan(chunk, |m, end| found.push((m, base + end)));
        base += chunk.len();
    }
    found
}

#[test]
fn scanner_reports_marker_ends() {
    let input = expand("ab<h>cd<l>\x1b\x1b<h>");
    let expect = vec![
        (SyncMarker::Begin, 10),
        (SyncMarker::End, 20),
        (SyncMarker::Begin, 30),
    ];
    assert_eq!(scan_all(&[&input]), expect);
    let split: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(scan_all(&split), expect);
}

proptest! {
    /// Whatever the chunking and timing, frames concatenate to exactly the input, and
    /// whatever is left pending has a deadline in the future.
    #[test]
    fn frames_lose_nothing_and_keep_order(
        parts in prop::collection::vec((0u64..40, prop::sample::select(vec![
            "a", "bc", "<h>", "<l>", "\x1b", "[?2026", "h", "l", "0123456789abcdefXYZ",
        ])), 0..60),
    ) {
        let t0 = Instant::now();
        let mut c = Coalescer::new(config());
        let (mut input, mut output) = (Vec::new(), Vec::new());
        let mut t = 0;
        for (dt, part) in parts {
            t += dt;
            let bytes = expand(part);
            input.extend_from_slice(&bytes);
            c.push(&bytes, t0 + Duration::from_millis(t));
            let now = t0 + Duration::from_millis(t);
            while let Some(f) = c.poll(now) {
                prop_assert!(!f.is_empty());
                output.extend(f);
            }
            // The delivery thread sleeps until this deadline: it must lie in the future,
            // or the thread would spin.
            prop_assert!(c.next_deadline().is_none_or(|d| d > now));
            prop_assert_eq!(c.next_deadline().is_none(), c.pending_len() == 0);
        }
        if let Some(f) = c.flush(t0 + Duration::from_millis(t)) {
            output.extend(f);
        }
        prop_assert_eq!(output, input);
    }

    /// `ready` says whether `poll` gives a frame; and while it says no, more input never brings
    /// the deadline forward (the reader wakes the delivery thread only when bytes arrive with
    /// none pending or a frame becomes ready; otherwise that thread sleeps until the deadline).
    #[test]
    fn ready_says_when_the_delivery_thread_has_work(
        parts in prop::collection::vec((0u64..40, prop::sample::select(vec![
            "a", "bc", "<h>", "<l>", "\x1b", "[?2026", "h", "l", "0123456789abcdefXYZ", "",
        ]), prop::bool::ANY), 0..60),
    ) {
        let t0 = Instant::now();
        let mut c = Coalescer::new(config());
        let mut t = 0;
        for (dt, part, take) in parts {
            t += dt;
            let now = t0 + Duration::from_millis(t);
            let before = c.next_deadline();
            c.push(&expand(part), now);
            let ready = c.ready(now);
            if !ready {
                if let (Some(before), Some(after)) = (before, c.next_deadline()) {
                    prop_assert!(after >= before, "{:?} -> {:?}", before, after);
                }
            }
            if take {
                prop_assert_eq!(c.poll(now).is_some(), ready);
            }
        }
    }

    /// The scanner finds the markers in long runs of text (taken eight bytes at a time) as it
    /// does a byte at a time.
    #[test]
    fn scanner_finds_markers_in_long_text(
        text in prop::collection::vec(prop::sample::select(vec![
            "x", "<h>", "<l>", "\x1b", "[?2026", "h", "plain text without an escape, ", "\u{1b}\u{1b}",
        ]), 0..40),
    ) {
        let bytes = expand(&text.concat());
        let split: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(scan_all(&[&bytes]), scan_all(&split));
    }

    /// The scanner finds the same markers however the stream is split.
    #[test]
    fn scanner_is_split_independent(
        text in prop::collection::vec(prop::sample::select(vec!["x", "<h>", "<l>", "\x1b", "[?2026", "h"]), 0..30),
        cut in 0usize..200,
    ) {
        let bytes = expand(&text.concat());
        let cut = cut.min(bytes.len());
        prop_assert_eq!(scan_all(&[&bytes]), scan_all(&[&bytes[..cut], &bytes[cut..]]));
    }
}
