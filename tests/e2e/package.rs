//! The Linux package: `bash .ci/package --debug` builds a .deb with the Tauri bundler, and this
//! test opens it with `dpkg-deb` (`-I`, `-c`, `-x` into a temporary folder) to check what a user
//! installs: both binaries in /usr/bin, a `leap` that runs and whose every subcommand the man page
//! documents, a desktop entry in the Development category, the icons at the sizes desktops ask
//! for, runtime-only dependencies, the workspace's version, and no maintainer script that touches
//! a home folder (uninstalling must leave users' projects alone). No window is opened.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use leapfrog_e2e::package::{build_debug_packages, repo_root, workspace_version};

/// The sizes (px) of the hicolor icons the desktop entry's `Icon=` must come in.
const ICON_SIZES: [u32; 7] = [16, 32, 48, 64, 128, 256, 512];

/// Runs a command and returns its stdout; fails with its stderr.
fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// The value of `field` in a control file or desktop entry (`Field: value` / `Field=value`).
fn field<'a>(text: &'a str, field: &str, sep: char) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(sep)?;
        (name.trim() == field).then(|| value.trim())
    })
}

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(path: &Path) -> Result<(u32, u32)> {
    let bytes = std::fs::read(path)?;
    ensure!(
        bytes.len() >= 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "{} is not a PNG",
        path.display()
    );
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    Ok((be(16), be(20)))
}

/// The subcommands in a clap `--help`: the first word of each line of its `Commands:` section.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   ")) // a wrapped description's next line
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// The first word of every `.TP` tag of a man page (`.B init`, `.BI "run " PROJECT` → run).
fn man_tags(troff: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = troff.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].trim() == ".TP")
        .filter_map(|w| {
            let tag = w[1].split_once(' ')?.1.replace("\\-", "-");
            let tag = tag.trim_start_matches('"');
            tag.split(|c: char| c.is_whitespace() || c == '"' || c == '\\')
                .next()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn the_debian_package_installs_the_app_leap_its_man_page_icons_and_desktop_entry() -> Result<()> {
    let root = repo_root();

    let packages = build_debug_packages(&root)?;
    let stdout = format!("{packages:?}");
    let debs: Vec<&PathBuf> = packages
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    ensure!(
        debs.len() == 1 && debs[0].is_file(),
        "expected one .deb on the script's stdout, got: {stdout:?}"
    );
    let deb = debs[0];
    eprintln!(
        "package: {} ({} bytes)",
        deb.display(),
        std::fs::metadata(deb)?.len()
    );

    // Control file: the workspace's version, runtime dependencies only.
    let control = run(Command::new("dpkg-deb").arg("-I").arg(deb).arg("control"))?;
    assert_eq!(
        field(&control, "Package", ':'),
        Some("leapfrog"),
        "{control}"
    );
    let version = workspace_version(&root)?;
    assert_eq!(
        field(&control, "Version", ':'),
        Some(version.as_str()),
        "the package's version is the workspace's ({version}):\n{control}"
    );
    let depends: Vec<&str> = field(&control, "Depends", ':')
        .context("no Depends")?
        .split([',', '|'])
        .map(|d| d.split(['(', ' ']).find(|s| !s.is_empty()).unwrap_or(""))
        .collect();
    for needed in ["libwebkit2gtk-4.1-0", "libgtk-3-0", "git"] {
        assert!(
            depends.contains(&needed),
            "Depends lacks {needed}: {depends:?}"
        );
    }
    for dep in &depends {
        assert!(
            !dep.contains("-dev"),
            "a build-time package in Depends: {dep} ({depends:?})"
        );
    }

    // Maintainer scripts: none may touch a home folder (removing the app keeps users' projects).
    let tmp = tempfile::tempdir()?;
    let control_dir = tmp.path().join("control");
    run(Command::new("dpkg-deb")
        .arg("-e")
        .arg(deb)
        .arg(&control_dir))?;
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        let path = control_dir.join(script);
        if let Ok(text) = std::fs::read_to_string(&path) {
            for home in ["/home", "HOME", "~", "/root"] {
                assert!(!text.contains(home), "{script} mentions {home}:\n{text}");
            }
        }
    }

    // Contents, as dpkg lists them: both binaries executable.
    let listing = run(Command::new("dpkg-deb").arg("-c").arg(deb))?;
    let entry = |path: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" ./{path}")) || l.ends_with(&format!(" {path}")))
    };
    for bin in ["usr/bin/leapfrog", "usr/bin/leap"] {
        let line =
            entry(bin).with_context(|| format!("{bin} is not in the package:\n{listing}"))?;
        assert!(
            line.starts_with("-rwx"),
            "{bin} is not an executable file: {line}"
        );
    }

    // Unpacked: leap runs from the package and lists its subcommands.
    let data = tmp.path().join("data");
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&data))?;
    for bin in ["leapfrog", "leap"] {
        let mode = std::fs::metadata(data.join("usr/bin").join(bin))?
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, "usr/bin/{bin} has mode {mode:o}");
    }
    let help = run(Command::new(data.join("usr/bin/leap")).arg("--help"))?;
    let commands = subcommands(&help);
    for core in ["init", "start", "run", "trust"] {
        assert!(
            commands.iter().any(|c| c == core),
            "leap --help does not list `{core}`: {commands:?}\n{help}"
        );
    }

    // The man page, installed where man looks, documents every one of those subcommands.
    let man_dir = data.join("usr/share/man/man1");
    let man = if man_dir.join("leap.1.gz").is_file() {
        run(Command::new("gzip")
            .arg("-dc")
            .arg(man_dir.join("leap.1.gz")))?
    } else {
        std::fs::read_to_string(man_dir.join("leap.1"))
            .context("no usr/share/man/man1/leap.1.gz nor leap.1 in the package")?
    };
    assert!(man.contains(".TH LEAP 1"), "not a leap(1) man page:\n{man}");
    let documented = man_tags(&man);
    let missing: Vec<&String> = commands
        .iter()
        .filter(|c| !documented.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "leap.1 does not document {missing:?} (documents {documented:?})"
    );

    // The desktop entry: Development category, starts `leapfrog`, its icon at every size.
    let apps = data.join("usr/share/applications");
    let desktop = std::fs::read_dir(&apps)
        .with_context(|| format!("no {}", apps.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "desktop"))
        .context("no .desktop file in usr/share/applications")?;
    let entry_text = std::fs::read_to_string(&desktop)?;
    let categories: Vec<&str> = field(&entry_text, "Categories", '=')
        .context("no Categories")?
        .split(';')
        .collect();
    assert!(
        categories.contains(&"Development"),
        "Categories={categories:?}\n{entry_text}"
    );
    let exec = field(&entry_text, "Exec", '=').context("no Exec")?;
    assert_eq!(
        exec.split_whitespace().next(),
        Some("leapfrog"),
        "{entry_text}"
    );
    let icon = field(&entry_text, "Icon", '=').context("no Icon")?;
    for size in ICON_SIZES {
        let png = data.join(format!(
            "usr/share/icons/hicolor/{size}x{size}/apps/{icon}.png"
        ));
        ensure!(png.is_file(), "no {size}x{size} icon: {}", png.display());
        assert_eq!(png_size(&png)?, (size, size), "{}", png.display());
    }

    // The .rpm, when the bundler made one, is only checked where `rpm` is installed (Debian
    // machines usually lack it); otherwise nothing is asserted about it.
    if let Some(rpm) = packages
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "rpm"))
    {
        if Command::new("rpm")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok()
        {
            let files = run(Command::new("rpm").arg("-qlp").arg(rpm))?;
            for path in [
                "/usr/bin/leapfrog",
                "/usr/bin/leap",
                "/usr/share/man/man1/leap.1.gz",
            ] {
                assert!(
                    files.lines().any(|l| l == path),
                    "{path} not in the rpm:\n{files}"
                );
            }
        } else {
            eprintln!("package: rpm not installed; {} not checked", rpm.display());
        }
    }
    Ok(())
}
