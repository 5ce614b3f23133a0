//! Helpers shared by the log's integration tests.

use hodei_domain::command::CreateTenant;
use hodei_domain::{Command, Proposal};
use hodei_raft_store::{Entry, LogId, LogStore};
use openraft::storage::RaftLogReader;
use openraft::{CommittedLeaderId, EntryPayload};

/// An entry of term 1 at `index` that creates tenant `name`.
pub fn entry(index: u64, name: &str) -> Entry {
    entry_in(1, index, name)
}

/// An entry of `term` at `index` that creates tenant `name`.
pub fn entry_in(term: u64, index: u64, name: &str) -> Entry {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
        payload: EntryPayload::Normal(Proposal {
            at_ms: 1_700_000_000_000 + index,
            command: Command::CreateTenant(CreateTenant { name: name.into(), email: format!("{name}@x.io"), quota: None }),
        }),
    }
}

/// The indexes of the entries `log` holds.
pub async fn indexes(log: &mut LogStore) -> Vec<u64> {
    log.try_get_log_entries(0..).await.unwrap().iter().map(|e| e.log_id.index).collect()
}
