//! engine::project: verify detection, git state and git init, agent CLI detection and pattern slots,
//! `--agent` assignment, TICKETS.md created or adopted byte for byte, project.json, store registration.
#![allow(clippy::type_complexity)] // data-driven tables of (input, expectation)

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use leapfrog_engine::model::{CliKind, Pattern, Role};
use leapfrog_engine::project::setup::{slots, TICKETS_TEMPLATE};
use leapfrog_engine::project::{
    assign_agent, detect_verify, finish, inspect, DetectOptions, ProjectFile, SetupPlan,
    TicketsAction,
};
use leapfrog_engine::store::{SledStore, Store};
use leapfrog_engine::tickets::Document;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// A PATH holding fake CLIs that print a version.
fn fake_path(dir: &Path, clis: &[(&str, &str)]) -> DetectOptions {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    for (name, version) in clis {
        let p = bin.join(name);
        fs::write(&p, format!("#!/bin/sh\necho '{version}'\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    DetectOptions {
        path_var: Some(bin.into_os_string()),
        version_timeout: Duration::from_secs(10),
    }
}

fn no_clis() -> DetectOptions {
    DetectOptions {
        path_var: None,
        version_timeout: Duration::from_secs(1),
    }
}

#[test]
fn verify_command_is_detected_from_the_repository() {
    let cases: Vec<(Vec<(&str, &str)>, Option<(&str, &str)>)> = vec![
        (
            vec![("Cargo.toml", "[package]\n")],
            Some(("cargo test", "Cargo.toml")),
        ),
        (
            vec![("package.json", r#"{"scripts": {"test": "vitest run"}}"#)],
            Some(("npm test", "package.json")),
        ),
        // npm init's placeholder test script does not count; nor does a package without one.
        (
            vec![(
                "package.json",
                r#"{"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}"#,
            )],
            None,
        ),
        (vec![("package.json", r#"{"name": "x"}"#)], None),
        (
            vec![("pyproject.toml", "[project]\n")],
            Some(("pytest", "pyproject.toml")),
        ),
        (
            vec![("pytest.ini", "[pytest]\n")],
            Some(("pytest", "pytest.ini")),
        ),
        (
            vec![("setup.cfg", "[metadata]\n")],
            Some(("pytest", "setup.cfg")),
        ),
        (
            vec![("tests/test_app.py", "def test(): pass\n")],
            Some(("pytest", "tests/")),
        ),
        (vec![("tests/app.test.js", "")], None),
        (
            vec![("go.mod", "module x\n")],
            Some(("go test ./...", "go.mod")),
        ),
        (
            vec![("Makefile", "build:\n\tcc x.c\ntest: build\n\t./t\n")],
            Some(("make test", "Makefile")),
        ),
        (vec![("Makefile", "TEST := 1\ntests:\n\t./t\n")], None),
        (vec![("README.md", "hello\n")], None),
        // First match wins: a Rust crate with a Makefile is tested with cargo.
        (
            vec![
                ("Makefile", "test:\n\tcargo test\n"),
                ("Cargo.toml", "[package]\n"),
            ],
            Some(("cargo test", "Cargo.toml")),
        ),
        (
            vec![
                ("go.mod", "module x\n"),
                ("package.json", r#"{"scripts": {"test": "jest"}}"#),
            ],
            Some(("npm test", "package.json")),
        ),
    ];
    for (files, want) in cases {
        let d = tempfile::tempdir().unwrap();
        for (f, t) in &files {
            write(d.path(), f, t);
        }
        let got = detect_verify(d.path()).map(|g| (g.command, g.source));
        let want = want.map(|(c, s)| (c.to_string(), s.to_string()));
        assert_eq!(got, want, "{files:?}");
    }
}

#[test]
fn a_plain_folder_gets_git_init_a_new_tickets_file_and_a_project_file() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "Cargo.toml", "[package]\nname = \"shop\"\n");
    let opts = fake_path(
        d.path(),
        &[
            ("codex", "codex-cli 0.50.0"),
            ("claude", "2.1.0 (Claude Code)"),
        ],
    );
    let plan = inspect(d.path(), &opts).unwrap();
    assert!(!plan.git.is_repo);
    assert!(plan.git_init, "git init is proposed");
    assert_eq!(plan.verify.as_deref(), Some("cargo test"));
    assert_eq!(plan.verify_source.as_deref(), Some("Cargo.toml"));
    assert_eq!((plan.lookahead, plan.sync_every), (Some(1), Some(2)));
    assert_eq!(plan.tickets.action, TicketsAction::Create);
    assert_eq!((plan.tickets.batches, plan.tickets.tickets), (1, 1));
    assert_eq!(plan.tickets.recognised[0].title, "Batch 1: First steps");
    let versions: Vec<(CliKind, Option<&str>)> = plan
        .detected
        .iter()
        .filter(|c| c.path.is_some())
        .map(|c| (c.cli, c.version.as_deref()))
        .collect();
    assert_eq!(
        versions,
        [
            (CliKind::ClaudeCode, Some("2.1.0 (Claude Code)")),
            (CliKind::Codex, Some("codex-cli 0.50.0"))
        ]
    );
    let agents: Vec<(&str, CliKind)> = plan.agents.iter().map(|a| (a.id.as_str(), a.cli)).collect();
    assert_eq!(
        agents,
        [
            ("designer", CliKind::ClaudeCode),
            ("builder", CliKind::Codex)
        ]
    );
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);

    let mut plan = plan;
    plan.name = "My Shop".into();
    let db = tempfile::tempdir().unwrap();
    let store = SledStore::open(db.path().join("db")).unwrap();
    let report = finish(&plan, Some(&store)).unwrap();
    assert!(report.git_initialised && report.registered);
    assert!(d.path().join(".git").is_dir());
    assert_eq!(
        fs::read_to_string(d.path().join("TICKETS.md")).unwrap(),
        TICKETS_TEMPLATE
    );
    let doc = Document::parse(TICKETS_TEMPLATE);
    assert_eq!(doc.batches.len(), 1, "Backlog is not a batch");
    assert_eq!(doc.tickets[0].batch, Some(0));
    assert!(TICKETS_TEMPLATE.contains("\n## Backlog\n"));
    let file = ProjectFile::load(d.path()).unwrap().unwrap();
    assert_eq!(file.id.as_deref(), Some(report.project.id.as_str()));
    assert_eq!(file.verify.as_deref(), Some("cargo test"));
    assert_eq!(file.agents, plan.agents);
    let listed = store.projects().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], report.project);
    assert_eq!(listed[0].repo_path, d.path().canonicalize().unwrap());
    assert_eq!(listed[0].verify_command.as_deref(), Some("cargo test"));
    assert_eq!(listed[0].sync_interval, Some(2));
    assert_eq!(report.project.id, "my-shop");
    assert_eq!(report.project.name, "My Shop");
    // The context packs' reading rules: created when missing, and never rewritten.
    let rules = d.path().join("docs/CONTEXT.md");
    assert_eq!(
        fs::read_to_string(&rules).unwrap(),
        leapfrog_engine::context::DEFAULT_RULES
    );
    fs::write(&rules, "## Builder\n- Read only src/.\n").unwrap();

    // A second folder with the same name gets its own id; running setup again keeps the first one's.
    let other_parent = tempfile::tempdir().unwrap();
    let other = other_parent.path().join(d.path().file_name().unwrap());
    fs::create_dir(&other).unwrap();
    let mut plan2 = inspect(&other, &no_clis()).unwrap();
    plan2.name = plan.name.clone();
    let report2 = finish(&plan2, Some(&store)).unwrap();
    assert_eq!(report2.project.id, "my-shop-2");
    let again = inspect(d.path(), &no_clis()).unwrap();
    assert!(again.existing_project_file);
    assert_eq!(again.agents, plan.agents, "agents come from project.json");
    assert_eq!(again.tickets.action, TicketsAction::Adopt);
    assert!(!again.git_init);
    let report3 = finish(&again, Some(&store)).unwrap();
    assert_eq!(report3.project.id, report.project.id);
    assert_eq!(
        fs::read_to_string(&rules).unwrap(),
        "## Builder\n- Read only src/.\n",
        "the user's rules are kept"
    );
    assert_eq!(store.projects().unwrap().len(), 2);
}

#[test]
fn an_existing_tickets_file_is_adopted_byte_for_byte() {
    // CRLF, a BOM, trailing spaces, no final newline, another dialect: all kept.
    let cases: Vec<(&[u8], usize, usize)> = vec![
        (
            b"\xEF\xBB\xBF# Plan\r\n\r\n## Phase 1: API  \r\n\r\n### TKT-7 \xE2\x80\x94 Login\r\nStatus: In Progress\r\n\r\n## Phase 2: UI\r\n\r\n### TKT-8 \xE2\x80\x94 Page\r\nStatus: Open",
            2,
            2,
        ),
        (b"# Notes\n\nNothing that looks like a ticket.\n", 0, 0),
        (TICKETS_TEMPLATE.as_bytes(), 1, 1),
    ];
    for (bytes, batches, tickets) in cases {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("TICKETS.md"), bytes).unwrap();
        git(d.path(), &["init", "-q"]);
        let plan = inspect(d.path(), &no_clis()).unwrap();
        assert!(plan.git.is_repo && !plan.git_init);
        assert_eq!(plan.tickets.action, TicketsAction::Adopt);
        assert_eq!(
            (plan.tickets.batches, plan.tickets.tickets),
            (batches, tickets)
        );
        if tickets == 0 {
            assert!(plan
                .warnings
                .iter()
                .any(|w| w.contains("no tickets were recognised")));
        }
        let report = finish(&plan, None).unwrap();
        assert_eq!(report.tickets.action, TicketsAction::Adopt);
        assert_eq!(
            (report.tickets.batches, report.tickets.tickets),
            (batches, tickets)
        );
        assert!(!report.git_initialised && !report.registered);
        assert_eq!(fs::read(d.path().join("TICKETS.md")).unwrap(), bytes);
        assert!(
            !d.path().join(".leapfrog/backups").exists(),
            "nothing was rewritten"
        );
    }
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn patterns_map_to_the_role_sets_of_pipeline_md() {
    use Role::*;
    let got: Vec<(Pattern, Vec<(&str, Vec<Role>)>)> =
        [Pattern::Leapfrog, Pattern::Pipeline, Pattern::Specialist]
            .into_iter()
            .map(|p| (p, slots(p)))
            .collect();
    let ab = vec![
        (
            "designer",
            vec![Discovery, Requirements, Plan, Design, Review, Qa],
        ),
        ("builder", vec![Build, Fix]),
    ];
    assert_eq!(
        got,
        vec![
            (Pattern::Leapfrog, ab.clone()),
            (Pattern::Pipeline, ab),
            (
                Pattern::Specialist,
                vec![
                    ("designer", vec![Discovery, Requirements, Plan, Design]),
                    ("reviewer", vec![Review, Qa]),
                    ("builder", vec![Build, Fix]),
                ]
            ),
        ]
    );
    // Which CLI each slot gets, by what is installed.
    let cases: Vec<(Vec<&str>, Pattern, Vec<(&str, CliKind)>)> = vec![
        (
            vec![],
            Pattern::Leapfrog,
            vec![
                ("designer", CliKind::ClaudeCode),
                ("builder", CliKind::Codex),
            ],
        ),
        (
            vec!["aider"],
            Pattern::Pipeline,
            vec![("designer", CliKind::Aider), ("builder", CliKind::Aider)],
        ),
        (
            vec!["gemini", "opencode"],
            Pattern::Specialist,
            vec![
                ("designer", CliKind::Gemini),
                ("reviewer", CliKind::Gemini),
                ("builder", CliKind::Opencode),
            ],
        ),
        (
            vec!["claude"],
            Pattern::Leapfrog,
            vec![
                ("designer", CliKind::ClaudeCode),
                ("builder", CliKind::ClaudeCode),
            ],
        ),
    ];
    for (installed, pattern, want) in cases {
        let d = tempfile::tempdir().unwrap();
        let clis: Vec<(&str, &str)> = installed.iter().map(|n| (*n, "1.0.0")).collect();
        let mut plan = inspect(d.path(), &fake_path(d.path(), &clis)).unwrap();
        plan.set_pattern(pattern);
        let got: Vec<(&str, CliKind)> =
            plan.agents.iter().map(|a| (a.id.as_str(), a.cli)).collect();
        assert_eq!(got, want, "{installed:?} {pattern:?}");
        assert_eq!(
            installed.is_empty(),
            plan.warnings.iter().any(|w| w.contains("no agent CLI")),
            "{installed:?}"
        );
    }
}

fn plan_for(pattern: Pattern) -> (tempfile::TempDir, SetupPlan) {
    let d = tempfile::tempdir().unwrap();
    let mut plan = inspect(d.path(), &no_clis()).unwrap();
    plan.set_pattern(pattern);
    (d, plan)
}

#[test]
fn agent_commands_go_to_slots_or_roles() {
    // (pattern, key, command) -> (slot, cli, command override, args) or an error.
    type Want<'a> = Result<(&'a str, CliKind, Option<&'a str>, Vec<&'a str>), &'a str>;
    let cases: Vec<(Pattern, &str, &str, Want)> = vec![
        (Pattern::Leapfrog, "builder", "codex", Ok(("builder", CliKind::Codex, None, vec![]))),
        (Pattern::Leapfrog, "build", "aider --yes", Ok(("builder", CliKind::Aider, None, vec!["--yes"]))),
        (Pattern::Leapfrog, "review", "claude", Ok(("designer", CliKind::ClaudeCode, None, vec![]))),
        (Pattern::Specialist, "review", "gemini", Ok(("reviewer", CliKind::Gemini, None, vec![]))),
        (Pattern::Specialist, "QA", "claude-code", Ok(("reviewer", CliKind::ClaudeCode, Some("claude-code"), vec![]))),
        (
            Pattern::Leapfrog,
            "designer",
            "/opt/ai/bin/claude --model opus",
            Ok(("designer", CliKind::ClaudeCode, Some("/opt/ai/bin/claude"), vec!["--model", "opus"])),
        ),
        (
            Pattern::Pipeline,
            "builder",
            "leap demo-agent --role builder",
            Ok(("builder", CliKind::Custom, Some("leap demo-agent --role builder"), vec![])),
        ),
        (
            Pattern::Leapfrog,
            "reviewer",
            "claude",
            Err("no agent slot or role named \"reviewer\" in this pattern (slots: designer, builder; roles: discovery, requirements, plan, design, build, review, fix, qa)"),
        ),
        (Pattern::Leapfrog, "builder", "  ", Err("the command for builder is empty")),
        (Pattern::Leapfrog, "builder", "codex 'unclosed", Err("agent command \"codex 'unclosed\"")),
    ];
    for (pattern, key, command, want) in cases {
        let (_d, mut plan) = plan_for(pattern);
        let got = assign_agent(&mut plan, key, command).map(|()| {
            let a = plan
                .agents
                .iter()
                .find(|a| match &want {
                    Ok((slot, ..)) => a.id == *slot,
                    Err(_) => false,
                })
                .expect("slot");
            (a.id.clone(), a.cli, a.command.clone(), a.args.clone())
        });
        match (got, want) {
            (Ok(g), Ok((slot, cli, cmd, args))) => assert_eq!(
                g,
                (
                    slot.to_string(),
                    cli,
                    cmd.map(str::to_string),
                    args.into_iter().map(str::to_string).collect::<Vec<_>>()
                ),
                "{key}={command}"
            ),
            (Err(e), Err(w)) => assert!(e.to_string().starts_with(w), "{key}={command}: {e}"),
            (g, w) => panic!("{key}={command}: got {g:?}, wanted {w:?}"),
        }
    }
}

#[test]
fn bad_setups_are_refused_in_words() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("nope");
    assert_eq!(
        inspect(&missing, &no_clis()).unwrap_err().to_string(),
        format!("{} does not exist", missing.display())
    );
    write(d.path(), "file.txt", "x");
    assert!(inspect(&d.path().join("file.txt"), &no_clis())
        .unwrap_err()
        .to_string()
        .ends_with("is not a folder"));
    write(d.path(), "bad/.leapfrog/project.json", "{not json");
    assert!(inspect(&d.path().join("bad"), &no_clis())
        .unwrap_err()
        .to_string()
        .contains("is not a valid project file"));

    let edits: Vec<(fn(&mut SetupPlan), &str)> = vec![
        (|p| p.agents.clear(), "the project needs at least one agent"),
        (
            |p| p.agents.retain(|a| a.id != "builder"),
            "no agent takes the build role; every batch needs one",
        ),
        (
            |p| p.lookahead = Some(0),
            "lookahead 0 would stop the designer",
        ),
        (|p| p.name = " ".into(), "the project needs a name"),
        (
            |p| {
                p.qa = true;
                for a in &mut p.agents {
                    a.roles.retain(|r| *r != Role::Qa);
                }
            },
            "QA after each review needs an agent that takes the qa role",
        ),
        (
            |p| p.tickets.path = "../TICKETS.md".into(),
            "the tickets file ../TICKETS.md must be inside the project folder",
        ),
    ];
    for (edit, want) in edits {
        let (dir, mut plan) = plan_for(Pattern::Leapfrog);
        edit(&mut plan);
        let e = finish(&plan, None).unwrap_err().to_string();
        assert!(e.starts_with(want), "{e}");
        assert!(!dir.path().join("TICKETS.md").exists(), "nothing written");
        assert!(!dir.path().join(".leapfrog").exists());
    }
}

/// The file `leap demo init` writes (keys sorted, no id) loads, and defaults fill what it lacks.
#[test]
fn project_files_written_by_demo_init_and_older_versions_load() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        ".leapfrog/project.json",
        r#"{"agents":[{"cli":"custom","command":"leap demo-agent --role builder","id":"builder","roles":["build","fix"]}],
            "lookahead":1,"name":"leapfrog-demo","pattern":"leapfrog","sync_every":2,"tickets":"TICKETS.md","verify":"sh verify.sh"}"#,
    );
    let f = ProjectFile::load(d.path()).unwrap().unwrap();
    assert_eq!(
        (f.id.as_deref(), f.name.as_str(), f.verify.as_deref()),
        (None, "leapfrog-demo", Some("sh verify.sh"))
    );
    assert_eq!(
        f.agents[0].command.as_deref(),
        Some("leap demo-agent --role builder")
    );
    write(d.path(), ".leapfrog/project.json", r#"{"name": "old"}"#);
    let f = ProjectFile::load(d.path()).unwrap().unwrap();
    assert_eq!(
        (
            f.tickets.as_str(),
            f.pattern,
            f.lookahead,
            f.sync_every,
            f.verify.clone(),
            f.agents.len()
        ),
        ("TICKETS.md", Pattern::Leapfrog, Some(1), Some(2), None, 0)
    );
    // Save and load give the same file.
    f.save(d.path()).unwrap();
    assert_eq!(ProjectFile::load(d.path()).unwrap().unwrap(), f);
    assert_eq!(ProjectFile::load(&d.path().join("none")).unwrap(), None);
}

/// One struct reads and writes `.leapfrog/project.json`: what the wizard writes is what a run
/// reads, with the same defaults, and nothing the file says is dropped by a load and a save.
#[test]
fn one_project_file_for_the_wizard_and_the_run_with_the_same_defaults() {
    use leapfrog_engine::orchestrator::ProjectConfig;
    use leapfrog_engine::project::ProjectFile;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        ".leapfrog/project.json",
        r#"{"name": "p", "preamble": ["discovery", "plan"], "priority": "critical-path",
            "builds_after": {"2": []}, "git": {"branches": true},
            "agents": [{"id": "a", "cli": "custom", "command": "true", "roles": ["design", "build", "review", "fix", "discovery", "plan"]}]}"#,
    );
    let file = ProjectFile::load(dir).unwrap().unwrap();
    let run = ProjectConfig::load_checked(dir).unwrap();
    assert_eq!(file, run, "the wizard and a run read the same thing");
    // A missing lookahead or sync interval means the same to both: one batch ahead, verify
    // every two batches.
    assert_eq!((run.lookahead, run.sync_every), (Some(1), Some(2)));
    let plan = run.plan(&Document::parse(
        "## Batch 1\n\n### T-1: a\n\n## Batch 2\n\n### T-2: b\n",
    ));
    assert_eq!(plan.lookahead, Some(1));
    assert_eq!(plan.preamble.len(), 2);
    assert_eq!(plan.batches[1].builds_after, Some(vec![]));
    // Saved and read again, nothing is lost (preamble and priority were dropped before).
    file.save(dir).unwrap();
    assert_eq!(ProjectConfig::load_checked(dir).unwrap(), run);
    let text = fs::read_to_string(dir.join(".leapfrog/project.json")).unwrap();
    assert!(
        text.contains("\"preamble\"") && text.contains("\"critical-path\""),
        "{text}"
    );
    // A run refuses what the wizard may leave unfinished, in words.
    write(
        dir,
        ".leapfrog/project.json",
        r#"{"name": "p", "agents": []}"#,
    );
    assert!(ProjectConfig::load_checked(dir)
        .unwrap_err()
        .contains("no agents"));
}
