//! The peer wire format: `hodei.raft.v1.Payload { version, payload }`, where the
//! payload is the bincode-2 (standard config) encoding of a Rust value.
//!
//! [`WIRE_VERSION`] names the payload format. A node that receives a version it
//! does not know answers with a clear error instead of misreading the bytes.

use hodei_proto::raft::v1::Payload;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The payload format this build writes and reads.
pub const WIRE_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("peer payload version {0} is not supported (this build speaks {WIRE_VERSION})")]
    Version(u32),
    #[error("peer payload does not decode: {0}")]
    Decode(String),
    #[error("value does not encode: {0}")]
    Encode(String),
}

pub fn encode<T: Serialize>(value: &T) -> Result<Payload, CodecError> {
    let payload = bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    Ok(Payload { version: WIRE_VERSION, payload })
}

pub fn decode<T: DeserializeOwned>(p: &Payload) -> Result<T, CodecError> {
    if p.version != WIRE_VERSION {
        return Err(CodecError::Version(p.version));
    }
    let (value, used) =
        bincode::serde::decode_from_slice(&p.payload, bincode::config::standard())
            .map_err(|e| CodecError::Decode(e.to_string()))?;
    if used != p.payload.len() {
        return Err(CodecError::Decode(format!("{} trailing bytes", p.payload.len() - used)));
    }
    Ok(value)
}

impl From<CodecError> for tonic::Status {
    fn from(e: CodecError) -> Self {
        tonic::Status::invalid_argument(e.to_string())
    }
}
