//! Runs a sender's queue of outreach inside the limits.
//!
//! A [`Runner`] takes items from a [`pacekeeper_queue::Queue`] lane by lane (one account's
//! one action), at the slots the pacer ([`pacekeeper_pacer`]) draws inside working hours;
//! asks the Pacekeeper server for each (or, for a third-party API, lets that API's own
//! answers decide); performs the action through a [`Sender`]; and reacts to every answer:
//! a limit pauses the lane, a restriction every lane it blocks, a cooldown only the item, a
//! cap stops the lane until an event, verification parks the item for a person, failures back
//! off under a budget. Outcomes ([`mark`]) are posted to `/v1/events` in batches, and the
//! queue's own stale invitations are withdrawn ([`Runner::withdraw`]).
//!
//! [`plan`] draws the schedule a run would follow, sending nothing; [`status`] shows where
//! each lane stands; [`import`] reads CSV or JSON Lines.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use pacekeeper_pace::{ExecSender, Options, Runner, SystemClock};
//! let queue = pacekeeper_queue::Queue::open("pace-data")?;
//! let client = pacekeeper_client::Client::new("http://127.0.0.1:7300")?;
//! let sender = ExecSender::new("./send-invite.sh", std::time::Duration::from_secs(30));
//! let mut runner = Runner::new(queue, Some(client), sender, SystemClock, Options::default());
//! let stop = std::sync::atomic::AtomicBool::new(false);
//! let last = runner.run_until_empty(None, |step| println!("{step:?}"), &stop).await?;
//! # Ok(()) }
//! ```

mod clock;
mod events;
pub mod import;
pub mod inbox;
mod outcome;
mod plan;
mod runner;
mod sender;
mod status;
mod withdraw;

pub use clock::{Clock, LONGEST_SLEEP, SystemClock, VirtualClock};
pub use events::mark;
pub use outcome::{learned_from_decision, learned_from_feedback, of_decision, of_feedback};
pub use plan::{LanePlan, PlannedSend, plan};
pub use runner::{Options, Report, Runner, Step, rng_for};
pub use sender::{EXIT_DONE, EXIT_LIMITED, EXIT_TEMPORARY, ExecSender, Outgoing, Sender, Sent, WebhookSender};
pub use status::{AccountStatus, LaneStatus, status};

/// Why the runner stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The queue's store failed.
    #[error(transparent)]
    Queue(#[from] pacekeeper_queue::QueueError),
    /// An account's working hours are unusable.
    #[error("account `{account}`: {source}")]
    Hours {
        /// The account.
        account: String,
        /// Why.
        #[source]
        source: pacekeeper_pacer::HoursError,
    },
    /// The server refused a call that is not a decision (events).
    #[error(transparent)]
    Client(#[from] pacekeeper_client::ClientError),
    /// The inbox could not be read.
    #[error("the queue's inbox: {0}")]
    Inbox(#[from] import::ImportError),
}
