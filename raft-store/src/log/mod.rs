//! The durable Raft log and vote: one write-ahead file, `<data-dir>/raft/wal`.
//!
//! - [`format`]: the file header and the checksummed frames; torn-tail rules.
//! - [`record`]: the kind-tagged, versioned record bodies (entry, truncate, purge,
//!   vote, committed) and the read-only decoder of the first file format.
//! - [`vote`]: fixed-width codecs for the vote and log ids.
//! - `memory`: the in-memory image that replaying the records yields.
//! - `writer`: the thread that owns the file and group-commits.
//! - `store`: [`LogStore`], openraft's `RaftLogStorage`.

pub mod format;
mod memory;
pub mod record;
mod store;
pub mod vote;
mod writer;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub use store::{LogOptions, LogStore};

use crate::types::{LogId, Vote};
use record::Record;

pub(crate) fn wal_path(dir: &Path) -> PathBuf {
    dir.join("raft").join("wal")
}

/// True if the log under `dir` holds at least one durable record (a vote, an
/// entry, a purge point): this node was part of a cluster and must rejoin it,
/// not bootstrap. An empty or header-only file, or a first record torn by a
/// crash, holds nothing that was ever acknowledged.
pub fn has_state(dir: &Path) -> bool {
    let Ok(mut file) = std::fs::File::open(wal_path(dir)) else {
        return false;
    };
    const HEAD: usize = format::HEADER_LEN + format::FRAME_HEADER_LEN;
    let mut head = vec![0u8; HEAD];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(_) => return true, // unreadable: let open fail loudly
        }
    }
    head.truncate(got);
    if got == HEAD {
        let len = u32::from_le_bytes(head[format::HEADER_LEN..format::HEADER_LEN + 4].try_into().expect("4 bytes"));
        let mut body = Vec::new();
        if file.take(u64::from(len)).read_to_end(&mut body).is_err() {
            return true;
        }
        head.extend_from_slice(&body);
    }
    format::holds_records(&head)
}

/// Creates a log that starts after `last` (everything up to it purged), for a
/// data dir seeded from a snapshot by `hodei restore`. The vote starts at the
/// term of `last` (voted for no one): a leader of a lower term would append
/// entries whose term goes backwards. Synced before returning.
pub fn write_purged(dir: &Path, last: LogId) -> std::io::Result<()> {
    let path = wal_path(dir);
    std::fs::create_dir_all(path.parent().expect("wal has a parent"))?;
    let mut bytes = format::header().to_vec();
    let vote = Vote { leader_id: openraft::LeaderId { term: last.leader_id.term, voted_for: None }, committed: false };
    format::encode(&Record::Vote(vote), &mut bytes);
    format::encode(&Record::Purge(last), &mut bytes);
    format::encode(&Record::Committed(Some(last)), &mut bytes);
    let mut f = std::fs::File::create(&path)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    std::fs::File::open(path.parent().expect("wal has a parent"))?.sync_all()
}
