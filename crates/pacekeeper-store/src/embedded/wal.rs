//! The embedded store's write-ahead log: what an answer waits on.
//!
//! Every group of writes is appended to the active segment (`wal/<n>.log`) with one `write`
//! call before any answer resting on it leaves; fjall receives the same writes afterwards, on
//! another thread, and is only a checkpoint of the log. So an answer never waits on fjall
//! (whose journal rotation fsyncs under the lock every write needs), and the log's fsync runs
//! on a thread of its own, through a handle of its own, off every answer's path but strict
//! mode's.
//!
//! A record is `len: u32, checksum: u32, payload`, the payload `seq: u64, op: u8 (1 put, 0
//! delete), key_len: u16, key, value`; the checksum is the low half of the payload's xxh3.
//! Reading a segment stops at the first record that is short, zero or fails its checksum: a
//! torn tail left by a power loss (a `kill -9` leaves none, since the kernel holds every byte
//! `write` returned for).
//!
//! A segment grows to its size (64 MiB by default), then the committer seals it and starts
//! the next.
//! Once fjall holds every write of a sealed segment and fjall's own journal is fsynced, the
//! segment is deleted (a checkpoint). Opening the store replays what is left, in order, into
//! fjall: replaying a write fjall already holds is harmless, as the last write of a key wins.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// The default size past which the active segment is sealed and a new one started.
pub const SEGMENT_BYTES: u64 = 64 << 20;

const HEADER: usize = 8;
const PAYLOAD_FIXED: usize = 8 + 1 + 2;

/// One write, as logged and as replayed.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Record {
    pub seq: u64,
    pub key: Box<[u8]>,
    /// `None`: the member was erased.
    pub value: Option<Vec<u8>>,
}

/// Appends one record to `buf`.
pub(super) fn encode(buf: &mut Vec<u8>, seq: u64, key: &[u8], value: Option<&[u8]>) {
    let start = buf.len();
    buf.extend_from_slice(&[0; HEADER]);
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.push(u8::from(value.is_some()));
    buf.extend_from_slice(&(key.len() as u16).to_le_bytes());
    buf.extend_from_slice(key);
    buf.extend_from_slice(value.unwrap_or_default());
    let payload = &buf[start + HEADER..];
    let len = (payload.len() as u32).to_le_bytes();
    let sum = checksum(payload).to_le_bytes();
    buf[start..start + 4].copy_from_slice(&len);
    buf[start + 4..start + HEADER].copy_from_slice(&sum);
}

fn checksum(payload: &[u8]) -> u32 {
    xxhash_rust::xxh3::xxh3_64(payload) as u32
}

/// The records of one segment's bytes, up to the first that is torn or corrupt; the second
/// value says whether the segment ended cleanly.
pub(super) fn decode(mut bytes: &[u8]) -> (Vec<Record>, bool) {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let Some(record) = decode_one(bytes) else { return (out, false) };
        let (record, used) = record;
        out.push(record);
        bytes = &bytes[used..];
    }
    (out, true)
}

fn decode_one(bytes: &[u8]) -> Option<(Record, usize)> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let sum = u32::from_le_bytes(bytes.get(4..HEADER)?.try_into().ok()?);
    let payload = bytes.get(HEADER..HEADER + len)?;
    if len < PAYLOAD_FIXED || checksum(payload) != sum {
        return None;
    }
    let seq = u64::from_le_bytes(payload[..8].try_into().ok()?);
    let put = payload[8] == 1;
    let key_len = u16::from_le_bytes(payload[9..11].try_into().ok()?) as usize;
    let key = payload.get(PAYLOAD_FIXED..PAYLOAD_FIXED + key_len)?;
    let value = put.then(|| payload[PAYLOAD_FIXED + key_len..].to_vec());
    Some((Record { seq, key: key.into(), value }, HEADER + len))
}

/// A segment file and what is known of it.
struct Segment {
    id: u64,
    file: Arc<File>,
    /// The highest sequence number in it, once sealed (`None` while it is the active one).
    sealed_at: Option<u64>,
    /// Every byte written to it has been fsynced (only tracked once sealed).
    synced: bool,
}

/// The log's segments, shared by the committer (which appends and seals) and the syncer
/// (which fsyncs and deletes).
pub(super) struct Wal {
    dir: PathBuf,
    /// Size past which the active segment is sealed.
    segment_bytes: u64,
    segments: Mutex<Segments>,
}

struct Segments {
    list: Vec<Segment>,
    /// A segment was created or deleted since the directory was last fsynced.
    dir_dirty: bool,
}

/// The committer's end: the active segment, appended to without a lock.
pub(super) struct Appender {
    file: Arc<File>,
    len: u64,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.log"))
}

impl Wal {
    /// Opens the log in `dir` (created if missing): returns it, the appender of a fresh
    /// segment, and every record of the existing segments, in order, to replay. The old
    /// segments stay until [`Wal::drop_replayed`] says their records are safe elsewhere.
    pub(super) fn open(dir: &Path, segment_bytes: u64) -> io::Result<(Wal, Appender, Vec<Record>)> {
        std::fs::create_dir_all(dir)?;
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name();
            if let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".log")).and_then(|n| n.parse::<u64>().ok()) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let mut records = Vec::new();
        let mut list = Vec::new();
        for &id in &ids {
            let mut bytes = Vec::new();
            let path = segment_path(dir, id);
            File::open(&path)?.read_to_end(&mut bytes)?;
            let (mut got, clean) = decode(&bytes);
            if !clean {
                tracing::warn!(segment = %path.display(), records = got.len(), "the log ends in a torn record; replaying what precedes it");
            }
            let last = got.last().map_or(0, |r| r.seq);
            records.append(&mut got);
            list.push(Segment { id, file: Arc::new(File::open(&path)?), sealed_at: Some(last), synced: true });
        }
        let next = ids.last().map_or(1, |id| id + 1);
        let segments = Mutex::new(Segments { list, dir_dirty: true });
        let wal = Wal { dir: dir.to_path_buf(), segment_bytes: segment_bytes.max(1), segments };
        let appender = wal.start_segment(next)?;
        Ok((wal, appender, records))
    }

    /// Creates segment `id` and makes it the active one.
    fn start_segment(&self, id: u64) -> io::Result<Appender> {
        let file = OpenOptions::new().create_new(true).append(true).open(segment_path(&self.dir, id))?;
        let file = Arc::new(file);
        let mut s = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
        s.list.push(Segment { id, file: file.clone(), sealed_at: None, synced: false });
        s.dir_dirty = true;
        Ok(Appender { file, len: 0 })
    }

    /// Appends `bytes` (whole records) with one `write` call, so they reach the operating
    /// system before any answer resting on them leaves. Past the segment size, seals the
    /// segment at `top` (its highest sequence number), starts the next and returns true.
    pub(super) fn append(&self, appender: &mut Appender, bytes: &[u8], top: u64) -> io::Result<bool> {
        (&*appender.file).write_all(bytes)?;
        appender.len += bytes.len() as u64;
        if appender.len >= self.segment_bytes {
            let next = {
                let mut s = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
                let active = s.list.last_mut().expect("the log always has an active segment");
                active.sealed_at = Some(top);
                active.id + 1
            };
            *appender = self.start_segment(next)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Fsyncs every segment that may hold unsynced bytes, then the directory if segments came
    /// or went. Runs on the syncer thread: the committer keeps appending meanwhile (an fsync
    /// covers the file, whichever handle asks).
    pub(super) fn sync(&self) -> io::Result<()> {
        let (files, dir_dirty) = {
            let mut s = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
            let files: Vec<(u64, Arc<File>, bool)> = s
                .list
                .iter()
                .filter(|seg| !seg.synced)
                .map(|seg| (seg.id, seg.file.clone(), seg.sealed_at.is_some()))
                .collect();
            (files, std::mem::take(&mut s.dir_dirty))
        };
        let result = self.sync_files(&files, dir_dirty);
        let mut s = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
        match &result {
            // A segment already sealed when its fsync began holds nothing unsynced any more;
            // one sealed meanwhile is synced again next time.
            Ok(()) => s.list.iter_mut().for_each(|seg| {
                seg.synced |= files.iter().any(|(id, _, sealed)| *id == seg.id && *sealed);
            }),
            Err(_) => s.dir_dirty |= dir_dirty,
        }
        result
    }

    fn sync_files(&self, files: &[(u64, Arc<File>, bool)], dir: bool) -> io::Result<()> {
        for (_, f, _) in files {
            f.sync_data()?;
        }
        if dir {
            File::open(&self.dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Sealed segments whose every write is at or below `applied` and fsynced: once fjall's
    /// journal is fsynced, they can go ([`Wal::remove`]).
    pub(super) fn checkpointable(&self, applied: u64) -> Vec<u64> {
        let s = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
        s.list
            .iter()
            .filter(|seg| seg.synced && seg.sealed_at.is_some_and(|top| top <= applied))
            .map(|seg| seg.id)
            .collect()
    }

    /// Deletes the segments `ids` (their writes are durable in fjall).
    pub(super) fn remove(&self, ids: &[u64]) -> io::Result<()> {
        for id in ids {
            std::fs::remove_file(segment_path(&self.dir, *id))?;
        }
        let mut s = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
        s.list.retain(|seg| !ids.contains(&seg.id));
        s.dir_dirty = true;
        Ok(())
    }

    /// Every segment (when the store closes, once fjall holds everything durably).
    pub(super) fn all(&self) -> Vec<u64> {
        let s = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
        s.list.iter().map(|seg| seg.id).collect()
    }

    /// Every segment but the active one (at start-up: the replayed ones).
    pub(super) fn sealed(&self) -> Vec<u64> {
        let s = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
        s.list.iter().filter(|seg| seg.sealed_at.is_some()).map(|seg| seg.id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, key: &str, value: Option<&[u8]>) -> Record {
        Record { seq, key: key.as_bytes().into(), value: value.map(<[u8]>::to_vec) }
    }

    #[test]
    fn records_read_back_as_written_and_reading_stops_at_a_torn_or_corrupt_one() {
        let mut buf = Vec::new();
        encode(&mut buf, 1, b"ada", Some(b"\x01state"));
        encode(&mut buf, 2, b"bob", None);
        encode(&mut buf, 3, b"ada", Some(b""));
        let all = vec![record(1, "ada", Some(b"\x01state")), record(2, "bob", None), record(3, "ada", Some(b""))];
        assert_eq!(decode(&buf), (all, true));
        let whole = buf.len();
        encode(&mut buf, 4, b"cy", Some(b"xyz"));
        for cut in whole + 1..buf.len() {
            let (got, clean) = decode(&buf[..cut]);
            assert_eq!((got.len(), clean), (3, false), "cut at {cut}");
        }
        let mut flipped = buf.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&flipped).0.len(), 3, "a bit flipped in the last record's value");
        let zeros = [buf.clone(), vec![0; 64]].concat();
        assert_eq!(decode(&zeros), (decode(&buf).0, false), "zeros after the last record end the log");
    }

    #[test]
    fn a_reopened_log_replays_every_segment_in_order_and_seals_at_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, mut app, old) = Wal::open(dir.path(), SEGMENT_BYTES).unwrap();
        assert!(old.is_empty());
        let mut buf = Vec::new();
        encode(&mut buf, 1, b"ada", Some(b"one"));
        wal.append(&mut app, &buf, 1).unwrap();
        app.len = SEGMENT_BYTES; // as if it were full: the next append seals it
        buf.clear();
        encode(&mut buf, 2, b"ada", Some(b"two"));
        wal.append(&mut app, &buf, 2).unwrap();
        buf.clear();
        encode(&mut buf, 3, b"bob", None);
        wal.append(&mut app, &buf, 3).unwrap();
        wal.sync().unwrap();
        assert_eq!(wal.checkpointable(1), Vec::<u64>::new(), "segment 1 holds seq 2 as well");
        assert_eq!(wal.checkpointable(2), vec![1]);
        drop((wal, app));

        let (wal, _app, replay) = Wal::open(dir.path(), SEGMENT_BYTES).unwrap();
        let seqs: Vec<u64> = replay.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(replay[2], record(3, "bob", None));
        let sealed = wal.sealed();
        assert_eq!(sealed, [1, 2]);
        wal.remove(&sealed).unwrap();
        drop(wal);
        let (_, _, replay) = Wal::open(dir.path(), SEGMENT_BYTES).unwrap();
        assert!(replay.is_empty(), "removed segments are not replayed");
    }
}
