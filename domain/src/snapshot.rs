//! The versioned encoding of the whole state, used by Raft snapshots and the
//! state hash.
//!
//! Layout: `b"HODEISM\0"`, a little-endian `u32` format version, then the
//! bincode-2 (standard config) encoding of [`State`] (the format-2 body), then,
//! from format 3 on, the encoding of the [`Additions`] made since, and from
//! format 4 on, the [`Additions4`], and from format 5 on, the [`Additions5`]. A reader that meets a newer version
//! refuses it with a clear error instead of misreading it.
//!
//! The format written follows the cluster version (see [`crate::version`]):
//! format 4 only once the cluster version is 3, format 5 once it is 4, so while
//! older members remain every snapshot a leader sends them is one they can read.
//!
//! Migration chain: a format-2 snapshot is the format-3 layout without the
//! additions; it decodes with default observability settings and an empty
//! metric history, so a node upgraded from format 2 loads its old snapshot.

use serde::{Deserialize, Serialize};

use crate::observability::ObservabilitySettings;
use crate::sampling::MetricHistory;
use crate::sla::{PriorityLedger, SlaTargets};
use crate::state::State;
use crate::version::{BATCH_AND_VERSION_GATE, SLA_TARGETS_GATE};

const MAGIC: &[u8; 8] = b"HODEISM\0";
/// The format this build writes. History: 1, the first pre-release layout
/// (tenants, jobs, workers); 2, the full domain (settings, fair queue, pools,
/// bursts, cost and SLA ledgers); 3, observability settings and the metric
/// history after the format-2 body. Version 1 was never released, so no decoder
/// is kept for it: a v1 snapshot is refused with a clear error; 4, the recorded
/// cluster version after the format-3 additions; 5, the SLA targets per
/// priority and the per-priority SLA ledger after the format-4 additions.
pub const FORMAT_VERSION: u32 = 5;
/// The oldest format this build still reads.
pub const OLDEST_READABLE_VERSION: u32 = 2;

/// What format 3 added after the format-2 body. New fields of later formats go
/// into a new struct after this one, never into it.
#[derive(Serialize, Deserialize)]
struct Additions {
    observability: ObservabilitySettings,
    history: MetricHistory,
}

/// What format 4 added after the format-3 additions.
#[derive(Serialize, Deserialize)]
struct Additions4 {
    cluster_version: u32,
}

/// What format 5 added after the format-4 additions (written borrowed, read owned).
#[derive(Serialize, Deserialize)]
struct Additions5<T, L> {
    sla_targets: T,
    sla_by_priority: L,
}

#[derive(Serialize)]
struct AdditionsRef<'a> {
    observability: &'a ObservabilitySettings,
    history: &'a MetricHistory,
}

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
                write!(f, "state snapshot format {v} is not readable by this build (it reads {OLDEST_READABLE_VERSION} to {FORMAT_VERSION})")
            }
            DecodeError::Corrupt(e) => write!(f, "state snapshot does not decode: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// The format `state` is written in: the newest its cluster version allows.
pub fn format_for(state: &State) -> u32 {
    match state.cluster_version() {
        v if v >= SLA_TARGETS_GATE => 5,
        v if v >= BATCH_AND_VERSION_GATE => 4,
        _ => 3,
    }
}

pub(crate) fn encode_body(state: &State) -> Vec<u8> {
    let mut body = Vec::new();
    write_body(state, &mut body).expect("encoding a State into a Vec cannot fail");
    body
}

/// Streams the format body into `out`, with no copy of it in memory: the state
/// hash of a large state reads it this way.
pub(crate) fn write_body(state: &State, out: &mut impl std::io::Write) -> Result<(), bincode::error::EncodeError> {
    let config = bincode::config::standard();
    bincode::serde::encode_into_std_write(state, out, config)?;
    let additions = AdditionsRef { observability: &state.observability, history: &state.history };
    bincode::serde::encode_into_std_write(&additions, out, config)?;
    if format_for(state) >= 4 {
        let additions = Additions4 { cluster_version: state.cluster_version };
        bincode::serde::encode_into_std_write(&additions, out, config)?;
    }
    if format_for(state) >= 5 {
        let additions = Additions5 { sla_targets: &state.sla_targets, sla_by_priority: &state.sla_by_priority };
        bincode::serde::encode_into_std_write(&additions, out, config)?;
    }
    Ok(())
}

pub fn encode(state: &State) -> Vec<u8> {
    let body = encode_body(state);
    let mut out = Vec::with_capacity(12 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&format_for(state).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

pub fn decode(bytes: &[u8]) -> Result<State, DecodeError> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let config = bincode::config::standard();
    let corrupt = |e: bincode::error::DecodeError| DecodeError::Corrupt(e.to_string());
    let (mut state, mut used): (State, usize) = bincode::serde::decode_from_slice(&bytes[12..], config).map_err(corrupt)?;
    if version >= 3 {
        let (additions, n): (Additions, usize) =
            bincode::serde::decode_from_slice(&bytes[12 + used..], config).map_err(corrupt)?;
        state.observability = additions.observability;
        state.history = additions.history;
        used += n;
    }
    if version >= 4 {
        let (additions, n): (Additions4, usize) =
            bincode::serde::decode_from_slice(&bytes[12 + used..], config).map_err(corrupt)?;
        state.cluster_version = additions.cluster_version;
        used += n;
    }
    if version >= 5 {
        let (additions, n): (Additions5<SlaTargets, PriorityLedger>, usize) =
            bincode::serde::decode_from_slice(&bytes[12 + used..], config).map_err(corrupt)?;
        state.sla_targets = additions.sla_targets;
        state.sla_by_priority = additions.sla_by_priority;
        used += n;
    }
    if used != bytes.len() - 12 {
        return Err(DecodeError::Corrupt(format!("{} trailing bytes", bytes.len() - 12 - used)));
    }
    crate::apply::rebuild_derived(&mut state);
    Ok(state)
}
