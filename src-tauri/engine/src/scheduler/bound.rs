//! A provable lower bound on the makespan of any valid schedule of a workload.
//!
//! Build the dependency graph of every phase the workload must run (preamble, `plan(m)` of each
//! milestone after the first, designs, builds, every review and fix, qa, verifies; re-checks are left out: they only add work), with
//! `head(j)` = longest path of predecessors before `j` starts and `tail(j)` = longest path of
//! successors after `j` ends. Then:
//!
//! * **critical path**: `max_j head(j) + p(j) + tail(j)`;
//! * **agent groups**: for a set `S` of agents, let `J` be the phases only agents of `S` can run.
//!   Every phase `j` of `J` runs inside `[head(j), C - tail(j)]`, so for any thresholds `h`, `q`
//!   the phases with `head >= h` and `tail >= q` all run inside `[h, C - q]` on at most `|S|`
//!   agents: `C >= h + q + sum(p) / |S|`. Maximised over thresholds (all pairs for small `J`,
//!   one threshold at a time for large ones) and over every set of agents (every subset up to 10
//!   agents; beyond that the capability sets and all agents).
//! * **sync segments**: every verify `V` starts after the group phases that lead to it, and the
//!   group phases that descend from it start after it ends; chaining lower bounds on each verify's
//!   end from one sync point to the next catches the waits a builder cannot avoid at every sync
//!   point (`sync_chain_bound`; skipped on very large workloads to stay cheap).
//!
//! All hold for preemptive schedules too, so for every valid schedule.

use super::workload::Workload;

struct Node {
    dur: f64,
    /// Agents able to run it (bit per agent, up to 64), 0 for a verify.
    mask: u64,
    preds: Vec<usize>,
}

/// The lower bound in minutes.
pub fn lower_bound(w: &Workload) -> f64 {
    let (nodes, verifies, phases) = graph(w);
    let len = nodes.len();
    let mut head = vec![0.0f64; len];
    for i in 0..len {
        for &p in &nodes[i].preds {
            head[i] = head[i].max(head[p] + nodes[p].dur);
        }
    }
    let mut tail = vec![0.0f64; len];
    for i in (0..len).rev() {
        let t = nodes[i].dur + tail[i];
        for &p in &nodes[i].preds {
            tail[p] = tail[p].max(t);
        }
    }
    let mut bound = (0..len)
        .map(|i| head[i] + nodes[i].dur + tail[i])
        .fold(0.0, f64::max);

    let agents = w.agents.len().min(64);
    let mut groups: Vec<u64> = Vec::new();
    if agents <= 10 {
        groups.extend(1..(1u64 << agents));
    } else {
        let mut masks: Vec<u64> = nodes.iter().map(|n| n.mask).filter(|&m| m != 0).collect();
        masks.sort_unstable();
        masks.dedup();
        groups.extend(masks);
        groups.push(if agents == 64 {
            u64::MAX
        } else {
            (1u64 << agents) - 1
        });
    }
    for &s in &groups {
        let jobs: Vec<(f64, f64, f64)> = (0..len)
            .filter(|&i| nodes[i].mask != 0 && nodes[i].mask & !s == 0)
            .map(|i| (head[i], nodes[i].dur, tail[i]))
            .collect();
        if jobs.is_empty() {
            continue;
        }
        bound = bound.max(group_bound(&jobs, s.count_ones() as f64));
    }
    bound.max(sync_chain_bound(
        &nodes, phases, &head, &tail, &verifies, &groups,
    ))
}

/// Sync points cut every schedule into segments. With `E` a lower bound on the end of the
/// previous verify `V'`, the phases of an agent group that descend from `V'` and lead to the next
/// verify `V` (with at least `d(j)` of path between `j`'s end and `V`'s start) all run in
/// `[max(E, h), start(V) - min d]`, so `start(V) >= max(E, h) + sum p / |S| + min d` over
/// thresholds `h` on heads; then `end(V) >= start(V) + p(V)` is the next `E`. Phases descending
/// from `V` likewise give `C >= max(E_V, h) + sum p / |S| + min tail`.
fn sync_chain_bound(
    nodes: &[Node],
    phases: usize,
    head: &[f64],
    tail: &[f64],
    verifies: &[usize],
    groups: &[u64],
) -> f64 {
    let len = nodes.len();
    if verifies.is_empty() || verifies.len().saturating_mul(phases) > 250_000 {
        return 0.0; // keep the bound cheap on huge workloads
    }
    let mut succ = vec![Vec::new(); len];
    for (i, n) in nodes.iter().enumerate() {
        for &p in &n.preds {
            succ[p].push(i);
        }
    }
    let mut bound = 0.0f64;
    let mut end_prev = 0.0f64;
    let mut desc_prev = vec![true; len];
    for &v in verifies {
        // to_v[x]: longest path from the start of x to the start of v (x an ancestor of v).
        let mut to_v: Vec<Option<f64>> = vec![None; len];
        to_v[v] = Some(0.0);
        for x in (0..v).rev() {
            to_v[x] = succ[x]
                .iter()
                .filter_map(|&s| to_v[s])
                .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))))
                .map(|t| t + nodes[x].dur);
        }
        let mut start = head[v];
        if desc_prev[v] {
            start = start.max(end_prev);
        }
        for &g in groups {
            let jobs: Vec<(f64, f64, f64)> = (0..len)
                .filter(|&i| nodes[i].mask != 0 && nodes[i].mask & !g == 0 && desc_prev[i])
                .filter_map(|i| to_v[i].map(|t| (head[i], nodes[i].dur, t - nodes[i].dur)))
                .collect();
            start = start.max(floor_bound(jobs, end_prev, g.count_ones() as f64));
        }
        let end = start + nodes[v].dur;
        bound = bound.max(end);
        // descendants of v
        let mut desc = vec![false; len];
        desc[v] = true;
        for x in v..len {
            if desc[x] {
                for &s in &succ[x] {
                    desc[s] = true;
                }
            }
        }
        for &g in groups {
            let jobs: Vec<(f64, f64, f64)> = (0..len)
                .filter(|&i| nodes[i].mask != 0 && nodes[i].mask & !g == 0 && desc[i])
                .map(|i| (head[i], nodes[i].dur, tail[i]))
                .collect();
            bound = bound.max(floor_bound(jobs, end, g.count_ones() as f64));
        }
        end_prev = end;
        desc_prev = desc;
    }
    bound
}

/// `max over h of max(floor, h) + sum{p : head >= h} / m + min{q : head >= h}` for jobs
/// `(head, p, q)` that all start after `floor`; 0 without jobs.
fn floor_bound(mut jobs: Vec<(f64, f64, f64)>, floor: f64, m: f64) -> f64 {
    jobs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut best, mut sum, mut min_q) = (0.0f64, 0.0, f64::INFINITY);
    for (h, p, q) in jobs {
        sum += p;
        min_q = min_q.min(q);
        best = best.max(floor.max(h) + sum / m + min_q);
    }
    best
}

/// `max over h, q of h + q + sum{p : head >= h, tail >= q} / m` for jobs `(head, p, tail)`.
fn group_bound(jobs: &[(f64, f64, f64)], m: f64) -> f64 {
    let mut best = 0.0f64;
    let mut by_head: Vec<&(f64, f64, f64)> = jobs.iter().collect();
    by_head.sort_by(|a, b| b.0.total_cmp(&a.0));
    if jobs.len() <= 400 {
        // every head threshold; for each, every tail threshold.
        let mut chosen: Vec<(f64, f64)> = Vec::new(); // (tail, p) of jobs with head >= h
        for (i, j) in by_head.iter().enumerate() {
            chosen.push((j.2, j.1));
            if i + 1 < by_head.len() && by_head[i + 1].0 == j.0 {
                continue;
            }
            let h = j.0;
            chosen.sort_by(|a, b| b.0.total_cmp(&a.0));
            let mut sum = 0.0;
            for (k, &(q, p)) in chosen.iter().enumerate() {
                sum += p;
                if k + 1 < chosen.len() && chosen[k + 1].0 == q {
                    continue;
                }
                best = best.max(h + q + sum / m);
            }
        }
    } else {
        let mut sum = 0.0;
        let mut min_tail = f64::INFINITY;
        for j in &by_head {
            sum += j.1;
            min_tail = min_tail.min(j.2);
            best = best.max(j.0 + min_tail + sum / m);
        }
        let mut by_tail = by_head;
        by_tail.sort_by(|a, b| b.2.total_cmp(&a.2));
        let (mut sum, mut min_head) = (0.0, f64::INFINITY);
        for j in &by_tail {
            sum += j.1;
            min_head = min_head.min(j.0);
            best = best.max(min_head + j.2 + sum / m);
        }
    }
    best
}

/// The phases in topological order, the verify nodes in order, and how many nodes are phases.
///
/// A verify waits for every batch up to its sync point. Those edges are not listed one by one (a
/// verify after every batch would give n²/2 of them): `upto[p]`, a node of no duration that no
/// agent runs, waits for `accepted[p]` and `upto[p - 1]`, and the verify waits for `upto[p]`.
/// Paths through these nodes are exactly the paths through the edges they replace, so every
/// head, tail and bound is the same; they are left out of the node count that decides whether
/// the sync-chain bound is cheap enough to compute.
fn graph(w: &Workload) -> (Vec<Node>, Vec<usize>, usize) {
    let mut nodes: Vec<Node> = Vec::new();
    let mask_of = |role: crate::model::Role| -> u64 {
        w.agents
            .iter()
            .take(64)
            .enumerate()
            .filter(|(_, a)| a.roles.contains(&role))
            .fold(0, |m, (i, _)| m | (1u64 << i))
    };
    use crate::model::Role;
    let push = |nodes: &mut Vec<Node>, dur: f64, mask: u64, preds: Vec<usize>| {
        nodes.push(Node { dur, mask, preds });
        nodes.len() - 1
    };
    let mut last: Option<usize> = None;
    for p in &w.preamble {
        let id = push(
            &mut nodes,
            p.minutes,
            mask_of(p.phase),
            last.into_iter().collect(),
        );
        last = Some(id);
    }
    let n = w.batches.len();
    let k = w.sync_every.unwrap_or(0) as usize;
    let verify = k > 0 || w.verify_minutes > 0.0;
    let regular = if verify && k > 0 { n / k } else { 0 };
    let final_one = verify && (k == 0 || !n.is_multiple_of(k));
    let mut design = vec![0usize; n];
    let mut build = vec![0usize; n];
    let mut accepted = vec![0usize; n];
    let mut upto: Option<usize> = None;
    let mut helpers = 0;
    let mut verifies: Vec<usize> = Vec::new();
    let (md, mb, mr, mf, mq) = (
        mask_of(Role::Design),
        mask_of(Role::Build),
        mask_of(Role::Review),
        mask_of(Role::Fix),
        mask_of(Role::Qa),
    );
    // rule 9: plan(m) waits for plan(m-1) (plan(2): the last preamble phase) and for the design
    // of milestone m-1's last batch; the first design of milestone m waits for it.
    let mp = mask_of(Role::Plan);
    let mut milestone_first: Vec<(usize, f64)> = Vec::new();
    let mut first = 0usize;
    for m in w
        .milestones
        .iter()
        .take(w.milestones.len().saturating_sub(1))
    {
        first += m.batches as usize;
        milestone_first.push((first, 0.0));
    }
    for (i, m) in w.milestones.iter().skip(1).enumerate() {
        milestone_first[i].1 = m.plan;
    }
    let mut next_plan = 0usize;
    let mut last_plan = last;
    for (p, b) in w.batches.iter().enumerate() {
        let mut preds: Vec<usize> = if p == 0 {
            last.into_iter().collect()
        } else {
            vec![design[p - 1]]
        };
        if milestone_first.get(next_plan).is_some_and(|&(f, _)| f == p) && p > 0 {
            let plan_preds = last_plan.into_iter().chain([design[p - 1]]).collect();
            let id = push(&mut nodes, milestone_first[next_plan].1, mp, plan_preds);
            preds.push(id);
            last_plan = Some(id);
            next_plan += 1;
        }
        if let Some(l) = w.lookahead {
            if p > l as usize {
                preds.push(accepted[p - l as usize - 1]);
            }
        }
        design[p] = push(&mut nodes, b.design, md, preds);
        let mut preds = vec![design[p]];
        match &b.builds_after {
            None => preds.extend(p.checked_sub(1).map(|q| build[q])),
            Some(list) => preds.extend(list.iter().map(|&id| build[id as usize - 1])),
        }
        if k > 0 && regular > 0 {
            let m = (p / k).min(regular);
            if m >= 1 {
                preds.push(verifies[m - 1]);
            }
        }
        build[p] = push(&mut nodes, b.build, mb, preds);
        let mut prev = push(&mut nodes, b.review, mr, vec![build[p]]);
        for _ in 0..b.review_fails {
            let fix = push(&mut nodes, b.fix, mf, vec![prev]);
            prev = push(&mut nodes, b.review, mr, vec![fix]);
        }
        if b.qa > 0.0 {
            prev = push(&mut nodes, b.qa, mq, vec![prev]);
        }
        accepted[p] = push(&mut nodes, 0.0, 0, vec![prev]);
        if verify {
            let preds = upto.into_iter().chain([accepted[p]]).collect();
            upto = Some(push(&mut nodes, 0.0, 0, preds));
            helpers += 1;
        }
        if k > 0 && (p + 1) % k == 0 && verifies.len() < regular {
            let id = push(&mut nodes, w.verify_minutes, 0, upto.into_iter().collect());
            verifies.push(id);
        }
    }
    if final_one {
        let id = push(&mut nodes, w.verify_minutes, 0, upto.into_iter().collect());
        verifies.push(id);
    }
    let phases = nodes.len() - helpers;
    (nodes, verifies, phases)
}
