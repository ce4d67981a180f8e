//! Agent profiles, launch command lines, prompts, status signals, screen detection and CLI detection.

use std::path::{Path, PathBuf};
use std::time::Duration;

use leapfrog_engine::agents::launch::{
    build_launch, claude_settings, codex_notify, role_statement, toml_string, EnforcementLevel,
    LaunchContext, SessionPlan,
};
use leapfrog_engine::agents::prompts::{parse_prompt, PromptContext, PromptPhase, PromptTemplates};
use leapfrog_engine::agents::status::{
    claude_session_file, status_from_claude_transcript, status_from_hook,
};
use leapfrog_engine::agents::{
    detect, detect_screen_status, shell_quote, split_command, AgentProfile, AgentStatus,
    StatusSignal,
};
use leapfrog_engine::model::{CliKind, Role};

// ---------------------------------------------------------------------------------------------
// Screens

/// One captured or crafted screen: file in `tests/agents_screens/`, CLI, seconds since the last change,
/// expected status.
fn check_screen(file: &str, cli: CliKind, unchanged_secs: u64, expect: AgentStatus) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/agents_screens")
        .join(file);
    let screen = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let got = detect_screen_status(cli, &screen, Duration::from_secs(unchanged_secs));
    assert_eq!(
        got.status, expect,
        "{file} ({}): {}",
        unchanged_secs, got.reason
    );
    assert_eq!(got.signal, StatusSignal::Screen);
}

#[test]
fn screens_of_real_clis() {
    use AgentStatus::*;
    use CliKind::*;
    let table: &[(&str, CliKind, u64, AgentStatus)] = &[
        // Captured from Claude Code 2.1.197 in tmux.
        ("claude-trust.txt", ClaudeCode, 30, NeedsInput),
        ("claude-apikey.txt", ClaudeCode, 30, NeedsInput),
        ("claude-idle.txt", ClaudeCode, 30, Idle),
        ("claude-idle.txt", ClaudeCode, 0, Idle),
        ("claude-working.txt", ClaudeCode, 0, Working),
        ("claude-working.txt", ClaudeCode, 30, Working),
        ("claude-after-error.txt", ClaudeCode, 1, Working),
        // Crafted from Claude Code's permission dialog.
        ("claude-permission.txt", ClaudeCode, 30, NeedsInput),
        // Captured from Codex 0.171.0 in tmux.
        ("codex-signin.txt", Codex, 30, NeedsInput),
        ("codex-trust.txt", Codex, 30, NeedsInput),
        ("codex-idle.txt", Codex, 30, Idle),
        ("codex-idle.txt", Codex, 0, Idle),
        ("codex-working.txt", Codex, 0, Working),
        ("codex-working.txt", Codex, 60, Working),
        ("codex-approval.txt", Codex, 30, NeedsInput),
        // Captured from Gemini CLI 0.61.0 and OpenCode 1.18.33 (started --agent plan) in tmux.
        ("gemini-trust.txt", Gemini, 30, NeedsInput),
        ("gemini-auth.txt", Gemini, 30, NeedsInput),
        ("opencode-idle.txt", Opencode, 30, Idle),
        ("opencode-idle.txt", Opencode, 0, Idle),
        ("opencode-working.txt", Opencode, 0, Working),
        ("opencode-retrying.txt", Opencode, 30, Working),
        // Crafted from Aider's and Gemini CLI's UI.
        ("aider-idle.txt", Aider, 30, Idle),
        ("aider-idle.txt", Aider, 0, Working),
        ("aider-confirm.txt", Aider, 30, NeedsInput),
        ("gemini-working.txt", Gemini, 0, Working),
        ("gemini-idle.txt", Gemini, 30, Idle),
        // Captured from `leap demo-agent` in tmux (a custom command).
        ("demo-idle.txt", Custom, 30, Idle),
        ("demo-idle.txt", Custom, 0, Working),
        ("demo-working.txt", Custom, 0, Working),
        ("demo-working.txt", Custom, 30, Working),
        // A screen of one CLI read as another still finds generic markers.
        ("claude-working.txt", Custom, 30, Working),
    ];
    for (file, cli, secs, expect) in table {
        check_screen(file, *cli, *secs, *expect);
    }
}

/// A dialog's reading says in words what the CLI wants and where to answer.
#[test]
fn dialogs_say_what_the_cli_wants() {
    use CliKind::*;
    let table: &[(&str, CliKind, &str)] = &[
        // Captured from Claude Code 2.1.332 and Codex 0.171.0 in tmux.
        (
            "claude-2.1.332-permission.txt",
            ClaudeCode,
            "Claude Code asks permission to run a command: answer in its pane",
        ),
        (
            "claude-2.1.332-auto-mode-notice.txt",
            ClaudeCode,
            "Claude Code shows a notice to continue past: answer in its pane",
        ),
        (
            "claude-apikey.txt",
            ClaudeCode,
            "Claude Code asks whether to use the API key in its environment",
        ),
        (
            "claude-trust.txt",
            ClaudeCode,
            "Claude Code asks whether you trust this folder",
        ),
        (
            "codex-0.171-approval.txt",
            Codex,
            "Codex asks approval to run a command: answer in its pane",
        ),
        (
            "codex-0.171-rate-limit-popup.txt",
            Codex,
            "Codex offers to switch to a cheaper model near its limit: answer in its pane",
        ),
        ("codex-signin.txt", Codex, "Codex wants you to sign in"),
        (
            "codex-trust.txt",
            Codex,
            "Codex asks whether you trust this folder",
        ),
        ("gemini-auth.txt", Gemini, "Gemini CLI wants you to sign in"),
    ];
    for (file, cli, words) in table {
        let screen = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/agents_screens")
                .join(file),
        )
        .unwrap();
        let got = detect_screen_status(*cli, &screen, Duration::from_secs(30));
        assert_eq!(got.status, AgentStatus::NeedsInput, "{file}");
        assert!(got.reason.starts_with(words), "{file}: {}", got.reason);
    }
}

#[test]
fn screen_phrases_above_the_tail_do_not_count() {
    // A conversation that quotes a dialog phrase far above the bottom, then an idle prompt.
    let mut screen = String::from("Do you want to proceed?\n");
    for i in 0..40 {
        screen.push_str(&format!("line {i} of the answer\n"));
    }
    screen.push_str("❯ \n");
    let got = detect_screen_status(CliKind::ClaudeCode, &screen, Duration::from_secs(10));
    assert_eq!(got.status, AgentStatus::Idle, "{}", got.reason);
}

#[test]
fn blank_and_unknown_screens_go_by_time() {
    let table = [
        ("", 0, AgentStatus::Working),
        ("", 10, AgentStatus::Idle),
        ("compiling foo v0.1\n", 1, AgentStatus::Working),
        ("compiling foo v0.1\n", 10, AgentStatus::Idle),
        ("Overwrite file? [y/N]\n", 10, AgentStatus::NeedsInput),
    ];
    for (screen, secs, expect) in table {
        let got = detect_screen_status(CliKind::Custom, screen, Duration::from_secs(secs));
        assert_eq!(
            got.status, expect,
            "{screen:?} after {secs}s: {}",
            got.reason
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Launch command lines

fn ctx(session: SessionPlan) -> LaunchContext {
    LaunchContext {
        project_dir: PathBuf::from("/work/proj"),
        agent_dir: PathBuf::from("/data/agents/a1"),
        leap_program: "/opt/leap/bin/leap".into(),
        session,
    }
}

const ID: &str = "0b4f7f5e-2f5c-4a59-9a3f-5d7d3e6c1a10";

fn fresh() -> SessionPlan {
    SessionPlan::Fresh {
        session_id: ID.into(),
    }
}

fn resume(id: Option<&str>) -> SessionPlan {
    SessionPlan::Resume {
        session_id: id.map(str::to_string),
    }
}

fn profile(cli: CliKind, roles: &[Role]) -> AgentProfile {
    AgentProfile {
        roles: roles.to_vec(),
        ..AgentProfile::builtin(cli)
    }
}

fn check_launch(
    p: &AgentProfile,
    session: SessionPlan,
    expect_cmd: &str,
    expect_level: EnforcementLevel,
    expect_session: Option<&str>,
) {
    let spec = build_launch(p, &ctx(session.clone())).unwrap();
    assert_eq!(spec.command_line(), expect_cmd, "{:?} {session:?}", p.cli);
    assert_eq!(spec.enforcement.level, expect_level, "{:?}", p.cli);
    assert!(!spec.enforcement.description.is_empty());
    assert_eq!(spec.session_id.as_deref(), expect_session, "{:?}", p.cli);
    assert_eq!(spec.cwd, PathBuf::from("/work/proj"));
}

#[test]
fn launch_command_lines() {
    use EnforcementLevel::*;
    let builder = [Role::Build, Role::Fix];
    let reviewer = [Role::Review, Role::Qa];
    let designer = [Role::Design, Role::Review];
    let settings = "--settings /data/agents/a1/claude-settings.json";
    // Every Codex launch runs without the background server that would outlive its pane.
    let notify = "-c 'notify=[\"/opt/leap/bin/leap\",\"hook\",\"codex-notify\"]' --no-daemon";
    let claude_role = |roles: &[Role]| {
        format!(
            "--append-system-prompt {}",
            shell_quote(&role_statement(&profile(CliKind::ClaudeCode, roles)))
        )
    };
    let codex_role = |roles: &[Role]| {
        format!(
            "-c {}",
            shell_quote(&format!(
                "developer_instructions={}",
                toml_string(&role_statement(&profile(CliKind::Codex, roles)))
            ))
        )
    };
    let (cd, cr) = (claude_role(&designer), claude_role(&reviewer));
    let (xb, xr) = (codex_role(&builder), codex_role(&reviewer));

    let claude = profile(CliKind::ClaudeCode, &designer);
    check_launch(
        &claude,
        fresh(),
        &format!("claude --session-id {ID} {settings} {cd}"),
        PromptOnly,
        Some(ID),
    );
    check_launch(
        &claude,
        resume(Some(ID)),
        &format!("claude --resume {ID} {settings} {cd}"),
        PromptOnly,
        Some(ID),
    );
    check_launch(
        &claude,
        resume(None),
        &format!("claude --continue {settings} {cd}"),
        PromptOnly,
        None,
    );
    check_launch(
        &profile(CliKind::ClaudeCode, &reviewer),
        fresh(),
        &format!(
            "claude --session-id {ID} {settings} {cr} --disallowedTools Edit,Write,NotebookEdit"
        ),
        Partial,
        Some(ID),
    );

    let codex = profile(CliKind::Codex, &builder);
    check_launch(
        &codex,
        fresh(),
        &format!("codex {notify} {xb}"),
        PromptOnly,
        None,
    );
    check_launch(
        &codex,
        resume(Some("7e0c")),
        &format!("codex resume 7e0c {notify} {xb}"),
        PromptOnly,
        Some("7e0c"),
    );
    check_launch(
        &codex,
        resume(None),
        &format!("codex resume --last {notify} {xb}"),
        PromptOnly,
        None,
    );
    check_launch(
        &profile(CliKind::Codex, &reviewer),
        fresh(),
        &format!("codex {notify} {xr} --sandbox read-only"),
        Enforced,
        None,
    );

    check_launch(
        &profile(CliKind::Gemini, &designer),
        fresh(),
        &format!("gemini --session-id {ID}"),
        PromptOnly,
        Some(ID),
    );
    check_launch(
        &profile(CliKind::Gemini, &reviewer),
        resume(None),
        "gemini --resume latest --approval-mode plan",
        Partial,
        None,
    );
    check_launch(
        &profile(CliKind::Opencode, &builder),
        resume(Some("ses_1")),
        "opencode --session ses_1",
        PromptOnly,
        Some("ses_1"),
    );
    check_launch(
        &profile(CliKind::Opencode, &reviewer),
        resume(None),
        "opencode --continue --agent plan",
        Partial,
        None,
    );
    let aider_files = "--chat-history-file /data/agents/a1/aider.chat.history.md \
                       --input-history-file /data/agents/a1/aider.input.history";
    let aider_notify =
        "--notifications --notifications-command '/opt/leap/bin/leap hook aider-notify'";
    check_launch(
        &profile(CliKind::Aider, &builder),
        fresh(),
        &format!("aider {aider_files} {aider_notify}"),
        PromptOnly,
        None,
    );
    check_launch(
        &profile(CliKind::Aider, &reviewer),
        resume(None),
        &format!("aider {aider_files} --restore-chat-history {aider_notify} --chat-mode ask"),
        Enforced,
        None,
    );

    let mut custom = AgentProfile::custom(
        "builder",
        "leap demo-agent --role 'builder' --speed 2",
        builder.to_vec(),
    );
    custom.args = vec!["--seed".into(), "7".into()];
    check_launch(
        &custom,
        fresh(),
        "leap demo-agent --role builder --speed 2 --seed 7",
        PromptOnly,
        None,
    );

    let mut with_model = profile(CliKind::Codex, &builder);
    with_model.model = Some("o3".into());
    with_model.command = Some("/usr/local/bin/codex".into());
    check_launch(
        &with_model,
        fresh(),
        &format!("/usr/local/bin/codex {notify} {xb} --model o3"),
        PromptOnly,
        None,
    );
}

#[test]
fn claude_settings_wire_three_hooks_to_leap() {
    let spec = build_launch(&AgentProfile::builtin(CliKind::ClaudeCode), &ctx(fresh())).unwrap();
    assert_eq!(spec.files.len(), 1);
    assert_eq!(
        spec.files[0].contents,
        claude_settings("/opt/leap/bin/leap", "/opt/leap/bin/leap")
    );
    let v: serde_json::Value = serde_json::from_str(&spec.files[0].contents).unwrap();
    assert_eq!(v["hooks"].as_object().unwrap().len(), 5);
    for (event, leap_event) in [
        ("Stop", "stop"),
        ("StopFailure", "stop-failure"),
        ("Notification", "notification"),
        ("PermissionRequest", "permission-request"),
        ("UserPromptSubmit", "prompt-submit"),
    ] {
        assert_eq!(
            v["hooks"][event][0]["hooks"][0]["command"],
            format!("/opt/leap/bin/leap hook {leap_event}"),
            "{event}"
        );
        assert_eq!(v["hooks"][event][0]["hooks"][0]["type"], "command");
    }
    // The agent's `leap` reports run without a permission prompt: the program the prompts name,
    // and a bare `leap` on PATH.
    let allow: Vec<&str> = v["permissions"]["allow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        allow,
        [
            "Bash(/opt/leap/bin/leap complete:*)",
            "Bash(/opt/leap/bin/leap handoff:*)",
            "Bash(/opt/leap/bin/leap status:*)",
            "Bash(/opt/leap/bin/leap verify:*)",
            "Bash(leap complete:*)",
            "Bash(leap handoff:*)",
            "Bash(leap status:*)",
            "Bash(leap verify:*)",
        ]
    );
    // A leap path with spaces is quoted for the shell that runs hook commands.
    let spaced = claude_settings(
        &leapfrog_engine::agents::shell_quote("/opt/my apps/leap"),
        "/opt/my apps/leap",
    );
    assert!(spaced.contains("'/opt/my apps/leap' hook stop"), "{spaced}");
    assert!(
        spaced.contains("Bash('/opt/my apps/leap' complete:*)")
            && spaced.contains("Bash(/opt/my apps/leap complete:*)"),
        "{spaced}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut c = ctx(fresh());
    c.agent_dir = dir.path().join("agents/claude");
    let spec = build_launch(&AgentProfile::builtin(CliKind::ClaudeCode), &c).unwrap();
    spec.write_files().unwrap();
    let path = dir.path().join("agents/claude/claude-settings.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        spec.files[0].contents
    );
}

#[test]
fn codex_notify_is_toml_with_escapes() {
    assert_eq!(
        codex_notify(r#"C:\bin\le"ap"#),
        r#"notify=["C:\\bin\\le\"ap","hook","codex-notify"]"#
    );
}

#[test]
fn fresh_sessions_get_distinct_uuids() {
    let (a, b) = (SessionPlan::fresh(), SessionPlan::fresh());
    assert_ne!(a, b);
    let SessionPlan::Fresh { session_id } = a else {
        panic!("fresh() is not fresh")
    };
    assert!(uuid::Uuid::parse_str(&session_id).is_ok(), "{session_id}");
}

#[test]
fn bad_profiles_are_refused_with_one_line() {
    let cases: Vec<(AgentProfile, &str)> = vec![
        (
            AgentProfile::custom("x", "  ", vec![Role::Build]),
            "agent x runs a custom CLI but has no command",
        ),
        (
            AgentProfile::custom("x", "echo 'unclosed", vec![Role::Build]),
            "agent x: command: unclosed single quote",
        ),
        (
            AgentProfile::custom("a b", "echo", vec![Role::Build]),
            "agent id \"a b\" must be letters, digits, '-' or '_'",
        ),
        (
            AgentProfile::custom("x", "echo", vec![]),
            "agent x has no roles",
        ),
    ];
    for (p, expect) in cases {
        assert_eq!(build_launch(&p, &ctx(fresh())).unwrap_err(), expect);
    }
}

#[test]
fn split_command_like_a_shell() {
    let table: &[(&str, Result<&[&str], &str>)] = &[
        (
            "leap demo-agent --role builder",
            Ok(&["leap", "demo-agent", "--role", "builder"]),
        ),
        (
            "  a   'b c'  \"d \\\"e\\\"\" f\\ g ",
            Ok(&["a", "b c", "d \"e\"", "f g"]),
        ),
        ("x ''", Ok(&["x", ""])),
        ("'it'\\''s'", Ok(&["it's"])),
        ("", Err("empty command")),
        ("a \"b", Err("unclosed double quote")),
        ("a \\", Err("trailing backslash")),
    ];
    for (input, expect) in table {
        let got = split_command(input);
        let expect = expect
            .map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .map_err(|e| e.to_string());
        assert_eq!(got, expect, "{input:?}");
    }
}

#[test]
fn profiles_read_from_project_config() {
    let json = r#"[
        {"id": "designer", "cli": "claude-code", "roles": ["design", "review"], "model": "opus"},
        {"id": "builder", "cli": "custom", "command": "leap demo-agent --role builder", "roles": ["build", "fix"]}
    ]"#;
    let agents: Vec<AgentProfile> = serde_json::from_str(json).unwrap();
    assert_eq!(agents[0].cli, CliKind::ClaudeCode);
    assert_eq!(agents[0].model.as_deref(), Some("opus"));
    assert!(agents[1].has_role(Role::Fix));
    let back: Vec<AgentProfile> =
        serde_json::from_str(&serde_json::to_string(&agents).unwrap()).unwrap();
    assert_eq!(back, agents);
    let err =
        serde_json::from_str::<AgentProfile>(r#"{"id":"a","cli":"codex","roles":[],"colour":1}"#)
            .unwrap_err()
            .to_string();
    assert!(err.contains("unknown field `colour`"), "{err}");
    // Every shipped profile is valid and launches.
    for p in AgentProfile::builtins() {
        p.validate().unwrap();
        build_launch(&p, &ctx(fresh())).unwrap();
    }
    assert!(AgentProfile::builtin(CliKind::ClaudeCode).has_role(Role::Design));
    assert!(AgentProfile::builtin(CliKind::Codex).has_role(Role::Build));
}

// ---------------------------------------------------------------------------------------------
// Prompts

fn pctx(batch: Option<u32>) -> PromptContext {
    PromptContext {
        batch,
        agent: "codex".into(),
        tickets_file: "TICKETS.md".into(),
        verify_command: "sh verify.sh".into(),
        leap: "leap".into(),
        tickets: Some("T-004, T-005".into()),
        notes: Some("T-004 misses a test".into()),
        diff: Some("`git diff refs/leapfrog/batch-3/base refs/leapfrog/batch-3/head`".into()),
        context: Some(".leapfrog/context/batch-3/build.md".into()),
    }
}

#[test]
fn default_prompts_render_and_read_back() {
    let t = PromptTemplates::default();
    for phase in PromptPhase::ALL {
        let batch = (!phase.is_preamble()).then_some(3);
        let text = t.render(phase, &pctx(batch)).unwrap();
        assert!(!text.contains("{{"), "{text}");
        assert_eq!(parse_prompt(&text), Some((phase, batch)), "{text}");
    }
    assert_eq!(
        t.render(PromptPhase::Build, &pctx(Some(1))).unwrap(),
        "Read TICKETS.md. Execute Batch 1 only. Commit your work, one commit per ticket where you \
can. Run `sh verify.sh`. When done, run `leap complete --batch 1 --verify passed|failed --commits \
<hashes>`, print a `## COMPLETE — Batch 1 Done` block, and wait for the next batch. What this phase \
needs is in .leapfrog/context/batch-3/build.md."
    );
    // The reviewer is told which diff: the two refs the run recorded, or in words outside git.
    let review = t.render(PromptPhase::Review, &pctx(Some(3))).unwrap();
    assert!(
        review.starts_with(
            "Review the Batch 3 diff (`git diff refs/leapfrog/batch-3/base refs/leapfrog/batch-3/head`) \
against its tickets in TICKETS.md."
        ),
        "{review}"
    );
    let plain = PromptContext {
        diff: None,
        ..pctx(Some(3))
    };
    assert!(t
        .render(PromptPhase::Review, &plain)
        .unwrap()
        .starts_with("Review the Batch 3 diff (the batch's commits) against"));
}

#[test]
fn seed_prompts_are_understood() {
    type Read = Option<(PromptPhase, Option<u32>)>;
    let table: &[(&str, Read)] = &[
        (
            "Read TICKETS.md. Execute Batch 1 only.",
            Some((PromptPhase::Build, Some(1))),
        ),
        (
            "Read TICKETS.md. Design Batch 2 while Codex builds Batch 1.",
            Some((PromptPhase::Design, Some(2))),
        ),
        ("Now design Batch 2", Some((PromptPhase::Design, Some(2)))),
        (
            "Review the Batch 1 diff, then design Batch 3",
            Some((PromptPhase::Review, Some(1))),
        ),
        ("execute batch 12", Some((PromptPhase::Build, Some(12)))),
        ("Do discovery only.", Some((PromptPhase::Discovery, None))),
        ("hello there", None),
    ];
    for (text, expect) in table {
        assert_eq!(parse_prompt(text), *expect, "{text}");
    }
}

#[test]
fn prompt_overrides_per_project() {
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join(".leapfrog/prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    std::fs::write(
        prompts.join("build.md"),
        "Build batch {{batch}} for {{agent}}; verify with {{verify_command}}.\n",
    )
    .unwrap();
    let t = PromptTemplates::for_project(dir.path()).unwrap();
    assert_eq!(
        t.render(PromptPhase::Build, &pctx(Some(2))).unwrap(),
        "Build batch 2 for codex; verify with sh verify.sh."
    );
    // Other phases keep their defaults.
    assert_eq!(
        t.template(PromptPhase::Design),
        PromptTemplates::default().template(PromptPhase::Design)
    );

    std::fs::write(prompts.join("review.md"), "Review {{batchh}}").unwrap();
    let err = PromptTemplates::for_project(dir.path()).unwrap_err();
    assert!(
        err.ends_with("review.md: unknown variable {{batchh}} (known: batch, agent, tickets_file, verify_command, leap, tickets, notes, diff, context)"),
        "{err}"
    );
}

#[test]
fn prompt_without_a_needed_value_is_an_error() {
    let t = PromptTemplates::default();
    assert_eq!(
        t.render(PromptPhase::Build, &pctx(None)).unwrap_err(),
        "build prompt: no value for {{batch}}"
    );
    let mut no_notes = pctx(Some(1));
    no_notes.notes = None;
    assert_eq!(
        t.render(PromptPhase::Fix, &no_notes).unwrap_err(),
        "fix prompt: no value for {{notes}}"
    );
}

// ---------------------------------------------------------------------------------------------
// Hooks and session files

#[test]
fn hooks_map_to_status() {
    use AgentStatus::*;
    let table: &[(&str, &str, Option<AgentStatus>, Option<&str>)] = &[
        (
            "prompt-submit",
            r#"{"session_id":"s1","prompt":"Execute Batch 1"}"#,
            Some(Working),
            Some("s1"),
        ),
        (
            "stop",
            r#"{"session_id":"s1","hook_event_name":"Stop"}"#,
            Some(Idle),
            Some("s1"),
        ),
        (
            "stop-failure",
            r#"{"session_id":"s1","hook_event_name":"StopFailure"}"#,
            Some(Idle),
            Some("s1"),
        ),
        (
            "permission-request",
            r#"{"session_id":"s1","tool_name":"Bash"}"#,
            Some(NeedsInput),
            Some("s1"),
        ),
        (
            "notification",
            r#"{"session_id":"s1","message":"Claude needs your permission to use Bash"}"#,
            Some(NeedsInput),
            Some("s1"),
        ),
        (
            "notification",
            r#"{"message":"Claude is waiting for your input"}"#,
            Some(Idle),
            None,
        ),
        ("notification", r#"{}"#, None, None),
        // Claude Code 2.1.x: an answered question or a finished sign-in asks nothing.
        (
            "notification",
            r#"{"session_id":"s1","notification_type":"elicitation_complete","message":"MCP server elicitation completed"}"#,
            None,
            Some("s1"),
        ),
        (
            "notification",
            r#"{"notification_type":"elicitation_response","message":"User responded"}"#,
            None,
            None,
        ),
        (
            "notification",
            r#"{"notification_type":"auth_success","message":"Authentication successful"}"#,
            None,
            None,
        ),
        (
            "notification",
            r#"{"notification_type":"elicitation_dialog","message":"MCP server wants input"}"#,
            Some(NeedsInput),
            None,
        ),
        (
            "codex-notify",
            r#"{"type":"agent-turn-complete","thread-id":"019a-77","turn-id":"3","input-messages":["Execute Batch 1"],"last-assistant-message":"Done."}"#,
            Some(Idle),
            Some("019a-77"),
        ),
        ("codex-notify", r#"{"type":"something-new"}"#, None, None),
        ("aider-notify", "null", Some(Idle), None),
        ("unknown-event", r#"{"session_id":"s9"}"#, None, Some("s9")),
    ];
    for (event, payload, status, session) in table {
        let r = status_from_hook(event, &serde_json::from_str(payload).unwrap());
        assert_eq!(
            r.observation.as_ref().map(|o| o.status),
            *status,
            "{event} {payload}"
        );
        if let Some(o) = &r.observation {
            assert_eq!(o.signal, StatusSignal::Hook);
        }
        assert_eq!(r.session_id.as_deref(), *session, "{event} {payload}");
    }
}

#[test]
fn claude_transcripts_map_to_status() {
    use AgentStatus::*;
    let user = r#"{"type":"user","message":{"role":"user","content":"Execute Batch 1"}}"#;
    let tool = r#"{"type":"assistant","message":{"stop_reason":"tool_use"}}"#;
    let done = r#"{"type":"assistant","message":{"stop_reason":"end_turn"}}"#;
    let streaming = r#"{"type":"assistant","message":{"stop_reason":null}}"#;
    let summary = r#"{"type":"summary","summary":"Batch 1"}"#;
    let table: &[(Vec<&str>, Option<AgentStatus>)] = &[
        (vec![user], Some(Working)),
        (vec![user, tool], Some(Working)),
        (vec![user, tool, user, done], Some(Idle)),
        (vec![user, done, summary, "not json"], Some(Idle)),
        (vec![done, user], Some(Working)),
        (vec![streaming], Some(Working)),
        (vec![summary], None),
        (vec![], None),
    ];
    for (lines, expect) in table {
        let got = status_from_claude_transcript(&lines.join("\n"));
        assert_eq!(got.as_ref().map(|o| o.status), *expect, "{lines:?}");
        if let Some(o) = got {
            assert_eq!(o.signal, StatusSignal::SessionFile);
        }
    }
    assert_eq!(
        claude_session_file(Path::new("/home/u"), Path::new("/work/my_proj.v2"), "abc"),
        PathBuf::from("/home/u/.claude/projects/-work-my-proj-v2/abc.jsonl")
    );
}

// ---------------------------------------------------------------------------------------------
// Detection of installed CLIs

fn script(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn detects_installed_clis_with_versions_and_timeouts() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    script(a.path(), "claude", "echo '2.1.197 (Claude Code)'");
    script(b.path(), "claude", "echo shadowed");
    script(a.path(), "codex", "echo 'codex-cli 0.171.0'");
    // Hangs: must be killed after the timeout.
    script(b.path(), "aider", "sleep 30");
    // Not executable: not installed.
    std::fs::write(a.path().join("gemini"), "#!/bin/sh\necho 1\n").unwrap();
    script(b.path(), "opencode", "echo 'no version here' >&2; exit 1");
    let path_var = std::env::join_paths([a.path(), b.path()]).unwrap();

    let found = detect::detect_installed(Some(&path_var), Duration::from_millis(500));
    let by = |cli| found.iter().find(|i| i.cli == cli).unwrap();
    assert_eq!(
        by(CliKind::ClaudeCode).version.as_deref(),
        Some("2.1.197 (Claude Code)")
    );
    assert_eq!(by(CliKind::ClaudeCode).path, Some(a.path().join("claude")));
    assert_eq!(
        by(CliKind::Codex).version.as_deref(),
        Some("codex-cli 0.171.0")
    );
    let aider = by(CliKind::Aider);
    assert_eq!(aider.path, Some(b.path().join("aider")));
    assert!(aider.version.is_none());
    assert!(aider
        .error
        .as_deref()
        .unwrap()
        .contains("did not answer within 500 ms"));
    assert_eq!(by(CliKind::Gemini).path, None);
    assert!(by(CliKind::Gemini).error.is_none());
    assert!(by(CliKind::Opencode)
        .error
        .as_deref()
        .unwrap()
        .ends_with("--version printed no version"));
    assert_eq!(detect::find_on_path("claude", None), None);
}

#[test]
fn a_real_claude_transcript() {
    // Written by Claude Code 2.1.197 after a prompt it could not send (no network), killed mid-retry.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/agents_screens/claude-transcript-prompt-sent.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let got = status_from_claude_transcript(&text).unwrap();
    assert_eq!(got.status, AgentStatus::Working);
    // The same kind of session once its turn ended on an API error: idle.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/agents_screens/claude-transcript-api-error.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        status_from_claude_transcript(&text).unwrap().status,
        AgentStatus::Idle
    );
    // It was found where claude_session_file says.
    assert_eq!(
        claude_session_file(
            Path::new("/tmp/cap/home"),
            Path::new("/tmp/cap/proj"),
            "3048fddc-74cf-465e-a536-efae41670999"
        ),
        PathBuf::from("/tmp/cap/home/.claude/projects/-tmp-cap-proj/3048fddc-74cf-465e-a536-efae41670999.jsonl")
    );
}

#[test]
fn a_real_claude_hook_payload() {
    // What Claude Code 2.1.197 sent to `leap hook prompt-submit` through the settings file that
    // build_launch writes (captured from the control socket).
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/agents_screens/claude-hook-prompt-submit.json");
    let payload: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let r = status_from_hook("prompt-submit", &payload);
    assert_eq!(r.observation.unwrap().status, AgentStatus::Working);
    // The session id is the one pre-assigned with --session-id.
    assert_eq!(
        r.session_id.as_deref(),
        Some("11111111-2222-4333-8444-555555555556")
    );
    assert_eq!(
        payload["transcript_path"],
        claude_session_file(
            Path::new("/tmp/cap/home"),
            Path::new("/tmp/cap/proj"),
            "11111111-2222-4333-8444-555555555556"
        )
        .display()
        .to_string()
    );
}

#[test]
fn status_tracker_combines_signals() {
    use leapfrog_engine::agents::{StatusObservation as O, StatusTracker};
    use std::time::Instant;
    use AgentStatus::*;
    use StatusSignal::*;
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    // (reading or none, at ms, expected status at that moment)
    type Step = (Option<(AgentStatus, StatusSignal)>, u64, AgentStatus);
    let table: &[(&str, Vec<Step>)] = &[
        ("nothing yet", vec![(None, 0, Offline)]),
        (
            "screen alone",
            vec![
                (Some((Idle, Screen)), 0, Idle),
                (Some((Working, Screen)), 10, Working),
            ],
        ),
        (
            "a Stop hook outranks a lagging spinner, then the screen agrees",
            vec![
                (Some((Working, Hook)), 0, Working),
                (Some((Idle, Hook)), 5_000, Idle),
                (Some((Working, Screen)), 5_100, Idle),
                (Some((Idle, Screen)), 6_000, Idle),
                (None, 9_000, Idle),
            ],
        ),
        (
            "a dialog on screen after the hook's trust wins (Codex approval)",
            vec![
                (Some((Working, Hook)), 0, Working),
                (Some((NeedsInput, Screen)), 3_000, NeedsInput),
                (Some((Working, Screen)), 4_000, Working),
            ],
        ),
        (
            "a turn that ended without a Stop hook: the screen's idle prompt wins after the trust",
            vec![
                (Some((Working, Hook)), 0, Working),
                (Some((Idle, Screen)), 1_000, Working),
                (None, 2_500, Idle),
            ],
        ),
        (
            "a transcript reading stands while no screen has been read",
            vec![
                (Some((Working, SessionFile)), 0, Working),
                (None, 10_000, Working),
            ],
        ),
        (
            "exit is final until the next start",
            vec![
                (Some((Working, Hook)), 0, Working),
                (Some((Exited, Process)), 100, Exited),
                (Some((NeedsInput, Screen)), 200, Exited),
                (Some((Working, Process)), 300, Working),
                (Some((Idle, Screen)), 5_000, Idle),
            ],
        ),
    ];
    for (name, steps) in table {
        let mut t = StatusTracker::new();
        for (reading, ms, expect) in steps {
            if let Some((status, signal)) = reading {
                t.observe(O::new(*status, *signal, "test"), at(*ms));
            }
            assert_eq!(t.current(at(*ms)).status, *expect, "{name} at {ms} ms");
        }
    }
}

#[test]
fn real_claude_hook_payloads_when_a_turn_fails() {
    // Claude Code 2.1.197, API unreachable: after its retries it fired StopFailure (not Stop), then
    // a Notification of type idle_prompt. Both mean the agent waits at its prompt.
    for (event, file) in [
        ("stop-failure", "claude-hook-stop-failure.json"),
        ("notification", "claude-hook-notification.json"),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/agents_screens")
            .join(file);
        let payload: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let r = status_from_hook(event, &payload);
        assert_eq!(r.observation.unwrap().status, AgentStatus::Idle, "{event}");
        assert_eq!(
            r.session_id.as_deref(),
            Some("11111111-2222-4333-8444-555555555557"),
            "{event}"
        );
    }
}

#[test]
fn role_statements_in_the_seeds_words() {
    let table: &[(&[Role], &str)] = &[
        (&[Role::Build, Role::Fix], "You are the Builder of a Leapfrog team: other agents work on the same project at the same time. Your roles: build, fix. Do only the work of these roles and only the batch each prompt names. When a phase is done, report with the `leap` command the prompt gives."),
        (&[Role::Design, Role::Review], "You are the Designer of a Leapfrog team"),
        (&[Role::Review, Role::Qa], "You are the Reviewer of a Leapfrog team"),
        (&[Role::Discovery, Role::Plan], "You are the Planner of a Leapfrog team"),
    ];
    for (roles, expect) in table {
        let got = role_statement(&profile(CliKind::ClaudeCode, roles));
        assert!(got.starts_with(expect), "{roles:?}: {got}");
    }
    assert_eq!(toml_string("a \"b\" \\ c\n"), r#""a \"b\" \\ c\u000A""#);
}
