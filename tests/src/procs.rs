//! The processes under a root (an app and its agents), for benchmarks: by `/proc`.

use std::collections::HashMap;

use anyhow::Result;

/// What `/proc/<pid>/stat` (or a thread's) says that benchmarks use.
struct Stat {
    comm: String,
    ppid: u32,
    /// CPU seconds (user + system) used by the process itself.
    own: f64,
    /// CPU seconds used by the children it has reaped.
    reaped: f64,
}

fn read_stat(path: &std::path::Path) -> Option<Stat> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name is in parentheses and may hold spaces; the fields follow the last `)`.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let f: Vec<&str> = stat.get(close + 2..)?.split(' ').collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf takes a plain integer.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    // After the `)`: state ppid ...; utime stime cutime cstime are fields 11 to 14.
    Some(Stat {
        comm: stat[open + 1..close].to_string(),
        ppid: n(1) as u32,
        own: (n(11) + n(12)) / hz,
        reaped: (n(13) + n(14)) / hz,
    })
}

/// Pids and command names of `root` and all its descendants.
pub fn process_tree(root: u32) -> Result<Vec<(u32, String)>> {
    let mut procs = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some(st) = read_stat(&entry.path().join("stat")) {
            procs.push((pid, st.ppid, st.comm));
        }
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
    let mut out = HashMap::new();
    for (pid, comm) in process_tree(root)? {
        if !matches!(
            comm.as_str(),
            "leapfrog" | "WebKitWebProces" | "WebKitNetworkPr"
        ) {
            continue;
        }
        if let Some(st) = read_stat(std::path::Path::new(&format!("/proc/{pid}/stat"))) {
            *out.entry(comm).or_default() += st.own;
        }
    }
    Ok(out)
}

/// CPU seconds (user + system) of every process on the machine, by pid and command name, with the
/// CPU of the children each has reaped (so a shell's finished pipeline counts), and the machine's
/// total busy and idle seconds (`/proc/stat`). Two snapshots make [`CpuSnapshot::since`].
#[derive(Debug, Clone, Default)]
pub struct CpuSnapshot {
    /// By pid: command name (as now: a kernel worker renames itself), own and reaped CPU.
    procs: HashMap<u32, (String, f64, f64)>,
    threads: HashMap<String, f64>,
    busy: f64,
    idle: f64,
}

impl CpuSnapshot {
    /// Every process now; `threads_of` also splits that process's CPU by thread name (digits
    /// dropped, so `pty-read-3` and `pty-read-4` add up).
    pub fn take(threads_of: Option<u32>) -> CpuSnapshot {
        let mut snap = CpuSnapshot::default();
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                if let Some(st) = read_stat(&entry.path().join("stat")) {
                    snap.procs.insert(pid, (st.comm, st.own, st.reaped));
                }
            }
        }
        if let Some(pid) = threads_of {
            if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
                for t in dir.flatten() {
                    if let Some(st) = read_stat(&t.path().join("stat")) {
                        let name: String =
                            st.comm.chars().filter(|c| !c.is_ascii_digit()).collect();
                        *snap.threads.entry(name).or_default() += st.own;
                    }
                }
            }
        }
        // SAFETY: sysconf takes a plain integer.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        if let Ok(stat) = std::fs::read_to_string("/proc/stat") {
            if let Some(cpu) = stat.lines().next() {
                let v: Vec<f64> = cpu
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|x| x.parse().ok())
                    .collect();
                // user nice system idle iowait irq softirq steal ...
                let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
                snap.idle = idle / hz;
                snap.busy = v.iter().take(8).sum::<f64>() / hz - snap.idle;
            }
        }
        snap
    }

    /// What ran between `before` and this snapshot, in cores over `wall` seconds: by command name
    /// (a process's own CPU plus what its reaped children used, biggest first), the threads of the
    /// process named at `take`, and the machine's busy and idle cores.
    pub fn since(&self, before: &CpuSnapshot, wall: f64) -> CpuUse {
        let mut by_name: HashMap<String, f64> = HashMap::new();
        for (pid, (comm, own, reaped)) in &self.procs {
            let (own0, reaped0) = before.procs.get(pid).map_or((0.0, 0.0), |p| (p.1, p.2));
            let used = (own - own0) + (reaped - reaped0);
            if used > 0.0 {
                *by_name.entry(comm.clone()).or_default() += used / wall;
            }
        }
        let mut processes: Vec<(String, f64)> = by_name.into_iter().collect();
        processes.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut threads: Vec<(String, f64)> = self
            .threads
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    (v - before.threads.get(k).unwrap_or(&0.0)) / wall,
                )
            })
            .filter(|(_, v)| *v > 0.0)
            .collect();
        threads.sort_by(|a, b| b.1.total_cmp(&a.1));
        CpuUse {
            processes,
            threads,
            busy: (self.busy - before.busy) / wall,
            idle: (self.idle - before.idle) / wall,
        }
    }
}

/// CPU use between two [`CpuSnapshot`]s, in cores.
#[derive(Debug, Clone, Default)]
pub struct CpuUse {
    pub processes: Vec<(String, f64)>,
    pub threads: Vec<(String, f64)>,
    pub busy: f64,
    pub idle: f64,
}

impl CpuUse {
    /// The cores the processes with these command names used.
    pub fn cores_of(&self, names: &[&str]) -> f64 {
        self.processes
            .iter()
            .filter(|(name, _)| names.contains(&name.as_str()))
            .map(|(_, cores)| cores)
            .sum()
    }
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "machine busy {:.2}, idle {:.2} cores;",
            self.busy, self.idle
        )?;
        for (name, cores) in self.processes.iter().take(6) {
            write!(f, " {name} {cores:.2}")?;
        }
        if !self.threads.is_empty() {
            write!(f, "; threads:")?;
            for (name, cores) in self.threads.iter().take(6) {
                write!(f, " {name} {cores:.2}")?;
            }
        }
        Ok(())
    }
}
