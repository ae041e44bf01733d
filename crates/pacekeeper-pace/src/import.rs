//! Reading items to add: CSV with a header row, or JSON Lines, each error naming its line.
//!
//! Columns (CSV) or fields (JSON): `account`, `action`, `target`, `note`, `note_policy`
//! (`required` or `optional`), `priority` (0–9), and, in JSON only, `data`. `account` and
//! `action` may be left out when the command gives them.

use std::io::BufRead;

use pacekeeper_queue::{NewItem, NotePolicy, QueueError};

/// A line that does not read.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The line does not parse, or a field is unusable.
    #[error("line {line}: {problem}")]
    Line {
        /// 1-based.
        line: u64,
        /// What is wrong, and how to fix it.
        problem: String,
    },
    /// The file could not be read.
    #[error("cannot read the input: {0}")]
    Read(#[from] std::io::Error),
    /// The queue refused an item.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// The input's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// The format a file name suggests (`.csv`, else JSON Lines).
    pub fn of_path(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::JsonLines,
        }
    }
}

/// Defaults for fields a file leaves out.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// The account.
    pub account: Option<String>,
    /// The action.
    pub action: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    note_policy: Option<NotePolicy>,
    #[serde(default)]
    priority: Option<u8>,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

/// Reads items from `input`, each checked; an error names its line.
pub fn read<'a>(
    input: impl BufRead + 'a,
    format: Format,
    defaults: &'a Defaults,
) -> Box<dyn Iterator<Item = Result<NewItem, ImportError>> + 'a> {
    match format {
        Format::JsonLines => Box::new(input.lines().enumerate().filter_map(move |(i, line)| {
            let line_no = i as u64 + 1;
            let line = match line {
                Ok(l) if l.trim().is_empty() => return None,
                Ok(l) => l,
                Err(e) => return Some(Err(e.into())),
            };
            let row = serde_json::from_str::<Row>(&line).map_err(|e| bad(line_no, e.to_string()));
            Some(row.and_then(|r| item(r, defaults, line_no)))
        })),
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
            let headers = match reader.headers() {
                Ok(h) => h.clone(),
                Err(e) => return Box::new(std::iter::once(Err(bad(1, csv_problem(&e))))),
            };
            Box::new(reader.into_records().map(move |record| {
                let record = record.map_err(|e| bad(e.position().map_or(0, |p| p.line()), csv_problem(&e)))?;
                let line = record.position().map_or(0, |p| p.line());
                let row = record.deserialize::<Row>(Some(&headers)).map_err(|e| bad(line, csv_problem(&e)))?;
                item(row, defaults, line)
            }))
        }
    }
}

fn item(row: Row, defaults: &Defaults, line: u64) -> Result<NewItem, ImportError> {
    let account = row.account.filter(|a| !a.is_empty()).or(defaults.account.clone());
    let action = row.action.filter(|a| !a.is_empty()).or(defaults.action.clone());
    let Some(account) = account else { return Err(bad(line, "no `account`: add the column or pass --account".into())) };
    let Some(action) = action else { return Err(bad(line, "no `action`: add the column or pass --action".into())) };
    let new = NewItem {
        account,
        action,
        target: row.target.filter(|t| !t.is_empty()),
        note: row.note.filter(|n| !n.is_empty()),
        note_policy: row.note_policy.unwrap_or_default(),
        priority: row.priority.unwrap_or(0),
        data: row.data,
    };
    new.check().map_err(|e| bad(line, e.to_string()))?;
    Ok(new)
}

fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(i) => format!("column {}: {err}", i + 1),
            None => err.to_string(),
        },
        _ => e.to_string(),
    }
}

fn bad(line: u64, problem: String) -> ImportError {
    ImportError::Line { line, problem }
}
