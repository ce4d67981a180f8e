//! Usage limits: when a CLI says its account's limit is reached, and until when.
//!
//! Pure over text, with the clock passed in. The phrases are the pinned CLIs' own (Claude Code
//! 2.1.332, Codex 0.171.0, read off their screens against the scripted model endpoint):
//!
//! | CLI    | with a reset time                                                   | without one                                      |
//! |--------|---------------------------------------------------------------------|--------------------------------------------------|
//! | Claude | `You've hit your 5-hour limit · resets 7:46pm (UTC)`, `… resets Dec 10, 10:53am (UTC)` | `You've hit your 5-hour limit`, `API Error: Request rejected (429)` |
//! | Codex  | `You’ve hit your usage limit. Try again at 9:18 PM.`, `… at Dec 5th, 2026 7:46 PM.` | `… Try again later.`, `exceeded retry limit, last status: 429` |
//!
//! Claude Code also sends the same text in its `StopFailure` hook (`error: "rate_limit"`,
//! `last_assistant_message`); Codex's notify does not fire for a failed turn, so its screen is
//! the only signal. Both CLIs print times in the local time zone of their process, which is
//! Leapfrog's: a time without a date is its next occurrence.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use regex::Regex;

use crate::model::CliKind;

/// A usage limit a CLI reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageLimit {
    /// When the limit resets, when the CLI said (to the minute it showed).
    pub until: Option<SystemTime>,
    /// What the CLI said, from the limit's first word to the end of its line (without the
    /// screen's decoration, so the hook's text and the screen's line read the same).
    pub line: String,
}

impl UsageLimit {
    /// The status reason the agent shows: `limited until 19:46` (local time), or what to do.
    pub fn reason(&self) -> String {
        match self.until {
            Some(t) => format!("limited until {}", local_hh_mm(t)),
            None => "limited: usage limit reached with no reset time; resume the agent when it \
                     can work again"
                .into(),
        }
    }
}

/// How many non-blank lines, from the bottom of the screen, may hold the limit line: below it
/// there is only the CLI's input box and status bar.
const TAIL: usize = 10;

fn claude_reset() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)you['’]ve hit your .*?limit(?: · resets (?:(?P<mon>[a-z]{3}) (?P<day>\d{1,2}), )?(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ap>[ap]m))?",
        )
        .expect("regex")
    })
}

fn codex_reset() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)you['’]ve hit your usage limit\.(?: try again at (?:(?P<mon>[a-z]{3}) (?P<day>\d{1,2})(?:st|nd|rd|th)?, (?P<year>\d{4}) )?(?P<h>\d{1,2}):(?P<m>\d{2})\s*(?P<ap>[ap]m))?",
        )
        .expect("regex")
    })
}

/// Limits with no reset time that are not phrased as a usage limit.
fn no_reset_phrases(cli: CliKind) -> &'static [&'static str] {
    match cli {
        CliKind::ClaudeCode => &["api error: request rejected (429)"],
        CliKind::Codex => &["exceeded retry limit, last status: 429"],
        _ => &[],
    }
}

/// The limit one line of text reports, if any.
pub fn limit_in_line(cli: CliKind, line: &str, now: SystemTime) -> Option<UsageLimit> {
    let re = match cli {
        CliKind::ClaudeCode => claude_reset(),
        CliKind::Codex => codex_reset(),
        _ => {
            let lower = line.to_lowercase();
            return (lower.contains("usage limit") && lower.contains("reached")).then(|| {
                UsageLimit {
                    until: None,
                    line: line.trim().to_string(),
                }
            });
        }
    };
    let line = line.trim();
    if let Some(c) = re.captures(line) {
        let until = c.name("h").and_then(|h| {
            let mut hour: u32 = h.as_str().parse().ok()?;
            let minute: u32 = c.name("m").map_or(Some(0), |m| m.as_str().parse().ok())?;
            let pm = c.name("ap")?.as_str().eq_ignore_ascii_case("pm");
            if hour == 12 {
                hour = 0;
            }
            if pm {
                hour += 12;
            }
            let date = match (c.name("mon"), c.name("day")) {
                (Some(mon), Some(day)) => Some((
                    c.name("year").and_then(|y| y.as_str().parse().ok()),
                    month_index(mon.as_str())?,
                    day.as_str().parse().ok()?,
                )),
                _ => None,
            };
            reset_instant(now, date, hour, minute)
        });
        let start = c.get(0).map_or(0, |m| m.start());
        return Some(UsageLimit {
            until,
            line: line[start..].trim().to_string(),
        });
    }
    let lower = line.to_lowercase();
    no_reset_phrases(cli).iter().find_map(|p| {
        // Lower-casing keeps these ASCII phrases at the same byte offsets.
        let start = lower.find(p)?;
        Some(UsageLimit {
            until: None,
            line: line.get(start..).unwrap_or(line).trim().to_string(),
        })
    })
}

/// The limit the bottom of a screen reports (the newest one, nearest the bottom).
pub fn limit_on_screen(cli: CliKind, screen: &str, now: SystemTime) -> Option<UsageLimit> {
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(TAIL)..]
        .iter()
        .rev()
        .find_map(|l| limit_in_line(cli, l, now))
}

/// The limit in a text of several lines (a hook's `last_assistant_message`).
pub fn limit_in_text(cli: CliKind, text: &str, now: SystemTime) -> Option<UsageLimit> {
    text.lines().find_map(|l| limit_in_line(cli, l, now))
}

fn month_index(mon: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let m = mon.to_lowercase();
    MONTHS.iter().position(|x| *x == m).map(|i| i as u32)
}

/// The instant of `hour:minute` local time: on `date` (year, month 0-11, day) when given (the
/// next year when that date has passed and no year was given), else the next time the clock shows
/// it (today or tomorrow). A time up to two minutes ago is that time, just passed.
fn reset_instant(
    now: SystemTime,
    date: Option<(Option<i32>, u32, u32)>,
    hour: u32,
    minute: u32,
) -> Option<SystemTime> {
    let today = local_tm(now)?;
    let (year, month, day) = match date {
        Some((y, m, d)) => (y.unwrap_or(today.tm_year + 1900), m as i32, d as i32),
        None => (today.tm_year + 1900, today.tm_mon, today.tm_mday),
    };
    let at = |year: i32, day: i32| local_instant(year, month, day, hour as i32, minute as i32);
    let t = at(year, day)?;
    // A CLI shows its reset to the minute: "9:35 PM" said at 21:35:40 is this minute, not
    // tomorrow's.
    if t + Duration::from_secs(120) > now {
        return Some(t);
    }
    match date {
        None => at(year, day + 1),
        Some((None, ..)) => at(year + 1, day),
        Some((Some(_), ..)) => Some(t),
    }
}

fn local_tm(t: SystemTime) -> Option<libc::tm> {
    let secs = t.duration_since(UNIX_EPOCH).ok()?.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes the broken-down time into `tm`, which lives on this stack.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return None;
        }
        Some(tm)
    }
}

/// A local date and time as an instant (`mktime` normalises a day past the month's end).
fn local_instant(year: i32, month: i32, day: i32, hour: i32, minute: i32) -> Option<SystemTime> {
    // SAFETY: a zeroed `tm` with its date and time fields set is a valid mktime argument.
    let secs = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_year = year - 1900;
        tm.tm_mon = month;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = minute;
        tm.tm_isdst = -1;
        libc::mktime(&mut tm)
    };
    (secs >= 0).then(|| UNIX_EPOCH + Duration::from_secs(secs as u64))
}

/// `HH:MM` of an instant in local time.
pub fn local_hh_mm(t: SystemTime) -> String {
    match local_tm(t) {
        Some(tm) => format!("{:02}:{:02}", tm.tm_hour, tm.tm_min),
        None => "?".into(),
    }
}
