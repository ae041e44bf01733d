//! Recording traffic for back-tests (`serve --record DIR`): every answered decision and every
//! applied event is written, off the decision's path, as a line of the `replay` format into
//! `DIR/YYYY-MM-DD.jsonl` (the UTC day of its instant), so that `pacekeeper simulate
//! --traffic` can back-test a policy change on what really happened.
//!
//! Members and targets appear only as keyed hashes (HMAC-SHA256 under the server's signing
//! key: set `PACEKEEPER_SIGNING_KEY` to keep them the same across restarts), and notes only as
//! whether they had one and whether it held a link. Erasing a member removes their lines from
//! every file and blanks them as a target. Like the read model's feed, the queue to the
//! writing thread is bounded: a full queue drops the line and counts it; a decision never
//! waits.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, mpsc};

use jiff::Timestamp;
use pacekeeper_engine::{DecideRequest, Event, contains_link};

use crate::signing::Signer;

/// Lines waiting to be written at most; more are dropped and counted.
pub const RECORD_CAPACITY: usize = 65_536;
/// The purpose signed into hashed ids.
const PURPOSE: &str = "recorded-member";
/// What an erased member is replaced with where they were a target.
pub const ERASED: &str = "erased";

enum Job {
    Line { day: String, json: String },
    Erase { hashed: String, done: mpsc::Sender<std::io::Result<()>> },
    Flush { done: mpsc::Sender<std::io::Result<()>> },
}

/// Writes recorded traffic.
#[derive(Clone)]
pub struct Recorder {
    tx: SyncSender<Job>,
    signer: Signer,
    dropped: Arc<AtomicU64>,
    dir: PathBuf,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recorder({})", self.dir.display())
    }
}

/// The recording directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--record {dir}: {source}")]
pub struct RecordError {
    /// The directory.
    pub dir: String,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

impl Recorder {
    /// Starts the writing thread on `dir` (created if missing).
    pub fn start(dir: &Path, signer: Signer) -> Result<Recorder, RecordError> {
        let err = |source| RecordError { dir: dir.display().to_string(), source };
        std::fs::create_dir_all(dir).map_err(err)?;
        let (tx, rx) = sync_channel(RECORD_CAPACITY);
        let owned = dir.to_path_buf();
        std::thread::Builder::new().name("pacekeeper-record".into()).spawn(move || write(rx, &owned)).map_err(err)?;
        Ok(Recorder { tx, signer, dropped: Arc::default(), dir: dir.to_path_buf() })
    }

    /// A member id as the files show it.
    pub fn hashed(&self, id: &str) -> String {
        format!("m-{}", &self.signer.sign(PURPOSE, id, 0)[..32])
    }

    /// Lines dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn note(note: &str) -> String {
        if contains_link(note) { "[a note with a link: https://link.invalid]".into() } else { "[a note]".into() }
    }

    /// Records a decided request, at the instant it was decided at; never waits.
    pub fn decision(&self, req: &DecideRequest, at: Timestamp) {
        let mut r = req.clone();
        r.member = self.hashed(&req.member);
        r.target = req.target.as_deref().map(|t| self.hashed(t));
        r.note = req.note.as_deref().map(Recorder::note);
        r.at = Some(at);
        self.offer(at, serde_json::to_string(&r));
    }

    /// Records an applied event; never waits.
    pub fn event(&self, ev: &Event, at: Timestamp) {
        let mut e = ev.clone();
        e.member = self.hashed(&ev.member);
        e.target = ev.target.as_deref().map(|t| self.hashed(t));
        e.at = Some(at);
        self.offer(at, serde_json::to_string(&e));
    }

    fn offer(&self, at: Timestamp, json: serde_json::Result<String>) {
        let Ok(json) = json else { return };
        let day = at.strftime("%Y-%m-%d").to_string();
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.tx.try_send(Job::Line { day, json }) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            ::metrics::counter!("pacekeeper_record_dropped_total").increment(1);
        }
    }

    /// Removes a member's lines from every file, and blanks them where they were a target.
    /// Blocks until done: call it off the runtime's workers.
    pub fn erase(&self, id: &str) -> std::io::Result<()> {
        let (done, wait) = mpsc::channel();
        self.tx
            .send(Job::Erase { hashed: self.hashed(id), done })
            .map_err(|_| std::io::Error::other("the recorder stopped"))?;
        wait.recv().map_err(|_| std::io::Error::other("the recorder stopped"))?
    }

    /// Writes out everything recorded so far. Blocks: call it off the runtime's workers.
    pub fn flush(&self) -> std::io::Result<()> {
        let (done, wait) = mpsc::channel();
        self.tx.send(Job::Flush { done }).map_err(|_| std::io::Error::other("the recorder stopped"))?;
        wait.recv().map_err(|_| std::io::Error::other("the recorder stopped"))?
    }
}

/// The writing thread: one open file per day seen, flushed when the queue runs dry.
fn write(rx: Receiver<Job>, dir: &Path) {
    let mut files: HashMap<String, BufWriter<File>> = HashMap::new();
    while let Ok(job) = rx.recv() {
        let mut next = Some(job);
        while let Some(job) = next.take() {
            match job {
                Job::Line { day, json } => {
                    if let Err(e) = append(&mut files, dir, &day, &json) {
                        tracing::error!(error = %e, day, "cannot record a line");
                    }
                }
                Job::Erase { hashed, done } => {
                    // The files are replaced whole: later lines go to the new ones.
                    let erased = flush_all(&mut files).and_then(|()| {
                        files.clear();
                        erase(dir, &hashed)
                    });
                    let _ = done.send(erased);
                }
                Job::Flush { done } => {
                    let _ = done.send(flush_all(&mut files));
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = flush_all(&mut files) {
            tracing::error!(error = %e, "cannot write the recorded traffic");
        }
    }
    let _ = flush_all(&mut files);
}

fn append(files: &mut HashMap<String, BufWriter<File>>, dir: &Path, day: &str, json: &str) -> std::io::Result<()> {
    if !files.contains_key(day) {
        let f = OpenOptions::new().create(true).append(true).open(dir.join(format!("{day}.jsonl")))?;
        files.insert(day.to_string(), BufWriter::new(f));
    }
    let w = files.get_mut(day).ok_or_else(|| std::io::Error::other("a day's file vanished"))?;
    w.write_all(json.as_bytes())?;
    w.write_all(b"\n")
}

fn flush_all(files: &mut HashMap<String, BufWriter<File>>) -> std::io::Result<()> {
    files.values_mut().try_for_each(|w| w.flush())
}

/// Rewrites every day's file without the member's lines, and with the member blanked as a
/// target; each file is replaced whole (written beside it, then renamed over it).
fn erase(dir: &Path, hashed: &str) -> std::io::Result<()> {
    let quoted_member = format!("\"member\":\"{hashed}\"");
    let quoted_target = format!("\"target\":\"{hashed}\"");
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        let tmp = path.with_extension("jsonl.erasing");
        {
            let mut out = BufWriter::new(File::create(&tmp)?);
            for line in std::io::BufReader::new(File::open(&path)?).lines() {
                let line = line?;
                if line.contains(&quoted_member) {
                    continue;
                }
                writeln!(out, "{}", line.replace(&quoted_target, &format!("\"target\":\"{ERASED}\"")))?;
            }
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}
