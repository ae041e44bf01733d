//! The queue's inbox: while a run holds the queue, `pace add` and `pace import` leave their
//! checked items as a JSON Lines file in `<queue>/inbox/`, and the run adds them at its next
//! step (deduplicated as always). A file that does not go in is moved to `inbox/rejected/`
//! with a `.why` file beside it.

use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use pacekeeper_queue::{LedgerEntry, NewItem, Queue};

use crate::import::{self, Defaults, Format, ImportError};

/// The inbox of the queue in `queue_dir`.
pub fn inbox_dir(queue_dir: &Path) -> PathBuf {
    queue_dir.join("inbox")
}

/// Leaves `items` in the inbox of the queue in `queue_dir`, as one file that appears whole
/// (written aside, then renamed).
pub fn leave(queue_dir: &Path, items: &[NewItem]) -> std::io::Result<PathBuf> {
    let dir = inbox_dir(queue_dir);
    std::fs::create_dir_all(&dir)?;
    #[allow(clippy::disallowed_methods)] // a file name, not a decision
    let stamp = Timestamp::now().as_nanosecond();
    let name = format!("{stamp:024}-{}", std::process::id());
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    for item in items {
        serde_json::to_writer(&mut f, item)?;
        f.write_all(b"\n")?;
    }
    f.sync_all()?;
    let path = dir.join(format!("{name}.jsonl"));
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Adds every file waiting in the inbox of the queue in `queue_dir`, oldest first; returns
/// how many items were added.
pub fn take(queue: &Queue, queue_dir: &Path, now: Timestamp) -> Result<usize, ImportError> {
    let dir = inbox_dir(queue_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(0) };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut added = 0;
    for file in files {
        let reader = std::io::BufReader::new(std::fs::File::open(&file)?);
        let defaults = Defaults::default();
        match queue.add_all(import::read(reader, Format::JsonLines, &defaults), now) {
            Ok(a) => {
                added += a.iter().filter(|a| a.is_new()).count();
                std::fs::remove_file(&file)?;
            }
            Err(e) => reject(queue, &dir, &file, &e, now)?,
        }
    }
    Ok(added)
}

fn reject(queue: &Queue, dir: &Path, file: &Path, why: &ImportError, now: Timestamp) -> Result<(), ImportError> {
    let rejected = dir.join("rejected");
    std::fs::create_dir_all(&rejected)?;
    let name = file.file_name().unwrap_or_default();
    std::fs::rename(file, rejected.join(name))?;
    std::fs::write(rejected.join(name).with_extension("why"), format!("{why}\n"))?;
    let mut change = queue.change();
    let detail =
        format!("inbox file {} rejected (the lines before the bad one were added): {why}", name.to_string_lossy());
    change.ledger(&LedgerEntry { at: now, account: String::new(), item: None, what: "inbox_rejected".into(), detail });
    change.commit(true)?;
    Ok(())
}
