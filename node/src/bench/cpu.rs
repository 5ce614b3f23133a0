//! CPU time of the processes a bench started, from `/proc/<pid>/stat`
//! (`utime + stime`, and `cutime + cstime`: the children a process reaped,
//! such as a worker's jobs), and how busy the whole machine was, from
//! `/proc/stat`. Linux only: elsewhere nothing is read and the bench reports
//! no CPU split.

use std::time::Instant;

/// CPU seconds one process used, by itself and in the children it reaped.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessCpu {
    pub own_s: f64,
    pub reaped_s: f64,
}

fn ticks_per_s() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Parses the text of `/proc/<pid>/stat`. The command name (field 2) is in
/// parentheses and may hold spaces, so fields are counted after its last `)`.
pub fn parse_stat(text: &str) -> Option<ProcessCpu> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) is f[11] ... cstime (17) f[14].
    let n = |i: usize| f.get(i)?.parse::<f64>().ok();
    let hz = ticks_per_s();
    Some(ProcessCpu { own_s: (n(11)? + n(12)?) / hz, reaped_s: (n(13)? + n(14)?) / hz })
}

pub fn process(pid: u32) -> Option<ProcessCpu> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// (busy, total) jiffies of all CPUs since boot, from the first line of `/proc/stat`.
pub fn parse_machine(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let total: u64 = v.iter().sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// A reading of every watched process and of the machine.
pub struct Snapshot {
    at: Instant,
    processes: Vec<Option<ProcessCpu>>,
    machine: Option<(u64, u64)>,
}

pub fn snapshot(pids: &[u32]) -> Snapshot {
    let machine = std::fs::read_to_string("/proc/stat").ok().and_then(|t| parse_machine(&t));
    Snapshot { at: Instant::now(), processes: pids.iter().map(|&p| process(p)).collect(), machine }
}

/// What each process used between two snapshots of the same pids, the
/// seconds between them, and the machine's busy share (0 to 1) meanwhile.
pub fn between(a: &Snapshot, b: &Snapshot) -> (Vec<Option<ProcessCpu>>, f64, Option<f64>) {
    let used = a
        .processes
        .iter()
        .zip(&b.processes)
        .map(|(x, y)| Some(ProcessCpu { own_s: y.as_ref()?.own_s - x.as_ref()?.own_s, reaped_s: y.as_ref()?.reaped_s - x.as_ref()?.reaped_s }))
        .collect();
    let busy = match (a.machine, b.machine) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => Some((b1 - b0) as f64 / (t1 - t0) as f64),
        _ => None,
    };
    (used, b.at.duration_since(a.at).as_secs_f64(), busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        // A real line's shape, with a command name holding a space and a ')'.
        let line = "4242 (tokio rt) x) S 1 4242 4242 0 -1 4194304 837 0 8 0 340 180 25 75 20 0 9 0 100 0 0";
        let hz = ticks_per_s();
        let c = parse_stat(line).unwrap();
        assert!((c.own_s - 520.0 / hz).abs() < 1e-9, "{c:?}");
        assert!((c.reaped_s - 100.0 / hz).abs() < 1e-9, "{c:?}");
        assert_eq!(parse_stat("4242 (short) S 1 2"), None);
    }

    #[test]
    fn machine_busy_is_everything_but_idle_and_iowait() {
        let (busy, total) = parse_machine("cpu  100 5 50 800 45 0 0 0 0 0\ncpu0 1 2 3 4 5\n").unwrap();
        assert_eq!((busy, total), (155, 1000));
        assert_eq!(parse_machine("intr 1 2 3"), None);
    }

    #[test]
    fn this_process_and_the_machine_are_read() {
        let me = std::process::id();
        let a = snapshot(&[me]);
        // The machine's counters move in clock ticks (10 ms): work until one passed.
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let (used, secs, busy) = loop {
            let mut x = 0u64;
            for i in 0..1_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
            let read = between(&a, &snapshot(&[me]));
            if read.2.is_some() || Instant::now() > deadline {
                break read;
            }
        };
        let used = used[0].expect("/proc/self/stat is readable on Linux");
        assert!(used.own_s >= 0.0 && used.reaped_s >= 0.0 && secs > 0.0, "{used:?}");
        assert!(busy.is_some_and(|b| (0.0..=1.0).contains(&b)), "{busy:?}");
    }
}
