//! The log's in-memory image: what replaying the file's records yields, and what
//! every later change keeps current. It also knows the frame size of each entry,
//! so the store can tell how much of the file is dead after a purge.

use std::collections::BTreeMap;

use super::format;
use super::record::Record;
use crate::types::{Entry, LogId, Vote};

#[derive(Default)]
pub struct Memory {
    /// Entries by index, each with the length of its frame in the file.
    pub entries: BTreeMap<u64, (Entry, usize)>,
    pub vote: Option<Vote>,
    pub committed: Option<LogId>,
    pub last_purged: Option<LogId>,
    live_entry_bytes: usize,
}

impl Memory {
    pub fn apply(&mut self, record: Record, frame_len: usize) {
        match record {
            Record::Entry(e) => {
                let index = e.log_id.index;
                self.truncate(index);
                self.live_entry_bytes += frame_len;
                self.entries.insert(index, (e, frame_len));
            }
            Record::Truncate(since) => self.truncate(since),
            Record::Purge(upto) => self.purge(upto),
            Record::Vote(v) => self.vote = Some(v),
            Record::Committed(c) => self.committed = c,
        }
    }

    pub fn truncate(&mut self, since: u64) {
        let removed = self.entries.split_off(&since);
        self.live_entry_bytes -= removed.values().map(|(_, n)| n).sum::<usize>();
    }

    pub fn purge(&mut self, upto: LogId) {
        let kept = self.entries.split_off(&(upto.index + 1));
        let removed = std::mem::replace(&mut self.entries, kept);
        self.live_entry_bytes -= removed.values().map(|(_, n)| n).sum::<usize>();
        if self.last_purged.is_none_or(|p| p < upto) {
            self.last_purged = Some(upto);
        }
    }

    pub fn last_log_id(&self) -> Option<LogId> {
        self.entries.values().next_back().map(|(e, _)| e.log_id).or(self.last_purged)
    }

    /// Roughly the size the file would have if rewritten now.
    pub fn live_bytes(&self) -> usize {
        format::HEADER_LEN + 3 * 64 + self.live_entry_bytes
    }

    /// The live contents as a fresh file in the current format (compaction).
    pub fn encode_file(&self) -> Vec<u8> {
        let mut bytes = format::header().to_vec();
        if let Some(v) = &self.vote {
            format::encode(&Record::Vote(*v), &mut bytes);
        }
        if let Some(p) = &self.last_purged {
            format::encode(&Record::Purge(*p), &mut bytes);
        }
        format::encode(&Record::Committed(self.committed), &mut bytes);
        for (e, _) in self.entries.values() {
            format::encode(&Record::Entry(e.clone()), &mut bytes);
        }
        bytes
    }
}
