//! Flow control on a real PTY: a producer floods, the consumer acknowledges slowly and
//! sometimes not at all; the reader must stop at the high watermark and nothing may be
//! lost, duplicated or reordered.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use leapfrog_engine::pty::{AckMode, FlowControl, Pane, PaneConfig, PaneEvent, Panes, SpawnSpec};

const PATIENCE: Duration = Duration::from_secs(120);

/// Bytes of `seq 1 n`.
fn seq_len(n: u64) -> u64 {
    (1..=n).map(|k| k.to_string().len() as u64 + 1).sum()
}

/// Waits (generously) until the pane's stats satisfy `cond`.
fn wait_stats(pane: &Pane, what: &str, cond: impl Fn(&leapfrog_engine::pty::PaneStats) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond(&pane.stats()) {
        assert!(Instant::now() < deadline, "{what}: {:?}", pane.stats());
        thread::sleep(Duration::from_millis(1));
    }
}

/// Checks that the stream is "1\n2\n3\n..." across frame boundaries.
struct SeqChecker {
    next: u64,
    line: Vec<u8>,
}

impl SeqChecker {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                let got = std::str::from_utf8(&self.line).unwrap_or("<not utf-8>");
                assert_eq!(got, self.next.to_string(), "line {}", self.next);
                self.next += 1;
                self.line.clear();
            } else {
                assert!(self.line.len() < 20, "runaway line after {}", self.next);
                self.line.push(b);
            }
        }
    }
}

#[test]
fn a_50_mb_flood_stays_under_the_watermark_and_arrives_intact() {
    let n: u64 = 6_500_000; // `seq 1 n` is about 50.9 MB
    let total = seq_len(n);
    let config = PaneConfig {
        flow: FlowControl {
            high_watermark: 100_000,
            low_watermark: 5_000,
        },
        ack: AckMode::Consumer,
        ..PaneConfig::default()
    };
    let bound = (config.flow.high_watermark + config.read_chunk) as u64;

    let panes = Panes::new();
    let (tx, rx) = mpsc::channel();
    // Raw mode: the line discipline passes bytes through unchanged.
    let spec = SpawnSpec::new("sh").args(["-c", &format!("stty raw -echo && exec seq 1 {n}")]);
    let pane = panes
        .spawn(&spec, config, move |ev| {
            let _ = tx.send(ev);
        })
        .unwrap();

    let mut checker = SeqChecker {
        next: 1,
        line: Vec::new(),
    };
    let (mut received, mut acked) = (0u64, 0u64);
    let mut next_stall = 0u64;
    let mut stalls = 0;
    let mut exit = None;
    while exit.is_none() {
        let ev = rx.recv_timeout(PATIENCE).expect("pane went quiet");
        let frame = match ev {
            PaneEvent::Output(frame) => frame,
            PaneEvent::Exit(e) => {
                exit = Some(e);
                continue;
            }
        };
        received += frame.len() as u64;
        checker.feed(&frame);
        assert!(
            received - acked <= bound,
            "consumer holds {} un-acked bytes",
            received - acked
        );

        if received >= next_stall && received < total - 1_000_000 {
            // Stall: ack nothing until the reader has stopped at the high watermark.
            wait_stats(&pane, "reader pauses without acks", |s| s.paused);
            stalls += 1;
            if next_stall == 0 {
                // Acks that leave more than the low watermark un-acked do not resume it.
                let s = pane.stats();
                let partial = s.unacked - config.flow.low_watermark as u64 - 1;
                let partial = partial.min(received - acked);
                pane.ack(partial as usize);
                acked += partial;
                // The ack woke the reader, which went back to waiting: it read nothing since.
                wait_stats(&pane, "reader waits again", |s| s.reader_waiting);
                let later = pane.stats();
                assert!(later.paused, "still paused: {later:?}");
                assert_eq!(later.bytes_read, s.bytes_read, "still paused");
            }
            next_stall = received + 5_000_000;
        }
        // Slow consumer: ack in 16 KiB steps, 1 ms apart.
        while acked < received {
            let step = (received - acked).min(16 * 1024);
            thread::sleep(Duration::from_millis(1));
            pane.ack(step as usize);
            acked += step;
        }
    }

    let exit = exit.unwrap();
    assert!(exit.success(), "{exit:?}");
    assert_eq!(checker.next, n + 1, "every number arrived");
    assert!(checker.line.is_empty(), "no partial line left");
    assert_eq!(received, total);
    let s = pane.stats();
    assert_eq!(
        (s.bytes_read, s.bytes_delivered, s.bytes_acked),
        (total, total, total)
    );
    assert!(
        stalls >= 5 && s.pauses >= stalls,
        "the reader was stopped repeatedly: {s:?}"
    );
    assert!(
        s.peak_unacked <= bound,
        "un-acked bytes peaked at {} > {bound}",
        s.peak_unacked
    );
}

#[test]
fn a_pane_nobody_acks_stops_reading_and_resumes_on_ack() {
    let config = PaneConfig {
        flow: FlowControl {
            high_watermark: 64 * 1024,
            low_watermark: 4 * 1024,
        },
        ..PaneConfig::default()
    };
    let panes = Panes::new();
    let pane = panes.spawn(&SpawnSpec::new("yes"), config, |_| {}).unwrap();
    wait_stats(&pane, "reader pauses", |s| s.pauses == 1);
    let stopped = pane.stats();
    assert!(stopped.paused);
    // Blocked until an ack: it cannot read (no need to wait and see that it does not). And
    // every byte read has been delivered (the last frame may still be on its way when the reader
    // stops; an ack before it arrives could not cover it, and the reader would stay stopped).
    wait_stats(&pane, "reader blocks, all delivered", |s| {
        s.reader_waiting && s.bytes_delivered == s.bytes_read
    });
    let blocked = pane.stats();
    assert!(blocked.paused, "{blocked:?}");
    assert_eq!(
        blocked.bytes_read, stopped.bytes_read,
        "reader stays stopped"
    );
    assert!(stopped.bytes_read <= (config.flow.high_watermark + config.read_chunk) as u64);
    // Over-acking is clamped to what was delivered.
    pane.ack(usize::MAX);
    wait_stats(&pane, "reader resumes", |s| {
        s.bytes_read > stopped.bytes_read
    });
    wait_stats(&pane, "reader pauses again", |s| s.pauses == 2);
    let s = pane.stats();
    assert!(
        s.bytes_acked <= s.bytes_delivered,
        "acks clamped to delivered bytes: {s:?}"
    );
    // Killing a stopped pane still ends it and reports the exit.
    pane.kill().unwrap();
    assert!(pane.wait_exit(PATIENCE).is_some());
}
