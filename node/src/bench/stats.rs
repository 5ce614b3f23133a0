//! What a run measured: latencies in an HDR histogram (microseconds, 3
//! significant digits), errors counted by kind, and the report printed at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::args::BenchOutput;

/// Longest latency the histograms hold exactly; longer ones are clamped to it.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Why one request failed, in a few words a script can group on
/// (`unavailable`, `timeout`, `http_503`, ...), with the server's message.
#[derive(Debug, Clone)]
pub struct OpError {
    pub kind: String,
    pub message: String,
}

impl OpError {
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> OpError {
        OpError { kind: kind.into(), message: message.into() }
    }

    /// A gRPC status, its code in snake case (`DeadlineExceeded` -> `deadline_exceeded`).
    pub fn grpc(status: &tonic::Status) -> OpError {
        let mut kind = String::new();
        for (i, ch) in format!("{:?}", status.code()).chars().enumerate() {
            if ch.is_ascii_uppercase() && i > 0 {
                kind.push('_');
            }
            kind.push(ch.to_ascii_lowercase());
        }
        OpError::new(kind, status.message())
    }
}

/// Latencies and errors, for the whole run and for the current second.
pub struct Recorder {
    total: Histogram<u64>,
    window: Histogram<u64>,
    window_errors: u64,
    errors: BTreeMap<String, u64>,
    /// The first message seen for each error kind, to say what went wrong.
    examples: BTreeMap<String, String>,
}

impl Recorder {
    pub fn new() -> Recorder {
        let h = || Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("bounds 1..1h with 3 digits are valid");
        Recorder { total: h(), window: h(), window_errors: 0, errors: BTreeMap::new(), examples: BTreeMap::new() }
    }

    pub fn record(&mut self, latency: Duration, result: Result<(), OpError>) {
        match result {
            Ok(()) => {
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).clamp(1, MAX_LATENCY_US);
                self.total.saturating_record(us);
                self.window.saturating_record(us);
            }
            Err(e) => {
                self.window_errors += 1;
                *self.errors.entry(e.kind.clone()).or_default() += 1;
                self.examples.entry(e.kind).or_insert(e.message);
            }
        }
    }

    pub fn ok(&self) -> u64 {
        self.total.len()
    }

    pub fn errors(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The progress line for the second that just ended, and a fresh window.
    pub fn take_window(&mut self, elapsed: Duration) -> String {
        let line = format!(
            "[{:>4.0}s] {:>8} ok/s  p50 {:>8.2} ms  p99 {:>8.2} ms  errors {}",
            elapsed.as_secs_f64(),
            self.window.len(),
            ms(self.window.value_at_quantile(0.5)),
            ms(self.window.value_at_quantile(0.99)),
            self.window_errors
        );
        self.window.reset();
        self.window_errors = 0;
        line
    }

    /// The final figures of a run that lasted `elapsed`.
    pub fn report(&self, system: &str, op: &str, elapsed: Duration) -> Report {
        let q = |q: f64| ms(self.total.value_at_quantile(q));
        let secs = elapsed.as_secs_f64().max(1e-9);
        Report {
            system: system.to_string(),
            op: op.to_string(),
            transport: String::new(),
            concurrency: 0,
            rate: None,
            payload_bytes: 0,
            elapsed_s: round3(elapsed.as_secs_f64()),
            ok: self.ok(),
            errors: self.errors(),
            errors_by_kind: self.errors.clone(),
            error_examples: self.examples.clone(),
            ops_per_s: round3(self.ok() as f64 / secs),
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            max_ms: ms(self.total.max()),
            mean_ms: round3(self.total.mean() / 1000.0),
            tenants: Vec::new(),
        }
    }
}

fn ms(us: u64) -> f64 {
    round3(us as f64 / 1000.0)
}

/// Three decimals: microsecond resolution for figures in milliseconds.
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// One run's result; `-o json` prints it as one object. Latencies are of
/// acknowledged requests only; `ops_per_s` counts acknowledged requests.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `hodei` or `etcd`
    pub system: String,
    /// `submit`, `read`, `put`, `range`
    pub op: String,
    /// `grpc` or `rest` (Hodei), `grpc` (etcd); with `/linearizable` or `/stale` for reads
    pub transport: String,
    pub concurrency: u32,
    /// Requests started per second (open loop); absent for a closed loop.
    pub rate: Option<u32>,
    pub payload_bytes: u64,
    pub elapsed_s: f64,
    pub ok: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub error_examples: BTreeMap<String, String>,
    pub ops_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    /// The bench tenants the jobs went to (submit and read).
    pub tenants: Vec<u64>,
}

/// A bench's final report: one JSON object on a line for scripts (`-o
/// json`), a table for people.
pub trait BenchReport: Serialize {
    fn table(&self) -> String;

    fn print(&self, output: BenchOutput) {
        let text = match output {
            BenchOutput::Json => format!("{}\n", serde_json::to_string(self).unwrap_or_default()),
            BenchOutput::Table => self.table(),
        };
        crate::client::output::emit(&text);
    }
}

impl BenchReport for Report {
    fn table(&self) -> String {
        let mut s = format!(
            "{} {} over {}, {} clients{}, {} B payload, {:.1} s\n",
            self.system,
            self.op,
            self.transport,
            self.concurrency,
            self.rate.map(|r| format!(" at {r}/s")).unwrap_or_default(),
            self.payload_bytes,
            self.elapsed_s
        );
        s += &format!("  acknowledged  {:>10}   ({:.1} ops/s)\n", self.ok, self.ops_per_s);
        s += &format!("  latency ms    p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  mean {:.2}\n",
            self.p50_ms, self.p90_ms, self.p99_ms, self.p999_ms, self.max_ms, self.mean_ms);
        s += &format!("  errors        {:>10}\n", self.errors);
        for (kind, n) in &self.errors_by_kind {
            let example = self.error_examples.get(kind).map(String::as_str).unwrap_or("");
            s += &format!("    {kind:<20} {n:>8}   e.g. {example}\n");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_counts_acks_and_errors_apart_and_reads_quantiles() {
        let mut r = Recorder::new();
        for ms in 1..=100u64 {
            r.record(Duration::from_millis(ms), Ok(()));
        }
        r.record(Duration::from_millis(5), Err(OpError::grpc(&tonic::Status::deadline_exceeded("slow"))));
        r.record(Duration::from_millis(5), Err(OpError::new("timeout", "no answer")));
        r.record(Duration::from_millis(5), Err(OpError::new("timeout", "again")));
        let rep = r.report("hodei", "submit", Duration::from_secs(2));
        assert_eq!((rep.ok, rep.errors, rep.ops_per_s), (100, 3, 50.0));
        assert_eq!(rep.errors_by_kind["deadline_exceeded"], 1);
        assert_eq!(rep.errors_by_kind["timeout"], 2);
        assert_eq!(rep.error_examples["timeout"], "no answer", "the first message of a kind is kept");
        assert!((rep.p50_ms - 50.0).abs() < 0.1, "p50 {}", rep.p50_ms);
        assert!((rep.p99_ms - 99.0).abs() < 0.1, "p99 {}", rep.p99_ms);
        assert!((rep.max_ms - 100.0).abs() < 0.1, "max {}", rep.max_ms);
    }

    #[test]
    fn the_progress_window_starts_afresh_each_second() {
        let mut r = Recorder::new();
        r.record(Duration::from_millis(3), Ok(()));
        r.record(Duration::from_millis(3), Err(OpError::new("unavailable", "x")));
        let first = r.take_window(Duration::from_secs(1));
        assert!(first.contains("       1 ok/s") && first.ends_with("errors 1"), "{first}");
        let second = r.take_window(Duration::from_secs(2));
        assert!(second.contains("       0 ok/s") && second.ends_with("errors 0"), "{second}");
        assert_eq!((r.ok(), r.errors()), (1, 1), "the totals keep everything");
    }

    #[test]
    fn an_empty_run_reports_zeros_not_a_panic() {
        let rep = Recorder::new().report("etcd", "put", Duration::ZERO);
        assert_eq!((rep.ok, rep.errors, rep.ops_per_s, rep.p99_ms), (0, 0, 0.0, 0.0));
        let json: serde_json::Value = serde_json::from_str(&serde_json::to_string(&rep).unwrap()).unwrap();
        assert_eq!(json["system"], "etcd");
    }
}
