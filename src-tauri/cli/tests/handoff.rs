//! `leap handoff parse` through the real binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn leap(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_leap"))
        .args(args)
        .output()
        .expect("run leap");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "leap panicked: {}",
        run.stderr
    );
    run
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../engine/tests/handoff")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Bad input: (what is in the file, or None for no file; expected one-line error after the path).
#[test]
fn bad_input_gives_a_one_line_error_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("image.png");
    std::fs::write(&binary, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let missing = dir.path().join("missing.log");
    let cases: [(PathBuf, String); 4] = [
        (
            missing.clone(),
            format!(
                "leap: cannot read {}: No such file or directory (os error 2)\n",
                missing.display()
            ),
        ),
        (
            dir.path().to_path_buf(),
            format!(
                "leap: {} is a directory, not a capture or markdown file\n",
                dir.path().display()
            ),
        ),
        (
            binary.clone(),
            format!(
                "leap: {} looks binary (4 control bytes in its first 16 bytes), not terminal output or markdown\n",
                binary.display()
            ),
        ),
        // A device streams forever: refused before reading.
        (
            PathBuf::from("/dev/zero"),
            "leap: /dev/zero is not a regular file (a device, FIFO or socket); pipe it through `-` instead\n"
                .to_string(),
        ),
    ];
    for (path, expected) in cases {
        let run = leap(&["handoff", "parse", path.to_str().unwrap()]);
        assert_eq!(
            (run.code, run.stderr.as_str(), run.stdout.as_str()),
            (Some(1), expected.as_str(), "")
        );
    }
}

#[test]
fn an_executable_is_refused_but_a_capture_with_a_nul_byte_is_not() {
    let exe = env!("CARGO_BIN_EXE_leap");
    let run = leap(&["handoff", "parse", exe]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .starts_with(&format!("leap: {exe} looks binary (")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with("not terminal output or markdown\n"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);

    // A program may write a NUL byte to its terminal (`printf '\0'`): still terminal output.
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("with-nul.raw");
    let mut bytes = b"$ printf '\\0'\r\n\0\r\n".to_vec();
    bytes.extend(std::fs::read(fixture("tmux_real_capture.raw")).unwrap());
    std::fs::write(&capture, bytes).unwrap();
    let run = leap(&["handoff", "parse", capture.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("## HANDOFF — Batch 9 Ready\nTickets: T-040, T-041\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn usage_errors_exit_2() {
    let run = leap(&["handoff", "parse"]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("FILE"), "{}", run.stderr);
}

#[test]
fn prints_messages_of_a_markdown_file_in_the_seed_shape() {
    let run = leap(&["handoff", "parse", &fixture("seed_messages.md")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "## HANDOFF — Batch 1 Ready
Tickets: T-001, T-002, T-003, T-004
Files affected: src/auth/session.rs, src/auth/login.rs, migrations/0001_users.sql
Dependencies: run `cargo sqlx migrate run` once
Verify command: dev verify

## COMPLETE — Batch 1 Done
Tickets completed: T-001, T-002, T-003, T-004
Commits: 1a2b3c4, 5d6e7f8, 9a0b1c2
Verify: PASSED
Ready for: Review / Next batch

## HANDOFF — Batch 3 Ready
Tickets: T-009, T-010, T-011
Files affected: src/orders.rs, src/api/orders.rs
Dependencies: none
Verify command: dev verify
"
    );
}

#[test]
fn json_of_a_raw_tui_capture() {
    let run = leap(&[
        "handoff",
        "parse",
        &fixture("claude_code_tui.raw"),
        "--json",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{
            "kind": "handoff",
            "batch": 2,
            "tickets": ["T-005", "T-006", "T-007", "T-008"],
            "files": ["src/cart/mod.rs", "src/cart/pricing.rs", "src/api/checkout.rs", "tests/cart.rs"],
            "dependencies": "none (uses the session store from Batch 1)",
            "verify_command": "cargo test --workspace",
            "commits": [],
            "verify": null,
            "ready_for": []
        }])
    );
}

#[test]
fn invalid_utf8_and_empty_files_are_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    let run = leap(&["handoff", "parse", empty.to_str().unwrap()]);
    assert_eq!(
        (run.code, run.stdout),
        (
            Some(0),
            format!("no handoff messages in {}\n", empty.display())
        )
    );

    let run = leap(&[
        "handoff",
        "parse",
        &fixture("crlf_progress_invalid_utf8.raw"),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.starts_with("## COMPLETE — Batch 3 Done\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Verify: FAILED\n"), "{}", run.stdout);
}

#[test]
fn a_50_mb_capture_is_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    // Coloured build output with a byte that is not UTF-8.
    let noise: Vec<u8> = [
        "\x1b[32m✓\x1b[0m compiling crate \x1b[1mfoo\x1b[0m v1.0 … build output ".as_bytes(),
        b"\xff\r\n",
    ]
    .concat();
    let mut written = 0usize;
    let mut batch = 0;
    while written < 50 << 20 {
        for _ in 0..20_000 {
            f.write_all(&noise).unwrap();
            written += noise.len();
        }
        batch += 1;
        let message = format!("## COMPLETE — Batch {batch} Done\r\nTickets completed: T-{batch}\r\nVerify: PASSED\r\nReady for: Review\r\n\r\n");
        // Repeated by a redraw: reported once.
        f.write_all(message.as_bytes()).unwrap();
        f.write_all(message.as_bytes()).unwrap();
    }
    f.write_all(&vec![b'x'; 3 << 20]).unwrap(); // and a last line without any newline
    f.flush().unwrap();
    drop(f);
    assert!(std::fs::metadata(&path).unwrap().len() >= 50 << 20);

    let run = leap(&["handoff", "parse", path.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let json: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json.len(), batch, "one message per batch");
    assert_eq!(json.last().unwrap()["batch"], batch);
}

#[test]
fn dash_reads_standard_input() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_leap"))
        .args(["handoff", "parse", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let capture = std::fs::read(fixture("ratatui_panel.raw")).unwrap();
    child.stdin.take().unwrap().write_all(&capture).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["kind"], "complete");
    assert_eq!(
        json[0]["tickets"],
        serde_json::json!(["T1", "T2", "T3", "T4"])
    );
}
