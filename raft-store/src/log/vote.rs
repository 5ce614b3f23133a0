//! The vote record and the log ids inside the other records, encoded by hand
//! (fixed little-endian fields) rather than through openraft's serde derive, so
//! an openraft upgrade cannot silently change what is on disk.
//!
//! ```text
//! vote v1   := u64 term, u8 has_voted_for, [u64 voted_for], u8 committed
//! log id v1 := u64 term, u64 index        (the crate runs openraft with `single-term-leader`,
//!                                          where a committed leader id is its term alone)
//! option<T> := u8 0 | u8 1 T
//! ```

use openraft::{CommittedLeaderId, LeaderId};

use crate::types::{LogId, Vote};

/// The vote record's payload version this build writes.
pub const VOTE_VERSION: u8 = 1;

/// A cursor over a record payload; every read checks the length first.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.bytes.len() < n {
            return Err(format!("payload ends early (wanted {n} more bytes, {} left)", self.bytes.len()));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    pub fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    pub fn flag(&mut self) -> Result<bool, String> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("flag byte {b} is neither 0 nor 1")),
        }
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    /// Fails if bytes are left over: a payload must be consumed exactly.
    pub fn finish(self) -> Result<(), String> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(format!("{} trailing bytes in payload", self.bytes.len()))
        }
    }
}

pub fn put_log_id(id: &LogId, out: &mut Vec<u8>) {
    out.extend_from_slice(&id.leader_id.term.to_le_bytes());
    out.extend_from_slice(&id.index.to_le_bytes());
}

pub fn get_log_id(r: &mut Reader<'_>) -> Result<LogId, String> {
    let term = r.u64()?;
    let index = r.u64()?;
    Ok(LogId::new(CommittedLeaderId::new(term, 0), index))
}

pub fn put_opt_log_id(id: &Option<LogId>, out: &mut Vec<u8>) {
    match id {
        None => out.push(0),
        Some(id) => {
            out.push(1);
            put_log_id(id, out);
        }
    }
}

pub fn get_opt_log_id(r: &mut Reader<'_>) -> Result<Option<LogId>, String> {
    if r.flag()? {
        Ok(Some(get_log_id(r)?))
    } else {
        Ok(None)
    }
}

pub fn put_vote(vote: &Vote, out: &mut Vec<u8>) {
    out.extend_from_slice(&vote.leader_id.term.to_le_bytes());
    match vote.leader_id.voted_for {
        None => out.push(0),
        Some(node) => {
            out.push(1);
            out.extend_from_slice(&node.to_le_bytes());
        }
    }
    out.push(vote.committed as u8);
}

pub fn get_vote(r: &mut Reader<'_>) -> Result<Vote, String> {
    let term = r.u64()?;
    let voted_for = if r.flag()? { Some(r.u64()?) } else { None };
    let committed = r.flag()?;
    Ok(Vote { leader_id: LeaderId { term, voted_for }, committed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn votes_and_log_ids_round_trip() {
        for vote in [Vote::new(0, 0), Vote::new(7, 3), Vote::new_committed(u64::MAX, 2), Vote { leader_id: LeaderId { term: 4, voted_for: None }, committed: false }] {
            let mut out = Vec::new();
            put_vote(&vote, &mut out);
            let mut r = Reader::new(&out);
            assert_eq!(get_vote(&mut r).unwrap(), vote);
            r.finish().unwrap();
        }
        for id in [None, Some(LogId::new(CommittedLeaderId::new(9, 0), 12345))] {
            let mut out = Vec::new();
            put_opt_log_id(&id, &mut out);
            let mut r = Reader::new(&out);
            assert_eq!(get_opt_log_id(&mut r).unwrap(), id);
            r.finish().unwrap();
        }
    }

    #[test]
    fn short_or_odd_payloads_are_errors_not_panics() {
        let mut out = Vec::new();
        put_vote(&Vote::new(7, 3), &mut out);
        for cut in 0..out.len() {
            assert!(get_vote(&mut Reader::new(&out[..cut])).is_err(), "cut at {cut}");
        }
        out[8] = 2;
        assert!(get_vote(&mut Reader::new(&out)).is_err());
    }
}
