//! `scripted-model --script FILE.json [--port N]`: serves the scripted model endpoint of
//! [`leapfrog_e2e::model`] for manual runs of the real agent CLIs.
//!
//! FILE.json is `{"<agent>": {"rules": [...]}, ...}` (`""`: the script of un-prefixed `/v1`
//! paths). Prints `MODEL_URL=http://127.0.0.1:PORT` on stdout, then serves until killed, logging
//! one line per request to stderr. Point an agent at `$MODEL_URL/agent/<agent>`.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{bail, Context, Result};
use leapfrog_e2e::model::{ModelEndpoint, Script};

const USAGE: &str = "usage: scripted-model --script FILE.json [--port N]";

fn main() -> Result<()> {
    let mut script = None;
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        match name.as_str() {
            "--script" => script = Some(value()?),
            "--port" => port = value()?.parse().context("--port: not a port number")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => bail!("unknown argument {arg:?}\n{USAGE}"),
        }
    }
    let Some(script) = script else {
        bail!("{USAGE}");
    };
    let text = std::fs::read_to_string(&script).with_context(|| format!("reading {script}"))?;
    let scripts: BTreeMap<String, Script> =
        serde_json::from_str(&text).with_context(|| format!("parsing {script}"))?;
    let endpoint = ModelEndpoint::start_on(port, scripts, true)?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "MODEL_URL={}", endpoint.url())?;
    stdout.flush()?;
    loop {
        std::thread::park();
    }
}
