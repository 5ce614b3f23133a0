//! The PromQL the repository ships (Grafana dashboards and Prometheus rules),
//! the metric names it uses, and the Prometheus tools that check it.
//!
//! `scripts/check-promql` does the same extraction for `scripts/check-deploy`;
//! this module is what the live-cluster tests use.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_json::Value;

/// The repository root (the tests crate's parent folder).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// One expression and where it comes from (file, panel or rule).
#[derive(Clone, Debug)]
pub struct Expr {
    pub origin: String,
    pub expr: String,
}

#[derive(Deserialize)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Deserialize)]
pub struct RuleGroup {
    pub name: String,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
pub struct Rule {
    pub alert: Option<String>,
    pub record: Option<String>,
    pub expr: String,
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

/// The rule groups of `deploy/prometheus/rules/*.yml`.
pub fn rule_groups() -> Vec<RuleGroup> {
    files(&repo_root().join("deploy/prometheus/rules"), "yml")
        .into_iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(&f).expect("read rules");
            let parsed: RuleFile = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            parsed.groups
        })
        .collect()
}

/// Every expression of the dashboards (panel targets, and the metric of each
/// `label_values(METRIC, label)` variable) and of the rules.
pub fn shipped_expressions() -> Vec<Expr> {
    let mut out = Vec::new();
    for f in files(&repo_root().join("deploy/grafana/dashboards"), "json") {
        let d: Value = serde_json::from_str(&std::fs::read_to_string(&f).expect("read dashboard")).expect("dashboard JSON");
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        for v in d["templating"]["list"].as_array().into_iter().flatten().filter(|v| v["type"] == "query") {
            let q = v["query"]["query"].as_str().or(v["query"].as_str()).unwrap_or_default();
            let metric = q
                .trim()
                .strip_prefix("label_values(")
                .and_then(|r| r.split(',').next())
                .unwrap_or_else(|| panic!("{name}: variable {}: unsupported query {q:?}", v["name"]));
            out.push(Expr { origin: format!("{name} variable {}", v["name"]), expr: metric.trim().to_string() });
        }
        let panels = d["panels"].as_array().cloned().unwrap_or_default();
        let nested = panels.iter().flat_map(|p| p["panels"].as_array().cloned().unwrap_or_default());
        for p in panels.iter().cloned().chain(nested) {
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().unwrap_or_else(|| panic!("{name}: panel {} has a target without expr", p["title"]));
                out.push(Expr { origin: format!("{name} panel {}", p["title"]), expr: expr.to_string() });
            }
        }
    }
    for g in rule_groups() {
        for r in g.rules {
            let what = r.alert.or(r.record).unwrap_or_default();
            out.push(Expr { origin: format!("rules {}/{what}", g.name), expr: r.expr });
        }
    }
    out
}

/// Grafana's variables replaced by values Prometheus accepts.
pub fn concrete(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m").replace("$__range", "1d").replace("$pool", ".*").replace("$tenant", ".*")
}

/// Operators, modifiers and aggregations (an aggregation may be followed by
/// `by (...)` rather than its parenthesis).
const KEYWORDS: &[&str] = &[
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan", "sum",
    "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
];
/// Series the scraper itself makes.
const FROM_PROMETHEUS: &[&str] = &["up", "scrape_duration_seconds", "scrape_samples_scraped"];

/// The metric names an expression selects: identifiers outside strings, label
/// matchers, ranges and grouping clauses that are not functions or keywords.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut skip_group = false;
    while i < chars.len() {
        let c = chars[i];
        let close = match c {
            '"' | '\'' | '`' => Some(c),
            '{' => Some('}'),
            '[' => Some(']'),
            '(' if skip_group => Some(')'),
            _ => None,
        };
        if let Some(close) = close {
            skip_group = false;
            i += 1;
            while i < chars.len() && chars[i] != close {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '_') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace()).copied();
            if ["by", "without", "on", "ignoring", "group_left", "group_right"].contains(&word.as_str()) {
                skip_group = true;
            } else if next != Some('(') && !KEYWORDS.contains(&word.as_str()) && !FROM_PROMETHEUS.contains(&word.as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

/// The metric families a `/metrics` text declares (`# TYPE` lines).
pub fn exported_families(text: &str) -> BTreeSet<String> {
    text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()).map(str::to_string).collect()
}

/// Whether `name` (possibly a histogram's `_bucket`, `_count` or `_sum`) is one of `families`.
pub fn is_exported(name: &str, families: &BTreeSet<String>) -> bool {
    families.contains(name)
        || ["_bucket", "_count", "_sum"].iter().any(|s| name.strip_suffix(s).is_some_and(|base| families.contains(base)))
}

/// Makes sure `tool` (promtool, prometheus) is on the PATH, running
/// `scripts/install-deploy-tools` (apt) when it is not. `Err` says why not.
pub fn ensure_tool(tool: &str) -> Result<(), String> {
    let present = || Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if present() {
        return Ok(());
    }
    let script = repo_root().join("scripts/install-deploy-tools");
    let out = Command::new(&script).output().map_err(|e| format!("running {}: {e}", script.display()))?;
    if present() {
        Ok(())
    } else {
        Err(format!("{tool} is not installed and {} could not install it:\n{}", script.display(), String::from_utf8_lossy(&out.stderr)))
    }
}

/// Runs `promtool ARGS` with `stdin`; `Err` holds its report.
pub fn promtool(args: &[&str], stdin: &str) -> Result<String, String> {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("promtool: {e}"))?;
    child.stdin.take().expect("piped stdin").write_all(stdin.as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(report)
    } else {
        Err(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_skip_functions_labels_ranges_and_keywords() {
        let e = r#"sum by (tenant, le) (max without (instance) (rate(hodei_a_total{job="hodei", x=~"a|b"}[5m]))) * 3600 > 3 * hodei_b unless on () up{job="x"} and 1e9 > histogram_quantile(0.99, hodei_c_bucket)"#;
        let got: Vec<String> = metric_names(e).into_iter().collect();
        assert_eq!(got, ["hodei_a_total", "hodei_b", "hodei_c_bucket"]);
    }

    #[test]
    fn histogram_series_count_as_their_family() {
        let fams: BTreeSet<String> = exported_families("# TYPE hodei_x_seconds histogram\n# TYPE hodei_y gauge\n");
        assert!(is_exported("hodei_x_seconds_bucket", &fams));
        assert!(is_exported("hodei_y", &fams));
        assert!(!is_exported("hodei_z", &fams));
    }
}
