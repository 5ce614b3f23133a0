//! The versioned encoding of the whole state, used by Raft snapshots and the
//! state hash.
//!
//! Layout: `b"HODEISM\0"`, a little-endian `u32` format version, then the
//! bincode-2 (standard config) encoding of [`State`]. A reader that meets a
//! newer version refuses it with a clear error instead of misreading it.

use crate::state::State;

const MAGIC: &[u8; 8] = b"HODEISM\0";
/// The format this build writes. History: 1, the first pre-release layout
/// (tenants, jobs, workers); 2, the full domain (settings, fair queue, pools,
/// bursts, cost and SLA ledgers). Version 1 was never released, so no decoder
/// is kept for it: a v1 snapshot is refused with a clear error.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    BadMagic,
    UnsupportedVersion(u32),
    Corrupt(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::BadMagic => write!(f, "not a hodei state snapshot (bad magic)"),
            DecodeError::UnsupportedVersion(v) => {
                write!(f, "state snapshot format {v} is not readable by this build (it reads {FORMAT_VERSION})")
            }
            DecodeError::Corrupt(e) => write!(f, "state snapshot does not decode: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

pub(crate) fn encode_body(state: &State) -> Vec<u8> {
    bincode::serde::encode_to_vec(state, bincode::config::standard())
        .expect("encoding a State into a Vec cannot fail")
}

pub fn encode(state: &State) -> Vec<u8> {
    let body = encode_body(state);
    let mut out = Vec::with_capacity(12 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&body);
    out
}

pub fn decode(bytes: &[u8]) -> Result<State, DecodeError> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let (mut state, used): (State, usize) =
        bincode::serde::decode_from_slice(&bytes[12..], bincode::config::standard())
            .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    if used != bytes.len() - 12 {
        return Err(DecodeError::Corrupt(format!("{} trailing bytes", bytes.len() - 12 - used)));
    }
    crate::apply::rebuild_derived(&mut state);
    Ok(state)
}
