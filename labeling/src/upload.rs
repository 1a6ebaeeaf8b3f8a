//! Task uploads: JSON lines or CSV, validated row by row before anything is written (a bad row
//! is reported with its 1-based line number; then nothing is loaded).
//!
//! JSON lines: one object per line, `{"name": "img-1", "payload": {...}, "priority": 0,
//! "gold_label": "cat"}` (`payload`, `priority` and `gold_label` optional; blank lines are
//! skipped). CSV: a header with `name` and optionally `priority` and `gold_label`; every other
//! column goes into the payload as a string.

use std::collections::HashSet;

use crate::error::{Error, Result};

/// The format of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    JsonLines,
    /// Comma-separated, with a header.
    Csv,
}

/// One validated row.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    /// The line it came from.
    pub line: u64,
    /// The client's task name (unique in the project).
    pub name: String,
    /// What the worker sees.
    pub payload: serde_json::Value,
    /// Higher first.
    pub priority: i32,
    /// A gold task's true label.
    pub gold_label: Option<String>,
}

/// Largest upload (rows).
pub const MAX_ROWS: usize = 100_000;
/// Largest payload of one task (bytes of JSON).
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;

fn bad(line: u64, reason: impl Into<String>) -> Error {
    Error::BadRow {
        line,
        reason: reason.into(),
    }
}

fn check_name(line: u64, name: &str, seen: &mut HashSet<String>) -> Result<()> {
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(bad(
            line,
            "name must be 1..=200 characters without control characters",
        ));
    }
    if !seen.insert(name.to_owned()) {
        return Err(bad(
            line,
            format!("name `{name}` appears twice in the upload"),
        ));
    }
    Ok(())
}

fn check_gold(line: u64, label: Option<&str>, labels: &[String]) -> Result<Option<String>> {
    match label {
        None | Some("") => Ok(None),
        Some(l) if labels.iter().any(|x| x == l) => Ok(Some(l.to_owned())),
        Some(l) => Err(bad(
            line,
            format!("gold_label `{l}` is not in the label set {labels:?}"),
        )),
    }
}

/// Parses and validates an upload against the label set.
pub fn parse(format: Format, body: &[u8], labels: &[String]) -> Result<Vec<TaskRow>> {
    let rows = match format {
        Format::JsonLines => parse_jsonl(body, labels)?,
        Format::Csv => parse_csv(body, labels)?,
    };
    if rows.is_empty() {
        return Err(bad(1, "the upload has no task"));
    }
    Ok(rows)
}

fn parse_jsonl(body: &[u8], labels: &[String]) -> Result<Vec<TaskRow>> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let line = body[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64
            + 1;
        bad(line, "not UTF-8")
    })?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i as u64 + 1;
        if raw.trim().is_empty() {
            continue;
        }
        if out.len() == MAX_ROWS {
            return Err(bad(
                line,
                format!("more than {MAX_ROWS} tasks in one upload"),
            ));
        }
        let v: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| bad(line, format!("not JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad(line, "a line must be a JSON object"))?;
        for k in obj.keys() {
            if !matches!(k.as_str(), "name" | "payload" | "priority" | "gold_label") {
                return Err(bad(line, format!("unknown field `{k}`")));
            }
        }
        let name = obj
            .get("name")
            .and_then(|n| n.as_str())
            .ok_or_else(|| bad(line, "`name` (a string) is required"))?;
        check_name(line, name, &mut seen)?;
        let payload = obj.get("payload").cloned().unwrap_or(serde_json::json!({}));
        if payload.to_string().len() > MAX_PAYLOAD_BYTES {
            return Err(bad(
                line,
                format!("payload above {MAX_PAYLOAD_BYTES} bytes"),
            ));
        }
        let priority = match obj.get("priority") {
            None => 0,
            Some(p) => p
                .as_i64()
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| bad(line, "`priority` must be a 32-bit integer"))?,
        };
        let gold = match obj.get("gold_label") {
            None | Some(serde_json::Value::Null) => None,
            Some(g) => Some(
                g.as_str()
                    .ok_or_else(|| bad(line, "`gold_label` must be a string"))?,
            ),
        };
        let gold_label = check_gold(line, gold, labels)?;
        out.push(TaskRow {
            line,
            name: name.to_owned(),
            payload,
            priority,
            gold_label,
        });
    }
    Ok(out)
}

fn parse_csv(body: &[u8], labels: &[String]) -> Result<Vec<TaskRow>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(body);
    let header = rdr
        .headers()
        .map_err(|e| bad(1, format!("header: {e}")))?
        .clone();
    let col = |n: &str| header.iter().position(|h| h.trim() == n);
    let name_col = col("name").ok_or_else(|| bad(1, "the header has no `name` column"))?;
    let (prio_col, gold_col) = (col("priority"), col("gold_label"));
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(line, format!("{e}"))
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        if out.len() == MAX_ROWS {
            return Err(bad(
                line,
                format!("more than {MAX_ROWS} tasks in one upload"),
            ));
        }
        let name = rec.get(name_col).unwrap_or("").trim();
        check_name(line, name, &mut seen)?;
        let priority = match prio_col.and_then(|c| rec.get(c)).map(str::trim) {
            None | Some("") => 0,
            Some(p) => p
                .parse::<i32>()
                .map_err(|_| bad(line, format!("priority `{p}` is not a 32-bit integer")))?,
        };
        let gold_label = check_gold(
            line,
            gold_col.and_then(|c| rec.get(c)).map(str::trim),
            labels,
        )?;
        let mut payload = serde_json::Map::new();
        for (i, h) in header.iter().enumerate() {
            if i == name_col || Some(i) == prio_col || Some(i) == gold_col {
                continue;
            }
            payload.insert(
                h.trim().to_owned(),
                serde_json::Value::String(rec.get(i).unwrap_or("").to_owned()),
            );
        }
        let payload = serde_json::Value::Object(payload);
        if payload.to_string().len() > MAX_PAYLOAD_BYTES {
            return Err(bad(
                line,
                format!("payload above {MAX_PAYLOAD_BYTES} bytes"),
            ));
        }
        out.push(TaskRow {
            line,
            name: name.to_owned(),
            payload,
            priority,
            gold_label,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["cat".into(), "dog".into()]
    }

    #[test]
    fn jsonl_rows_and_errors_name_their_line() {
        let ok = b"{\"name\":\"a\",\"payload\":{\"url\":\"x\"}}\n\n{\"name\":\"b\",\"gold_label\":\"dog\",\"priority\":5}\n";
        let rows = parse(Format::JsonLines, ok, &labels()).expect("valid");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[1].gold_label.as_deref(), Some("dog"));
        assert_eq!(rows[1].priority, 5);
        let cases: [(&[u8], u64, &str); 5] = [
            (b"{\"name\":\"a\"}\n{\"name\":\"a\"}\n", 2, "twice"),
            (b"{\"name\":\"a\"}\nnot json\n", 2, "not JSON"),
            (
                b"{\"name\":\"a\",\"gold_label\":\"cow\"}\n",
                1,
                "not in the label set",
            ),
            (
                b"{\"name\":\"a\"}\n{\"name\":\"b\",\"priority\":1.5}\n",
                2,
                "priority",
            ),
            (b"{\"name\":\"a\",\"colour\":1}\n", 1, "unknown field"),
        ];
        for (body, line, why) in cases {
            match parse(Format::JsonLines, body, &labels()) {
                Err(Error::BadRow { line: l, reason }) => {
                    assert_eq!(l, line, "{reason}");
                    assert!(reason.contains(why), "{reason}");
                }
                other => panic!("expected a bad row, got {other:?}"),
            }
        }
    }

    #[test]
    fn csv_rows_and_errors_name_their_line() {
        let ok = b"name,url,gold_label\nimg1,http://a,\nimg2,http://b,cat\n";
        let rows = parse(Format::Csv, ok, &labels()).expect("valid");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].payload, serde_json::json!({"url": "http://a"}));
        assert_eq!(rows[1].gold_label.as_deref(), Some("cat"));
        assert_eq!(rows[1].line, 3);
        match parse(Format::Csv, b"name,url\nimg1,a\nimg2\n", &labels()) {
            Err(Error::BadRow { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
        match parse(
            Format::Csv,
            b"name,priority\nimg1,1\nimg2,high\n",
            &labels(),
        ) {
            Err(Error::BadRow { line, reason }) => {
                assert_eq!(line, 3);
                assert!(reason.contains("high"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(Format::Csv, b"url\nx\n", &labels()),
            Err(Error::BadRow { line: 1, .. })
        ));
    }
}
