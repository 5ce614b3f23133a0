//! The write-ahead log file: a versioned header, then checksummed frames.
//!
//! ```text
//! file   := header frame*
//! header := b"HODEIWAL" u32-le(file format version)
//! frame  := u32-le(body len) u32-le(crc32 of body) body        (body: see `record.rs`)
//! ```
//!
//! File format 2 (current) frames kind-tagged, versioned record bodies. File
//! format 1 framed bincode of one enum; it still decodes (`record::v1`) and is
//! rewritten as format 2 on open.
//!
//! A frame that ends past the end of the file, or whose checksum fails while it
//! is the last one, is a torn write from a crash: it was never acknowledged, and
//! start-up cuts it off. A bad checksum anywhere else is corruption: fatal, loudly.

use super::record::{self, Record};

pub const MAGIC: &[u8; 8] = b"HODEIWAL";
/// The file format this build writes.
pub const FORMAT_VERSION: u32 = 2;
pub const HEADER_LEN: usize = 12;
pub const FRAME_HEADER_LEN: usize = 8;
/// A larger length field can only be garbage: Raft batches are far smaller.
const MAX_RECORD: u32 = 256 * 1024 * 1024;

pub fn header() -> [u8; HEADER_LEN] {
    header_of(FORMAT_VERSION)
}

pub fn header_of(version: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..].copy_from_slice(&version.to_le_bytes());
    h
}

/// Appends one framed record to `out`; returns the frame's length.
pub fn encode(record: &Record, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
    record::encode_body(record, out);
    let body_len = out.len() - start - FRAME_HEADER_LEN;
    let crc = crc32fast::hash(&out[start + FRAME_HEADER_LEN..]);
    out[start..start + 4].copy_from_slice(&(body_len as u32).to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    out.len() - start
}

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    BadHeader(String),
    /// A record before the tail does not check out.
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

impl std::error::Error for DecodeError {}

/// What a whole file decodes to.
pub struct Decoded {
    /// Each record with the length of its frame.
    pub records: Vec<(Record, usize)>,
    /// The length of the valid prefix: shorter than the file when a torn tail must be cut.
    pub valid_len: usize,
    /// The header's format version (0 when the file had no complete header).
    pub version: u32,
}

pub fn decode_file(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if bytes.len() < HEADER_LEN {
        // A crash while the header itself was written: nothing was ever acknowledged.
        return Ok(Decoded { records: Vec::new(), valid_len: 0, version: 0 });
    }
    if &bytes[..8] != MAGIC {
        return Err(DecodeError::BadHeader("not a hodei raft log (bad magic)".into()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    let decode_body: fn(&[u8]) -> Result<Record, String> = match version {
        1 => record::v1::decode_body,
        2 => record::decode_body,
        v => return Err(DecodeError::BadHeader(format!("format {v} is not supported (this build reads 1 and {FORMAT_VERSION})"))),
    };
    let mut records = Vec::new();
    let mut at = HEADER_LEN;
    while let Some(frame) = next_frame(bytes, at)? {
        let body = &bytes[at + FRAME_HEADER_LEN..at + frame];
        let record = decode_body(body).map_err(|reason| DecodeError::Corrupt { offset: at, reason })?;
        records.push((record, frame));
        at += frame;
    }
    Ok(Decoded { records, valid_len: at, version })
}

/// The length of the whole frame at `at`, or `None` at the end of the file or at
/// a torn last frame.
fn next_frame(bytes: &[u8], at: usize) -> Result<Option<usize>, DecodeError> {
    let rest = &bytes[at..];
    if rest.len() < FRAME_HEADER_LEN {
        return Ok(None); // the end, or a torn frame header
    }
    let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
    if len > MAX_RECORD {
        return Err(DecodeError::Corrupt { offset: at, reason: format!("record length {len}") });
    }
    let end = FRAME_HEADER_LEN + len as usize;
    if rest.len() < end {
        return Ok(None); // torn body
    }
    if crc32fast::hash(&rest[FRAME_HEADER_LEN..end]) != crc {
        if end == rest.len() {
            return Ok(None); // the last frame was torn mid-write
        }
        return Err(DecodeError::Corrupt { offset: at, reason: "checksum mismatch".into() });
    }
    Ok(Some(end))
}

/// True if `bytes` (a file's first bytes) hold a valid header and at least one
/// complete, checksummed frame: something was once made durable. A file with
/// an unreadable header counts as holding state, so that a damaged node fails
/// loudly at open instead of bootstrapping a new cluster over it.
pub fn holds_records(bytes: &[u8]) -> bool {
    if bytes.len() < HEADER_LEN {
        return false;
    }
    if &bytes[..8] != MAGIC {
        return true;
    }
    !matches!(next_frame(bytes, HEADER_LEN), Ok(None))
}
