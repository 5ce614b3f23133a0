//! Printing answers: `-o json`, `-o yaml`, or a table (the default on a terminal;
//! JSON otherwise, so pipes get something parseable).

use std::io::IsTerminal;

use serde_json::Value;

use crate::cli::OutputFormat;

/// Columns shown in tables, per kind of object.
pub type Columns = &'static [&'static str];

pub const TENANT: Columns = &["id", "name", "email", "quota.cpu_m", "quota.memory_mb", "quota.max_concurrent_jobs"];
pub const JOB: Columns = &["id", "tenant_id", "state", "cpu_m", "memory_mb", "pool", "command"];
pub const MEMBER: Columns = &["id", "voter", "peer_addr", "http_addr", "grpc_addr", "applied_index", "protocol_version"];

/// Writes to stdout; a closed pipe (`hodei job list | head`) ends quietly.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).and_then(|_| out.flush()).is_err() {
        std::process::exit(0);
    }
}

pub fn print(value: &Value, format: Option<OutputFormat>, columns: Columns) {
    let format = format.unwrap_or(if std::io::stdout().is_terminal() { OutputFormat::Table } else { OutputFormat::Json });
    match format {
        // Objects with no fixed columns read best as YAML on a terminal.
        OutputFormat::Table if columns.is_empty() => emit(&serde_saphyr::to_string(value).unwrap_or_default()),
        OutputFormat::Json => emit(&format!("{}\n", serde_json::to_string_pretty(value).unwrap_or_default())),
        OutputFormat::Yaml => emit(&serde_saphyr::to_string(value).unwrap_or_default()),
        OutputFormat::Table => {
            let rows: Vec<&Value> = match value.get("items").and_then(Value::as_array) {
                Some(items) => items.iter().collect(),
                None => vec![value],
            };
            emit(&table(&rows, columns));
            if let Some(next) = value.get("next_cursor").and_then(Value::as_u64) {
                emit(&format!("(more: --cursor {next})\n"));
            }
        }
    }
}

fn cell(v: &Value, path: &str) -> String {
    let mut cur = v;
    for part in path.split('.') {
        cur = &cur[part];
    }
    match cur {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// Left-aligned columns separated by two spaces, headers in upper case.
pub fn table(rows: &[&Value], columns: Columns) -> String {
    let header: Vec<String> = columns.iter().map(|c| c.rsplit('.').next().unwrap_or(c).to_uppercase()).collect();
    let body: Vec<Vec<String>> = rows.iter().map(|r| columns.iter().map(|c| cell(r, c)).collect()).collect();
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| body.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String]| {
        let mut s = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ");
        s.truncate(s.trim_end().len());
        s + "\n"
    };
    std::iter::once(line(&header)).chain(body.iter().map(|r| line(r))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_reach_into_objects() {
        let a = serde_json::json!({"id": 1, "name": "acme", "quota": {"cpu_m": 4000}});
        let b = serde_json::json!({"id": 22, "name": "b", "quota": {"cpu_m": 1}});
        let t = table(&[&a, &b], &["id", "name", "quota.cpu_m"]);
        assert_eq!(t, "ID  NAME  CPU_M\n1   acme  4000\n22  b     1\n");
    }
}
