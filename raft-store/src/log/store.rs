//! [`LogStore`]: openraft's `RaftLogStorage` and `RaftLogReader` over the
//! write-ahead file. Every change is applied to the in-memory image and queued to
//! the writer thread in one step under the lock, so the file's record order is
//! the order openraft made the calls in; openraft hears of an append only from
//! the writer, after the sync that covered it.

use std::fmt::Debug;
use std::fs::OpenOptions;
use std::io::Write;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, OptionalSend, StorageIOError};

use super::format;
use super::memory::Memory;
use super::record::Record;
use super::writer::{self, Ack, Counters, Op};
use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};

/// Tuning of the log; `Default` is what the product runs.
#[derive(Clone, Debug)]
pub struct LogOptions {
    /// A purge rewrites the file once at least this many of its bytes are dead
    /// and they outnumber the live ones.
    pub compact_min_dead_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions { compact_min_dead_bytes: 8 * 1024 * 1024 }
    }
}

#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
    counters: Arc<Counters>,
}

struct Inner {
    mem: Memory,
    writer: Sender<Op>,
    /// The file's length once everything queued is written.
    file_bytes: u64,
    options: LogOptions,
}

fn io_err(subject: ErrorSubject<u64>, verb: ErrorVerb, e: impl ToString) -> StorageError {
    StorageIOError::new(subject, verb, openraft::AnyError::error(e.to_string())).into()
}

fn log_err(verb: ErrorVerb, e: impl ToString) -> StorageError {
    io_err(ErrorSubject::Logs, verb, e)
}

fn closed() -> StorageError {
    log_err(ErrorVerb::Write, "raft log writer stopped")
}

type Durable = tokio::sync::oneshot::Receiver<std::io::Result<()>>;

fn waiter() -> (Ack, Durable) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    (Box::new(move |res| drop(tx.send(res))), rx)
}

async fn wait(rx: Durable, subject: ErrorSubject<u64>) -> Result<(), StorageError> {
    rx.await.map_err(|_| closed())?.map_err(|e| io_err(subject, ErrorVerb::Write, e))
}

impl LogStore {
    /// Opens (or creates) the log under `dir/raft/` with the default options.
    pub async fn open(dir: &Path) -> Result<LogStore, StorageError> {
        Self::open_with(dir, LogOptions::default()).await
    }

    /// Opens the log: replays the file, cuts off a torn tail left by a crash,
    /// rewrites a file of an older format in the current one, and starts the
    /// writer thread. Corruption before the tail is an error.
    pub async fn open_with(dir: &Path, options: LogOptions) -> Result<LogStore, StorageError> {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&dir, options))
            .await
            .map_err(|e| log_err(ErrorVerb::Read, e))?
    }

    fn open_blocking(dir: &Path, options: LogOptions) -> Result<LogStore, StorageError> {
        let path = super::wal_path(dir);
        let counters = Arc::new(Counters::default());
        let werr = |e: std::io::Error| log_err(ErrorVerb::Write, e);
        std::fs::create_dir_all(path.parent().expect("wal has a parent")).map_err(werr)?;
        let _ = std::fs::remove_file(path.with_extension("rewrite")); // an interrupted compaction
        let mut bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(log_err(ErrorVerb::Read, e)),
        };
        let mut decoded = format::decode_file(&bytes).map_err(|e| log_err(ErrorVerb::Read, e))?;
        if decoded.version != 0 && decoded.version < format::FORMAT_VERSION {
            tracing::info!(from = decoded.version, to = format::FORMAT_VERSION, "rewriting the raft log in the current format");
            let mut mem = Memory::default();
            for (r, n) in decoded.records {
                mem.apply(r, n);
            }
            bytes = mem.encode_file();
            writer::rewrite(&path, &bytes, &counters).map_err(werr)?;
            decoded = format::decode_file(&bytes).map_err(|e| log_err(ErrorVerb::Read, e))?;
        }
        let mut file = OpenOptions::new().create(true).append(true).open(&path).map_err(werr)?;
        if decoded.valid_len < bytes.len() || decoded.valid_len == 0 {
            if decoded.valid_len < bytes.len() {
                tracing::warn!(cut = bytes.len() - decoded.valid_len, "cutting a torn tail off the raft log");
            }
            file.set_len(decoded.valid_len as u64).map_err(werr)?;
            if decoded.valid_len == 0 {
                file.write_all(&format::header()).map_err(werr)?;
                decoded.valid_len = format::HEADER_LEN;
            }
            file.sync_all().map_err(werr)?;
            counters.sync_dir(&path).map_err(werr)?;
        }
        let mut mem = Memory::default();
        for (r, n) in decoded.records {
            mem.apply(r, n);
        }
        let writer = writer::spawn(path, file, counters.clone()).map_err(werr)?;
        let inner = Inner { mem, writer, file_bytes: decoded.valid_len as u64, options };
        Ok(LogStore { inner: Arc::new(Mutex::new(inner)), counters })
    }

    /// How many `fdatasync`/`fsync` calls the log has issued (for measurements).
    pub fn fsync_count(&self) -> u64 {
        self.counters.fsyncs.load(Ordering::Relaxed)
    }

    /// How many write rounds (each ended by at most one sync) the writer has run.
    pub fn write_rounds(&self) -> u64 {
        self.counters.rounds.load(Ordering::Relaxed)
    }

    /// The log file's length once everything queued is written.
    pub fn file_bytes(&self) -> u64 {
        self.lock().file_bytes
    }

    /// Makes the next sync fail as a disk error would: for fault tests. After a
    /// failed sync the log refuses every later write.
    #[doc(hidden)]
    pub fn fail_next_sync(&self) {
        self.counters.fail_next_sync.store(true, Ordering::Relaxed);
    }

    /// Appends `entries` and returns once they are durable: what openraft's
    /// `append` does, with the flush awaited (tools, benches and tests).
    pub async fn append_durable(&self, entries: Vec<Entry>) -> Result<(), StorageError> {
        let (ack, rx) = waiter();
        self.queue_entries(entries, ack)?;
        wait(rx, ErrorSubject::Logs).await
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn queue_entries(&self, entries: impl IntoIterator<Item = Entry>, ack: Ack) -> Result<(), StorageError> {
        let inner = &mut *self.lock();
        let mut bytes = Vec::new();
        for e in entries {
            let n = format::encode(&Record::Entry(e.clone()), &mut bytes);
            inner.mem.apply(Record::Entry(e), n);
        }
        inner.queue(bytes, Some(ack))
    }

    /// Applies `record` in memory and queues it; the receiver yields once durable.
    fn queue_record(&self, record: Record) -> Result<Durable, StorageError> {
        let inner = &mut *self.lock();
        let mut bytes = Vec::new();
        let n = format::encode(&record, &mut bytes);
        inner.mem.apply(record, n);
        let (ack, rx) = waiter();
        inner.queue(bytes, Some(ack))?;
        Ok(rx)
    }
}

impl Inner {
    fn queue(&mut self, bytes: Vec<u8>, ack: Option<Ack>) -> Result<(), StorageError> {
        self.file_bytes += bytes.len() as u64;
        self.writer.send(Op::Write { bytes, ack }).map_err(|_| closed())
    }

    /// After a purge: rewrite the file when most of it is dead.
    fn compact_if_worth_it(&mut self) -> Result<Option<Durable>, StorageError> {
        let live = self.mem.live_bytes() as u64;
        let dead = self.file_bytes.saturating_sub(live);
        if dead < self.options.compact_min_dead_bytes || dead < live {
            return Ok(None);
        }
        let bytes = self.mem.encode_file();
        tracing::info!(before = self.file_bytes, after = bytes.len(), "compacting the raft log");
        self.file_bytes = bytes.len() as u64;
        let (ack, rx) = waiter();
        self.writer.send(Op::Rewrite { bytes, ack: Some(ack) }).map_err(|_| closed())?;
        Ok(Some(rx))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(self.lock().mem.entries.range(range).map(|(_, (e, _))| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let inner = self.lock();
        Ok(LogState { last_purged_log_id: inner.mem.last_purged, last_log_id: inner.mem.last_log_id() })
    }

    async fn get_log_reader(&mut self) -> Self {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let rx = self.queue_record(Record::Vote(*vote))?;
        wait(rx, ErrorSubject::Vote).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.lock().mem.vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let inner = &mut *self.lock();
        inner.mem.committed = committed;
        // No ack, hence no sync of its own: a lost committed id only means
        // re-applying less at start-up, and the next durable write syncs it.
        let mut bytes = Vec::new();
        format::encode(&Record::Committed(committed), &mut bytes);
        inner.queue(bytes, None)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.lock().mem.committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        self.queue_entries(entries, Box::new(move |res| callback.log_io_completed(res)))
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let rx = self.queue_record(Record::Truncate(log_id.index))?;
        wait(rx, ErrorSubject::Logs).await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let (rx, rewrite) = {
            let inner = &mut *self.lock();
            let mut bytes = Vec::new();
            let n = format::encode(&Record::Purge(log_id), &mut bytes);
            inner.mem.apply(Record::Purge(log_id), n);
            let (ack, rx) = waiter();
            inner.queue(bytes, Some(ack))?;
            (rx, inner.compact_if_worth_it()?)
        };
        wait(rx, ErrorSubject::Logs).await?;
        match rewrite {
            Some(rx) => wait(rx, ErrorSubject::Logs).await,
            None => Ok(()),
        }
    }
}
