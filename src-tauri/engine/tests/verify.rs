//! The verify runner on real commands in real PTYs.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leapfrog_engine::pty::Panes;
use leapfrog_engine::verify::{run_verify, spawn_verify, VerifySpec};

fn spec(dir: &std::path::Path, command: &str) -> VerifySpec {
    VerifySpec {
        command: command.into(),
        cwd: dir.to_path_buf(),
        env: vec![("VERIFY_WORD".into(), "hello".into())],
    }
}

#[test]
fn verdicts_codes_and_output() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("verify.sh"), "echo checking; test -f ok\n").unwrap();
    // (command, passed, exit code, last line of output)
    let cases: &[(&str, bool, u32, &str)] = &[
        ("true", true, 0, ""),
        ("echo all good", true, 0, "all good"),
        ("echo broken >&2; exit 3", false, 3, "broken"),
        ("sh verify.sh", false, 1, "checking"),
        ("touch ok && sh verify.sh", true, 0, "checking"),
        ("printf '\\033[32mgreen\\033[0m\\n'", true, 0, "green"),
        ("echo $VERIFY_WORD; false", false, 1, "hello"),
        ("no-such-command-xyz", false, 127, "not found"),
    ];
    for (command, passed, code, last) in cases {
        let o = run_verify(&spec(tmp.path(), command)).unwrap();
        assert_eq!((o.passed, o.code), (*passed, *code), "{command}: {o:?}");
        assert_eq!(o.verdict(), if *passed { "PASSED" } else { "FAILED" });
        let got = o
            .tail
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .cloned()
            .unwrap_or_default();
        assert!(
            got.contains(last),
            "{command}: last line {got:?}, tail {:?}",
            o.tail
        );
    }
}

#[test]
fn lines_stream_before_the_command_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let panes = Panes::new();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (first_tx, first_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let (go_path, seen) = (tmp.path().join("go"), lines.clone());
    // The command prints a line, then waits for the test to create `go`.
    let id = spawn_verify(
        &panes,
        &spec(
            tmp.path(),
            "echo first; while [ ! -e go ]; do sleep 0.05; done; echo second",
        ),
        move |line| {
            if line.contains("first") {
                let _ = first_tx.send(());
            }
            seen.lock().unwrap().push(line);
        },
        move |o| {
            let _ = done_tx.send(o);
        },
    )
    .unwrap();
    assert!(panes.get(id).is_ok(), "the verify pane is in the registry");
    first_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("first line streamed");
    assert!(
        done_rx.try_recv().is_err(),
        "done before the command could end"
    );
    std::fs::write(&go_path, "").unwrap();
    let o = done_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(o.passed, "{o:?}");
    let lines = lines.lock().unwrap().clone();
    let text: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(text, vec!["first", "second"]);
}

#[test]
fn an_empty_command_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let err = run_verify(&spec(tmp.path(), "  ")).unwrap_err();
    assert_eq!(err, "the project has no verify command");
}
