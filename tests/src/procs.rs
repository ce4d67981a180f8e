//! The processes under a root (an app and its agents), for benchmarks: by `/proc`.

use std::collections::HashMap;

use anyhow::Result;

/// Pids and command names of `root` and all its descendants.
pub fn process_tree(root: u32) -> Result<Vec<(u32, String)>> {
    let mut procs = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the `(comm)`: state ppid pgrp ...
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let comm = stat[stat.find('(').unwrap_or(0) + 1..close].to_string();
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        let ppid = fields
            .get(1)
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0);
        procs.push((pid, ppid, comm));
    }
    let mut tree = vec![root];
    let mut grew = true;
    while grew {
        grew = false;
        for (pid, ppid, _) in &procs {
            if tree.contains(ppid) && !tree.contains(pid) {
                tree.push(*pid);
                grew = true;
            }
        }
    }
    Ok(procs
        .into_iter()
        .filter(|p| tree.contains(&p.0))
        .map(|(pid, _, comm)| (pid, comm))
        .collect())
}

/// PSS in kB of `root` and all its descendants, by command name.
pub fn pss_by_process(root: u32) -> Result<Vec<(u32, String, u64)>> {
    let mut out = Vec::new();
    for (pid, comm) in process_tree(root)? {
        let Ok(rollup) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
            continue;
        };
        let pss = rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        out.push((pid, comm, pss));
    }
    Ok(out)
}

/// CPU seconds (user + system) used so far by `root` and its descendants, by command name
/// (the pane's shells and the flood's own processes left out).
pub fn cpu_by_name(root: u32) -> Result<HashMap<String, f64>> {
    // SAFETY: sysconf takes a plain integer.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let mut out = HashMap::new();
    for (pid, comm) in process_tree(root)? {
        if !matches!(
            comm.as_str(),
            "leapfrog" | "WebKitWebProces" | "WebKitNetworkPr"
        ) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // utime and stime are fields 14 and 15 of stat, 11 and 12 after the `(comm)`.
        let t: f64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
            .sum();
        *out.entry(comm).or_default() += t / ticks;
    }
    Ok(out)
}
