//! [`LogStore`]: openraft's durable log and vote. Entries live in memory (bounded
//! by snapshots and purges) and in one write-ahead file; every change goes through
//! the writer thread, and openraft hears of an append only after the `fdatasync`
//! that covered it.

pub mod record;
mod writer;

pub use writer::{RoundObserver, WriteRound, ALLOCATE_STEP};

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::OpenOptions;
use std::io::Write;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, OnceLock};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, OptionalSend, StorageIOError};

use crate::types::{Entry, LogId, NodeId, StorageError, TypeConfig, Vote};
use record::Record;
use writer::{Counters, Op};

/// Rewrite the file once this many bytes were written since the last rewrite
/// and a purge made most of them dead.
const COMPACT_AFTER_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
    counters: Arc<Counters>,
    leader_append: Arc<OnceLock<(NodeId, LeaderAppendHook)>>,
}

/// Entries this node appended as leader, handed to the hook before they are
/// durable here (see [`LogStore::on_leader_append`]).
pub struct LeaderAppend {
    /// The leader's vote, committed, under which the entries were proposed.
    pub vote: Vote,
    /// The entry just before the first one.
    pub prev: LogId,
    pub entries: Vec<Entry>,
    /// The committed id as this log last saved it.
    pub committed: Option<LogId>,
}

/// Called in openraft's core task with every [`LeaderAppend`]; must be quick.
pub type LeaderAppendHook = Box<dyn Fn(LeaderAppend) + Send + Sync>;

struct Inner {
    entries: BTreeMap<u64, Entry>,
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
    writer: Sender<Op>,
    bytes_at_last_rewrite: u64,
}

fn io_err(verb: ErrorVerb, e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::new(ErrorSubject::Logs, verb, openraft::AnyError::new(&e)).into()
}

fn closed() -> StorageError {
    io_err(ErrorVerb::Write, std::io::Error::other("raft log writer stopped"))
}

pub(crate) fn wal_path(dir: &Path) -> PathBuf {
    dir.join("raft").join("wal")
}

/// Creates a log that starts after `last` (everything up to it purged), for a
/// data dir seeded from a snapshot by `hodei restore`. The vote starts at the
/// term of `last` (voted for no one): a leader of a lower term would append
/// entries whose term goes backwards. Synced before returning.
pub fn write_purged(dir: &Path, last: LogId) -> std::io::Result<()> {
    let path = wal_path(dir);
    std::fs::create_dir_all(path.parent().expect("wal has a parent"))?;
    let mut bytes = record::header().to_vec();
    let vote = Vote { leader_id: openraft::LeaderId { term: last.leader_id.term, voted_for: None }, committed: false };
    record::encode(&Record::Vote(vote), &mut bytes);
    record::encode(&Record::Purge(last), &mut bytes);
    record::encode(&Record::Committed(Some(last)), &mut bytes);
    let mut f = std::fs::File::create(&path)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    writer::sync_dir(&path)
}

/// The vote as a restarted node must hold it: the same term and candidate, but
/// not marked as granted by a quorum.
///
/// openraft 0.9 restarts a node whose saved vote is its own and committed as
/// the leader of that same term. That is safe only if a leader's entries reach
/// followers after they are durable on the leader. With the leader-append hook
/// (see [`LogStore::on_leader_append`]) a follower may hold an entry the leader
/// lost in a crash; a leader resuming its term would then write another entry
/// of the same term at that index, and two logs would differ at an equal log
/// id. An uncommitted vote makes the node start as a follower, so leading again
/// takes an election and a higher term (as in etcd, where a restart always
/// starts a follower). Forgetting the commit is safe for any vote: the term and
/// the candidate, which decide what the node grants, are kept; a follower
/// learns the commit again from its leader's first AppendEntries.
fn uncommitted(vote: Vote) -> Vote {
    Vote { committed: false, ..vote }
}

impl LogStore {
    /// Opens (or creates) the log under `dir/raft/`, replaying the file and cutting
    /// off a torn tail left by a crash. The vote read back is never committed
    /// (see [`uncommitted`]).
    pub async fn open(dir: &Path) -> Result<LogStore, StorageError> {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&dir))
            .await
            .map_err(|e| io_err(ErrorVerb::Read, e))?
    }

    fn open_blocking(dir: &Path) -> Result<LogStore, StorageError> {
        let path = wal_path(dir);
        std::fs::create_dir_all(path.parent().expect("wal has a parent")).map_err(|e| io_err(ErrorVerb::Write, e))?;
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(ErrorVerb::Read, e)),
        };
        let decoded = record::decode_file(&bytes).map_err(|e| io_err(ErrorVerb::Read, std::io::Error::other(e.to_string())))?;
        let mut file = OpenOptions::new().create(true).read(true).write(true).open(&path).map_err(|e| io_err(ErrorVerb::Write, e))?;
        let prepared = Self::prepare(&path, &mut file, &bytes, &decoded).map_err(|e| io_err(ErrorVerb::Write, e))?;
        if prepared {
            writer::sync_dir(&path).map_err(|e| io_err(ErrorVerb::Write, e))?;
        }
        let mut inner = Replay::default();
        for r in decoded.records {
            inner.apply(r);
        }
        let counters = Arc::new(Counters::default());
        let end = decoded.valid_len.max(record::HEADER_LEN) as u64;
        let writer = writer::spawn(path, file, end, counters.clone()).map_err(|e| io_err(ErrorVerb::Write, e))?;
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                entries: inner.entries,
                vote: inner.vote.map(uncommitted),
                committed: inner.committed,
                last_purged: inner.last_purged,
                writer,
                bytes_at_last_rewrite: 0,
            })),
            counters,
            leader_append: Arc::default(),
        })
    }

    /// Makes the file a format-2 log whose records end at `decoded.valid_len`:
    /// writes the header of a new file, cuts a torn tail (so that no stale
    /// bytes lie past the next record), and rewrites a format-1 header (the
    /// records are the same). Syncs the file if it changed anything, and says
    /// so (the caller then syncs the directory).
    fn prepare(path: &Path, file: &mut std::fs::File, bytes: &[u8], decoded: &record::Decoded) -> std::io::Result<bool> {
        use std::os::unix::fs::FileExt;
        let mut changed = false;
        if decoded.torn {
            tracing::warn!(path = %path.display(), at = decoded.valid_len, "cutting a torn tail off the raft log");
            file.set_len(decoded.valid_len as u64)?;
            changed = true;
        }
        if decoded.valid_len == 0 {
            if bytes.is_empty() {
                tracing::info!(path = %path.display(), "starting a new raft log");
            }
            file.write_all_at(&record::header(), 0)?;
            changed = true;
        } else if decoded.version != record::FORMAT_VERSION {
            tracing::info!(path = %path.display(), from = decoded.version, to = record::FORMAT_VERSION, "raising the raft log's format version (same records, space allocated ahead)");
            file.write_all_at(&record::header()[8..], 8)?;
            changed = true;
        }
        if changed {
            file.sync_all()?;
        }
        Ok(changed)
    }

    /// How many `fdatasync`/`fsync` calls the log has issued (for measurements).
    pub fn fsync_count(&self) -> u64 {
        self.counters.fsyncs.load(Ordering::Relaxed)
    }

    /// Registers the one observer of write rounds (for latency metrics); a second
    /// call is refused and returns false.
    pub fn observe_rounds(&self, observer: RoundObserver) -> bool {
        self.counters.observer.set(observer).is_ok()
    }

    /// Registers the one hook told of entries this node (`id`) appends as
    /// leader, as they are handed to the writer: the leader may send them to
    /// followers while its own write is still in progress. openraft 0.9 holds
    /// its core until the leader's `fdatasync` returns and only then starts
    /// replication, which puts the leader's sync on every write's critical
    /// path. Whatever the hook does, the append is reported to openraft only
    /// once it is durable. A second call is refused and returns false.
    pub fn on_leader_append(&self, id: NodeId, hook: LeaderAppendHook) -> bool {
        self.leader_append.set((id, hook)).is_ok()
    }

    /// The index of the last entry handed to the log (flushed or not); what a
    /// leader's read must wait for to include everything it has accepted.
    pub fn last_index(&self) -> u64 {
        let inner = self.lock();
        inner.entries.keys().next_back().copied().or(inner.last_purged.map(|l| l.index)).unwrap_or(0)
    }

    /// The index of the last entry openraft marked committed on this node
    /// (`save_committed`, called before it applies them; 0: none). A follower
    /// learns it from the leader's AppendEntries, so it may trail the leader's.
    pub fn committed_index(&self) -> u64 {
        self.lock().committed.map_or(0, |c| c.index)
    }

    /// How many write rounds (each ended by one sync) the writer has run.
    pub fn write_rounds(&self) -> u64 {
        self.counters.rounds.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `records`; returns a receiver that yields once they are durable.
    fn submit(&self, inner: &Inner, records: &[Record]) -> Result<tokio::sync::oneshot::Receiver<std::io::Result<()>>, StorageError> {
        let mut bytes = Vec::new();
        for r in records {
            record::encode(r, &mut bytes);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let ack: writer::Ack = Box::new(move |res| {
            let _ = tx.send(res);
        });
        inner.writer.send(Op::Write { bytes, ack: Some(ack) }).map_err(|_| closed())?;
        Ok(rx)
    }

    async fn durable(&self, records: Vec<Record>) -> Result<(), StorageError> {
        let rx = {
            let inner = self.lock();
            self.submit(&inner, &records)?
        };
        rx.await.map_err(|_| closed())?.map_err(|e| io_err(ErrorVerb::Write, e))
    }

    /// What the leader-append hook is told of `entries`, about to be appended
    /// after the current last entry: only when a hook is registered, this
    /// node holds a committed vote of its own (it leads), and every entry was
    /// proposed in its term.
    fn leader_append(&self, inner: &Inner, entries: &[Entry]) -> Option<LeaderAppend> {
        let (id, _) = self.leader_append.get()?;
        let vote = inner.vote?;
        let first = entries.first()?.log_id.index;
        let leads = vote.committed && vote.leader_id.voted_for == Some(*id);
        if !leads || entries.iter().any(|e| e.log_id.leader_id.term != vote.leader_id.term) || first == 0 {
            return None;
        }
        let prev = match inner.entries.get(&(first - 1)) {
            Some(e) => e.log_id,
            None => inner.last_purged.filter(|p| p.index == first - 1)?,
        };
        Some(LeaderAppend { vote, prev, entries: entries.to_vec(), committed: inner.committed })
    }

    /// The live contents as one fresh file, for compaction.
    fn snapshot_bytes(inner: &Inner) -> Vec<u8> {
        let mut bytes = record::header().to_vec();
        if let Some(v) = &inner.vote {
            record::encode(&Record::Vote(*v), &mut bytes);
        }
        if let Some(p) = &inner.last_purged {
            record::encode(&Record::Purge(*p), &mut bytes);
        }
        record::encode(&Record::Committed(inner.committed), &mut bytes);
        for e in inner.entries.values() {
            record::encode_entry(e, &mut bytes);
        }
        bytes
    }
}

/// Rebuilds the in-memory log from records in file order.
#[derive(Default)]
struct Replay {
    entries: BTreeMap<u64, Entry>,
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
}

impl Replay {
    fn apply(&mut self, r: Record) {
        match r {
            Record::Entry(e) => {
                let index = e.log_id.index;
                self.entries.split_off(&index);
                self.entries.insert(index, e);
            }
            Record::Truncate(since) => {
                self.entries.split_off(&since);
            }
            Record::Purge(upto) => {
                self.entries = self.entries.split_off(&(upto.index + 1));
                self.last_purged = Some(upto);
            }
            Record::Vote(v) => self.vote = Some(v),
            Record::Committed(c) => self.committed = c,
        }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let inner = self.lock();
        Ok(inner.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let inner = self.lock();
        let last = inner.entries.values().next_back().map(|e| e.log_id).or(inner.last_purged);
        Ok(LogState { last_purged_log_id: inner.last_purged, last_log_id: last })
    }

    async fn get_log_reader(&mut self) -> Self {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.lock().vote = Some(*vote);
        self.durable(vec![Record::Vote(*vote)]).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let inner = &mut *self.lock();
        inner.committed = committed;
        // No ack, hence no sync of its own: a lost committed id only means
        // re-applying less at start-up, and the next append syncs it anyway.
        let mut bytes = Vec::new();
        record::encode(&Record::Committed(committed), &mut bytes);
        inner.writer.send(Op::Write { bytes, ack: None }).map_err(|_| closed())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.lock().committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let mut bytes = Vec::new();
        let leader_append = {
            let inner = &mut *self.lock();
            let leader_append = self.leader_append(inner, &entries);
            for e in entries {
                record::encode_entry(&e, &mut bytes);
                inner.entries.insert(e.log_id.index, e);
            }
            let ack: writer::Ack = Box::new(move |res| callback.log_io_completed(res));
            inner.writer.send(Op::Write { bytes, ack: Some(ack) }).map_err(|_| closed())?;
            leader_append
        };
        if let (Some(append), Some((_, hook))) = (leader_append, self.leader_append.get()) {
            hook(append);
        }
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let rx = {
            let inner = &mut *self.lock();
            inner.entries.split_off(&log_id.index);
            self.submit(inner, &[Record::Truncate(log_id.index)])?
        };
        rx.await.map_err(|_| closed())?.map_err(|e| io_err(ErrorVerb::Write, e))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let rx = {
            let inner = &mut *self.lock();
            inner.entries = inner.entries.split_off(&(log_id.index + 1));
            inner.last_purged = Some(log_id);
            let written = self.counters.bytes.load(Ordering::Relaxed);
            if written - inner.bytes_at_last_rewrite > COMPACT_AFTER_BYTES {
                inner.bytes_at_last_rewrite = written;
                let bytes = Self::snapshot_bytes(inner);
                let (tx, rx) = tokio::sync::oneshot::channel();
                let ack: writer::Ack = Box::new(move |res| {
                    let _ = tx.send(res);
                });
                inner.writer.send(Op::Rewrite { bytes, ack: Some(ack) }).map_err(|_| closed())?;
                rx
            } else {
                self.submit(inner, &[Record::Purge(log_id)])?
            }
        };
        rx.await.map_err(|_| closed())?.map_err(|e| io_err(ErrorVerb::Write, e))
    }
}
