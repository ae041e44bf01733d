//! Outcome events (`/v1/events`): every event checked before any is applied, and all events
//! of one member applied in one store update, so a resent array changes nothing twice.

use std::collections::HashMap;

use jiff::Timestamp;
use pacekeeper_engine::{Event, EventAck, apply_event, validate_event};
use pacekeeper_store::Store;

use crate::{Service, ServiceError, change, validate};

/// Events of one member, each with its position in the request and its instant.
type Group = Vec<(usize, Event, Timestamp)>;

impl<S: Store> Service<S> {
    /// Applies `events` and acknowledges each, in order. Fields of a bad event are named
    /// `[i].field` when `batch` (the caller sent an array). Events of one member are applied
    /// together in one store update (one write, one fsync); an event with an `id` is applied
    /// at most once per member.
    pub async fn apply_events(&self, events: Vec<Event>, batch: bool) -> Result<Vec<EventAck>, ServiceError> {
        let policy = self.policy();
        let mut groups: Vec<(String, Group)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, ev) in events.into_iter().enumerate() {
            let prefix = if batch { format!("[{i}].") } else { String::new() };
            let checked = validate::event(&ev)
                .and_then(|()| validate_event(&policy, &ev).map_err(ServiceError::from))
                .and_then(|()| self.instant(ev.at, "at"));
            let now = checked.map_err(|e| e.within(&prefix))?;
            // Members in first-seen order, found through an index: a large array of many
            // members stays linear.
            let slot = *index.entry(ev.member.clone()).or_insert_with(|| {
                groups.push((ev.member.clone(), Vec::new()));
                groups.len() - 1
            });
            groups[slot].1.push((i, ev, now));
        }
        let total = groups.iter().map(|(_, g)| g.len()).sum();
        let mut ats = vec![Timestamp::UNIX_EPOCH; total];
        for (_, g) in &groups {
            for (i, _, at) in g {
                ats[*i] = *at;
            }
        }
        let mut acks: Vec<Option<EventAck>> = vec![None; total];
        for (member, group) in groups {
            let recorded: HashMap<usize, Event> = match &self.recorder {
                Some(_) => group.iter().map(|(i, e, _)| (*i, e.clone())).collect(),
                None => HashMap::new(),
            };
            for (i, ack) in self.apply_member_events(&member, group).await? {
                if let (Some(r), Some(ev), false) = (&self.recorder, recorded.get(&i), ack.duplicate) {
                    r.event(ev, ats[i]);
                }
                ::metrics::counter!("pacekeeper_events_total", "kind" => ack.kind.name()).increment(1);
                if let Some(o) = &self.observer {
                    o.event(ack.kind.name(), ats[i]);
                }
                acks[i] = Some(ack);
            }
        }
        Ok(acks.into_iter().flatten().collect())
    }

    /// One member's events in one store update: all applied, or (on a store error) none.
    async fn apply_member_events(&self, member: &str, group: Group) -> Result<Vec<(usize, EventAck)>, ServiceError> {
        let policy = self.policy();
        let track = self.store.tracks_expiry();
        self.store
            .update(member, move |st| {
                let mut acks = Vec::with_capacity(group.len());
                let mut last = None;
                for (i, ev, now) in &group {
                    match apply_event(&policy, st, ev, *now) {
                        Ok(ack) => acks.push((*i, ack)),
                        Err(e) => {
                            let r = Err(ServiceError::from(e).within(&format!("[{i}].")));
                            return change(&policy, st, r, false, false, *now);
                        }
                    }
                    last = Some(*now);
                }
                let changed = acks.iter().any(|(_, a)| !a.duplicate);
                let now = last.unwrap_or(Timestamp::UNIX_EPOCH);
                change(&policy, st, Ok(acks), changed, track, now)
            })
            .await
            .map_err(ServiceError::store)?
    }
}
