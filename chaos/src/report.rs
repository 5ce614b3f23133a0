//! The campaign's report: what ran, the faults applied, operations by kind and
//! outcome, recovery times, and each checker's verdict; as JSON and as text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checker::Verdict;
use crate::history::History;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub seed: u64,
    pub backend: String,
    pub nodes: usize,
    pub duration_s: f64,
    pub nemeses: Vec<String>,
    /// How network faults were made (iptables, transport filter, docker network).
    #[serde(default)]
    pub network: String,
    /// Faults asked for that this backend cannot apply, with the reason.
    #[serde(default)]
    pub skipped: Vec<String>,
    /// fault name -> times applied.
    pub faults: BTreeMap<String, u64>,
    /// fault name -> times applying it failed (the fault log says why).
    #[serde(default)]
    pub faults_failed: BTreeMap<String, u64>,
    pub fault_log: Vec<String>,
    /// op kind -> outcome -> count.
    pub operations: BTreeMap<String, BTreeMap<String, u64>>,
    pub total_operations: u64,
    pub jobs_final: Option<usize>,
    /// State -> jobs in it, on the first node after healing.
    #[serde(default)]
    pub jobs_final_states: BTreeMap<String, usize>,
    /// `hodei worker` agents that ran the jobs.
    #[serde(default)]
    pub workers: usize,
    /// Milliseconds from each heal to full service, in order (`None`: never).
    pub recoveries_ms: Vec<Option<u64>>,
    pub verdicts: Vec<Verdict>,
    pub ok: bool,
}

impl Report {
    pub fn new(backend: &str, nemeses: Vec<String>, duration_s: f64, h: &History, verdicts: Vec<Verdict>) -> Self {
        let (mut faults, mut faults_failed) = (BTreeMap::new(), BTreeMap::new());
        for f in &h.faults {
            let counts = if f.applied { &mut faults } else { &mut faults_failed };
            *counts.entry(f.name.clone()).or_insert(0) += 1;
        }
        let fault_log = h.faults.iter().map(|f| format!("{:>7} ms  {:<15} {}  (healed at {} ms)", f.start_ms, f.name, f.detail, f.end_ms)).collect();
        let mut operations: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for op in &h.ops {
            *operations.entry(op.label()).or_default().entry(op.outcome.label().into()).or_insert(0) += 1;
        }
        let mut jobs_final_states = BTreeMap::new();
        for j in h.final_nodes.first().and_then(|n| n.jobs.as_ref()).into_iter().flatten() {
            *jobs_final_states.entry(j.state.clone()).or_insert(0) += 1;
        }
        Report {
            seed: h.seed,
            backend: backend.into(),
            nodes: h.nodes.len(),
            duration_s,
            nemeses,
            network: String::new(),
            skipped: Vec::new(),
            faults,
            faults_failed,
            fault_log,
            operations,
            total_operations: h.ops.len() as u64,
            jobs_final: h.final_nodes.first().and_then(|n| n.jobs.as_ref()).map(Vec::len),
            jobs_final_states,
            workers: 0,
            recoveries_ms: h.recoveries.iter().map(|r| r.took_ms).collect(),
            ok: verdicts.iter().all(|v| v.ok),
            verdicts,
        }
    }

    pub fn text(&self) -> String {
        let mut s = format!(
            "hodei-chaos: backend {}, {} nodes, {:.0} s, nemeses {}, seed {}\n",
            self.backend,
            self.nodes,
            self.duration_s,
            self.nemeses.join(","),
            self.seed
        );
        if !self.network.is_empty() {
            s += &format!("network faults by {}\n", self.network);
        }
        s += &format!("workers running the jobs: {}\n", self.workers);
        for line in &self.skipped {
            s += &format!("skipped {line}\n");
        }
        s += "\nfaults applied:\n";
        for line in &self.fault_log {
            s += &format!("  {line}\n");
        }
        s += &format!("\noperations ({} in all):\n", self.total_operations);
        for (kind, by) in &self.operations {
            let parts: Vec<String> = by.iter().map(|(o, n)| format!("{o} {n}")).collect();
            s += &format!("  {kind:<18} {}\n", parts.join(", "));
        }
        if let Some(n) = self.jobs_final {
            let states: Vec<String> = self.jobs_final_states.iter().map(|(st, k)| format!("{st} {k}")).collect();
            s += &format!("  jobs on every node after healing: {n} ({})\n", states.join(", "));
        }
        let rec: Vec<String> = self.recoveries_ms.iter().map(|r| r.map_or("never".into(), |ms| format!("{ms}"))).collect();
        s += &format!("\nrecovery after each heal (ms): {}\n\ncheckers:\n", rec.join(" "));
        for v in &self.verdicts {
            let mark = if v.ok { "PASS" } else { "FAIL" };
            s += &format!("  {mark} {:<30} checked {:>6}, violations {}\n", v.checker, v.checked, v.violation_count);
            for line in &v.violations {
                s += &format!("       - {line}\n");
            }
        }
        s += if self.ok { "\nresult: no violation\n" } else { "\nresult: VIOLATIONS FOUND\n" };
        s
    }
}
