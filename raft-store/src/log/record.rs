//! What the write-ahead log holds: one [`Record`] per change, each tagged with
//! its kind and the version of that kind's payload, so each can evolve on its own
//! (a new payload version is decoded beside the old ones, never instead of them).
//!
//! ```text
//! body        := u8 kind, u8 version, payload
//! kind 1 entry     v1 := log id, u8 payload kind (0 blank | 1 normal | 2 membership), [bincode-2 of Proposal | Membership]
//! kind 2 truncate  v1 := u64 first index removed
//! kind 3 purge     v1 := log id (last removed)
//! kind 4 vote      v1 := see `vote.rs`
//! kind 5 committed v1 := option<log id>
//! ```
//!
//! Log ids and votes are fixed-width little-endian (`vote.rs`). The command
//! inside a normal entry is the domain's `Proposal`, whose encoding the domain
//! keeps compatible (append-only command enum).

use openraft::EntryPayload;

use super::vote::{self, Reader};
use crate::types::{Entry, LogId, Vote};

#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// An entry at `entry.log_id.index`; it replaces that index and every later one.
    Entry(Entry),
    /// Every entry at or after this index is gone.
    Truncate(u64),
    /// Every entry at or before this log id is gone.
    Purge(LogId),
    Vote(Vote),
    Committed(Option<LogId>),
}

const KIND_ENTRY: u8 = 1;
const KIND_TRUNCATE: u8 = 2;
const KIND_PURGE: u8 = 3;
const KIND_VOTE: u8 = 4;
const KIND_COMMITTED: u8 = 5;

const ENTRY_VERSION: u8 = 1;
const TRUNCATE_VERSION: u8 = 1;
const PURGE_VERSION: u8 = 1;
const COMMITTED_VERSION: u8 = 1;

fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Appends the record's body (kind, version, payload) to `out`.
pub fn encode_body(record: &Record, out: &mut Vec<u8>) {
    match record {
        Record::Entry(e) => {
            out.extend_from_slice(&[KIND_ENTRY, ENTRY_VERSION]);
            vote::put_log_id(&e.log_id, out);
            let encoded = match &e.payload {
                EntryPayload::Blank => {
                    out.push(0);
                    Ok(0)
                }
                EntryPayload::Normal(p) => {
                    out.push(1);
                    bincode::serde::encode_into_std_write(p, out, bincode_config())
                }
                EntryPayload::Membership(m) => {
                    out.push(2);
                    bincode::serde::encode_into_std_write(m, out, bincode_config())
                }
            };
            encoded.expect("encoding into a Vec cannot fail");
        }
        Record::Truncate(since) => {
            out.extend_from_slice(&[KIND_TRUNCATE, TRUNCATE_VERSION]);
            out.extend_from_slice(&since.to_le_bytes());
        }
        Record::Purge(upto) => {
            out.extend_from_slice(&[KIND_PURGE, PURGE_VERSION]);
            vote::put_log_id(upto, out);
        }
        Record::Vote(v) => {
            out.extend_from_slice(&[KIND_VOTE, vote::VOTE_VERSION]);
            vote::put_vote(v, out);
        }
        Record::Committed(c) => {
            out.extend_from_slice(&[KIND_COMMITTED, COMMITTED_VERSION]);
            vote::put_opt_log_id(c, out);
        }
    }
}

/// Decodes one body. An unknown kind or version is an error (a newer build wrote
/// it), never a guess.
pub fn decode_body(body: &[u8]) -> Result<Record, String> {
    let mut r = Reader::new(body);
    let kind = r.u8()?;
    let version = r.u8()?;
    let record = match (kind, version) {
        (KIND_ENTRY, 1) => Record::Entry(entry_v1(&mut r)?),
        (KIND_TRUNCATE, 1) => Record::Truncate(r.u64()?),
        (KIND_PURGE, 1) => Record::Purge(vote::get_log_id(&mut r)?),
        (KIND_VOTE, 1) => Record::Vote(vote::get_vote(&mut r)?),
        (KIND_COMMITTED, 1) => Record::Committed(vote::get_opt_log_id(&mut r)?),
        (kind, version) => return Err(format!("record kind {kind} version {version} is not known to this build")),
    };
    r.finish()?;
    Ok(record)
}

fn entry_v1(r: &mut Reader<'_>) -> Result<Entry, String> {
    let log_id = vote::get_log_id(r)?;
    let payload = match r.u8()? {
        0 => EntryPayload::Blank,
        1 => EntryPayload::Normal(decode_whole(r.rest(), "proposal")?),
        2 => EntryPayload::Membership(decode_whole(r.rest(), "membership")?),
        k => return Err(format!("entry payload kind {k} is not known")),
    };
    Ok(Entry { log_id, payload })
}

fn decode_whole<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, String> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, bincode_config()).map_err(|e| format!("{what} does not decode: {e}"))?;
    if used != bytes.len() {
        return Err(format!("{what} has {} trailing bytes", bytes.len() - used));
    }
    Ok(value)
}

/// The first file format (WAL header version 1): the body was bincode-2 of one
/// enum, with openraft's serde layout for ids and votes. Read-only: a v1 file is
/// rewritten in the current format when it is opened.
pub mod v1 {
    use serde::Deserialize;

    use super::Record;
    use crate::types::{Entry, LogId, Vote};

    #[derive(Deserialize)]
    enum RecordV1 {
        Entry(Entry),
        Truncate(u64),
        Purge(LogId),
        Vote(Vote),
        Committed(Option<LogId>),
    }

    pub fn decode_body(body: &[u8]) -> Result<Record, String> {
        let record: RecordV1 = super::decode_whole(body, "v1 record")?;
        Ok(match record {
            RecordV1::Entry(e) => Record::Entry(e),
            RecordV1::Truncate(i) => Record::Truncate(i),
            RecordV1::Purge(l) => Record::Purge(l),
            RecordV1::Vote(v) => Record::Vote(v),
            RecordV1::Committed(c) => Record::Committed(c),
        })
    }
}
