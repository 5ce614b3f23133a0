//! The committed Raft log, read from every node's write-ahead file
//! (`<data dir>/raft/wal`) once the campaign has healed and converged, for the
//! checkers that replay it through `domain` (`checker::replay`).
//!
//! Each node's file is replayed the way its log store does at start-up (an
//! entry replaces its index and every later one; truncations and purges cut),
//! and its entries up to its last recorded commit are taken. Raft promises that
//! two nodes' committed entries at the same index are the same entry: every
//! difference is kept as a finding. The history keeps the longest committed
//! log that starts at the beginning (index 0, or 1 if it has no entry 0).

use std::collections::BTreeMap;
use std::path::Path;

use hodei_domain::Proposal;
use hodei_raft_store::log::record::{decode_file, Record};
use hodei_raft_store::Entry;
use openraft::EntryPayload;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedEntry {
    pub index: u64,
    pub term: u64,
    /// `None`: a blank or membership entry (nothing for `domain` to apply).
    pub proposal: Option<Proposal>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedLog {
    /// The node whose log this is.
    pub node: u64,
    pub entries: Vec<CommittedEntry>,
    /// Nodes whose committed entries differ at the same index, or whose log
    /// could not be read; each one a violation.
    pub disagreements: Vec<String>,
}

/// One node's committed entries, from its write-ahead file.
pub fn read_node(data_dir: &Path) -> Result<Vec<CommittedEntry>, String> {
    let path = data_dir.join("raft").join("wal");
    let bytes = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let decoded = decode_file(&bytes).map_err(|e| e.to_string())?;
    let mut entries: BTreeMap<u64, Entry> = BTreeMap::new();
    let mut committed = 0;
    for r in decoded.records {
        match r {
            Record::Entry(e) => {
                entries.split_off(&e.log_id.index);
                entries.insert(e.log_id.index, e);
            }
            Record::Truncate(i) => {
                entries.split_off(&i);
            }
            Record::Purge(last) => entries = entries.split_off(&(last.index + 1)),
            Record::Committed(c) => committed = c.map_or(0, |c| c.index),
            Record::Vote(_) => {}
        }
    }
    Ok(entries
        .into_values()
        .filter(|e| e.log_id.index <= committed)
        .map(|e| CommittedEntry {
            index: e.log_id.index,
            term: e.log_id.leader_id.term,
            proposal: match e.payload {
                EntryPayload::Normal(p) => Some(p),
                _ => None,
            },
        })
        .collect())
}

/// Reads every node's committed log, compares them, and keeps the longest
/// that starts at the beginning (the replay needs the whole history).
pub fn collect(nodes: &[(u64, std::path::PathBuf)]) -> CommittedLog {
    let mut logs = Vec::new();
    let mut disagreements = Vec::new();
    for (id, dir) in nodes {
        match read_node(dir) {
            Ok(entries) => logs.push((*id, entries)),
            Err(e) => disagreements.push(format!("node {id}: the raft log could not be read: {e}")),
        }
    }
    disagreements.extend(compare(&logs));
    // openraft's first entry (the initial membership) is at index 0.
    let full = logs.iter().filter(|(_, e)| e.first().is_none_or(|f| f.index <= 1)).max_by_key(|(_, e)| e.len());
    match full {
        Some((node, entries)) => CommittedLog { node: *node, entries: entries.clone(), disagreements },
        None => {
            let firsts: Vec<(u64, Option<u64>)> = logs.iter().map(|(n, e)| (*n, e.first().map(|f| f.index))).collect();
            disagreements.push(format!("no node holds its committed log from the beginning (node, first index): {firsts:?}"));
            CommittedLog { node: 0, entries: Vec::new(), disagreements }
        }
    }
}

/// Every index where two nodes' committed entries differ.
fn compare(logs: &[(u64, Vec<CommittedEntry>)]) -> Vec<String> {
    let mut first: BTreeMap<u64, (u64, &CommittedEntry)> = BTreeMap::new();
    let mut found = Vec::new();
    for (node, entries) in logs {
        for e in entries {
            match first.get(&e.index) {
                Some((other, o)) if *o != e => {
                    found.push(format!("index {}: node {other} committed {o:?}, node {node} committed {e:?}", e.index))
                }
                Some(_) => {}
                None => {
                    first.insert(e.index, (*node, e));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64) -> CommittedEntry {
        CommittedEntry { index, term, proposal: None }
    }

    #[test]
    fn committed_entries_that_differ_between_nodes_are_found() {
        let same = vec![(1, vec![entry(1, 1), entry(2, 1)]), (2, vec![entry(1, 1)])];
        assert!(compare(&same).is_empty());
        let split = vec![(1, vec![entry(1, 1), entry(2, 1)]), (2, vec![entry(1, 1), entry(2, 2)])];
        let found = compare(&split);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("index 2: node 1"), "{found:?}");
    }

    #[test]
    fn a_missing_log_is_a_disagreement_not_an_empty_pass() {
        let dir = tempfile::tempdir().unwrap();
        let log = collect(&[(1, dir.path().join("nowhere"))]);
        assert!(log.entries.is_empty());
        assert_eq!(log.disagreements.len(), 2, "{:?}", log.disagreements);
    }
}
