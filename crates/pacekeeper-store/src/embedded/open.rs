//! Opening the embedded store: fjall and its keyspaces, the restrictions index read back,
//! the log opened and what it holds replayed into fjall (correcting the index as it goes)
//! before the store takes a request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::applier::ApplyControl;
use super::syncer::SyncQueue;
use super::wal::{self, Wal};
use super::{CommitObserver, EmbeddedConfig, EmbeddedStats, SHARDS, Shared, audit, disk, restricted};
use crate::StoreError;

/// Opens fjall and the log, and replays what the log holds into fjall.
pub(super) fn open_shared(
    config: &EmbeddedConfig,
    on_commit: Option<CommitObserver>,
) -> Result<(Shared, wal::Appender), StoreError> {
    let path = &config.path;
    std::fs::create_dir_all(path).map_err(|e| disk(format!("cannot create {}", path.display()), e))?;
    let db = Database::builder(path)
        .cache_size(config.block_cache_bytes)
        // fjall's journal is fsynced only at checkpoints: the log is what answers rest on.
        .manual_journal_persist(true)
        .open()
        .map_err(|e| disk(format!("cannot open {}", path.display()), e))?;
    let members = db
        .keyspace("members", || KeyspaceCreateOptions::default().max_memtable_size(16 << 20))
        .map_err(|e| disk("cannot open the members keyspace", e))?;
    let restrictions = db
        .keyspace("restrictions", KeyspaceCreateOptions::default)
        .map_err(|e| disk("cannot open the restrictions keyspace", e))?;
    let mut index =
        restricted::Index::load(&restrictions).map_err(|e| disk("cannot read the restrictions index", e))?;
    let audit = audit::AuditLog::open(&db)?;
    let wal_dir = path.join("wal");
    let (wal, appender, replay) = Wal::open(&wal_dir, config.log_segment_bytes)
        .map_err(|e| disk(format!("cannot open the log in {}", wal_dir.display()), e))?;
    replay_log(&db, (&members, &restrictions, &mut index), replay)?;
    wal.remove(&wal.sealed()).map_err(|e| disk("cannot delete replayed log segments", e))?;
    let shared = Shared {
        db,
        members,
        restrictions,
        index: Mutex::new(index),
        audit,
        wal,
        syncer: SyncQueue::default(),
        apply: ApplyControl::default(),
        shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        written: AtomicU64::new(0),
        written_count: AtomicU64::new(0),
        durable: AtomicU64::new(0),
        applied: AtomicU64::new(0),
        failed: AtomicBool::new(false),
        stalled: AtomicBool::new(false),
        stats: EmbeddedStats::default(),
        on_commit,
    };
    Ok((shared, appender))
}

/// Puts the log's records into fjall, in order, correcting the restrictions index as it goes,
/// and makes them durable there.
fn replay_log(
    db: &Database,
    (members, restrictions, index): (&Keyspace, &Keyspace, &mut restricted::Index),
    records: Vec<wal::Record>,
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    tracing::info!(writes = records.len(), "replaying the log into the store");
    for chunk in records.chunks(10_000) {
        let mut batch = db.batch();
        for r in chunk {
            match &r.value {
                Some(v) => batch.insert(members, &r.key[..], &v[..]),
                None => batch.remove(members, &r.key[..]),
            }
            if let Ok(member) = std::str::from_utf8(&r.key)
                && !member.starts_with(crate::AUX_PREFIX)
            {
                index.set(member, restricted::end_of_value(r.value.as_deref()));
            }
        }
        index.save(&mut batch, restrictions);
        batch.commit().map_err(|e| disk("replaying the log failed", e))?;
    }
    db.persist(PersistMode::SyncAll).map_err(|e| disk("fsync after replaying the log failed", e))
}
