//! [`StateMachineStore`]: `hodei_domain::State` in memory, behind a lock that
//! reads hold briefly and `apply` holds once per batch. Durability comes from the
//! log plus the snapshot file: at start-up the state is the latest snapshot, and
//! openraft re-applies the committed entries after it.
//!
//! The store knows the protocol version its node speaks (this build's, or a
//! lower one it is capped to). An entry or snapshot newer than that is refused
//! with a storage error, which stops the node, as the previous release fails on
//! a kind it cannot decode; the cluster version keeps that from happening.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use hodei_domain::{Outcome, State};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot};
use openraft::{EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, StorageIOError};

use crate::snapshot_file;
use crate::types::{Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig};

#[derive(Clone)]
pub struct StateMachineStore {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    applied: RwLock<Applied>,
    /// The latest snapshot, framed as on disk, served to lagging followers.
    current: Mutex<Option<(SnapshotMeta, Arc<Vec<u8>>)>>,
    snapshots_built: std::sync::atomic::AtomicU64,
    /// The protocol version this node speaks (see `hodei_domain::version`).
    speaks: AtomicU32,
    /// The last state hash computed and the applied index it is for: a
    /// state's hash walks all of it, and status polls ask again and again.
    hash: Mutex<Option<(u64, u64)>>,
    /// Told of every snapshot built or installed (for metrics).
    snapshot_observer: OnceLock<SnapshotObserver>,
    /// Job placements in the entries this node applied (for metrics), and the
    /// index through which entries are not counted (see [`StateMachineStore::assignments_applied`]).
    assignments: AtomicU64,
    count_after: AtomicU64,
}

/// What a snapshot operation was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotOp {
    /// This node built one from its own state (openraft's policy or a backup).
    Build,
    /// This node installed one sent by the leader.
    Install,
}

/// One snapshot this store built or installed, as an observer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotDone {
    pub op: SnapshotOp,
    /// The snapshot file's size.
    pub bytes: u64,
    /// Build: copying the state, encoding it and writing the file durably.
    /// Install: decoding, checking and writing the file, and swapping the state in.
    pub took: Duration,
}

/// Called after every snapshot built or installed; must be quick. Failed
/// operations are not reported.
pub type SnapshotObserver = Box<dyn Fn(SnapshotDone) + Send + Sync>;

struct Applied {
    state: State,
    last_applied: Option<LogId>,
    membership: StoredMembership,
}

fn sm_err(verb: ErrorVerb, e: impl ToString) -> StorageError {
    StorageIOError::new(ErrorSubject::StateMachine, verb, openraft::AnyError::error(e.to_string())).into()
}

fn snap_err(verb: ErrorVerb, e: impl ToString) -> StorageError {
    StorageIOError::new(ErrorSubject::Snapshot(None), verb, openraft::AnyError::error(e.to_string())).into()
}

impl StateMachineStore {
    /// Loads the latest snapshot under `dir/snapshots/`, or starts empty.
    pub async fn open(dir: &Path) -> Result<StateMachineStore, StorageError> {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(dir)).await.map_err(|e| sm_err(ErrorVerb::Read, e))?
    }

    fn open_blocking(dir: PathBuf) -> Result<StateMachineStore, StorageError> {
        let mut applied = Applied { state: State::default(), last_applied: None, membership: StoredMembership::default() };
        let mut current = None;
        if let Some(bytes) = snapshot_file::read(&dir).map_err(|e| snap_err(ErrorVerb::Read, e))? {
            let (meta, body) = snapshot_file::decode(&bytes).map_err(|e| snap_err(ErrorVerb::Read, e))?;
            applied.state = hodei_domain::snapshot::decode(body).map_err(|e| snap_err(ErrorVerb::Read, e))?;
            applied.last_applied = meta.last_log_id;
            applied.membership = meta.last_membership.clone();
            tracing::info!(index = ?meta.last_log_id.map(|l| l.index), "state machine loaded from snapshot");
            current = Some((meta, Arc::new(bytes)));
        }
        Ok(StateMachineStore {
            inner: Arc::new(Inner {
                dir,
                applied: RwLock::new(applied),
                current: Mutex::new(current),
                snapshots_built: Default::default(),
                speaks: AtomicU32::new(hodei_domain::PROTOCOL_VERSION),
                hash: Mutex::new(None),
                snapshot_observer: OnceLock::new(),
                assignments: AtomicU64::new(0),
                count_after: AtomicU64::new(0),
            }),
        })
    }

    /// Caps the protocol version this store accepts (a node run as the
    /// previous release). Refused if the state already needs a newer one.
    pub fn speak_protocol(&self, version: u32) -> Result<(), String> {
        let cluster = self.read(State::cluster_version);
        if cluster > version {
            return Err(format!(
                "the cluster runs protocol version {cluster} and this node speaks {version}: downgrading a member is not supported"
            ));
        }
        self.inner.speaks.store(version, Ordering::Relaxed);
        Ok(())
    }

    /// The protocol version this node speaks.
    pub fn protocol_version(&self) -> u32 {
        self.inner.speaks.load(Ordering::Relaxed)
    }

    fn applied(&self) -> std::sync::RwLockReadGuard<'_, Applied> {
        self.inner.applied.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the current state under a short read lock.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.applied().state)
    }

    /// Runs `f` on the current state and returns the applied index it saw.
    pub fn read_with_index<R>(&self, f: impl FnOnce(&State) -> R) -> (R, u64) {
        let a = self.applied();
        (f(&a.state), a.last_applied.map(|l| l.index).unwrap_or(0))
    }

    pub fn applied_index(&self) -> u64 {
        self.applied().last_applied.map(|l| l.index).unwrap_or(0)
    }

    /// The applied index and the state hash at that index, read together.
    /// Walks the whole state unless the index is the one last hashed; the walk
    /// runs on a copy (job records are shared, so the copy is of pointers), so
    /// apply is held only for the copy. Blocking: call it off the runtime.
    pub fn state_hash(&self) -> (u64, u64) {
        let (index, state) = {
            let a = self.applied();
            let index = a.last_applied.map(|l| l.index).unwrap_or(0);
            match *self.inner.hash.lock().unwrap_or_else(|e| e.into_inner()) {
                Some((at, hash)) if at == index => return (index, hash),
                _ => (index, a.state.clone()),
            }
        };
        let hash = state.state_hash();
        *self.inner.hash.lock().unwrap_or_else(|e| e.into_inner()) = Some((index, hash));
        (index, hash)
    }

    /// The latest snapshot file's bytes (a consistent backup).
    pub fn current_snapshot_bytes(&self) -> Option<Vec<u8>> {
        self.inner.current.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|(_, b)| b.as_ref().clone())
    }

    /// Job placements (`AssignJobs` that held) in the entries this node applied
    /// since it started, leaving out entries at or below the index given to
    /// [`Self::count_assignments_after`] (a restart re-applies those). Every
    /// node applies every entry, so every node counts every assignment once.
    pub fn assignments_applied(&self) -> u64 {
        self.inner.assignments.load(Ordering::Relaxed)
    }

    /// Entries at or below `index` (already committed when the node started,
    /// so re-applied at start-up) are not counted by [`Self::assignments_applied`].
    pub fn count_assignments_after(&self, index: u64) {
        self.inner.count_after.store(index, Ordering::Relaxed);
    }

    /// The size of the latest snapshot file (built, installed or loaded at
    /// start-up); 0 when there is none.
    pub fn snapshot_size(&self) -> u64 {
        self.inner.current.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map_or(0, |(_, b)| b.len() as u64)
    }

    /// Registers the one observer of snapshots built and installed (for
    /// metrics); a second call is refused and returns false.
    pub fn observe_snapshots(&self, observer: SnapshotObserver) -> bool {
        self.inner.snapshot_observer.set(observer).is_ok()
    }

    fn snapshot_done(&self, op: SnapshotOp, bytes: usize, started: Instant) {
        if let Some(observe) = self.inner.snapshot_observer.get() {
            observe(SnapshotDone { op, bytes: bytes as u64, took: started.elapsed() });
        }
    }

    fn set_current(&self, meta: SnapshotMeta, bytes: Arc<Vec<u8>>) {
        *self.inner.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((meta, bytes));
    }
}

/// Jobs placed by an outcome (a batch's included, though `AssignJobs` is never batched).
fn placements(outcome: &Outcome) -> u64 {
    match outcome {
        Outcome::JobsAssigned(placed) => placed.len() as u64,
        Outcome::Batch(outcomes) => outcomes.iter().map(placements).sum(),
        _ => 0,
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let started = Instant::now();
        let (state, last_applied, membership) = {
            let a = self.applied();
            (a.state.clone(), a.last_applied, a.membership.clone())
        };
        let n = self.inner.snapshots_built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let snapshot_id = match last_applied {
            Some(l) => format!("{}-{}-{n}", l.leader_id, l.index),
            None => format!("empty-{n}"),
        };
        let meta = SnapshotMeta { last_log_id: last_applied, last_membership: membership, snapshot_id };
        let dir = self.inner.dir.clone();
        let meta2 = meta.clone();
        let bytes = tokio::task::spawn_blocking(move || {
            let body = hodei_domain::snapshot::encode(&state);
            drop(state);
            let bytes = snapshot_file::encode(&meta2, &body);
            drop(body);
            // The copy of the state was as large as the state itself, and its
            // pages lie between live ones: give them back to the kernel.
            crate::memory::release_free_pages();
            snapshot_file::write(&dir, &bytes).map(|_| bytes)
        })
        .await
        .map_err(|e| snap_err(ErrorVerb::Write, e))?
        .map_err(|e| snap_err(ErrorVerb::Write, e))?;
        tracing::info!(index = ?last_applied.map(|l| l.index), bytes = bytes.len(), "snapshot built");
        let bytes = Arc::new(bytes);
        self.set_current(meta.clone(), bytes.clone());
        self.snapshot_done(SnapshotOp::Build, bytes.len(), started);
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(bytes.as_ref().clone())) })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let a = self.applied();
        Ok((a.last_applied, a.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Option<Outcome>>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let speaks = self.protocol_version();
        let count_after = self.inner.count_after.load(Ordering::Relaxed);
        let mut a = self.inner.applied.write().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for entry in entries {
            if let EntryPayload::Normal(p) = &entry.payload {
                let needs = p.command.min_version();
                if needs > speaks {
                    tracing::error!(index = entry.log_id.index, kind = p.command.kind(), needs, speaks, "entry newer than this node's protocol version");
                    return Err(sm_err(
                        ErrorVerb::Read,
                        format!("entry {} ({}) needs protocol version {needs}; this node speaks {speaks}", entry.log_id.index, p.command.kind()),
                    ));
                }
            }
            a.last_applied = Some(entry.log_id);
            let index = entry.log_id.index;
            out.push(match entry.payload {
                EntryPayload::Blank => None,
                EntryPayload::Normal(proposal) => {
                    let outcome = a.state.apply(index, &proposal);
                    if index > count_after {
                        self.inner.assignments.fetch_add(placements(&outcome), Ordering::Relaxed);
                    }
                    Some(outcome)
                }
                EntryPayload::Membership(m) => {
                    a.membership = StoredMembership::new(Some(entry.log_id), m);
                    None
                }
            });
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: Box<Cursor<Vec<u8>>>) -> Result<(), StorageError> {
        let started = Instant::now();
        let bytes = snapshot.into_inner();
        let dir = self.inner.dir.clone();
        let expected = meta.clone();
        let speaks = self.protocol_version();
        let (state, bytes) = tokio::task::spawn_blocking(move || -> Result<(State, Vec<u8>), String> {
            let (found, body) = snapshot_file::decode(&bytes)?;
            if found.last_log_id != expected.last_log_id {
                return Err(format!("snapshot covers {:?}, expected {:?}", found.last_log_id, expected.last_log_id));
            }
            let state = hodei_domain::snapshot::decode(body).map_err(|e| e.to_string())?;
            if state.cluster_version() > speaks {
                return Err(format!("snapshot of a cluster at protocol version {}; this node speaks {speaks}", state.cluster_version()));
            }
            snapshot_file::write(&dir, &bytes).map_err(|e| e.to_string())?;
            Ok((state, bytes))
        })
        .await
        .map_err(|e| snap_err(ErrorVerb::Write, e))?
        .map_err(|e| snap_err(ErrorVerb::Write, e))?;
        {
            let mut a = self.inner.applied.write().unwrap_or_else(|e| e.into_inner());
            a.state = state;
            a.last_applied = meta.last_log_id;
            a.membership = meta.last_membership.clone();
        }
        tracing::info!(index = ?meta.last_log_id.map(|l| l.index), bytes = bytes.len(), "snapshot installed");
        let size = bytes.len();
        self.set_current(meta.clone(), Arc::new(bytes));
        self.snapshot_done(SnapshotOp::Install, size, started);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let current = self.inner.current.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(current.map(|(meta, bytes)| Snapshot { meta, snapshot: Box::new(Cursor::new(bytes.as_ref().clone())) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store whose observer records what it is told.
    async fn observed(dir: &Path) -> (StateMachineStore, Arc<Mutex<Vec<SnapshotDone>>>) {
        let store = StateMachineStore::open(dir).await.expect("open store");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        assert!(store.observe_snapshots(Box::new(move |d| sink.lock().unwrap().push(d))));
        assert!(!store.observe_snapshots(Box::new(|_| {})), "a second observer is refused");
        (store, seen)
    }

    #[tokio::test]
    async fn snapshots_built_and_installed_are_reported_with_their_size() {
        let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (mut a, built) = observed(a_dir.path()).await;
        assert_eq!(a.snapshot_size(), 0, "no snapshot yet");
        let snapshot = a.get_snapshot_builder().await.build_snapshot().await.expect("build");
        let bytes = snapshot.snapshot.into_inner();
        let size = bytes.len() as u64;
        assert!(size > 20, "a framed snapshot");
        assert_eq!(a.snapshot_size(), size);
        assert_eq!(built.lock().unwrap().iter().map(|d| (d.op, d.bytes)).collect::<Vec<_>>(), [(SnapshotOp::Build, size)]);

        let (mut b, installed) = observed(b_dir.path()).await;
        b.install_snapshot(&snapshot.meta, Box::new(Cursor::new(bytes))).await.expect("install");
        assert_eq!(b.snapshot_size(), size);
        assert_eq!(installed.lock().unwrap().iter().map(|d| (d.op, d.bytes)).collect::<Vec<_>>(), [(SnapshotOp::Install, size)]);

        // A refused install is not reported.
        let bad = Box::new(Cursor::new(b"not a snapshot".to_vec()));
        assert!(b.install_snapshot(&snapshot.meta, bad).await.is_err());
        assert_eq!(installed.lock().unwrap().len(), 1);
        // The size of a snapshot loaded at start-up is known too.
        drop(b);
        assert_eq!(StateMachineStore::open(b_dir.path()).await.unwrap().snapshot_size(), size);
    }

    fn entry(index: u64, command: hodei_domain::Command) -> Entry {
        Entry {
            log_id: LogId::new(openraft::CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Normal(hodei_domain::Proposal { at_ms: 1_700_000_000_000 + index, command }),
        }
    }

    /// A tenant, a worker and a job applied as entries 1 to 3, then the job
    /// placed by entry 4; returns the store's assignment count.
    async fn place_one_job(count_after: u64) -> u64 {
        use hodei_domain::command::{AssignJobs, CreateTenant, RegisterWorker, SubmitJob};
        use hodei_domain::{Command, JobSpec, PoolId};
        let dir = tempfile::tempdir().unwrap();
        let mut sm = StateMachineStore::open(dir.path()).await.unwrap();
        sm.count_assignments_after(count_after);
        let worker = RegisterWorker { pool: PoolId("p".into()), name: "w".into(), cpu_m: 1000, memory_mb: 1000, labels: Default::default(), logs_addr: String::new() };
        let out = sm
            .apply(vec![
                entry(1, Command::CreateTenant(CreateTenant { name: "a".into(), email: "a@a.io".into(), quota: None })),
                entry(2, Command::RegisterWorker(worker)),
            ])
            .await
            .unwrap();
        let (Some(Outcome::TenantCreated(t)), Some(Outcome::WorkerRegistered(w))) = (&out[0], &out[1]) else { panic!("{out:?}") };
        let spec = JobSpec { command: vec!["true".into()], cpu_m: 10, memory_mb: 10, ..Default::default() };
        let out = sm.apply(vec![entry(3, Command::SubmitJob(SubmitJob { tenant_id: t.id, spec, idempotency_key: None }))]).await.unwrap();
        let Some(Outcome::JobSubmitted(job)) = &out[0] else { panic!("{out:?}") };
        let place = AssignJobs { assignments: vec![(job.id, w.id), (job.id, w.id)] };
        let out = sm.apply(vec![entry(4, Command::AssignJobs(place))]).await.unwrap();
        assert!(matches!(&out[0], Some(Outcome::JobsAssigned(p)) if p.len() == 1), "the second placement of the same job does not hold: {out:?}");
        sm.assignments_applied()
    }

    #[tokio::test]
    async fn placements_that_held_are_counted_unless_replayed() {
        assert_eq!(place_one_job(0).await, 1);
        assert_eq!(place_one_job(3).await, 1, "entry 4 is after the replayed ones");
        assert_eq!(place_one_job(4).await, 0, "entry 4 was committed before the start: a replay");
    }
}
