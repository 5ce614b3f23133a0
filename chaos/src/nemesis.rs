//! Faults and when to apply them. The schedule is a pure function of the seed,
//! the enabled fault kinds and the duration: one fault at a time, held for a
//! while, healed, then a probe waits (at most 30 s) for one leader and full
//! service, then a rest. Targets are drawn from the step's own seeded value, except
//! "the leader", which is whoever leads when the step starts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::history::{FaultEvent, Recorder};
use crate::membership;
use crate::recovery::Prober;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Both directions of every link to the leader are cut.
    IsolateLeader,
    /// The nodes split into two sides (the smaller one a minority).
    SplitHalves,
    /// One node stops reaching one other; the reverse direction still works.
    OneWayCut,
    /// One node (often the leader) is SIGKILLed and restarted after the hold.
    KillRestart,
    /// Random nodes are SIGKILLed and restarted at once, about every second.
    KillLoop,
    /// One node (often the leader) is SIGSTOPped, then SIGCONTed.
    PauseResume,
    /// Two sides that cannot reach each other, and one node that reaches both.
    Bridge,
    /// A share of the packets on every link between nodes is dropped.
    PacketLoss,
    /// Every node in turn is stopped cleanly and started anew on its data
    /// (followers first, the leader last), each waited for until it has caught up.
    RollingRestart,
    /// Each node hears only a majority of its own (itself and the next nodes of
    /// a seeded ring), and no two nodes hear the same majority (Jepsen's
    /// majorities ring, made of one-way cuts so it exists for 3 nodes too).
    MajoritiesRing,
    /// Every message between nodes is held back 50 to 300 ms (transport filter).
    PacketDelay,
    /// A fresh node joins (learner, then voter), serves, and is removed again.
    AddRemove,
    /// A fresh node joins, then an old one (often the leader) is removed for good.
    ReplaceNode,
}

impl Fault {
    pub const ALL: [Fault; 13] = [
        Fault::IsolateLeader,
        Fault::SplitHalves,
        Fault::OneWayCut,
        Fault::KillRestart,
        Fault::KillLoop,
        Fault::PauseResume,
        Fault::Bridge,
        Fault::PacketLoss,
        Fault::RollingRestart,
        Fault::MajoritiesRing,
        Fault::PacketDelay,
        Fault::AddRemove,
        Fault::ReplaceNode,
    ];

    /// The `--nemesis` group the fault belongs to.
    pub fn group(self) -> &'static str {
        match self {
            Fault::IsolateLeader | Fault::SplitHalves | Fault::OneWayCut | Fault::Bridge | Fault::MajoritiesRing => "partition",
            Fault::KillRestart | Fault::KillLoop => "kill",
            Fault::PauseResume => "pause",
            Fault::PacketLoss => "loss",
            Fault::RollingRestart => "upgrade",
            Fault::PacketDelay => "delay",
            Fault::AddRemove | Fault::ReplaceNode => "membership",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Fault::IsolateLeader => "isolate-leader",
            Fault::SplitHalves => "split-halves",
            Fault::OneWayCut => "one-way-cut",
            Fault::KillRestart => "kill-restart",
            Fault::KillLoop => "kill-loop",
            Fault::PauseResume => "pause-resume",
            Fault::Bridge => "bridge",
            Fault::PacketLoss => "packet-loss",
            Fault::RollingRestart => "rolling-restart",
            Fault::MajoritiesRing => "majorities-ring",
            Fault::PacketDelay => "packet-delay",
            Fault::AddRemove => "add-remove",
            Fault::ReplaceNode => "replace-node",
        }
    }
}

/// `partition,kill,pause,loss,upgrade,membership` (groups) or single fault names -> the
/// faults enabled.
pub fn parse_nemeses(spec: &str) -> anyhow::Result<Vec<Fault>> {
    let mut out = Vec::new();
    for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let add: &[Fault] = match word {
            "partition" => &[Fault::IsolateLeader, Fault::SplitHalves, Fault::OneWayCut, Fault::Bridge, Fault::MajoritiesRing],
            "kill" => &[Fault::KillRestart, Fault::KillLoop],
            "pause" => &[Fault::PauseResume],
            "loss" => &[Fault::PacketLoss],
            "upgrade" => &[Fault::RollingRestart],
            "delay" => &[Fault::PacketDelay],
            "membership" => &[Fault::AddRemove, Fault::ReplaceNode],
            "all" => &Fault::ALL,
            other => match Fault::ALL.iter().find(|f| f.name() == other) {
                Some(f) => std::slice::from_ref(f),
                None => bail!(
                    "unknown nemesis {other:?}: use partition, kill, pause, loss, delay, upgrade, membership, all or one of {:?}",
                    Fault::ALL.map(Fault::name)
                ),
            },
        };
        for f in add {
            if !out.contains(f) {
                out.push(*f);
            }
        }
    }
    if out.is_empty() {
        bail!("no nemesis given");
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub fault: Fault,
    pub hold_ms: u64,
    pub rest_ms: u64,
    /// Seeds this step's choice of targets.
    pub pick: u64,
}

/// The steps for `duration`, a pure function of its arguments. Each round takes
/// the enabled groups (partition, kill, pause) in a seeded order and, from each,
/// the next fault of that group's own seeded rotation: a short campaign still
/// applies every group, and a longer one every fault.
pub fn schedule(seed: u64, faults: &[Fault], duration: Duration) -> Vec<Step> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut groups: Vec<(&str, Vec<Fault>)> = Vec::new();
    for f in faults {
        match groups.iter_mut().find(|(g, _)| *g == f.group()) {
            Some((_, fs)) => fs.push(*f),
            None => groups.push((f.group(), vec![*f])),
        }
    }
    for (_, fs) in &mut groups {
        shuffle(&mut rng, fs);
    }
    let mut turn = vec![0usize; groups.len()];
    let mut steps = Vec::new();
    let mut planned = 0u64;
    while planned < duration.as_millis() as u64 {
        let mut order: Vec<usize> = (0..groups.len()).collect();
        shuffle(&mut rng, &mut order);
        for g in order {
            let fs = &groups[g].1;
            let fault = fs[turn[g] % fs.len()];
            turn[g] += 1;
            let step = Step { fault, hold_ms: rng.random_range(2000..5000), rest_ms: rng.random_range(500..2000), pick: rng.random() };
            planned += step.hold_ms + step.rest_ms + 1000;
            steps.push(step);
        }
    }
    steps
}

fn shuffle<T>(rng: &mut StdRng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.random_range(0..=i));
    }
}

/// Applies the schedule to `backend` until `end`, recording each fault and the
/// recovery after it. Never leaves a fault applied when it returns. A fault
/// of a group not applied yet runs even past `end` (the schedule brings every
/// group within its first steps), so a campaign on a slow machine still
/// applies each group it names once; the clients run until the nemesis is done.
pub async fn run<B: Backend>(backend: Arc<B>, prober: Arc<Prober<B>>, recorder: Arc<Recorder>, steps: Vec<Step>, end: Instant) {
    let mut groups_done = std::collections::BTreeSet::new();
    for step in steps {
        let first_of_group = groups_done.insert(step.fault.group());
        if !first_of_group && Instant::now() + Duration::from_millis(step.hold_ms) > end {
            continue;
        }
        let start_ms = recorder.now_ms();
        recorder.set_phase(step.fault.name());
        let (detail, applied) = match apply(&*backend, &prober, &step).await {
            Ok(d) => (d, true),
            Err(e) => (format!("failed to apply: {e:#}"), false),
        };
        if !matches!(step.fault, Fault::KillLoop | Fault::RollingRestart | Fault::AddRemove | Fault::ReplaceNode) {
            // These spend their time inside `apply`.
            tokio::time::sleep(Duration::from_millis(step.hold_ms)).await;
        }
        if let Err(e) = backend.heal_all().await {
            eprintln!("heal after {}: {e:#}", step.fault.name());
        }
        let end_ms = recorder.now_ms();
        recorder.fault(FaultEvent { name: step.fault.name().into(), detail, start_ms, end_ms, applied });
        recorder.set_phase(format!("recovering from {}", step.fault.name()));
        prober.wait_for_recovery(step.fault.name(), end_ms).await;
        recorder.set_phase("healthy");
        tokio::time::sleep(Duration::from_millis(step.rest_ms)).await;
    }
    recorder.set_phase("schedule done");
}

/// Applies one fault; returns what it did, for the report.
async fn apply<B: Backend>(backend: &B, prober: &Prober<B>, step: &Step) -> anyhow::Result<String> {
    let mut rng = StdRng::seed_from_u64(step.pick);
    let ids = backend.node_ids();
    let leader = prober.leader().await;
    // Half of the node faults go to the leader, when one is known.
    let target = match leader {
        Some(l) if rng.random_bool(0.5) => l,
        _ => *ids.choose(&mut rng).expect("at least one node"),
    };
    match step.fault {
        Fault::IsolateLeader => {
            let Some(l) = leader else { bail!("no leader to isolate") };
            backend.split(&[vec![l], ids.iter().copied().filter(|o| *o != l).collect()]).await?;
            Ok(format!("node {l} cut off"))
        }
        Fault::SplitHalves => {
            let mut shuffled = ids.clone();
            shuffle(&mut rng, &mut shuffled);
            let (a, b) = shuffled.split_at(ids.len() / 2);
            backend.split(&[a.to_vec(), b.to_vec()]).await?;
            Ok(format!("{a:?} | {b:?}"))
        }
        Fault::Bridge => {
            let mut shuffled = ids.clone();
            shuffle(&mut rng, &mut shuffled);
            let bridge = shuffled.pop().expect("at least one node");
            let (a, b) = shuffled.split_at(shuffled.len() / 2);
            for &x in a {
                for &y in b {
                    backend.cut(x, y).await?;
                    backend.cut(y, x).await?;
                }
            }
            Ok(format!("{a:?} | {b:?}, node {bridge} reaches both"))
        }
        Fault::PacketLoss => {
            let p = rng.random_range(0.05..0.35);
            for (i, &a) in ids.iter().enumerate() {
                for &b in &ids[i + 1..] {
                    backend.lose(a, b, p).await?;
                }
            }
            Ok(format!("{:.0}% of packets dropped on every link", p * 100.0))
        }
        Fault::RollingRestart => rolling_restart(backend, prober, leader).await,
        Fault::PacketDelay => {
            let ms = rng.random_range(50..300);
            for (i, &a) in ids.iter().enumerate() {
                for &b in &ids[i + 1..] {
                    backend.delay(a, b, ms).await?;
                    backend.delay(b, a, ms).await?;
                }
            }
            Ok(format!("{ms} ms added to every message between nodes"))
        }
        Fault::MajoritiesRing => {
            let mut ring = ids.clone();
            shuffle(&mut rng, &mut ring);
            let cuts = ring_cuts(&ring);
            for &(from, to) in &cuts {
                backend.cut(from, to).await?;
            }
            Ok(format!("ring {ring:?}: each node hears itself and the next {} ({} one-way cuts)", ring.len() / 2, cuts.len()))
        }
        Fault::OneWayCut => {
            let from = target;
            let to = *ids.iter().filter(|i| **i != from).collect::<Vec<_>>().choose(&mut rng).expect("two nodes");
            backend.cut(from, *to).await?;
            Ok(format!("{from} -/-> {to}"))
        }
        Fault::KillRestart => {
            backend.kill(target).await?;
            Ok(format!("node {target} killed"))
        }
        Fault::KillLoop => kill_loop(backend, &mut rng, step.hold_ms).await,
        Fault::AddRemove => membership::add_remove(prober, &mut rng, step.hold_ms).await,
        Fault::ReplaceNode => membership::replace(prober, &mut rng, leader, step.hold_ms).await,
        Fault::PauseResume => {
            backend.pause(target).await?;
            Ok(format!("node {target} paused"))
        }
    }
}

/// The one-way cuts of a majorities ring: node `ring[i]` hears only from
/// `ring[i..i + n/2 + 1]` (wrapping), so each hears a majority and no two the same one.
pub fn ring_cuts(ring: &[u64]) -> Vec<(u64, u64)> {
    let n = ring.len();
    let heard = n / 2 + 1;
    let mut cuts = Vec::new();
    for i in 0..n {
        for k in heard..n {
            cuts.push((ring[(i + k) % n], ring[i]));
        }
    }
    cuts
}

/// Kills a random node and restarts it at once, about once a second, for `hold_ms`.
async fn kill_loop<B: Backend>(backend: &B, rng: &mut StdRng, hold_ms: u64) -> anyhow::Result<String> {
    let ids = backend.node_ids();
    let until = Instant::now() + Duration::from_millis(hold_ms);
    let mut killed = Vec::new();
    while Instant::now() < until {
        let id = *ids.choose(rng).expect("at least one node");
        backend.kill(id).await?;
        backend.restart(id).await?;
        killed.push(id);
        tokio::time::sleep(Duration::from_millis(rng.random_range(600..1400))).await;
    }
    Ok(format!("killed and restarted {killed:?}"))
}

/// Rolls every node in turn, followers first and the leader last, as an
/// operator upgrading a cluster would; each must catch up before the next goes.
async fn rolling_restart<B: Backend>(backend: &B, prober: &Prober<B>, leader: Option<u64>) -> anyhow::Result<String> {
    let mut order: Vec<u64> = backend.node_ids().into_iter().filter(|id| Some(*id) != leader).collect();
    order.extend(leader);
    let mut took = Vec::new();
    for id in &order {
        let started = Instant::now();
        let from = backend.protocol_version(*id);
        backend.roll(*id).await?;
        prober.wait_for_caught_up(*id).await?;
        let to = backend.protocol_version(*id);
        let upgrade = if from == to { String::new() } else { format!("v{from} to v{to}, ") };
        took.push(format!("{id} ({upgrade}{} ms)", started.elapsed().as_millis()));
    }
    Ok(format!("rolled {}", took.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_expand_and_unknown_names_are_refused() {
        assert_eq!(parse_nemeses("partition,kill,pause").unwrap().len(), 8);
        assert_eq!(parse_nemeses("pause,pause-resume").unwrap(), vec![Fault::PauseResume]);
        assert_eq!(parse_nemeses("loss,upgrade").unwrap(), vec![Fault::PacketLoss, Fault::RollingRestart]);
        assert_eq!(parse_nemeses("membership").unwrap(), vec![Fault::AddRemove, Fault::ReplaceNode]);
        assert_eq!(parse_nemeses("all").unwrap().len(), Fault::ALL.len());
        assert!(parse_nemeses("flood").is_err());
        assert!(parse_nemeses("").is_err());
    }

    #[test]
    fn the_schedule_is_a_function_of_the_seed_and_covers_every_fault() {
        // Seven groups, the partition group five faults: a round of seven
        // steps takes 35 to 56 s, so four end before 240 s and a fifth is planned.
        let faults = parse_nemeses("all").unwrap();
        let a = schedule(7, &faults, Duration::from_secs(240));
        assert_eq!(a, schedule(7, &faults, Duration::from_secs(240)));
        assert_ne!(a, schedule(8, &faults, Duration::from_secs(240)));
        for f in faults {
            assert!(a.iter().any(|s| s.fault == f), "{f:?} missing from a 240 s schedule");
        }
    }

    #[test]
    fn in_a_majorities_ring_each_node_hears_a_different_majority() {
        for n in 3..=7u64 {
            let ring: Vec<u64> = (1..=n).collect();
            let cuts = ring_cuts(&ring);
            let hears = |to: u64| -> std::collections::BTreeSet<u64> { ring.iter().copied().filter(|&f| !cuts.contains(&(f, to))).collect() };
            let majorities: std::collections::BTreeSet<_> = ring.iter().map(|&to| hears(to)).collect();
            assert_eq!(majorities.len(), n as usize, "n {n}: two nodes hear the same majority");
            for m in &majorities {
                assert_eq!(m.len() as u64, n / 2 + 1, "n {n}: {m:?} is not a bare majority");
            }
        }
        assert_eq!(ring_cuts(&[1, 2, 3]), vec![(3, 1), (1, 2), (2, 3)]);
    }

    #[test]
    fn every_group_comes_within_the_first_three_steps() {
        let faults = parse_nemeses("partition,kill,pause").unwrap();
        for seed in 0..50 {
            let groups: std::collections::BTreeSet<_> =
                schedule(seed, &faults, Duration::from_secs(20)).iter().take(3).map(|s| s.fault.group()).collect();
            assert_eq!(groups.len(), 3, "seed {seed}: {groups:?}");
        }
    }
}
