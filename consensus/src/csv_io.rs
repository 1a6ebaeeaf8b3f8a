//! crowd-kit's CSV layout: answers `task,worker,label`; gold `task,true_label`; decisions
//! `task,label,confidence,state`. Columns are found by name (any order, extra columns ignored).

use std::io::{Read, Write};

use crate::data::{Answers, AnswersBuilder, Id};
use crate::decide::Decision;
use crate::error::{Error, Result};

fn csv_err(file: &str, e: csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    Error::Csv {
        file: file.to_owned(),
        line,
        message: e.to_string(),
    }
}

fn columns<const N: usize>(
    file: &str,
    reader: &mut csv::Reader<impl Read>,
    names: [&'static str; N],
) -> Result<[usize; N]> {
    let header = reader.headers().map_err(|e| csv_err(file, e))?.clone();
    if header.is_empty() {
        return Err(Error::Empty {
            file: file.to_owned(),
        });
    }
    let mut out = [0; N];
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| Error::MissingColumn {
                file: file.to_owned(),
                column: name,
                found: header.iter().collect::<Vec<_>>().join(","),
            })?;
    }
    Ok(out)
}

fn field<'r>(file: &str, rec: &'r csv::StringRecord, i: usize, name: &str) -> Result<&'r str> {
    let line = rec.position().map_or(0, |p| p.line());
    match rec.get(i) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim()),
        _ => Err(Error::Csv {
            file: file.to_owned(),
            line,
            message: format!("empty `{name}`"),
        }),
    }
}

/// Reads answers (`task,worker,label`) into `builder`; `file` names the input in errors.
pub fn read_answers(file: &str, input: impl Read, builder: &mut AnswersBuilder) -> Result<()> {
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let [t, w, l] = columns(file, &mut r, ["task", "worker", "label"])?;
    let before = builder.len();
    let mut rec = csv::StringRecord::new();
    while r.read_record(&mut rec).map_err(|e| csv_err(file, e))? {
        builder.answer(
            field(file, &rec, t, "task")?,
            field(file, &rec, w, "worker")?,
            field(file, &rec, l, "label")?,
        );
    }
    if builder.len() == before {
        return Err(Error::Empty {
            file: file.to_owned(),
        });
    }
    Ok(())
}

/// Reads gold answers (`task,true_label`) into `builder`.
pub fn read_gold(file: &str, input: impl Read, builder: &mut AnswersBuilder) -> Result<()> {
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let [t, l] = columns(file, &mut r, ["task", "true_label"])?;
    for rec in r.records() {
        let rec = rec.map_err(|e| csv_err(file, e))?;
        builder.gold(
            field(file, &rec, t, "task")?,
            field(file, &rec, l, "true_label")?,
        );
    }
    Ok(())
}

/// Writes decisions as `task,label,confidence,state` (confidence with 6 decimals; a task
/// without answers has an empty label).
pub fn write_decisions(answers: &Answers, decisions: &[Decision], out: impl Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| Error::Io(std::io::Error::other(e));
    w.write_record(["task", "label", "confidence", "state"])
        .map_err(io)?;
    for d in decisions {
        let label = d
            .label
            .map_or("", |l| answers.labels()[l as usize].as_str());
        w.write_record([
            answers.tasks()[d.task as usize].as_str(),
            label,
            &format!("{:.6}", d.confidence),
            d.state.as_str(),
        ])
        .map_err(io)?;
    }
    w.flush()?;
    Ok(())
}

/// Writes answers as `task,worker,label`.
pub fn write_answers(answers: &Answers, out: impl Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| Error::Io(std::io::Error::other(e));
    w.write_record(["task", "worker", "label"]).map_err(io)?;
    for t in 0..answers.n_tasks() as Id {
        let (ws, ls) = answers.task_answers(t);
        for (&wk, &l) in ws.iter().zip(ls) {
            w.write_record([
                answers.tasks()[t as usize].as_str(),
                answers.workers()[wk as usize].as_str(),
                answers.labels()[l as usize].as_str(),
            ])
            .map_err(io)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Writes `task,true_label` for the tasks where `labels[t]` is set.
pub fn write_labels(answers: &Answers, labels: &[Option<Id>], out: impl Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| Error::Io(std::io::Error::other(e));
    w.write_record(["task", "true_label"]).map_err(io)?;
    for (t, l) in labels.iter().enumerate() {
        if let Some(l) = l {
            w.write_record([
                answers.tasks()[t].as_str(),
                answers.labels()[*l as usize].as_str(),
            ])
            .map_err(io)?;
        }
    }
    w.flush()?;
    Ok(())
}
