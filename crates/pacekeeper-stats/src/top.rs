//! A bounded top-k by the space-saving algorithm: at most `k` keys are counted; a new key
//! takes the place of the least counted one and inherits its count (an over-estimate the
//! `error` field states), so any key counted more often than `total / k` is always kept.

use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;

/// Counts of the most frequent keys, at most `k` of them.
#[derive(Debug, Clone)]
pub struct TopK<K> {
    k: usize,
    counts: HashMap<K, (u64, u64)>,
}

/// One member among the most denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopDenied {
    /// The member.
    pub member: String,
    /// Denials counted (at most `error` too many).
    pub denials: u64,
    /// How much of the count may belong to members it replaced.
    pub error: u64,
}

impl<K: Hash + Eq + Clone> TopK<K> {
    /// Counts at most `k` keys.
    pub fn new(k: usize) -> TopK<K> {
        TopK { k: k.max(1), counts: HashMap::with_capacity(k.max(1)) }
    }

    /// Counts one more of `key`.
    pub fn add(&mut self, key: &K) {
        if let Some((n, _)) = self.counts.get_mut(key) {
            *n += 1;
            return;
        }
        if self.counts.len() < self.k {
            self.counts.insert(key.clone(), (1, 0));
            return;
        }
        let least = self.counts.iter().min_by_key(|(_, (n, _))| *n).map(|(k, (n, _))| (k.clone(), *n));
        if let Some((old, n)) = least {
            self.counts.remove(&old);
            self.counts.insert(key.clone(), (n + 1, n));
        }
    }

    /// The `limit` most counted keys, most first, with their counts and errors.
    pub fn top(&self, limit: usize) -> Vec<(K, u64, u64)> {
        let mut all: Vec<(K, u64, u64)> = self.counts.iter().map(|(k, (n, e))| (k.clone(), *n, *e)).collect();
        all.sort_by_key(|b| std::cmp::Reverse(b.1));
        all.truncate(limit);
        all
    }

    /// Keys counted now.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}
