//! The log's one writer: a dedicated OS thread that owns the file. Appends queue
//! up while it syncs, and each round writes everything queued and issues a single
//! `fdatasync`, then acknowledges every waiter of that round (group commit). No
//! file I/O ever runs on the async runtime.
//!
//! The file is allocated ahead in steps of [`ALLOCATE_STEP`] (`fallocate`), and
//! records are written into that space: an append that grew the file would
//! make its `fdatasync` commit the new size through the file system's journal
//! too (measured here: 3 context switches per sync against 2, and about a
//! third more time; see `docs/storage.md`).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Called with the outcome of the sync that covered the caller's bytes.
pub type Ack = Box<dyn FnOnce(std::io::Result<()>) + Send>;

pub enum Op {
    /// Bytes to append; `ack` fires once they are on disk. Bytes without an ack
    /// (the committed id) do not force a sync of their own: the next durable write
    /// syncs them too.
    Write { bytes: Vec<u8>, ack: Option<Ack> },
    /// Replace the whole file with these bytes (compaction), atomically.
    Rewrite { bytes: Vec<u8>, ack: Option<Ack> },
}

/// One write round of the log writer as an observer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteRound {
    /// From the writer taking the round's first write to its acknowledgement:
    /// the write plus the sync that openraft waits out.
    pub append: Duration,
    /// The `fdatasync` alone, when the round issued one.
    pub sync: Option<Duration>,
    pub bytes: u64,
}

/// Called by the writer thread after every round; must be quick (it delays the
/// acknowledgements of the next round).
pub type RoundObserver = Box<dyn Fn(WriteRound) + Send + Sync>;

#[derive(Default)]
pub struct Counters {
    pub fsyncs: AtomicU64,
    pub bytes: AtomicU64,
    pub rounds: AtomicU64,
    pub observer: OnceLock<RoundObserver>,
}

/// How much file space is allocated at a time, ahead of the records.
pub const ALLOCATE_STEP: u64 = 16 * 1024 * 1024;

/// The file and where the next record goes in it.
struct Wal {
    file: File,
    /// The end of the last record written.
    end: u64,
    /// The file's length: the space from `end` on reads as zeros.
    allocated: u64,
}

impl Wal {
    /// Writes `bytes` after the last record, allocating space first if they
    /// do not fit (the round's `fdatasync` then commits the new length too).
    fn append(&mut self, bytes: &[u8], counters: &Counters) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let needed = self.end + bytes.len() as u64;
        if needed > self.allocated {
            let target = needed.div_ceil(ALLOCATE_STEP) * ALLOCATE_STEP;
            allocate(&self.file, self.allocated, target)?;
            self.allocated = target;
        }
        self.file.write_all_at(bytes, self.end)?;
        self.end = needed;
        counters.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Extends `file` from `from` to `to` bytes of zeros, with blocks allocated
/// where the file system can (`fallocate`); elsewhere as a sparse extension,
/// which reads the same and only syncs slower.
fn allocate(file: &File, from: u64, to: u64) -> std::io::Result<()> {
    let (offset, len) = (i64::try_from(from).map_err(std::io::Error::other)?, i64::try_from(to - from).map_err(std::io::Error::other)?);
    // SAFETY: fallocate on a file descriptor this thread owns; no memory is passed.
    if unsafe { libc::fallocate(file.as_raw_fd(), 0, offset, len) } == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => file.set_len(to),
        _ => Err(e),
    }
}

/// Starts the writer thread on `file`, whose records end at `end`.
pub fn spawn(path: PathBuf, file: File, end: u64, counters: Arc<Counters>) -> std::io::Result<Sender<Op>> {
    let allocated = file.metadata()?.len().max(end);
    let (tx, rx) = std::sync::mpsc::channel::<Op>();
    std::thread::Builder::new()
        .name("hodei-raft-log".into())
        .spawn(move || run(path, Wal { file, end, allocated }, rx, counters))?;
    Ok(tx)
}

/// Planted bug `ack-before-fsync` keeps acknowledged bytes in user space until
/// this many have gathered.
const HELD_LIMIT: usize = 1024 * 1024;

fn run(path: PathBuf, mut wal: Wal, rx: Receiver<Op>, counters: Arc<Counters>) {
    // Planted bug `ack-before-fsync` (`hodei_domain::planted`): every write is
    // acknowledged at once and its bytes wait here, in user space, so a node
    // that dies loses writes it acknowledged. Always empty in product builds.
    // Kept in file order: once the bug is off, the next write goes after them.
    let mut held: Vec<u8> = Vec::new();
    while let Ok(first) = rx.recv() {
        let started = Instant::now();
        let bytes_before = counters.bytes.load(Ordering::Relaxed);
        let mut sync = None;
        let mut acks: Vec<Ack> = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut rewrote = false;
        let mut result: std::io::Result<()> = Ok(());
        let mut next = Some(first);
        while let Some(op) = next.take() {
            let ack_before_fsync = hodei_domain::planted::active(hodei_domain::planted::Bug::AckBeforeFsync);
            match op {
                Op::Write { bytes, ack } if ack_before_fsync => {
                    held.extend_from_slice(&bytes);
                    if let Some(ack) = ack {
                        ack(Ok(()));
                    }
                    if held.len() >= HELD_LIMIT {
                        pending.append(&mut held);
                    }
                }
                Op::Write { bytes, ack } => {
                    pending.append(&mut held);
                    pending.extend_from_slice(&bytes);
                    acks.extend(ack);
                }
                Op::Rewrite { bytes, ack } => {
                    pending.append(&mut held);
                    // Flush what came before, then swap files.
                    if result.is_ok() {
                        result = wal.append(&pending, &counters);
                    }
                    pending.clear();
                    if result.is_ok() {
                        result = rewrite(&path, &bytes, &counters).map(|w| wal = w);
                    }
                    rewrote = true;
                    acks.extend(ack);
                }
            }
            next = rx.try_recv().ok();
        }
        if result.is_ok() {
            result = wal.append(&pending, &counters);
        }
        // A round that only carried un-acknowledged bytes need not sync now; a
        // rewrite synced its own file already.
        if result.is_ok() && !acks.is_empty() && !(rewrote && pending.is_empty()) {
            let t = Instant::now();
            result = wal.file.sync_data();
            sync = Some(t.elapsed());
            counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        }
        counters.rounds.fetch_add(1, Ordering::Relaxed);
        let acked = !acks.is_empty();
        for ack in acks {
            ack(clone_result(&result));
        }
        if let (true, Some(observe)) = (acked, counters.observer.get()) {
            let bytes = counters.bytes.load(Ordering::Relaxed).saturating_sub(bytes_before);
            observe(WriteRound { append: started.elapsed(), sync, bytes });
        }
        if let Err(e) = result {
            // The file's state is unknown past this point; refuse all later work.
            tracing::error!(error = %e, "raft log write failed; the log stops accepting writes");
            while let Ok(op) = rx.recv() {
                let ack = match op {
                    Op::Write { ack, .. } | Op::Rewrite { ack, .. } => ack,
                };
                if let Some(ack) = ack {
                    ack(Err(std::io::Error::other(format!("raft log failed earlier: {e}"))));
                }
            }
            return;
        }
    }
}

fn clone_result(r: &std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Ok(()) => Ok(()),
        Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
    }
}

/// Writes `bytes` to a temp file, syncs it, renames it over `path` and syncs the
/// directory; returns the new file, its records ending where `bytes` do.
fn rewrite(path: &Path, bytes: &[u8], counters: &Counters) -> std::io::Result<Wal> {
    let tmp = path.with_extension("rewrite");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        counters.fsyncs.fetch_add(1, Ordering::Relaxed);
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(path)?;
    let end = bytes.len() as u64;
    Ok(Wal { file: OpenOptions::new().read(true).write(true).open(path)?, end, allocated: end })
}

pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}
