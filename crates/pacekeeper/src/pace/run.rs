//! `pace run`, `pace withdraw` and `pace mark`: the commands that talk to the server and the
//! sender.

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use jiff::SignedDuration;
use pacekeeper_client::Client;
use pacekeeper_pace::{
    Clock, ExecSender, Options, Outgoing, Runner, Sender, Sent, Step, SystemClock, VirtualClock, WebhookSender,
};
use pacekeeper_queue::{InviteState, Queue};

use super::args::{self, Pacing, SenderArgs};
use super::commands::{Context, now};
use super::{EXIT_NEEDS_HUMAN, EXIT_PAUSED, show};

/// The sender the command line chose.
enum CliSender {
    Exec(ExecSender),
    Webhook(WebhookSender),
    /// No sender: the action is the server's decision alone (dry runs, or a platform that
    /// acts itself on what the queue records).
    None,
}

impl Sender for CliSender {
    async fn send(&self, out: &Outgoing) -> Sent {
        match self {
            CliSender::Exec(s) => s.send(out).await,
            CliSender::Webhook(s) => s.send(out).await,
            CliSender::None => Sent::Done,
        }
    }
}

fn sender(a: &SenderArgs) -> anyhow::Result<CliSender> {
    Ok(match (&a.exec, &a.webhook) {
        (Some(cmd), _) => CliSender::Exec(ExecSender::new(cmd, a.send_timeout)),
        (None, Some(url)) => {
            let url = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("--webhook `{url}` is not a URL: {e}"))?;
            CliSender::Webhook(WebhookSender::new(url, a.send_timeout)?)
        }
        (None, None) => CliSender::None,
    })
}

fn client(ctx: &Context) -> anyhow::Result<Client> {
    let c = Client::new(&ctx.server)?;
    Ok(match &ctx.token {
        Some(t) => c.with_token(t),
        None => c,
    })
}

pub fn run(ctx: &Context, a: args::Run) -> anyhow::Result<ExitCode> {
    let queue = ctx.open()?;
    let options = Options {
        seed: ctx.seed(&queue, a.seed),
        pacing: a.pacing == Pacing::On,
        inbox: Some(ctx.queue.clone()),
        ..Options::default()
    };
    let client = if a.no_server { None } else { Some(client(ctx)?) };
    if a.sender.exec.is_none() && a.sender.webhook.is_none() && !a.dry_run {
        anyhow::bail!("say how to send: --exec 'command' (the item as JSON on stdin) or --webhook URL");
    }
    let sender = sender(&a.sender)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    if a.dry_run {
        let client = client.ok_or_else(|| anyhow::anyhow!("--dry-run asks the server: drop --no-server"))?;
        return runtime.block_on(show::dry_run(ctx, &queue, &client));
    }
    runtime.block_on(async {
        match a.virtual_time {
            Some(start) => drive(ctx, Runner::new(queue, client, sender, VirtualClock::new(start), options), &a).await,
            None => drive(ctx, Runner::new(queue, client, sender, SystemClock, options), &a).await,
        }
    })
}

async fn drive<S: Sender, C: Clock>(
    ctx: &Context,
    mut runner: Runner<S, C>,
    a: &args::Run,
) -> anyhow::Result<ExitCode> {
    let mut progress = show::Progress::new(runner.queue(), ctx.json)?;
    let stop = AtomicBool::new(false);
    loop {
        let max_wait = if a.until_empty { a.max_wait } else { None };
        let last = runner.run_until_empty(max_wait, |s| progress.step(s), &stop).await?;
        progress.finish();
        match last {
            Step::Drained if a.until_empty => {
                eprintln!("drained: nothing left to send");
                return Ok(ExitCode::SUCCESS);
            }
            Step::Blocked(why) if a.until_empty => {
                eprintln!("what remains waits for a person or an event:");
                for w in why {
                    eprintln!("  {w}");
                }
                return Ok(ExitCode::from(EXIT_NEEDS_HUMAN));
            }
            Step::Wait { until, why } => {
                eprintln!("paused until {until}: {why}");
                return Ok(ExitCode::from(EXIT_PAUSED));
            }
            // A daemon waits for more (a person, an event, new items from a restart).
            _ => runner.clock().sleep_until(runner.clock().now().checked_add(pacekeeper_pace::LONGEST_SLEEP)?).await,
        }
    }
}

pub fn withdraw(ctx: &Context, a: args::Withdraw) -> anyhow::Result<ExitCode> {
    let queue = ctx.open()?;
    let account =
        queue.account(&a.account)?.ok_or_else(|| pacekeeper_queue::QueueError::NoAccount(a.account.clone()))?;
    let older = SignedDuration::try_from(a.older_than)?;
    let sender = sender(&a.sender)?;
    if matches!(sender, CliSender::None) && !a.dry_run {
        anyhow::bail!("say how to withdraw: --exec 'command' or --webhook URL (the item comes with action `withdraw`)");
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut runner = Runner::new(queue, Some(client(ctx)?), sender, SystemClock, Options::default());
    let stale = runner.stale(&account.name, now(), older, a.max)?;
    runtime.block_on(async {
        for target in &stale {
            if a.dry_run {
                println!("would withdraw {target}");
                continue;
            }
            let r = runner.withdraw(&account, target, now()).await?;
            println!("{}: {}", r.what, r.detail);
        }
        runner.flush_events().await?;
        anyhow::Ok(())
    })?;
    if stale.is_empty() {
        println!("no pending invitation of this queue is older than {}", args_duration(a.older_than));
    }
    Ok(ExitCode::SUCCESS)
}

fn args_duration(d: std::time::Duration) -> String {
    format!("{} days", d.as_secs() / 86_400)
}

pub fn mark(ctx: &Context, a: args::Mark) -> anyhow::Result<ExitCode> {
    let queue: Queue = ctx.open()?;
    let state = match a.outcome {
        args::Outcome::Accepted => InviteState::Accepted,
        args::Outcome::Ignored => InviteState::Ignored,
        args::Outcome::Declined => InviteState::Declined,
        args::Outcome::Unknown => InviteState::Unknown,
        args::Outcome::Spam => InviteState::Spam,
        args::Outcome::Withdrawn => InviteState::Withdrawn,
    };
    pacekeeper_pace::mark(&queue, &a.account, &a.target, state, a.at.unwrap_or_else(now), a.at.is_some())?;
    let mut runner = Runner::new(queue, Some(client(ctx)?), CliSender::None, SystemClock, Options::default());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let posted = runtime.block_on(runner.flush_events())?;
    let left = runner.queue().outbox(1)?.len();
    println!(
        "recorded; {posted} event{} posted{}",
        if posted == 1 { "" } else { "s" },
        if left > 0 { " (the rest wait for the server: the next run posts them)" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}
