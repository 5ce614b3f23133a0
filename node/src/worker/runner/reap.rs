//! Waiting for a job to end without a thread per job: the job's pidfd sits in
//! the runtime's epoll set and turns readable when the process exits, then
//! `wait4(WNOHANG)` reaps it with its status and resource usage.
//!
//! A blocking `wait4` per job would hold one thread of tokio's blocking pool
//! for the whole run, and that pool stops at 512 threads: on a worker running
//! more jobs than that at once, a short job's end would not be seen until a
//! long one ended. Only where the kernel has no `pidfd_open` (before Linux
//! 5.3) does the wait fall back to such a thread.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

pub type Exit = (libc::c_int, libc::rusage);

/// Waits for our child `pid` to end and reaps it.
pub async fn wait(pid: libc::pid_t) -> io::Result<Exit> {
    // SAFETY: the OwnedFd is a valid pidfd, owned by the AsyncFd until it is
    // dropped, so its raw descriptor stays the same open file all along; the
    // worker and its tests run on runtimes with the IO driver.
    let watched = pidfd(pid).and_then(|fd| unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(io::Error::from));
    let fd = match watched {
        Ok(fd) => fd,
        Err(e) => {
            tracing::debug!(pid, error = %e, "no pidfd for the job; waiting on a blocking thread");
            return tokio::task::spawn_blocking(move || wait4(pid, 0)).await.unwrap_or_else(|e| Err(io::Error::other(e)))?.ok_or_else(|| io::Error::other("wait4 returned nothing"));
        }
    };
    loop {
        let mut ready = fd.readable().await?;
        if let Some(exit) = wait4(pid, libc::WNOHANG)? {
            return Ok(exit);
        }
        ready.clear_ready();
    }
}

fn pidfd(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor that only this value owns (close-on-exec by default).
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// `wait4` on our own child, retried on EINTR: `None` while it runs (WNOHANG).
fn wait4(pid: libc::pid_t, flags: libc::c_int) -> io::Result<Option<Exit>> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data that wait4 fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: status and usage point to live locals.
        match unsafe { libc::wait4(pid, &mut status, flags, &mut usage) } {
            0 => return Ok(None),
            r if r == pid => return Ok(Some((status, usage))),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}
