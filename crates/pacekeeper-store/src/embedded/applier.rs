//! The applier thread: puts logged writes into fjall, the log's checkpoint, off every answer's
//! path (fjall's journal rotation fsyncs under a lock each write batch needs).

use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;

use super::Shared;
use super::committer::Applied;
use super::syncer::FailOnPanic;

/// Runs until the committer is gone and every write it sent is applied.
pub(super) fn run(shared: &Shared, groups: Receiver<Applied>) {
    let _guard = FailOnPanic(shared);
    for Applied { writes, top } in groups {
        let mut batch = shared.db.batch();
        for (key, value) in writes {
            match value {
                Some(v) => batch.insert(&shared.members, &key[..], v),
                None => batch.remove(&shared.members, &key[..]),
            }
        }
        match batch.commit() {
            Ok(()) => {
                shared.applied.fetch_max(top, Ordering::Release);
            }
            // The log still holds these writes; the store refuses requests until restarted,
            // and the restart replays them.
            Err(e) => shared.fail(&format!("applying logged writes to fjall failed: {e}")),
        }
    }
}
