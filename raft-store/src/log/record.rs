//! The write-ahead log's on-disk format.
//!
//! ```text
//! file   := header record*
//! header := b"HODEIWAL" u32-le(format version)
//! record := u32-le(len) u32-le(crc32 of body) body     (body: bincode-2 of Record)
//! ```
//!
//! Replaying the records in order rebuilds the log, the vote and the committed id.
//! A record that ends past the end of the file, or whose checksum fails while it
//! is the last one, is a torn write from a crash: it was never acknowledged, and
//! start-up cuts it off. A bad checksum anywhere else is corruption, reported
//! loudly.

use serde::{Deserialize, Serialize};

use crate::types::{Entry, LogId, Vote};

pub const MAGIC: &[u8; 8] = b"HODEIWAL";
/// The record format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
pub const HEADER_LEN: usize = 12;
/// A larger length field can only be garbage: Raft batches are far smaller.
const MAX_RECORD: u32 = 256 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

pub fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

/// [`Record::Entry`] borrowed: encodes to the same bytes without a copy of
/// the entry (appends encode every entry of the hot path this way).
#[derive(Serialize)]
enum EntryRef<'a> {
    Entry(&'a Entry),
}

/// Appends one framed record to `out`.
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    frame(record, out);
}

/// Appends one framed [`Record::Entry`] of `entry` to `out`.
pub fn encode_entry(entry: &Entry, out: &mut Vec<u8>) {
    frame(&EntryRef::Entry(entry), out);
}

/// Length and checksum, then the body encoded in place after them.
fn frame<T: Serialize>(body: &T, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0u8; 8]);
    bincode::serde::encode_into_std_write(body, out, bincode::config::standard()).expect("encoding a log record into a Vec cannot fail");
    let len = (out.len() - start - 8) as u32;
    let crc = crc32fast::hash(&out[start + 8..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    BadHeader(String),
    /// A record in the middle of the file does not check out.
    Corrupt { offset: usize, reason: String },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::BadHeader(m) => write!(f, "raft log header: {m}"),
            DecodeError::Corrupt { offset, reason } => write!(f, "raft log corrupt at byte {offset}: {reason}"),
        }
    }
}

/// What a whole file decodes to: the records, and the length of the valid prefix
/// (shorter than the file when a torn tail must be cut).
pub struct Decoded {
    pub records: Vec<Record>,
    pub valid_len: usize,
}

pub fn decode_file(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if bytes.len() < HEADER_LEN {
        // A crash while the header itself was written: nothing was ever acknowledged.
        return Ok(Decoded { records: Vec::new(), valid_len: 0 });
    }
    if &bytes[..8] != MAGIC {
        return Err(DecodeError::BadHeader("not a hodei raft log (bad magic)".into()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(DecodeError::BadHeader(format!(
            "format {version} is not supported (this build reads {FORMAT_VERSION})"
        )));
    }
    let mut records = Vec::new();
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 8 {
            break; // torn frame header
        }
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        if len > MAX_RECORD {
            return Err(DecodeError::Corrupt { offset: at, reason: format!("record length {len}") });
        }
        let end = 8 + len as usize;
        if rest.len() < end {
            break; // torn body
        }
        let body = &rest[8..end];
        if crc32fast::hash(body) != crc {
            if at + end == bytes.len() {
                break; // the last record was torn mid-write
            }
            return Err(DecodeError::Corrupt { offset: at, reason: "checksum mismatch".into() });
        }
        let (record, used) = bincode::serde::decode_from_slice(body, bincode::config::standard())
            .map_err(|e| DecodeError::Corrupt { offset: at, reason: e.to_string() })?;
        if used != body.len() {
            return Err(DecodeError::Corrupt { offset: at, reason: "trailing bytes in record".into() });
        }
        records.push(record);
        at += end;
    }
    Ok(Decoded { records, valid_len: at.min(bytes.len()) })
}
