//! An independent checker of a simulated schedule against the contract
//! (`shared/design/pipeline.md`). It reads the workload's plain data and the output JSON and
//! re-derives every rule itself; it shares no logic with the scheduler.

#![allow(clippy::needless_range_loop)] // indexes mirror the contract's batch numbers

use std::collections::BTreeMap;

use leapfrog_engine::scheduler::Workload;
use serde_json::Value;

const EPS: f64 = 1e-6;

#[derive(Debug, Clone)]
struct R {
    agent: Option<String>,
    phase: String,
    batch: Option<u64>,
    /// Only on a `plan(m)` row (rule 9).
    milestone: Option<u64>,
    start: f64,
    end: f64,
}

impl R {
    fn dur(&self) -> f64 {
        self.end - self.start
    }
}

fn role_of(phase: &str) -> &str {
    match phase {
        "recheck" => "design",
        other => other,
    }
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= EPS * (1.0 + a.abs().max(b.abs()))
}

/// Every rule of the contract the schedule breaks, one line each (empty: valid).
pub fn validate_schedule(w: &Workload, out: &Value) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    let Some(rows_json) = out["schedule"].as_array() else {
        return vec!["no `schedule` array".into()];
    };
    let mut rows = Vec::new();
    for (i, r) in rows_json.iter().enumerate() {
        let agent = match &r["agent"] {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => {
                v.push(format!(
                    "row {i}: agent {other} is neither a string nor null"
                ));
                continue;
            }
        };
        let (Some(phase), Some(start), Some(end)) =
            (r["phase"].as_str(), r["start"].as_f64(), r["end"].as_f64())
        else {
            v.push(format!("row {i}: missing phase, start or end"));
            continue;
        };
        let batch = match &r["batch"] {
            Value::Null => None,
            b => match b.as_u64() {
                Some(b) => Some(b),
                None => {
                    v.push(format!("row {i}: batch {b} is not a number or null"));
                    continue;
                }
            },
        };
        if start < -EPS || end + EPS < start {
            v.push(format!("row {i}: bad interval {start}..{end}"));
        }
        let milestone = match &r["milestone"] {
            Value::Null => None,
            m => match m.as_u64() {
                Some(m) => Some(m),
                None => {
                    v.push(format!("row {i}: milestone {m} is not a number"));
                    continue;
                }
            },
        };
        rows.push(R {
            agent,
            phase: phase.to_string(),
            batch,
            milestone,
            start,
            end,
        });
    }

    let n = w.batches.len();
    let agents: BTreeMap<&str, Vec<&str>> = w
        .agents
        .iter()
        .map(|a| (a.id.as_str(), a.roles.iter().map(|r| r.as_str()).collect()))
        .collect();

    // ---- classify rows ----
    let mut preamble: Vec<&R> = Vec::new();
    let mut plans: BTreeMap<u64, Vec<&R>> = BTreeMap::new();
    let mut verifies: BTreeMap<u64, Vec<&R>> = BTreeMap::new();
    let mut per_batch: BTreeMap<(u64, &str), Vec<&R>> = BTreeMap::new();
    for r in &rows {
        if r.phase == "verify" {
            if r.agent.is_some() {
                v.push(format!("verify {:?} runs on an agent", r.batch));
            }
            match r.batch {
                Some(m) => verifies.entry(m).or_default().push(r),
                None => v.push("verify row without a sync number".into()),
            }
            continue;
        }
        match &r.agent {
            None => v.push(format!("{} {:?} has no agent", r.phase, r.batch)),
            Some(a) => match agents.get(a.as_str()) {
                None => v.push(format!("{} {:?} on unknown agent {a}", r.phase, r.batch)),
                Some(roles) if !roles.contains(&role_of(&r.phase)) => v.push(format!(
                    "{} {:?} on agent {a}, which lacks the role",
                    r.phase, r.batch
                )),
                _ => {}
            },
        }
        if let Some(m) = r.milestone {
            if r.phase != "plan" || r.batch.is_some() {
                v.push(format!(
                    "{} {:?} names milestone {m}: only plan rows (batch null) do",
                    r.phase, r.batch
                ));
            }
            plans.entry(m).or_default().push(r);
            continue;
        }
        match r.batch {
            None => preamble.push(r),
            Some(b) if b >= 1 && (b as usize) <= n => {
                match r.phase.as_str() {
                    "design" | "build" | "review" | "fix" | "qa" | "recheck" => {}
                    other => v.push(format!("unknown phase {other} for batch {b}")),
                }
                per_batch.entry((b, leak(&r.phase))).or_default().push(r);
            }
            Some(b) => v.push(format!("{} names batch {b}, which does not exist", r.phase)),
        }
    }
    for list in per_batch.values_mut() {
        list.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.end.total_cmp(&b.end)));
    }
    let get = |b: usize, k: &str| -> Vec<&R> {
        per_batch.get(&(b as u64, k)).cloned().unwrap_or_default()
    };

    // ---- each phase exactly once, with its duration ----
    preamble.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.end.total_cmp(&b.end)));
    if preamble.len() != w.preamble.len() {
        v.push(format!(
            "{} preamble rows, expected {}",
            preamble.len(),
            w.preamble.len()
        ));
    } else {
        for (i, (r, p)) in preamble.iter().zip(&w.preamble).enumerate() {
            if r.phase != p.phase.as_str() || !near(r.dur(), p.minutes) {
                v.push(format!(
                    "preamble {i}: {} for {} min, expected {} for {} min",
                    r.phase,
                    r.dur(),
                    p.phase.as_str(),
                    p.minutes
                ));
            }
            if i > 0 && r.start + EPS < preamble[i - 1].end {
                v.push(format!(
                    "preamble {i} starts before preamble {} ends",
                    i - 1
                ));
            }
        }
    }
    let mut accepted = vec![0.0f64; n + 1];
    let mut design_end = vec![0.0f64; n + 1];
    let mut build_start = vec![0.0f64; n + 1];
    let mut build_end = vec![0.0f64; n + 1];
    // (failing batch, time its review failed)
    let mut failures: Vec<(usize, f64)> = Vec::new();
    let mut complete = true;
    for b in 1..=n {
        let spec = &w.batches[b - 1];
        let once = |v: &mut Vec<String>, k: &str, d: f64| -> Option<(f64, f64)> {
            let list = get(b, k);
            if list.len() != 1 {
                v.push(format!("{k}({b}) runs {} times, expected once", list.len()));
                return None;
            }
            if !near(list[0].dur(), d) {
                v.push(format!("{k}({b}) lasts {}, expected {d}", list[0].dur()));
            }
            Some((list[0].start, list[0].end))
        };
        let design = once(&mut v, "design", spec.design);
        let build = once(&mut v, "build", spec.build);
        let (Some(design), Some(build)) = (design, build) else {
            complete = false;
            continue;
        };
        design_end[b] = design.1;
        build_start[b] = build.0;
        build_end[b] = build.1;
        let reviews = get(b, "review");
        let fixes = get(b, "fix");
        let f = spec.review_fails as usize;
        if reviews.len() != f + 1 || fixes.len() != f {
            v.push(format!(
                "batch {b}: {} reviews and {} fixes, expected {} and {f}",
                reviews.len(),
                fixes.len(),
                f + 1
            ));
            complete = false;
            continue;
        }
        for r in &reviews {
            if !near(r.dur(), spec.review) {
                v.push(format!(
                    "review({b}) lasts {}, expected {}",
                    r.dur(),
                    spec.review
                ));
            }
        }
        for r in &fixes {
            if !near(r.dur(), spec.fix) {
                v.push(format!("fix({b}) lasts {}, expected {}", r.dur(), spec.fix));
            }
        }
        // review, fix, review, ..., review; each after the one before; the first after build.
        let mut prev_end = build.1;
        for i in 0..=f {
            let r = reviews[i];
            if r.start + EPS < prev_end {
                v.push(format!(
                    "review({b}) #{} starts before its build/fix ends",
                    i + 1
                ));
            }
            prev_end = r.end;
            if i < f {
                failures.push((b, r.end));
                let x = fixes[i];
                if x.start + EPS < r.end {
                    v.push(format!(
                        "fix({b}) #{} starts before the failed review ends",
                        i + 1
                    ));
                }
                prev_end = x.end;
            }
        }
        let qa = get(b, "qa");
        let mut acc = prev_end;
        if spec.qa > 0.0 {
            match once(&mut v, "qa", spec.qa) {
                Some((s, e)) => {
                    if s + EPS < prev_end {
                        v.push(format!("qa({b}) starts before the passing review ends"));
                    }
                    acc = e;
                }
                None => complete = false,
            }
        } else if !qa.is_empty() {
            v.push(format!("qa({b}) runs but the workload has no qa for it"));
        }
        accepted[b] = acc;
        if design.1 + EPS < design.0 || build.0 + EPS < design.1 {
            v.push(format!("build({b}) starts before design({b}) ends"));
        }
    }
    if !complete {
        return v;
    }

    // ---- sync points ----
    let k = w.sync_every.unwrap_or(0) as usize;
    let regular = n.checked_div(k).unwrap_or(0);
    let syncs = if k > 0 {
        regular + usize::from(!n.is_multiple_of(k))
    } else {
        usize::from(w.verify_minutes > 0.0)
    };
    let needs = |m: usize| if m <= regular { m * k } else { n };
    let mut verify_end = vec![0.0f64; syncs + 1];
    for (&m, list) in &verifies {
        if m == 0 || m as usize > syncs {
            v.push(format!(
                "verify({m}) is not a sync point (expected 1..={syncs})"
            ));
        }
        if list.len() != 1 {
            v.push(format!("verify({m}) runs {} times", list.len()));
        }
    }
    for m in 1..=syncs {
        let Some(list) = verifies.get(&(m as u64)) else {
            v.push(format!("verify({m}) missing"));
            continue;
        };
        let r = list[0];
        if !near(r.dur(), w.verify_minutes) {
            v.push(format!("verify({m}) lasts {}", r.dur()));
        }
        let ready = (1..=needs(m)).map(|c| accepted[c]).fold(0.0, f64::max);
        if r.start + EPS < ready {
            v.push(format!(
                "verify({m}) starts before batches 1..{} are accepted",
                needs(m)
            ));
        }
        if r.start > ready + EPS {
            v.push(format!(
                "verify({m}) idles: ready at {ready}, starts at {}",
                r.start
            ));
        }
        verify_end[m] = r.end;
    }

    // ---- re-checks (cascade) ----
    let mut recheck_end = vec![0.0f64; n + 1];
    let mut recheck_last_start = vec![None::<f64>; n + 1];
    for c in 1..=n {
        let list = get(c, "recheck");
        if list.is_empty() {
            continue;
        }
        if w.recheck <= 0.0 {
            v.push(format!(
                "recheck({c}) runs though recheck is 0 (documented: omitted)"
            ));
        }
        let justified = failures
            .iter()
            .filter(|&&(b, t)| b < c && design_end[c] <= t + EPS && t <= build_start[c] + EPS)
            .count();
        if list.len() > justified {
            v.push(format!(
                "recheck({c}) runs {} times, only {justified} failed reviews flag it",
                list.len()
            ));
        }
        for r in &list {
            if !near(r.dur(), w.recheck) {
                v.push(format!("recheck({c}) lasts {}", r.dur()));
            }
            recheck_end[c] = recheck_end[c].max(r.end);
            recheck_last_start[c] = Some(r.start);
        }
        if build_start[c] + EPS < recheck_end[c] {
            v.push(format!("build({c}) starts before its re-check ends"));
        }
    }
    if w.recheck > 0.0 {
        for &(b, t) in &failures {
            for c in b + 1..=n {
                if design_end[c] < t - EPS && build_start[c] > t + EPS {
                    let ok = get(c, "recheck").iter().any(|r| r.start + EPS >= t);
                    if !ok {
                        v.push(format!(
                            "review({b}) failed at {t} but batch {c} (designed, not built) got no re-check"
                        ));
                    }
                }
            }
        }
    }

    // ---- dependencies, and the time each phase became ready ----
    let last_preamble = preamble.last().map(|r| r.end).unwrap_or(0.0);
    let mut ready_at: Vec<(&R, f64)> = Vec::new();
    for (i, r) in preamble.iter().enumerate() {
        ready_at.push((r, if i == 0 { 0.0 } else { preamble[i - 1].end }));
    }

    // ---- milestones (rule 9) ----
    // plan_end[b]: the end of the plan(m) batch b's design waits for (b first of milestone m).
    let mut plan_end = vec![0.0f64; n + 1];
    let milestones = w.milestones.len().max(1);
    for &m in plans.keys() {
        if m < 2 || m as usize > milestones {
            v.push(format!(
                "plan(milestone {m}) runs, but the workload's milestones needing a plan are 2..={milestones}"
            ));
        }
    }
    let mut first = 1usize;
    let mut prev_plan_end = last_preamble;
    for m in 1..=milestones {
        if m >= 2 {
            let Some(list) = plans.get(&(m as u64)) else {
                v.push(format!("plan({m}) missing"));
                return v;
            };
            if list.len() != 1 {
                v.push(format!(
                    "plan({m}) runs {} times, expected once",
                    list.len()
                ));
            }
            let r = list[0];
            let minutes = w.milestones[m - 1].plan;
            if !near(r.dur(), minutes) {
                v.push(format!("plan({m}) lasts {}, expected {minutes}", r.dur()));
            }
            let ready = prev_plan_end.max(design_end[first - 1]);
            if r.start + EPS < ready {
                v.push(format!(
                    "plan({m}) starts at {} before plan({}) / the preamble and design({}) end ({ready})",
                    r.start,
                    m - 1,
                    first - 1
                ));
            }
            ready_at.push((r, ready));
            plan_end[first] = r.end;
            prev_plan_end = r.end;
        }
        first += w.milestones.get(m - 1).map_or(n, |x| x.batches as usize);
    }
    for b in 1..=n {
        let spec = &w.batches[b - 1];
        let d = get(b, "design")[0];
        let mut ready = if b == 1 {
            last_preamble
        } else {
            design_end[b - 1]
        };
        if let Some(l) = w.lookahead {
            let l = l as usize;
            if b > l + 1 {
                ready = ready.max(accepted[b - l - 1]);
            }
        }
        ready = ready.max(plan_end[b]);
        if d.start + EPS < ready {
            v.push(format!(
                "design({b}) starts at {} before it may (design chain / lookahead / plan: {ready})",
                d.start
            ));
        }
        ready_at.push((d, ready));

        let bu = get(b, "build")[0];
        let mut ready = design_end[b];
        let after: Vec<usize> = match &spec.builds_after {
            None if b > 1 => vec![b - 1],
            None => vec![],
            Some(list) => list.iter().map(|&a| a as usize).collect(),
        };
        for a in after {
            if a >= b || a == 0 {
                v.push(format!("batch {b} builds after {a}, not an earlier batch"));
                continue;
            }
            ready = ready.max(build_end[a]);
        }
        for m in 1..=regular.min(syncs) {
            if m * k < b {
                ready = ready.max(verify_end[m]);
            }
        }
        ready = ready.max(recheck_end[b]);
        if bu.start + EPS < ready {
            v.push(format!(
                "build({b}) starts at {} before it may ({ready})",
                bu.start
            ));
        }
        ready_at.push((bu, ready));

        let reviews = get(b, "review");
        let fixes = get(b, "fix");
        for (i, r) in reviews.iter().enumerate() {
            ready_at.push((
                r,
                if i == 0 {
                    build_end[b]
                } else {
                    fixes[i - 1].end
                },
            ));
        }
        for (i, x) in fixes.iter().enumerate() {
            ready_at.push((x, reviews[i].end));
        }
        if let Some(q) = get(b, "qa").first() {
            ready_at.push((q, reviews.last().unwrap().end));
        }
    }

    // ---- no agent double-booked ----
    let mut by_agent: BTreeMap<&str, Vec<&R>> = BTreeMap::new();
    for r in &rows {
        if let Some(a) = &r.agent {
            by_agent.entry(a.as_str()).or_default().push(r);
        }
    }
    for (a, list) in by_agent.iter_mut() {
        list.sort_by(|x, y| x.start.total_cmp(&y.start).then(x.end.total_cmp(&y.end)));
        for pair in list.windows(2) {
            if pair[1].start + EPS < pair[0].end {
                v.push(format!(
                    "agent {a} double-booked: {} {:?} and {} {:?}",
                    pair[0].phase, pair[0].batch, pair[1].phase, pair[1].batch
                ));
            }
        }
    }

    // ---- never idle an agent while a phase it can run is ready ----
    for (r, ready) in &ready_at {
        if r.start <= ready + EPS {
            continue;
        }
        for (a, roles) in &agents {
            if !roles.contains(&role_of(&r.phase)) {
                continue;
            }
            // is agent `a` busy over all of [ready, r.start)?
            let mut t = *ready;
            for x in by_agent.get(a).into_iter().flatten() {
                if x.end <= t + EPS || x.start > r.start {
                    continue;
                }
                if x.start > t + EPS {
                    break;
                }
                t = t.max(x.end);
            }
            if t + EPS < r.start {
                v.push(format!(
                    "agent {a} idle at {t} while {} {:?} was ready (since {ready}, started {})",
                    r.phase, r.batch, r.start
                ));
            }
        }
    }

    // ---- totals ----
    let sum: f64 = rows.iter().map(R::dur).sum();
    let expected_sum: f64 = w.preamble.iter().map(|p| p.minutes).sum::<f64>()
        + w.batches
            .iter()
            .map(|b| {
                b.design
                    + b.build
                    + b.review * (b.review_fails as f64 + 1.0)
                    + b.fix * b.review_fails as f64
                    + b.qa
            })
            .sum::<f64>()
        + w.verify_minutes * syncs as f64
        + w.milestones.iter().skip(1).map(|m| m.plan).sum::<f64>()
        + w.recheck * (1..=n).map(|c| get(c, "recheck").len()).sum::<usize>() as f64;
    let seq = out["sequential_minutes"].as_f64().unwrap_or(f64::NAN);
    let par = out["parallel_minutes"].as_f64().unwrap_or(f64::NAN);
    let savings = out["savings"].as_f64().unwrap_or(f64::NAN);
    let bound = out["lower_bound_minutes"].as_f64().unwrap_or(f64::NAN);
    if !near(seq, sum) || !near(seq, expected_sum) {
        v.push(format!(
            "sequential_minutes {seq}, rows sum to {sum}, durations to {expected_sum}"
        ));
    }
    let last_end = rows.iter().map(|r| r.end).fold(0.0, f64::max);
    if !near(par, last_end) {
        v.push(format!(
            "parallel_minutes {par}, last row ends at {last_end}"
        ));
    }
    let expect_savings = if seq > 0.0 { 1.0 - par / seq } else { 0.0 };
    if !near(savings, expect_savings) {
        v.push(format!("savings {savings}, expected {expect_savings}"));
    }
    if bound.is_nan() || bound > par + EPS {
        v.push(format!("lower bound {bound} above the makespan {par}"));
    }
    // an independent, simpler bound must not exceed the reported one by much: the reported bound
    // includes the critical path of designs and each agent's own load.
    let designs: f64 = w.preamble.iter().map(|p| p.minutes).sum::<f64>()
        + w.batches.iter().map(|b| b.design).sum::<f64>();
    let simple = designs + w.batches.last().map(|b| b.build + b.review).unwrap_or(0.0);
    if bound + EPS < simple {
        v.push(format!(
            "lower bound {bound} below the design chain's {simple}"
        ));
    }
    v
}

fn leak(s: &str) -> &'static str {
    match s {
        "design" => "design",
        "build" => "build",
        "review" => "review",
        "fix" => "fix",
        "qa" => "qa",
        "recheck" => "recheck",
        _ => "other",
    }
}
