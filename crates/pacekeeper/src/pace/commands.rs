//! The queue's bookkeeping commands: init, add, import, pause, resume.

use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use jiff::Timestamp;
use pacekeeper_pace::import::{self, Defaults, Format};
use pacekeeper_pacer::{Stop, Warmup};
use pacekeeper_queue::{Account, Added, ItemState, NewItem, NotePolicy, Queue, QueueError};

use super::args;

pub struct Context {
    pub queue: PathBuf,
    pub server: String,
    pub token: Option<String>,
    pub json: bool,
}

impl Context {
    pub fn open(&self) -> anyhow::Result<Queue> {
        Ok(Queue::open(&self.queue)?)
    }

    /// The default seed of a queue: from its id, so plan and run agree without one.
    pub fn seed(&self, queue: &Queue, given: Option<u64>) -> u64 {
        given.unwrap_or_else(|| xxhash_rust::xxh3::xxh3_64(queue.uid().as_bytes()))
    }
}

pub fn now() -> Timestamp {
    #[allow(clippy::disallowed_methods)] // the command line's present
    Timestamp::now()
}

pub fn init(ctx: &Context, a: args::Init) -> anyhow::Result<ExitCode> {
    let queue = ctx.open()?;
    let mut account = match queue.account(&a.account)? {
        Some(mut old) => {
            old.zone = a.zone.clone();
            old.days = a.hours.days.clone();
            old.start = a.hours.start;
            old.end = a.hours.end;
            old
        }
        None => Account::new(&a.account, &a.zone, a.hours.days.clone(), a.hours.start, a.hours.end)?,
    };
    account.hours()?;
    if a.tier.is_some() {
        account.tier = a.tier;
    }
    account.daily.extend(a.daily);
    if a.no_warmup {
        account.warmup = None;
    } else if account.warmup.is_none() {
        account.warmup = Some(Warmup::default());
    }
    if let Some(d) = a.withdraw_after {
        account.withdraw_after_days = (d.as_secs() / 86_400) as u32;
    }
    if let Some(n) = a.withdrawals_per_day {
        account.withdrawals_per_day = n;
    }
    queue.put_account(&account)?;
    if ctx.json {
        println!("{}", serde_json::to_string(&account)?);
    } else {
        println!("account `{}` in {}: {}", account.name, account.zone, ctx.queue.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn add(ctx: &Context, a: args::Add) -> anyhow::Result<ExitCode> {
    let note = match (a.note, a.note_file) {
        (Some(n), _) => Some(n),
        (None, Some(f)) => Some(
            std::fs::read_to_string(&f)
                .map_err(|e| anyhow::anyhow!("cannot read the note {}: {e}", f.display()))?
                .trim_end()
                .to_string(),
        ),
        (None, None) => None,
    };
    let item = NewItem {
        account: a.account,
        action: a.action,
        target: a.target,
        note,
        note_policy: if a.note_optional { NotePolicy::Optional } else { NotePolicy::Required },
        priority: a.priority,
        data: a.data,
    };
    item.check()?;
    let queue = match Queue::open(&ctx.queue) {
        Err(QueueError::InUse(_)) => return leave_in_inbox(ctx, &[item]),
        other => other?,
    };
    let added = queue.add(item, now())?;
    let (id, new) = match added {
        Added::New(id) => (id, true),
        Added::Duplicate(id) => (id, false),
    };
    if ctx.json {
        println!("{}", serde_json::json!({ "item": id, "added": new }));
    } else if new {
        println!("queued item {id}");
    } else {
        println!("already queued as item {id} (same account, action and target): nothing added");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn import(ctx: &Context, a: args::Import) -> anyhow::Result<ExitCode> {
    let defaults = Defaults { account: a.account, action: a.action };
    let queue = match Queue::open(&ctx.queue) {
        Err(QueueError::InUse(_)) => {
            let items = read_all(&a.file, &defaults)?;
            return leave_in_inbox(ctx, &items);
        }
        other => other?,
    };
    let added = if a.file.as_os_str() == "-" {
        let items = import::read(std::io::stdin().lock(), Format::JsonLines, &defaults);
        queue.add_all(items, now())
    } else {
        let f = std::fs::File::open(&a.file).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", a.file.display()))?;
        let items = import::read(BufReader::new(f), Format::of_path(&a.file), &defaults);
        queue.add_all(items, now())
    };
    let added = added.map_err(|e| anyhow::anyhow!("{}: {e} (the rows before it were added)", a.file.display()))?;
    let new = added.iter().filter(|a| a.is_new()).count();
    if ctx.json {
        println!("{}", serde_json::json!({ "added": new, "duplicates": added.len() - new }));
    } else {
        println!("{new} added, {} already queued", added.len() - new);
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads and checks every item of `file` (`-`: standard input, JSON Lines).
fn read_all(file: &std::path::Path, defaults: &Defaults) -> anyhow::Result<Vec<NewItem>> {
    let items: Result<Vec<NewItem>, _> = if file.as_os_str() == "-" {
        import::read(std::io::stdin().lock(), Format::JsonLines, defaults).collect()
    } else {
        let f = std::fs::File::open(file).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
        import::read(BufReader::new(f), Format::of_path(file), defaults).collect()
    };
    items.map_err(|e| anyhow::anyhow!("{}: {e} (nothing was added)", file.display()))
}

/// A run holds the queue: the items wait in its inbox, and the run adds them.
fn leave_in_inbox(ctx: &Context, items: &[NewItem]) -> anyhow::Result<ExitCode> {
    let path = pacekeeper_pace::inbox::leave(&ctx.queue, items)?;
    if ctx.json {
        println!("{}", serde_json::json!({ "inbox": path, "items": items.len() }));
    } else {
        println!(
            "a run holds the queue: {} item{} left in its inbox ({}); the run adds them at its next step",
            items.len(),
            if items.len() == 1 { "" } else { "s" },
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn pause(ctx: &Context, a: args::Pause) -> anyhow::Result<ExitCode> {
    let queue = ctx.open()?;
    let mut account =
        queue.account(&a.account)?.ok_or_else(|| pacekeeper_queue::QueueError::NoAccount(a.account.clone()))?;
    let until = match (a.until, a.for_) {
        (Some(t), _) => t,
        (None, Some(d)) => now().checked_add(d)?,
        (None, None) => Timestamp::MAX,
    };
    account.paused_until = Some(until);
    queue.put_account(&account)?;
    println!(
        "`{}` paused until {}",
        account.name,
        if until == Timestamp::MAX { "resumed".into() } else { until.to_string() }
    );
    Ok(ExitCode::SUCCESS)
}

pub fn resume(ctx: &Context, a: args::AccountArg) -> anyhow::Result<ExitCode> {
    let queue = ctx.open()?;
    let mut account =
        queue.account(&a.account)?.ok_or_else(|| pacekeeper_queue::QueueError::NoAccount(a.account.clone()))?;
    account.paused_until = None;
    account.needs_human = None;
    let mut change = queue.change();
    change.account(&account);
    for (id, mut rec) in queue.lanes()?.into_iter().filter(|(id, _)| id.account == account.name) {
        if rec.lane.stop == Some(Stop::Human) {
            rec.lane.stop = None;
            rec.why = None;
            change.lane(&id, &rec);
        }
    }
    let mut requeued = 0;
    for item in queue.items() {
        let mut item = item?;
        if item.account == account.name && item.state == ItemState::Parked {
            item.state = ItemState::Queued;
            item.request_id = None;
            change.item(&item, Some(ItemState::Parked));
            requeued += 1;
        }
    }
    change.commit(true)?;
    println!(
        "`{}` resumed; {requeued} parked item{} queued again (a pause the server gave stays until it ends)",
        account.name,
        if requeued == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}
