//! One store type for a server whose backend is chosen by configuration.

use pacekeeper_engine::MemberState;

use crate::{Change, EmbeddedStore, PairChange, RedisStore, RestrictedPage, Store, StoreError};

/// The embedded store or the Redis store, whichever the configuration names.
#[derive(Clone)]
pub enum AnyStore {
    /// fjall on local disk.
    Embedded(EmbeddedStore),
    /// Redis or Redis Cluster.
    Redis(RedisStore),
}

impl Store for AnyStore {
    async fn update<R, F>(&self, member: &str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState) -> Change<R> + Send + 'static,
    {
        match self {
            AnyStore::Embedded(s) => s.update(member, f).await,
            AnyStore::Redis(s) => s.update(member, f).await,
        }
    }

    async fn update_pair<R, F>(&self, member: &str, org: &str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState, &mut MemberState) -> PairChange<R> + Send + 'static,
    {
        match self {
            AnyStore::Embedded(s) => s.update_pair(member, org, f).await,
            AnyStore::Redis(s) => s.update_pair(member, org, f).await,
        }
    }

    fn atomic_pairs(&self) -> bool {
        match self {
            AnyStore::Embedded(s) => s.atomic_pairs(),
            AnyStore::Redis(s) => s.atomic_pairs(),
        }
    }

    async fn read(&self, member: &str) -> Result<MemberState, StoreError> {
        match self {
            AnyStore::Embedded(s) => s.read(member).await,
            AnyStore::Redis(s) => s.read(member).await,
        }
    }

    async fn erase(&self, member: &str) -> Result<bool, StoreError> {
        match self {
            AnyStore::Embedded(s) => s.erase(member).await,
            AnyStore::Redis(s) => s.erase(member).await,
        }
    }

    async fn flush(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Embedded(s) => s.flush().await,
            AnyStore::Redis(s) => s.flush().await,
        }
    }

    async fn ready(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Embedded(s) => s.ready().await,
            AnyStore::Redis(s) => s.ready().await,
        }
    }

    async fn restricted(&self, now: i64, first: usize) -> Result<RestrictedPage, StoreError> {
        match self {
            AnyStore::Embedded(s) => s.restricted(now, first).await,
            AnyStore::Redis(s) => s.restricted(now, first).await,
        }
    }

    async fn append_audit(&self, at: i64, record: Vec<u8>) -> Result<(), StoreError> {
        match self {
            AnyStore::Embedded(s) => s.append_audit(at, record).await,
            AnyStore::Redis(s) => s.append_audit(at, record).await,
        }
    }

    async fn audit(&self, count: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        match self {
            AnyStore::Embedded(s) => s.audit(count).await,
            AnyStore::Redis(s) => s.audit(count).await,
        }
    }

    fn describe(&self) -> String {
        match self {
            AnyStore::Embedded(s) => s.describe(),
            AnyStore::Redis(s) => s.describe(),
        }
    }

    fn tracks_expiry(&self) -> bool {
        match self {
            AnyStore::Embedded(s) => s.tracks_expiry(),
            AnyStore::Redis(s) => s.tracks_expiry(),
        }
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        match self {
            AnyStore::Embedded(s) => s.counters(),
            AnyStore::Redis(s) => s.counters(),
        }
    }
}
