//! What a worker keeps of finished jobs on disk: the work dir (`job-<id>/`)
//! and output (`job-<id>.log`) of its last `--keep-finished-jobs` jobs. Older
//! ones are deleted, oldest first, so a long-lived worker does not fill its
//! disk, as Nomad collects old allocation directories. `hodei job logs` of a
//! job whose output was deleted answers that the job has no output.
//!
//! Jobs found in the work dir when the agent starts (left by an earlier run
//! of it) count as finished, oldest id first. A job that starts again here
//! (the cluster may place it again after this agent restarted) leaves the
//! list until it finishes, so nothing of a running job is deleted.
//!
//! An old job's directory and log are not deleted but emptied and kept as a
//! spare (`.spare-<n>`, `.spare-<n>.log`), which the next job's directory and
//! log are renamed from. ext4 passes over recently deleted inodes when it
//! allocates one (`find_inode_bit`, `recently_deleted`), so deleting two
//! inodes per job and creating two more made every new job's `mkdir` and
//! `open` slower the more jobs had ended: under `hodei bench dispatch` the
//! workers' CPU per job tripled. Spares are bounded; beyond the bound, and
//! for leftovers of an earlier run, files are deleted.

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The job's working directory under the worker's.
pub fn job_dir(work_dir: &Path, job_id: u64) -> PathBuf {
    work_dir.join(format!("job-{job_id}"))
}

/// The job's stdout and stderr.
pub fn log_path(work_dir: &Path, job_id: u64) -> PathBuf {
    work_dir.join(format!("job-{job_id}.log"))
}

/// The job a work dir entry belongs to, if it is one of ours.
fn job_of(name: &str) -> Option<u64> {
    let id = name.strip_prefix("job-")?;
    id.strip_suffix(".log").unwrap_or(id).parse().ok()
}

/// Spares kept at most: enough for the jobs that start at once.
const MAX_SPARES: usize = 64;

pub struct Retention {
    work_dir: PathBuf,
    keep: usize,
    /// Finished jobs still on disk, oldest first.
    finished: Mutex<VecDeque<u64>>,
    /// Numbers of the empty spares on disk, and the next number to give.
    spares: Mutex<(Vec<u64>, u64)>,
}

fn spare_dir(work_dir: &Path, n: u64) -> PathBuf {
    work_dir.join(format!(".spare-{n}"))
}

fn spare_log(work_dir: &Path, n: u64) -> PathBuf {
    work_dir.join(format!(".spare-{n}.log"))
}

/// `Ok` when `r` is, or failed only because the file was not there.
fn gone(r: io::Result<()>) -> io::Result<()> {
    r.or_else(|e| if e.kind() == io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
}

/// Deletes a directory entry, a directory with all it holds or a file.
fn remove_entry(entry: &std::fs::DirEntry) -> io::Result<()> {
    gone(if entry.file_type()?.is_dir() { std::fs::remove_dir_all(entry.path()) } else { std::fs::remove_file(entry.path()) })
}

/// Deletes what there is of spare `n`, as best it can: a spare left behind
/// is deleted at the worker's next start.
fn remove_spare(work_dir: &Path, n: u64) {
    let _ = gone(std::fs::remove_dir_all(spare_dir(work_dir, n)));
    let _ = gone(std::fs::remove_file(spare_log(work_dir, n)));
}

impl Retention {
    /// Takes stock of `work_dir` and deletes what is beyond `keep` already.
    pub fn open(work_dir: &Path, keep: usize) -> io::Result<Retention> {
        let mut found = BTreeSet::new();
        for entry in std::fs::read_dir(work_dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = job_of(&name) {
                found.insert(id);
            } else if name.starts_with(".spare-") {
                remove_entry(&entry)?;
            }
        }
        let r = Retention { work_dir: work_dir.to_path_buf(), keep, finished: Mutex::new(VecDeque::new()), spares: Mutex::new((Vec::new(), 0)) };
        let evicted = r.push(found);
        if !evicted.is_empty() {
            tracing::info!(deleted = evicted.len(), keep, "deleting the oldest finished jobs' files found in the work dir");
        }
        remove(&r.work_dir, &evicted);
        Ok(r)
    }

    /// `job` is about to run here: none of its files may go until it
    /// finishes, and unless it has a directory already (it ran here before)
    /// a spare becomes its directory and log.
    pub fn started(&self, job: u64) {
        self.finished.lock().unwrap_or_else(|e| e.into_inner()).retain(|&j| j != job);
        let (dir, log) = (job_dir(&self.work_dir, job), log_path(&self.work_dir, job));
        if dir.exists() || log.exists() {
            return;
        }
        let Some(n) = self.spares.lock().unwrap_or_else(|e| e.into_inner()).0.pop() else { return };
        let moved = std::fs::rename(spare_dir(&self.work_dir, n), &dir).and_then(|()| std::fs::rename(spare_log(&self.work_dir, n), &log));
        if let Err(e) = moved {
            // The runner creates what is missing; drop what is left of the spare.
            tracing::warn!(job_id = job, error = %e, "cannot reuse a spare job directory");
            remove_spare(&self.work_dir, n);
        }
    }

    /// `job` finished and was reported: it joins the kept ones, and the
    /// oldest beyond `--keep-finished-jobs` become spares or, beyond
    /// `MAX_SPARES`, are deleted, off the runtime.
    pub async fn finished(&self, job: u64) {
        let evicted = self.push([job]);
        if evicted.is_empty() {
            return;
        }
        let spares = {
            let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
            let room = MAX_SPARES.saturating_sub(spares.0.len()).min(evicted.len());
            let first = spares.1;
            spares.1 += room as u64;
            first..first + room as u64
        };
        let dir = self.work_dir.clone();
        let recycled = tokio::task::spawn_blocking(move || {
            let (reuse, delete) = evicted.split_at(spares.clone().count());
            remove(&dir, delete);
            reuse.iter().zip(spares).filter_map(|(&job, n)| recycle(&dir, job, n).then_some(n)).collect::<Vec<_>>()
        });
        match recycled.await {
            Ok(ready) => self.spares.lock().unwrap_or_else(|e| e.into_inner()).0.extend(ready),
            Err(e) => tracing::warn!(error = %e, "clearing finished jobs' files stopped"),
        }
    }

    fn push(&self, jobs: impl IntoIterator<Item = u64>) -> Vec<u64> {
        let mut finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        for job in jobs {
            finished.retain(|&j| j != job);
            finished.push_back(job);
        }
        let over = finished.len().saturating_sub(self.keep);
        finished.drain(..over).collect()
    }
}

/// Empties `job`'s directory and log and renames them to spare `n`; on any
/// failure deletes what is left of both and answers false.
fn recycle(work_dir: &Path, job: u64, n: u64) -> bool {
    let (dir, log) = (job_dir(work_dir, job), log_path(work_dir, job));
    let emptied = || -> io::Result<()> {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            remove_entry(&entry)?;
        }
        let log_file = std::fs::OpenOptions::new().write(true).open(&log)?;
        log_file.set_len(0)?;
        // A job may have changed its directory's or log's mode: the next one
        // gets them as a fresh start would (under the usual umask 022).
        log_file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&dir, spare_dir(work_dir, n))?;
        std::fs::rename(&log, spare_log(work_dir, n))
    };
    match emptied() {
        Ok(()) => true,
        Err(_) => {
            remove(work_dir, &[job]);
            remove_spare(work_dir, n);
            false
        }
    }
}

fn remove(work_dir: &Path, jobs: &[u64]) {
    for &job in jobs {
        if let Err(e) = gone(std::fs::remove_dir_all(job_dir(work_dir, job))).and_then(|()| gone(std::fs::remove_file(log_path(work_dir, job)))) {
            tracing::warn!(job_id = job, error = %e, "cannot delete a finished job's files");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leave(dir: &Path, job: u64) {
        std::fs::create_dir_all(job_dir(dir, job).join("sub")).unwrap();
        std::fs::write(job_dir(dir, job).join("sub/out"), b"x").unwrap();
        std::fs::write(log_path(dir, job), b"output").unwrap();
        // As a job may leave them.
        std::fs::set_permissions(job_dir(dir, job), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(log_path(dir, job), std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// What is on disk, spares aside.
    fn on_disk(dir: &Path) -> BTreeSet<String> {
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| !n.starts_with(".spare-")).collect()
    }

    fn spares(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".spare-")).count()
    }

    fn names(jobs: &[u64]) -> BTreeSet<String> {
        jobs.iter().flat_map(|j| [format!("job-{j}"), format!("job-{j}.log")]).collect()
    }

    #[tokio::test]
    async fn the_newest_finished_jobs_are_kept_and_older_ones_cleared_away() {
        let dir = tempfile::tempdir().unwrap();
        let r = Retention::open(dir.path(), 2).unwrap();
        for job in [5, 3, 9] {
            leave(dir.path(), job);
            r.finished(job).await;
        }
        assert_eq!(on_disk(dir.path()), names(&[3, 9]), "finish order decides, not the id");
    }

    #[tokio::test]
    async fn jobs_left_by_an_earlier_run_count_oldest_id_first_and_other_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        for job in [12, 4, 30, 7] {
            leave(dir.path(), job);
        }
        std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        std::fs::write(dir.path().join("job-x.log"), b"not a job").unwrap();
        std::fs::create_dir_all(dir.path().join(".spare-3/left")).unwrap();
        std::fs::write(dir.path().join(".spare-3.log"), b"old").unwrap();
        let r = Retention::open(dir.path(), 2).unwrap();
        assert_eq!(spares(dir.path()), 0, "an earlier run's spares are deleted");
        let mut expected = names(&[12, 30]);
        expected.extend(["notes.txt".to_string(), "job-x.log".to_string()]);
        assert_eq!(on_disk(dir.path()), expected);
        leave(dir.path(), 31);
        r.finished(31).await;
        expected.retain(|n| !n.starts_with("job-12"));
        expected.extend(names(&[31]));
        assert_eq!(on_disk(dir.path()), expected);
    }

    #[tokio::test]
    async fn a_job_running_again_keeps_its_files_until_it_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let r = Retention::open(dir.path(), 1).unwrap();
        leave(dir.path(), 1);
        r.finished(1).await;
        r.started(1);
        leave(dir.path(), 2);
        r.finished(2).await;
        assert_eq!(on_disk(dir.path()), names(&[1, 2]), "job 1 runs again: its files must stay");
        r.finished(1).await;
        assert_eq!(on_disk(dir.path()), names(&[1]));
    }

    #[tokio::test]
    async fn the_next_job_gets_an_old_jobs_emptied_directory_and_log_not_new_inodes() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let r = Retention::open(dir.path(), 1).unwrap();
        let ino = |p: PathBuf| std::fs::metadata(p).unwrap().ino();
        leave(dir.path(), 1);
        let (old_dir, old_log) = (ino(job_dir(dir.path(), 1)), ino(log_path(dir.path(), 1)));
        r.finished(1).await;
        leave(dir.path(), 2);
        r.finished(2).await;
        assert_eq!((on_disk(dir.path()), spares(dir.path())), (names(&[2]), 2), "job 1's directory and log became a spare");

        r.started(3);
        assert_eq!(ino(job_dir(dir.path(), 3)), old_dir);
        assert_eq!(ino(log_path(dir.path(), 3)), old_log);
        assert_eq!(std::fs::read_dir(job_dir(dir.path(), 3)).unwrap().count(), 0, "the directory comes empty");
        assert_eq!(std::fs::metadata(log_path(dir.path(), 3)).unwrap().len(), 0, "the log comes empty");
        let mode = |p: PathBuf| std::fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!((mode(job_dir(dir.path(), 3)), mode(log_path(dir.path(), 3))), (0o755, 0o644), "a mode the old job set does not carry over");
        assert_eq!(spares(dir.path()), 0);

        r.started(4);
        assert!(!job_dir(dir.path(), 4).exists(), "with no spare left, the runner creates the directory");
    }

    #[tokio::test]
    async fn spares_are_bounded_and_the_rest_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let r = Retention::open(dir.path(), 0).unwrap();
        for job in 0..(MAX_SPARES as u64 + 5) {
            leave(dir.path(), job);
            r.finished(job).await;
        }
        assert_eq!((on_disk(dir.path()).len(), spares(dir.path())), (0, 2 * MAX_SPARES));
    }
}
