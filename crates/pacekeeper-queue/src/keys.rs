//! Key layouts. Names and ids never hold a NUL (they are checked when added), so a NUL ends
//! each part and a prefix never matches a longer name.

use jiff::Timestamp;

use crate::model::{Item, LaneId};

/// The highest priority.
pub const MAX_PRIORITY: u8 = 9;

/// `account\0action\0`: a lane's prefix.
pub fn lane(id: &LaneId) -> Vec<u8> {
    let mut k = Vec::with_capacity(id.account.len() + id.action.len() + 2);
    k.extend_from_slice(id.account.as_bytes());
    k.push(0);
    k.extend_from_slice(id.action.as_bytes());
    k.push(0);
    k
}

/// Reads a lane key back.
pub fn lane_id(key: &[u8]) -> Option<LaneId> {
    let mut parts = key.split(|b| *b == 0);
    let account = std::str::from_utf8(parts.next()?).ok()?.to_string();
    let action = std::str::from_utf8(parts.next()?).ok()?.to_string();
    Some(LaneId { account, action })
}

/// The queued index: the lane, then priority (highest first), then id (oldest first).
pub fn queued(item: &Item) -> Vec<u8> {
    let mut k = lane(&item.lane());
    k.push(MAX_PRIORITY - item.priority.min(MAX_PRIORITY));
    k.extend_from_slice(&item.id.to_be_bytes());
    k
}

/// An item's id.
pub fn id(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// Reads the id at the end of a key.
pub fn id_at_end(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

/// The deduplication key of an item: its lane and target.
pub fn target(item: &Item, target: &str) -> Vec<u8> {
    let mut k = lane(&item.lane());
    k.extend_from_slice(target.as_bytes());
    k
}

/// `account\0target`: an invitation.
pub fn invite(account: &str, target: &str) -> Vec<u8> {
    let mut k = account_prefix(account);
    k.extend_from_slice(target.as_bytes());
    k
}

/// `account\0`.
pub fn account_prefix(account: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(account.len() + 1);
    k.extend_from_slice(account.as_bytes());
    k.push(0);
    k
}

/// A ledger line: the account, the instant (ordered), a sequence number.
pub fn ledger(account: &str, at: Timestamp, seq: u64) -> Vec<u8> {
    let mut k = account_prefix(account);
    // Flipping the sign bit orders negative instants before positive ones.
    k.extend_from_slice(&((at.as_millisecond() as u64) ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// A counter of items in one state of one lane.
pub fn count(id: &LaneId, state: &str) -> Vec<u8> {
    let mut k = b"count\0".to_vec();
    k.extend_from_slice(&lane(id));
    k.extend_from_slice(state.as_bytes());
    k
}
