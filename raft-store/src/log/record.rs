//! The write-ahead log's on-disk format.
//!
//! ```text
//! file   := header record* zero*
//! header := b"HODEIWAL" u32-le(format version)
//! record := u32-le(len) u32-le(crc32 of body) body     (body: bincode-2 of Record)
//! ```
//!
//! Replaying the records in order rebuilds the log, the vote and the committed id.
//!
//! Format 2 (this build) has format 1's records, and the file may be longer
//! than they are: the writer allocates the file ahead, so appends do not grow
//! it and each `fdatasync` does not commit a new file size. The space after the
//! last record reads as zeros. Format 1 files are read too (they have no such
//! space); start-up turns them into format 2 by rewriting the header.
//!
//! A record that does not check out (it ends past the end of the file, its
//! length is 0, or its checksum fails) is a torn write from a crash, which was
//! never acknowledged, when nothing but zeros follows it, or, in format 2, when
//! one of the 512-byte sectors it spans reads as zeros (the first one from the
//! record's start on): a write cut short whose sectors landed out of order. Start-up cuts it and whatever follows. Any
//! other record that does not check out is corruption, reported loudly.

use serde::{Deserialize, Serialize};

use crate::types::{Entry, LogId, Vote};

pub const MAGIC: &[u8; 8] = b"HODEIWAL";
/// The format this build writes.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format this build reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;
/// The unit in which a torn write may have reached the disk.
const SECTOR: usize = 512;
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

/// What a whole file decodes to.
pub struct Decoded {
    pub records: Vec<Record>,
    /// Where the last whole record ends: the next one is written here.
    pub valid_len: usize,
    /// True if bytes other than zeros follow `valid_len` (a torn tail to cut).
    pub torn: bool,
    /// The format named in the header (0 for a file too short to have one).
    pub version: u32,
}

pub fn decode_file(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if bytes.len() < HEADER_LEN {
        // A crash while the header itself was written: nothing was ever acknowledged.
        return Ok(Decoded { records: Vec::new(), valid_len: 0, torn: !bytes.is_empty(), version: 0 });
    }
    if &bytes[..8] != MAGIC {
        return Err(DecodeError::BadHeader("not a hodei raft log (bad magic)".into()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(DecodeError::BadHeader(format!(
            "format {version} is not supported (this build reads {OLDEST_READABLE_VERSION} to {FORMAT_VERSION})"
        )));
    }
    // Past `data_end` the file holds only zeros: space allocated ahead.
    let data_end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    let mut records = Vec::new();
    let mut at = HEADER_LEN;
    while at < data_end {
        let rest = &bytes[at..];
        let (len, crc) = match rest {
            [l0, l1, l2, l3, c0, c1, c2, c3, ..] => (u32::from_le_bytes([*l0, *l1, *l2, *l3]), u32::from_le_bytes([*c0, *c1, *c2, *c3])),
            _ => break, // torn frame header at the end of the file
        };
        if len > MAX_RECORD {
            return Err(DecodeError::Corrupt { offset: at, reason: format!("record length {len}") });
        }
        let end = 8 + len as usize;
        let checks_out = len > 0 && rest.len() >= end && crc32fast::hash(&rest[8..end]) == crc;
        if !checks_out {
            if at + end >= data_end || (version >= 2 && part_never_landed(bytes, at, at + end)) {
                break; // a torn write
            }
            let reason = if len == 0 { "zero-length record" } else { "checksum mismatch" };
            return Err(DecodeError::Corrupt { offset: at, reason: reason.into() });
        }
        let body = &rest[8..end];
        let (record, used) = bincode::serde::decode_from_slice(body, bincode::config::standard())
            .map_err(|e| DecodeError::Corrupt { offset: at, reason: e.to_string() })?;
        if used != body.len() {
            return Err(DecodeError::Corrupt { offset: at, reason: "trailing bytes in record".into() });
        }
        records.push(record);
        at += end;
    }
    Ok(Decoded { records, valid_len: at, torn: at < data_end, version })
}

/// True if part of a write that began at `from` and holds `from..to` never
/// reached the disk: one of the 512-byte sectors it touches reads as zeros
/// (the first one from `from` on: its bytes before `from` are earlier
/// records', which an older copy of the sector holds too).
fn part_never_landed(bytes: &[u8], from: usize, to: usize) -> bool {
    let to = to.min(bytes.len());
    let mut start = from;
    while start < to {
        let sector_end = (start / SECTOR + 1) * SECTOR;
        if bytes[start..sector_end.min(bytes.len())].iter().all(|&b| b == 0) {
            return true;
        }
        start = sector_end;
    }
    false
}
