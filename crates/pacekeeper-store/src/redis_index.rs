//! The Redis store's restrictions index and audit log.
//!
//! The index is one sorted set, `<prefix>restricted`: members scored by when their
//! restrictions end (milliseconds since the epoch). A write that changes a member's end
//! updates it right after the member's own compare-and-set; the two keys live in different
//! cluster slots, so this is a second call, not one atomic step, and a failure between the two
//! leaves the index behind until the member's next write. An erase removes the member.
//!
//! The audit log is one list, `<prefix>audit`, newest first, trimmed to
//! [`REDIS_AUDIT_RECORDS`].

use redis::Value;

use super::RedisStore;
use crate::{REDIS_AUDIT_RECORDS, Restricted, RestrictedPage, StoreError};

/// Scores at or above this are ends "until verification" (`i64::MAX` does not fit a double).
const VERIFIED_SCORE: f64 = 9.0e18;

impl RedisStore {
    fn index_key(&self) -> String {
        format!("{}restricted", self.inner.prefix)
    }

    fn audit_key(&self) -> String {
        format!("{}audit", self.inner.prefix)
    }

    /// Records the member's end in the index (`None`: no longer restricted).
    pub(super) async fn set_restricted(&self, member: &str, end: Option<i64>) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let cmd = match end {
            Some(end) => {
                let score = if end == pacekeeper_engine::UNTIL_VERIFIED { "+inf".to_string() } else { end.to_string() };
                redis::cmd("ZADD").arg(self.index_key()).arg(score).arg(member).to_owned()
            }
            None => redis::cmd("ZREM").arg(self.index_key()).arg(member).to_owned(),
        };
        let _: Value = cmd.query_async(&mut conn).await.map_err(|e| self.redis_error(e))?;
        Ok(())
    }

    pub(super) async fn restricted_page(&self, now: i64, first: usize) -> Result<RestrictedPage, StoreError> {
        let mut conn = self.conn.clone();
        let after = format!("({now}");
        let (total, page): (u64, Vec<(String, f64)>) = redis::pipe()
            .cmd("ZCOUNT")
            .arg(self.index_key())
            .arg(&after)
            .arg("+inf")
            .cmd("ZRANGE")
            .arg(self.index_key())
            .arg(&after)
            .arg("+inf")
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(first)
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await
            .map_err(|e| self.redis_error(e))?;
        let until = |s: f64| if s >= VERIFIED_SCORE { pacekeeper_engine::UNTIL_VERIFIED } else { s as i64 };
        let first = page.into_iter().map(|(member, s)| Restricted { member, until: until(s) }).collect();
        Ok(RestrictedPage { total, first })
    }

    pub(super) async fn push_audit(&self, record: Vec<u8>) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let key = self.audit_key();
        let _: (i64, Value) = redis::pipe()
            .atomic()
            .cmd("LPUSH")
            .arg(&key)
            .arg(record)
            .cmd("LTRIM")
            .arg(&key)
            .arg(0)
            .arg(REDIS_AUDIT_RECORDS - 1)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.redis_error(e))?;
        Ok(())
    }

    pub(super) async fn newest_audit(&self, count: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        redis::cmd("LRANGE")
            .arg(self.audit_key())
            .arg(0)
            .arg(count - 1)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.redis_error(e))
    }
}
