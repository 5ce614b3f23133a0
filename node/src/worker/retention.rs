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

use std::collections::{BTreeSet, VecDeque};
use std::io;
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

pub struct Retention {
    work_dir: PathBuf,
    keep: usize,
    /// Finished jobs still on disk, oldest first.
    finished: Mutex<VecDeque<u64>>,
}

impl Retention {
    /// Takes stock of `work_dir` and deletes what is beyond `keep` already.
    pub fn open(work_dir: &Path, keep: usize) -> io::Result<Retention> {
        let mut found = BTreeSet::new();
        for entry in std::fs::read_dir(work_dir)? {
            if let Some(id) = job_of(&entry?.file_name().to_string_lossy()) {
                found.insert(id);
            }
        }
        let r = Retention { work_dir: work_dir.to_path_buf(), keep, finished: Mutex::new(VecDeque::new()) };
        let evicted = r.push(found);
        if !evicted.is_empty() {
            tracing::info!(deleted = evicted.len(), keep, "deleting the oldest finished jobs' files found in the work dir");
        }
        remove(&r.work_dir, &evicted);
        Ok(r)
    }

    /// `job` runs here again: none of its files may go until it finishes.
    pub fn started(&self, job: u64) {
        self.finished.lock().unwrap_or_else(|e| e.into_inner()).retain(|&j| j != job);
    }

    /// `job` finished and was reported: it joins the kept ones, and the
    /// oldest beyond `--keep-finished-jobs` are deleted off the runtime.
    pub async fn finished(&self, job: u64) {
        let evicted = self.push([job]);
        if evicted.is_empty() {
            return;
        }
        let dir = self.work_dir.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || remove(&dir, &evicted)).await {
            tracing::warn!(error = %e, "deleting finished jobs' files stopped");
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

fn remove(work_dir: &Path, jobs: &[u64]) {
    for &job in jobs {
        let gone = |r: io::Result<()>| r.or_else(|e| if e.kind() == io::ErrorKind::NotFound { Ok(()) } else { Err(e) });
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
    }

    fn on_disk(dir: &Path) -> BTreeSet<String> {
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    }

    fn names(jobs: &[u64]) -> BTreeSet<String> {
        jobs.iter().flat_map(|j| [format!("job-{j}"), format!("job-{j}.log")]).collect()
    }

    #[tokio::test]
    async fn the_newest_finished_jobs_are_kept_and_older_ones_deleted() {
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
        let r = Retention::open(dir.path(), 2).unwrap();
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
}
