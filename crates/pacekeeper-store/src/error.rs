//! Why a store cannot serve a request, and whether trying again may help.

use std::sync::Arc;

use pacekeeper_engine::StateError;

/// A cause kept as it was raised (an I/O error, a fjall error), shareable between the
/// answers that waited on the same failed write.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// A store that cannot serve a request. [`StoreError::is_transient`] tells an outage (fail
/// open may apply) from a fault an operator must fix (never a reason to fail open).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Redis refused or failed the call; `transient` when the same call may succeed later
    /// (connection refused or dropped, cluster reconfiguring, loading), not for an
    /// authentication failure or a script error.
    #[error("Redis: {source}")]
    Redis {
        /// Whether the same call may succeed later.
        transient: bool,
        /// The client's error.
        #[source]
        source: Arc<redis::RedisError>,
    },
    /// The backend did not answer in time (transient).
    #[error("the store did not answer within {0} ms")]
    Timeout(u64),
    /// Group commits take longer than the commit timeout: the disk may be stalled
    /// (transient: readiness returns once one completes in time).
    #[error("group commits take longer than {0} ms; check the disk")]
    Stalled(u64),
    /// Writers of one member kept conflicting (transient).
    #[error("member `{member}`: {attempts} conflicting writes in a row; try again")]
    Contended {
        /// The member.
        member: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The store is shutting down (transient: another instance may answer).
    #[error("the store is shut down")]
    Closed,
    /// The disk refused a read or a write: not transient, an operator must look.
    #[error("{what}: {source}")]
    Disk {
        /// What was being done (and on which path).
        what: String,
        /// The error the disk or the database gave.
        #[source]
        source: Cause,
    },
    /// An earlier write to disk failed and the store stopped taking requests.
    #[error("an earlier write to disk failed; restart the server after checking the disk")]
    Failed,
    /// Redis answered something the store cannot use (not transient).
    #[error("Redis answered the compare-and-set script with {0}")]
    Protocol(String),
    /// The store's configuration is unusable (not transient).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A fault inside the store (an update that panicked): not transient, and never a reason
    /// to fail open.
    #[error("internal store error: {0}")]
    Internal(&'static str),
    /// This store does not keep what was asked of it (a test double); not transient.
    #[error("this store keeps no {0}")]
    Unsupported(&'static str),
    /// A member's stored state cannot be read (not transient: needs an operator).
    #[error("the stored state of member `{member}` is unreadable: {source}")]
    Corrupt {
        /// The member.
        member: String,
        /// Why.
        #[source]
        source: StateError,
    },
}

impl StoreError {
    /// True when the same request may succeed later: an outage, not a fault.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Redis { transient, .. } => *transient,
            StoreError::Timeout(_) | StoreError::Stalled(_) | StoreError::Contended { .. } | StoreError::Closed => true,
            _ => false,
        }
    }

    /// A disk error with what was being done.
    pub fn disk(what: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Disk { what: what.into(), source: Arc::new(source) }
    }

    /// A Redis client error, classified.
    pub fn redis(e: redis::RedisError) -> StoreError {
        use redis::{ErrorKind, RetryMethod};
        let transient = !matches!(e.kind(), ErrorKind::AuthenticationFailed | ErrorKind::InvalidClientConfig)
            && (e.is_io_error()
                || e.is_timeout()
                || e.is_cluster_error()
                || e.is_connection_refusal()
                || e.is_connection_dropped()
                || !matches!(e.retry_method(), RetryMethod::NoRetry));
        StoreError::Redis { transient, source: Arc::new(e) }
    }
}

/// A store configuration that cannot work.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    /// A Redis URL does not parse.
    #[error("redis.urls (--redis): `{url}` is not a Redis URL ({source}); write redis://host:port")]
    RedisUrl {
        /// The URL, its password hidden.
        url: String,
        /// Why.
        #[source]
        source: Arc<redis::RedisError>,
    },
    /// No Redis URL.
    #[error("no Redis URL given: set redis.urls")]
    NoRedisUrl,
    /// Several URLs for a single server.
    #[error(
        "several Redis URLs given for a single server: set redis.cluster = true for cluster seeds, or give one URL"
    )]
    SeveralRedisUrls,
    /// The Redis client refused the settings.
    #[error("cannot set up the Redis client: {0}")]
    RedisClient(#[source] Arc<redis::RedisError>),
    /// A store thread could not start.
    #[error("cannot start the store thread `{name}`: {source}")]
    Thread {
        /// The thread.
        name: String,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_transient_and_a_fault_is_not() {
        assert!(StoreError::Timeout(100).is_transient());
        assert!(StoreError::Closed.is_transient());
        assert!(!StoreError::disk("log write failed", std::io::Error::other("EIO")).is_transient());
        assert!(!StoreError::Failed.is_transient());
        let refused = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(StoreError::redis(refused).is_transient());
    }

    #[test]
    fn a_bad_redis_url_is_a_configuration_error_not_an_outage() {
        let e = crate::RedisStore::open(crate::RedisConfig::new("not-a-url")).err().unwrap();
        assert!(matches!(e, StoreError::Config(ConfigError::RedisUrl { .. })), "{e:?}");
        assert!(!e.is_transient());
        assert!(std::error::Error::source(&e).is_some(), "the cause is kept");
    }
}
