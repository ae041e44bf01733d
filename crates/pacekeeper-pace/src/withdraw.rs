//! Auto-withdraw: this queue's own pending invitations older than the account's threshold,
//! oldest first, under a daily cap, in working hours. Each withdrawal goes through the
//! sender (action `withdraw`), is posted as an event, and records the target's 21-day
//! re-invite cooldown. A withdrawal frees no weekly quota (seed 001); it only clears the
//! pending gauge.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use pacekeeper_queue::{Account, InviteState, LaneId, LedgerEntry};

use crate::runner::{Report, Runner};
use crate::sender::{Outgoing, Sent};
use crate::{Clock, RunError, Sender, mark};

/// After a failed withdrawal, the account's next one waits this long. (`withdraw_after`
/// also holds when the next check is due when nothing is stale.)
const WITHDRAW_BACKOFF: Duration = Duration::from_secs(15 * 60);

impl<S: Sender, C: Clock> Runner<S, C> {
    /// Withdraws one stale invitation if one is due now.
    pub(crate) async fn withdraw_due(&mut self, now: Timestamp) -> Result<Option<Report>, RunError> {
        for name in self.account_names.clone() {
            let account = self.account(&name)?;
            if account.withdraw_after_days == 0 || self.withdraw_after.get(&account.name).is_some_and(|t| *t > now) {
                continue;
            }
            let hours = account.hours().map_err(|source| RunError::Hours { account: account.name.clone(), source })?;
            let today = hours.date_of(now);
            let done_today = account.withdrawn_on.filter(|(d, _)| *d == today).map_or(0, |(_, n)| n);
            if (self.options.pacing && !hours.is_open(now)) || done_today >= account.withdrawals_per_day {
                continue;
            }
            let older_than = SignedDuration::from_hours(24 * i64::from(account.withdraw_after_days));
            if let Some(target) = self.stale(&account.name, now, older_than, 1)?.pop() {
                return self.withdraw(&account, &target, now).await.map(Some);
            }
            // Nothing is stale: the oldest pending invitation (or one sent from now on)
            // becomes stale no sooner than this. Outcomes and new invitations come only
            // through this runner while it holds the queue.
            let oldest = self.oldest_pending(&account.name)?.unwrap_or(now);
            let next = oldest.checked_add(older_than).unwrap_or(Timestamp::MAX);
            self.withdraw_after.insert(account.name.clone(), next);
        }
        Ok(None)
    }

    fn oldest_pending(&self, account: &str) -> Result<Option<Timestamp>, RunError> {
        let invites = self.queue.invites(account)?;
        Ok(invites.into_iter().filter(|(_, i)| i.state == InviteState::Pending).map(|(_, i)| i.sent_at).min())
    }

    /// This queue's pending invitations of `account` sent more than `older_than` before
    /// `now`, oldest first, at most `max`.
    pub fn stale(
        &self,
        account: &str,
        now: Timestamp,
        older_than: SignedDuration,
        max: usize,
    ) -> Result<Vec<String>, RunError> {
        let cutoff = now.checked_sub(older_than).unwrap_or(Timestamp::MIN);
        let mut pending: Vec<(Timestamp, String)> = self
            .queue
            .invites(account)?
            .into_iter()
            .filter(|(_, i)| i.state == InviteState::Pending && i.sent_at <= cutoff)
            .map(|(t, i)| (i.sent_at, t))
            .collect();
        pending.sort();
        Ok(pending.into_iter().take(max).map(|(_, t)| t).collect())
    }

    /// Withdraws the invitation `account` sent `target` through this queue, now.
    pub async fn withdraw(&mut self, account: &Account, target: &str, now: Timestamp) -> Result<Report, RunError> {
        let invite = self.queue.invite(&account.name, target)?.ok_or_else(|| {
            pacekeeper_queue::QueueError::NoInvite { account: account.name.clone(), target: target.into() }
        })?;
        let out = Outgoing {
            item: invite.item,
            request_id: format!("pq-{}-{}-withdraw", self.queue.uid(), invite.item),
            account: account.name.clone(),
            action: "withdraw".into(),
            target: Some(target.into()),
            note: None,
            data: None,
            resumed: false,
        };
        let lane = LaneId { account: account.name.clone(), action: "withdraw".into() };
        let report = |what, detail: String| Report { lane: lane.clone(), item: invite.item, what, detail, at: now };
        match self.sender.send(&out).await {
            Sent::Done => {
                self.outbox_dirty = true;
                // An outcome may restart lanes stopped until an event: read them again.
                self.records.clear();
                mark(&self.queue, &account.name, target, InviteState::Withdrawn, now, self.clock.is_virtual())?;
                self.count_withdrawal(&account.name, now)?;
                Ok(report(
                    "withdrawn",
                    format!("{target}: pending since {}; re-inviting waits 21 days", invite.sent_at),
                ))
            }
            Sent::Failed { why, .. } => self.withdraw_failed(account, report("failed", why), now),
            Sent::Limited(_) => {
                self.withdraw_failed(account, report("failed", "the other side limited it".into()), now)
            }
        }
    }

    fn withdraw_failed(&mut self, account: &Account, report: Report, now: Timestamp) -> Result<Report, RunError> {
        self.withdraw_after.insert(account.name.clone(), now.checked_add(WITHDRAW_BACKOFF).unwrap_or(now));
        let mut change = self.queue.change();
        let detail = format!("withdrawing {}: {}", report.item, report.detail);
        change.ledger(&LedgerEntry {
            at: now,
            account: account.name.clone(),
            item: Some(report.item),
            what: "failed".into(),
            detail,
        });
        change.commit(true)?;
        Ok(report)
    }

    fn count_withdrawal(&self, account: &str, now: Timestamp) -> Result<(), RunError> {
        let Some(mut a) = self.queue.account(account)? else { return Ok(()) };
        let hours = a.hours().map_err(|source| RunError::Hours { account: a.name.clone(), source })?;
        let today = hours.date_of(now);
        let n = a.withdrawn_on.filter(|(d, _)| *d == today).map_or(0, |(_, n)| n);
        a.withdrawn_on = Some((today, n + 1));
        self.queue.put_account(&a)?;
        Ok(())
    }
}
