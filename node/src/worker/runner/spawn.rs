//! Starting a job's process without copying the worker: `clone(CLONE_VM |
//! CLONE_VFORK)`, as posix_spawn(3) does, plus the address-space limit, which
//! posix_spawn cannot set.
//!
//! `std::process::Command` forks as soon as a `pre_exec` hook is set, and a
//! fork of the worker copies its page tables, then pays copy-on-write faults
//! and TLB shoot-downs on both sides until the child execs. Under `hodei bench
//! dispatch` that was most of the worker's CPU per job (`docs/performance.md`).
//!
//! Here the child shares the worker's memory and runs on a stack of its own
//! while the calling thread waits for it to exec or exit. The child calls only
//! thin syscall wrappers: no allocation, no locks. Every byte it needs (paths,
//! argv, envp) is prepared before the clone, and it reports a failure by
//! writing the errno into memory the parent reads afterwards.
//!
//! What the child gets, in order: signal handlers back to their defaults
//! (SIGPIPE too, which Rust ignores), its own process group, `RLIMIT_AS`,
//! no core dumps, stdin from `/dev/null` and stdout and stderr to the job's
//! files, the work dir, an empty signal mask, then `execve` of the program,
//! looked up in the job's own `PATH` when it has no `/`.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

use libc::{c_char, c_int, c_void};

/// The child's stack: it only makes syscalls, so a small one is plenty.
const STACK_BYTES: usize = 64 * 1024;
/// Signals 1..NSIG on Linux.
const NSIG: c_int = 65;

/// Which step of the child failed, for the error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
enum Step {
    None = 0,
    ProcessGroup,
    Files,
    WorkDir,
    Exec,
}

/// Everything the child reads, prepared by the parent; the child writes only
/// `failed` and `errno`.
struct Shared {
    candidates: Vec<*const c_char>,
    argv: *const *const c_char,
    envp: *const *const c_char,
    cwd: *const c_char,
    fds: [RawFd; 3],
    as_limit: libc::rlimit,
    failed: Step,
    errno: c_int,
}

pub struct Job<'a> {
    pub program: &'a str,
    pub args: &'a [String],
    /// The whole environment of the job, `PATH` included.
    pub env: &'a [(String, String)],
    pub work_dir: &'a Path,
    /// Where stdout and stderr go.
    pub output: &'a File,
    /// `RLIMIT_AS` in bytes.
    pub address_space: u64,
}

fn c_string(s: &[u8]) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the command, an argument or the environment holds a NUL byte"))
}

/// Where to look for `program`: itself when it names a path, else each
/// directory of the job's `PATH` in order (an empty entry is the work dir).
fn candidates(program: &str, env: &[(String, String)]) -> io::Result<Vec<CString>> {
    if program.contains('/') {
        return Ok(vec![c_string(program.as_bytes())?]);
    }
    let path = env.iter().rev().find(|(k, _)| k == "PATH").map_or("/usr/local/bin:/usr/bin:/bin", |(_, v)| v.as_str());
    path.split(':').map(|dir| c_string(format!("{}/{program}", if dir.is_empty() { "." } else { dir }).as_bytes())).collect()
}

/// `fd` itself when it is above stdio, else a close-on-exec copy that is: the
/// child's `dup2` onto 0, 1 and 2 must never meet its own source.
fn above_stdio(fd: RawFd) -> io::Result<Option<OwnedFd>> {
    if fd > 2 {
        return Ok(None);
    }
    // SAFETY: duplicating a descriptor we hold; the copy is owned below.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `copy` is a fresh descriptor nobody else owns.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(copy) }))
}

/// Starts the job and returns its pid once it has exec'd. The caller reaps it.
pub fn spawn(job: &Job<'_>) -> io::Result<libc::pid_t> {
    let paths = candidates(job.program, job.env)?;
    let mut argv = vec![c_string(job.program.as_bytes())?];
    for a in job.args {
        argv.push(c_string(a.as_bytes())?);
    }
    let envp = job.env.iter().map(|(k, v)| c_string(format!("{k}={v}").as_bytes())).collect::<io::Result<Vec<_>>>()?;
    let cwd = c_string(OsStr::as_bytes(job.work_dir.as_os_str()))?;
    let null = |v: &[CString]| v.iter().map(|s| s.as_ptr()).chain(std::iter::once(ptr::null())).collect::<Vec<_>>();
    let (argv_p, envp_p) = (null(&argv), null(&envp));

    let stdin = File::open("/dev/null")?;
    let (stdin_copy, output_copy) = (above_stdio(stdin.as_raw_fd())?, above_stdio(job.output.as_raw_fd())?);
    let stdin_fd = stdin_copy.as_ref().map_or(stdin.as_raw_fd(), |c| c.as_raw_fd());
    let output_fd = output_copy.as_ref().map_or(job.output.as_raw_fd(), |c| c.as_raw_fd());

    let mut shared = Shared {
        candidates: paths.iter().map(|p| p.as_ptr()).collect(),
        argv: argv_p.as_ptr(),
        envp: envp_p.as_ptr(),
        cwd: cwd.as_ptr(),
        fds: [stdin_fd, output_fd, output_fd],
        as_limit: libc::rlimit { rlim_cur: job.address_space, rlim_max: job.address_space },
        failed: Step::None,
        errno: 0,
    };
    let mut stack = vec![0u8; STACK_BYTES];
    // SAFETY: the stack grows down from its 16-byte aligned end, inside `stack`.
    let top = unsafe { stack.as_mut_ptr().add(STACK_BYTES) };
    let top = (top as usize & !15) as *mut c_void;

    // SAFETY: the worker's handlers must not run in the child, which shares
    // its memory: every signal is blocked around the clone, and the child
    // resets the handlers before it unblocks. `shared`, the strings it points
    // into and `stack` outlive the child's use of them, since CLONE_VFORK
    // suspends this thread until the child has exec'd or exited.
    let (pid, errno) = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(child, top, libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD, ptr::addr_of_mut!(shared).cast());
        let errno = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut());
        (pid, errno)
    };
    if pid < 0 {
        return Err(errno);
    }
    // SAFETY: the child has exec'd or exited; these reads see its writes.
    let (failed, errno) = unsafe { (ptr::read_volatile(&shared.failed), ptr::read_volatile(&shared.errno)) };
    if failed == Step::None {
        return Ok(pid);
    }
    // SAFETY: reaping our own child, which exited with 127.
    while unsafe { libc::waitpid(pid, ptr::null_mut(), 0) } < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {}
    let e = io::Error::from_raw_os_error(errno);
    Err(match failed {
        Step::ProcessGroup => io::Error::new(e.kind(), format!("setting its process group: {e}")),
        Step::Files => io::Error::new(e.kind(), format!("attaching its output: {e}")),
        Step::WorkDir => io::Error::new(e.kind(), format!("entering {}: {e}", job.work_dir.display())),
        Step::Exec | Step::None => e,
    })
}

/// The child. Runs on `stack` inside the worker's memory: syscalls only.
extern "C" fn child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `Shared`, alive while this runs; every call
    // below is an async-signal-safe syscall wrapper.
    unsafe {
        let s = &mut *arg.cast::<Shared>();
        let fail = |s: &mut Shared, step: Step| -> ! {
            ptr::write_volatile(&mut s.errno, *libc::__errno_location());
            ptr::write_volatile(&mut s.failed, step);
            libc::_exit(127)
        };
        let mut current: libc::sigaction = std::mem::zeroed();
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        for sig in 1..NSIG {
            if libc::sigaction(sig, ptr::null(), &mut current) != 0 {
                continue;
            }
            let handled = current.sa_sigaction != libc::SIG_DFL && current.sa_sigaction != libc::SIG_IGN;
            if handled || (sig == libc::SIGPIPE && current.sa_sigaction == libc::SIG_IGN) {
                libc::sigaction(sig, &default, ptr::null_mut());
            }
        }
        if libc::setpgid(0, 0) != 0 {
            fail(s, Step::ProcessGroup);
        }
        libc::setrlimit(libc::RLIMIT_AS, &s.as_limit);
        libc::setrlimit(libc::RLIMIT_CORE, &libc::rlimit { rlim_cur: 0, rlim_max: 0 });
        for (target, &fd) in s.fds.iter().enumerate() {
            if libc::dup2(fd, target as c_int) < 0 {
                fail(s, Step::Files);
            }
        }
        if libc::chdir(s.cwd) != 0 {
            fail(s, Step::WorkDir);
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::pthread_sigmask(libc::SIG_SETMASK, &none, ptr::null_mut());
        // As execvp: a miss or a permission error moves on to the next
        // directory; anything else stops the search. The error reported is
        // EACCES if any candidate gave it, else the last one.
        let mut errno = libc::ENOENT;
        for &path in &s.candidates {
            libc::execve(path, s.argv, s.envp);
            match *libc::__errno_location() {
                libc::EACCES => errno = libc::EACCES,
                libc::ENOENT | libc::ENOTDIR if errno != libc::EACCES => errno = *libc::__errno_location(),
                libc::ENOENT | libc::ENOTDIR => {}
                other => {
                    errno = other;
                    break;
                }
            }
        }
        *libc::__errno_location() = errno;
        fail(s, Step::Exec)
    }
}
