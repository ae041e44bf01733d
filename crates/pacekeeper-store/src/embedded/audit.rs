//! The embedded store's audit log: the `audit` keyspace, one record per admin action, keyed by
//! its instant then a sequence number, so records read back in the order they were made.
//! Admin actions are rare: each append is written and fsynced before it returns.

use std::sync::atomic::{AtomicU64, Ordering};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::disk;
use crate::StoreError;

pub(super) struct AuditLog {
    keyspace: Keyspace,
    /// The sequence number of the last record.
    seq: AtomicU64,
}

impl AuditLog {
    pub(super) fn open(db: &Database) -> Result<AuditLog, StoreError> {
        let keyspace = db
            .keyspace("audit", KeyspaceCreateOptions::default)
            .map_err(|e| disk("cannot open the audit keyspace", e))?;
        let last = match keyspace.last_key_value() {
            Some(g) => g.key().map_err(|e| disk("cannot read the audit log", e))?,
            None => Default::default(),
        };
        let seq = last.get(8..16).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes);
        Ok(AuditLog { keyspace, seq: AtomicU64::new(seq) })
    }

    /// Writes one record and makes it durable.
    pub(super) fn append(&self, db: &Database, at: i64, record: &[u8]) -> Result<(), StoreError> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&((at as u64) ^ (1 << 63)).to_be_bytes());
        key[8..].copy_from_slice(&seq.to_be_bytes());
        self.keyspace.insert(key, record).map_err(|e| disk("cannot write the audit log", e))?;
        db.persist(PersistMode::SyncAll).map_err(|e| disk("cannot fsync the audit log", e))
    }

    /// The newest `count` records, newest first.
    pub(super) fn newest(&self, count: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        self.keyspace
            .iter()
            .rev()
            .take(count)
            .map(|g| g.value().map(|v| v.to_vec()).map_err(|e| disk("cannot read the audit log", e)))
            .collect()
    }
}
