//! A measure, not a timed test: the Review view's first paint of a 5 000-line batch diff, in the
//! real app under Xvfb. `leap demo init` makes the demo project; the test commits a batch of about
//! 5 000 changed lines in ten files and eight languages, and records it as batch 1's diff the way
//! a run does (`refs/leapfrog/batch-1/base` and `.../head`). The app opens the project, Ctrl+4
//! shows the Review view, and batch 1 is opened three more times, each measured from the click:
//! every file of the diff in the DOM, the frame after that painted (two animation frames later),
//! every file highlighted, the longest gap between frames meanwhile, and then the time to show and
//! paint the last file once the view is scrolled to it (files far below the view wait, hidden at
//! their estimated height, until scrolled near). It checks that every file and every changed line
//! is in the DOM and that highlight.js coloured them in the dark scheme, prints the figures
//! (medians of the three), and asserts nothing on time.
//!
//! The demo's commands are not approved in the app's data folder, so the project is held on its
//! trust card and nothing runs: no agent takes the two cores, and no build records batch 1's refs
//! over the test's.
//!
//! Needs `ui/dist` built and `cargo build -p leapfrog -p leapfrog-cli` done first:
//! `cargo test -p leapfrog-e2e --test review_paint -- --nocapture`

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use leapfrog_e2e::{keys, App, Launch};
use serde_json::{json, Value};

const LONG: Duration = Duration::from_secs(120);
/// Openings of batch 1 measured (after one that warms up).
const OPENINGS: usize = 3;

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .context("run git")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `n` lines of a file made of `block(k)` for k = 0, 1, ….
fn source(n: usize, block: impl Fn(usize) -> String) -> String {
    let mut lines = Vec::with_capacity(n);
    let mut k = 0;
    while lines.len() < n {
        lines.extend(block(k).lines().map(str::to_string));
        k += 1;
    }
    lines.truncate(n);
    lines.join("\n") + "\n"
}

fn rust(k: usize, variant: &str) -> String {
    format!(
        "/// Step {k} of the pipeline{variant}.\n\
         pub fn step_{k}(input: &[u32]) -> Option<u32> {{\n    \
             let total: u32 = input.iter().map(|x| x * {k}).sum();\n    \
             if total > {k} {{ Some(total - {k}) }} else {{ None }}\n\
         }}\n"
    )
}

fn typescript(k: usize) -> String {
    format!(
        "export interface Card{k} {{ id: string; batch: number; title: string }}\n\
         export function move{k}(cards: Card{k}[], to: number): Card{k}[] {{\n  \
             const moved = cards.filter((c) => c.batch !== to).map((c) => ({{ ...c, batch: to }}));\n  \
             return moved.length > {k} ? moved.slice(0, {k}) : moved;\n\
         }}\n"
    )
}

fn python(k: usize) -> String {
    format!(
        "def report_{k}(rows: list[dict]) -> str:\n    \
             \"\"\"Summarise batch {k}.\"\"\"\n    \
             total = sum(r.get(\"lines\", 0) for r in rows if r[\"batch\"] == {k})\n    \
             return f\"batch {k}: {{total}} lines\"\n\n"
    )
}

fn go(k: usize) -> String {
    format!(
        "// Handle{k} answers the review of batch {k}.\n\
         func Handle{k}(w http.ResponseWriter, r *http.Request) {{\n\t\
             if r.Method != http.MethodPost {{\n\t\treturn\n\t}}\n\t\
             fmt.Fprintf(w, \"batch %d\", {k})\n\
         }}\n"
    )
}

fn bash(k: usize) -> String {
    format!(
        "deploy_{k}() {{\n  \
             local target=\"host-{k}\"\n  \
             if [ -n \"$DRY_RUN\" ]; then echo \"would deploy to $target\"; return 0; fi\n  \
             rsync -a ./dist/ \"$target:/srv/app\" || exit 1\n\
         }}\n"
    )
}

fn json_entry(k: usize) -> String {
    format!(
        "  \"agent_{k}\": {{ \"role\": \"build\", \"command\": \"codex\", \"enabled\": {}, \"weight\": {k} }},\n",
        k.is_multiple_of(2)
    )
}

fn markdown(k: usize) -> String {
    format!(
        "## Step {k}\n\nRun `leap review --batch {k}` and read **the diff** first.\n\n\
         - check the tests of batch {k}\n- then approve\n\n"
    )
}

fn css(k: usize) -> String {
    format!(
        ".card-{k} {{\n  color: #{:06x};\n  margin: {k}px 0;\n}}\n",
        k * 4099
    )
}

fn yaml(k: usize) -> String {
    format!("job_{k}:\n  runs-on: ubuntu-latest\n  steps:\n    - run: make test-{k}\n")
}

/// Makes batch 1 of the project in `dir`: a commit before it (`base`) and the batch's commit
/// (`head`), both recorded the way a run records them. Answers the diff's files.
fn make_batch(dir: &Path) -> Result<Vec<String>> {
    let write = |path: &str, text: String| -> Result<()> {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap())?;
        std::fs::write(p, text)?;
        Ok(())
    };
    // Before the batch: a Rust file the batch rewrites in part.
    write("src/store.rs", source(600, |k| rust(k, "")))?;
    git(dir, &["add", "-A"])?;
    git(dir, &["commit", "-q", "-m", "Before batch 1"])?;
    let base = git(dir, &["rev-parse", "HEAD"])?;
    // The batch: every other step of the store rewritten, and nine new files.
    write(
        "src/store.rs",
        source(600, |k| {
            rust(
                k,
                if k.is_multiple_of(2) {
                    ", rewritten"
                } else {
                    ""
                },
            )
        }),
    )?;
    write(
        "src/scheduler.rs",
        source(1_200, |k| rust(k, " (scheduler)")),
    )?;
    write("ui/src/board.ts", source(900, typescript))?;
    write("tools/report.py", source(600, python))?;
    write("cmd/server/main.go", source(500, go))?;
    write("scripts/deploy.sh", source(400, bash))?;
    write(
        "config/agents.json",
        format!("{{\n{}  \"end\": true\n}}\n", source(300, json_entry)),
    )?;
    write("docs/guide.md", source(500, markdown))?;
    write("ui/src/app.css", source(300, css))?;
    write(".ci/jobs.yaml", source(200, yaml))?;
    git(dir, &["add", "-A"])?;
    git(dir, &["commit", "-q", "-m", "Batch 1"])?;
    git(dir, &["update-ref", "refs/leapfrog/batch-1/base", &base])?;
    git(dir, &["update-ref", "refs/leapfrog/batch-1/head", "HEAD"])?;
    let files = git(
        dir,
        &[
            "diff",
            "--name-only",
            "refs/leapfrog/batch-1/base",
            "refs/leapfrog/batch-1/head",
        ],
    )?;
    Ok(files.lines().map(str::to_string).collect())
}

/// Lines added plus removed in batch 1's diff, by git.
fn changed_lines(dir: &Path) -> Result<u64> {
    let stat = git(
        dir,
        &[
            "diff",
            "--numstat",
            "refs/leapfrog/batch-1/base",
            "refs/leapfrog/batch-1/head",
        ],
    )?;
    Ok(stat
        .lines()
        .flat_map(|l| l.split('\t').take(2))
        .map(|n| n.parse::<u64>().unwrap_or(0))
        .sum())
}

/// Clicks batch 1 and answers, in ms from the click: every file of the new diff in the DOM, the
/// frame after it painted, and every file highlighted; the longest gap between frames from the
/// click to the highlighting done; and how many files were shown at the first paint (the others
/// wait, hidden at their estimated height, until scrolled near).
const OPEN: &str = r#"
const done = arguments[arguments.length - 1];
const files = arguments[0];
const old = document.querySelector("[data-testid='review-diff']");
const gaps = [];
let last = performance.now();
const t0 = last;
let inDom = null, painted = null, shown = null;
function frame() {
  const now = performance.now();
  gaps.push(now - last);
  last = now;
  const d = document.querySelector("[data-testid='review-diff']");
  if (inDom === null && d && d !== old && d.querySelectorAll('.d2h-file-wrapper').length === files) {
    inDom = performance.now() - t0;
    shown = d.querySelectorAll('.diff-file:not([data-parked])').length;
    requestAnimationFrame(() => requestAnimationFrame(() => (painted = performance.now() - t0)));
  }
  if (painted !== null && d && Number(d.dataset.highlighted) === files) {
    done([inDom, painted, performance.now() - t0, Math.max(...gaps), shown]);
    return;
  }
  if (now - t0 > 25000) {
    done(null);
    return;
  }
  requestAnimationFrame(frame);
}
document.querySelector("[data-testid='review-batch-1']").click();
requestAnimationFrame(frame);
"#;

/// Scrolls the view to the end of the diff and answers the ms until its last file is shown and
/// painted, then scrolls back to the top.
const TO_THE_END: &str = r#"
const done = arguments[arguments.length - 1];
const d = document.querySelector("[data-testid='review-diff']");
const scroller = d.closest('section');
const lastFile = [...d.querySelectorAll('.diff-file')].pop();
const t0 = performance.now();
scroller.scrollTop = scroller.scrollHeight;
function frame() {
  if (!('parked' in lastFile.dataset)) {
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const t = performance.now() - t0;
      scroller.scrollTop = 0;
      done(t);
    }));
  } else if (performance.now() - t0 > 25000) {
    done(null);
  } else {
    requestAnimationFrame(frame);
  }
}
requestAnimationFrame(frame);
"#;

/// What the open diff shows: its files' names, its changed lines (unified rows marked added or
/// removed), lines highlighted, highlight.js keyword spans, and the colour scheme's class.
const SHOWN: &str = r#"
const d = document.querySelector("[data-testid='review-diff']");
const names = [...d.querySelectorAll('.d2h-file-wrapper .d2h-file-name')].map((e) => e.textContent.trim());
const changed = d.querySelectorAll('td.d2h-code-linenumber.d2h-ins, td.d2h-code-linenumber.d2h-del').length;
const lines = d.querySelectorAll('.d2h-code-line-ctn').length;
const hl = d.querySelectorAll('.d2h-code-line-ctn.hljs').length;
const keywords = d.querySelectorAll('.hljs-keyword').length;
const dark = d.querySelectorAll('.d2h-wrapper.d2h-dark-color-scheme').length;
const kw = d.querySelector('.hljs-keyword');
return { names, changed, lines, hl, keywords, dark,
  keywordColour: kw ? getComputedStyle(kw).color : null,
  idle: typeof requestIdleCallback === 'function' };
"#;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_view_first_paint_of_a_5000_line_batch_diff() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("demo");
    let run = root.path().join("run");
    std::fs::create_dir(&run).expect("runtime dir");
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("runtime dir mode");
    let leap = leapfrog_e2e::agent_clis::leap_binary().expect("leap");
    // `demo init` approves the demo's commands in its own data folder, not the app's.
    let out = Command::new(&leap)
        .args(["demo", "init"])
        .arg(&dir)
        .arg("--leap")
        .arg(&leap)
        .env("LEAPFROG_DATA_DIR", root.path().join("init-data"))
        .env("LEAPFROG_RUNTIME_DIR", &run)
        .output()
        .expect("leap demo init");
    assert!(
        out.status.success(),
        "leap demo init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = make_batch(&dir).expect("batch 1");
    let changed = changed_lines(&dir).expect("numstat");
    assert_eq!(files.len(), 10, "{files:?}");
    assert!(
        (4_500..=5_500).contains(&changed),
        "{changed} changed lines"
    );

    let app = App::launch(Launch {
        args: vec![dir.display().to_string()],
        env: vec![
            (
                "LEAPFROG_DATA_DIR".into(),
                root.path().join("data").display().to_string(),
            ),
            ("LEAPFROG_RUNTIME_DIR".into(), run.display().to_string()),
        ],
        ..Launch::default()
    })
    .await
    .expect("launch the app");
    let result = measure(&app, &files, changed).await;
    app.close().await.expect("close the app");
    let report = result.unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("{report}");
}

async fn measure(app: &App, files: &[String], changed: u64) -> Result<String> {
    app.client.set_window_size(1400, 900).await?;
    // Ctrl+4: the Review view, which opens the latest batch with a diff (batch 1).
    let ctrl4 = KeyActions::new("keyboard".into())
        .then(KeyAction::Down {
            value: keys::CONTROL,
        })
        .then(KeyAction::Down { value: '4' })
        .then(KeyAction::Up { value: '4' })
        .then(KeyAction::Up {
            value: keys::CONTROL,
        });
    app.client.perform_actions(ctrl4).await?;
    app.client.release_actions().await?;
    let n = files.len();
    app.wait_until(
        "batch 1's diff in the Review view",
        LONG,
        |app| async move {
            let v = app
                .exec(
                    "const d = document.querySelector(\"[data-testid='review-diff']\"); \
                 return d ? d.querySelectorAll('.d2h-file-wrapper').length : -1",
                    vec![],
                )
                .await?;
            Ok(v.as_i64() == Some(n as i64))
        },
    )
    .await?;

    let mut report = format!("review view, batch 1: {n} files, {changed} changed lines\n");
    let (mut doms, mut paints, mut highlights, mut gaps, mut ends) =
        (vec![], vec![], vec![], vec![], vec![]);
    // The view opened batch 1 already: that one warms up; then each click opens it again.
    for i in 0..OPENINGS {
        let r: Value = app.client.execute_async(OPEN, vec![json!(n)]).await?;
        if r.is_null() {
            bail!(
                "opening {}: the diff was not drawn and highlighted within 25 s",
                i + 1
            );
        }
        let f = |k: usize| r[k].as_f64().unwrap_or(f64::NAN);
        let end: Value = app.client.execute_async(TO_THE_END, vec![]).await?;
        let Some(end) = end.as_f64() else {
            bail!(
                "opening {}: the last file was not shown within 25 s of scrolling to it",
                i + 1
            );
        };
        let _ = writeln!(
            report,
            "opening {}: in the DOM {:.0} ms, painted {:.0} ms ({} of {n} files shown), highlighted {:.0} ms, longest frame gap {:.0} ms; scrolled to the end: last file painted in {end:.0} ms",
            i + 1,
            f(0),
            f(1),
            r[4],
            f(2),
            f(3)
        );
        doms.push(f(0));
        paints.push(f(1));
        highlights.push(f(2));
        gaps.push(f(3));
        ends.push(end);
        // Correct every time: every file, every changed line, coloured by highlight.js.
        let shown = app.exec(SHOWN, vec![]).await?;
        let names: Vec<String> = serde_json::from_value(shown["names"].clone())?;
        let mut want = files.to_vec();
        want.sort();
        let mut got = names.clone();
        got.sort();
        assert_eq!(got, want, "the files of the diff");
        assert_eq!(shown["changed"].as_u64(), Some(changed), "{shown}");
        assert_eq!(
            shown["hl"], shown["lines"],
            "every line highlighted: {shown}"
        );
        assert!(shown["keywords"].as_u64().unwrap_or(0) > 0, "{shown}");
        assert_eq!(
            shown["dark"].as_u64(),
            Some(n as u64),
            "dark scheme: {shown}"
        );
        if i == 0 {
            let _ = writeln!(
                report,
                "{} lines drawn, {} highlight.js keywords (colour {}), requestIdleCallback: {}",
                shown["lines"], shown["keywords"], shown["keywordColour"], shown["idle"]
            );
        }
    }
    let _ = write!(
        report,
        "median of {OPENINGS}: in the DOM {:.0} ms, painted {:.0} ms, highlighted {:.0} ms, longest frame gap {:.0} ms; last file painted {:.0} ms after scrolling to it",
        median(doms),
        median(paints),
        median(highlights),
        median(gaps),
        median(ends)
    );
    Ok(report)
}
