//! The snapshot file: the state machine at one log index, written whole, synced
//! and renamed into place before any log entry it covers may be purged.
//!
//! ```text
//! file := b"HODEISNP" u32-le(format version) u32-le(meta len) meta body u32-le(crc32 of all before)
//! meta := bincode-2 of SnapshotMeta (last log id, membership, snapshot id)
//! body := hodei_domain::snapshot encoding of the State (versioned itself)
//! ```

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::types::SnapshotMeta;

const MAGIC: &[u8; 8] = b"HODEISNP";
/// The snapshot file format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

pub fn path(dir: &Path) -> PathBuf {
    dir.join("snapshots").join("current.snap")
}

/// Frames a snapshot: meta and the encoded state.
pub fn encode(meta: &SnapshotMeta, state_bytes: &[u8]) -> Vec<u8> {
    let meta_bytes = bincode::serde::encode_to_vec(meta, bincode::config::standard())
        .expect("encoding snapshot meta into a Vec cannot fail");
    let mut out = Vec::with_capacity(20 + meta_bytes.len() + state_bytes.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(meta_bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta_bytes);
    out.extend_from_slice(state_bytes);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Splits a framed snapshot into its meta and the encoded state, checking the
/// version and checksum.
pub fn decode(bytes: &[u8]) -> Result<(SnapshotMeta, &[u8]), String> {
    if bytes.len() < 20 || &bytes[..8] != MAGIC {
        return Err("not a hodei snapshot (bad magic or too short)".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(format!("snapshot format {version} is not supported (this build reads {FORMAT_VERSION})"));
    }
    let (framed, crc) = bytes.split_at(bytes.len() - 4);
    if crc32fast::hash(framed) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
        return Err("snapshot checksum mismatch".into());
    }
    let meta_len = u32::from_le_bytes(framed[12..16].try_into().expect("4 bytes")) as usize;
    let meta_end = 16usize.checked_add(meta_len).filter(|e| *e <= framed.len()).ok_or("snapshot meta length out of range")?;
    let (meta, used) = bincode::serde::decode_from_slice(&framed[16..meta_end], bincode::config::standard())
        .map_err(|e| format!("snapshot meta does not decode: {e}"))?;
    if used != meta_len {
        return Err("snapshot meta has trailing bytes".into());
    }
    Ok((meta, &framed[meta_end..]))
}

/// Writes the snapshot durably: temp file, fsync, rename, fsync the directory.
pub fn write(dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = path(dir);
    let parent = target.parent().expect("snapshot path has a parent");
    std::fs::create_dir_all(parent)?;
    let tmp = target.with_extension("tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &target)?;
    File::open(parent)?.sync_all()
}

/// The current snapshot file's bytes, if one was ever written.
pub fn read(dir: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path(dir)) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
