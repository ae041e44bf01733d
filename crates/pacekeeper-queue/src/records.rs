//! Reading accounts, lanes, invitations, the ledger and the events waiting to be posted.

use jiff::Timestamp;
use pacekeeper_api::Event;

use crate::model::{Account, Invite, LaneId, LaneRecord, LedgerEntry};
use crate::{Queue, QueueError, decode, keys};

impl Queue {
    /// Writes an account (synced).
    pub fn put_account(&self, account: &Account) -> Result<(), QueueError> {
        let mut c = self.change();
        c.account(account);
        c.commit(true)
    }

    /// The account named `name`, if there is one.
    pub fn account(&self, name: &str) -> Result<Option<Account>, QueueError> {
        self.accounts.get(name.as_bytes())?.map(|v| decode("account", &v)).transpose()
    }

    /// Every account, by name.
    pub fn accounts(&self) -> Result<Vec<Account>, QueueError> {
        self.accounts.iter().map(|g| decode("account", &g.into_inner()?.1)).collect()
    }

    /// A lane, if it has ever had an item.
    pub fn lane(&self, id: &LaneId) -> Result<Option<LaneRecord>, QueueError> {
        self.lanes.get(keys::lane(id))?.map(|v| decode("lane", &v)).transpose()
    }

    /// The id of every lane, by account and action.
    pub fn lane_ids(&self) -> Result<Vec<LaneId>, QueueError> {
        let mut out = Vec::new();
        for g in self.lanes.iter() {
            out.extend(keys::lane_id(&g.into_inner()?.0));
        }
        Ok(out)
    }

    /// Every lane, by account and action.
    pub fn lanes(&self) -> Result<Vec<(LaneId, LaneRecord)>, QueueError> {
        let mut out = Vec::new();
        for g in self.lanes.iter() {
            let (k, v) = g.into_inner()?;
            if let Some(id) = keys::lane_id(&k) {
                out.push((id, decode("lane", &v)?));
            }
        }
        Ok(out)
    }

    /// The invitation this queue sent `target` from `account`, if any.
    pub fn invite(&self, account: &str, target: &str) -> Result<Option<Invite>, QueueError> {
        self.invites.get(keys::invite(account, target))?.map(|v| decode("invitation", &v)).transpose()
    }

    /// Every invitation `account` sent through this queue, with its target.
    pub fn invites(&self, account: &str) -> Result<Vec<(String, Invite)>, QueueError> {
        let prefix = keys::account_prefix(account);
        let mut out = Vec::new();
        for g in self.invites.prefix(&prefix) {
            let (k, v) = g.into_inner()?;
            let target = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            out.push((target, decode("invitation", &v)?));
        }
        Ok(out)
    }

    /// The ledger of `account` from `since` on, oldest first, at most `limit` lines.
    pub fn ledger(&self, account: &str, since: Timestamp, limit: usize) -> Result<Vec<LedgerEntry>, QueueError> {
        let from = keys::ledger(account, since, 0);
        let end = keys::ledger(account, Timestamp::MAX, u64::MAX);
        self.ledger.range(from..=end).take(limit).map(|g| decode("ledger line", &g.into_inner()?.1)).collect()
    }

    /// Up to `limit` events waiting to be posted, with their sequence numbers.
    pub fn outbox(&self, limit: usize) -> Result<Vec<(u64, Event)>, QueueError> {
        let mut out = Vec::new();
        for g in self.outbox.iter().take(limit) {
            let (k, v) = g.into_inner()?;
            out.push((keys::id_at_end(&k).unwrap_or(0), decode("event", &v)?));
        }
        Ok(out)
    }
}
