//! What `pace` prints: the plan, the status, a dry run, and a run's progress (a bar per lane
//! on a terminal, a line per send otherwise, JSON Lines with --json).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use jiff::{SignedDuration, Timestamp};
use pacekeeper_api::DecideRequest;
use pacekeeper_client::Client;
use pacekeeper_pace::{AccountStatus, Step};
use pacekeeper_queue::{ItemState, LaneId, Queue};

use super::args::{self, Pacing};
use super::commands::{Context, now};

pub fn plan(ctx: &Context, a: args::Plan) -> anyhow::Result<ExitCode> {
    let queue = ctx.open()?;
    // From the start of this minute: two plans made within it are the same for a seed.
    let minute = jiff::TimestampRound::new().smallest(jiff::Unit::Minute).mode(jiff::RoundMode::Trunc);
    let from = a.from.unwrap_or_else(|| now().round(minute).unwrap_or_else(|_| now()));
    let horizon = from.checked_add(SignedDuration::from_hours(24 * i64::from(a.days)))?;
    let zones: HashMap<String, jiff::tz::TimeZone> = queue
        .accounts()?
        .into_iter()
        .filter_map(|acc| Some((acc.name, jiff::tz::TimeZone::get(&acc.zone).ok()?)))
        .collect();
    let mut shown = Vec::new();
    let lanes = pacekeeper_pace::plan(&queue, ctx.seed(&queue, a.seed), from, a.pacing == Pacing::On, |s| {
        if s.at < horizon {
            shown.push(s.clone());
        }
    })?;
    shown.sort_by(|x, y| (x.at, &x.account, &x.action).cmp(&(y.at, &y.account, &y.action)));
    if ctx.json {
        println!("{}", serde_json::json!({ "from": from, "sends": shown, "lanes": lanes }));
        return Ok(ExitCode::SUCCESS);
    }
    let local = |account: &str, t: Timestamp| match zones.get(account) {
        Some(z) => t.to_zoned_datetime(z.clone()).strftime("%a %Y-%m-%d %H:%M %Z").to_string(),
        None => t.to_string(),
    };
    for s in &shown {
        let target = s.target.as_deref().unwrap_or("-");
        println!("{}  {:<12} {:<10} {target}  (item {})", local(&s.account, s.at), s.account, s.action, s.item);
    }
    for l in &lanes {
        let end = match (&l.stopped, l.drains_at) {
            (Some(why), _) => format!("sends nothing: {why}"),
            (None, Some(t)) => format!("drains {}", local(&l.account, t)),
            (None, None) => "nothing queued".into(),
        };
        println!("{}/{}: {} queued; {end}", l.account, l.action, l.queued);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(ctx: &Context) -> anyhow::Result<ExitCode> {
    let queue = ctx.open()?;
    let all = pacekeeper_pace::status(&queue, now())?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    for a in &all {
        print_account(a);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_account(a: &AccountStatus) {
    let warmup = a.warmup.map_or("no warm-up".into(), |(d, n)| format!("warm-up day {d} of {n}"));
    let rate =
        a.acceptance_rate.map_or("no answers yet".into(), |r| format!("{:.0} % accepted of {}", r * 100.0, a.decided));
    println!("{} ({}): {warmup}; {rate}; {} pending", a.account, a.zone, a.pending);
    if let Some(t) = a.oldest_pending {
        println!("  oldest pending invitation sent {t}");
    }
    if let Some(why) = &a.needs_human {
        println!("  NEEDS A PERSON: {why} (then `pace resume --account {}`)", a.account);
    }
    if let Some(t) = a.paused_until {
        println!("  paused by hand until {t}");
    }
    for l in &a.lanes {
        println!(
            "  {:<12} queued {}  sent {}  skipped {}  parked {}{}",
            l.action,
            l.queued,
            l.sent,
            l.skipped,
            l.parked,
            if l.in_flight > 0 { format!("  in flight {}", l.in_flight) } else { String::new() }
        );
        for lim in &l.limits {
            let reset = lim.resets_at.map_or(String::new(), |t| format!(", resets {t}"));
            println!("      {}: used {} of {}, {} left{reset}", lim.name, lim.used, lim.amount, lim.remaining);
        }
        match (l.stopped, l.paused_until, &l.why) {
            (Some(s), _, why) => println!("      stopped ({s:?}): {}", why.as_deref().unwrap_or("")),
            (None, Some(t), why) => println!("      paused until {t}: {}", why.as_deref().unwrap_or("")),
            _ => {}
        }
    }
}

/// Asks the server, with dry runs, about the next item of each lane.
pub async fn dry_run(ctx: &Context, queue: &Queue, client: &Client) -> anyhow::Result<ExitCode> {
    for (id, _) in queue.lanes()? {
        let Some(item) = queue.queued(&id, 1)?.pop() else { continue };
        let account = queue.account(&id.account)?;
        let req = DecideRequest {
            member: item.account.clone(),
            action: item.action.clone(),
            tier: account.and_then(|a| a.tier),
            target: item.target.clone(),
            note: item.note.clone(),
            channel: None,
            cost: None,
            dry_run: true,
            ..DecideRequest::default()
        };
        let answer = client.decide(&req).await?;
        if ctx.json {
            println!(
                "{}",
                serde_json::json!({ "account": id.account, "action": id.action, "item": item.id, "decision": answer.decision })
            );
        } else {
            let d = &answer.decision;
            println!(
                "{}/{} item {}: {} — {}",
                id.account,
                id.action,
                item.id,
                if d.allowed { "would go" } else { "would wait" },
                d.message
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A run's progress.
pub struct Progress {
    json: bool,
    bars: Option<(MultiProgress, HashMap<LaneId, ProgressBar>)>,
}

impl Progress {
    pub fn new(queue: &Queue, json: bool) -> anyhow::Result<Progress> {
        if json || !std::io::stderr().is_terminal() {
            return Ok(Progress { json, bars: None });
        }
        let multi = MultiProgress::new();
        let style = ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {msg}")?.progress_chars("=> ");
        let mut bars = HashMap::new();
        for (id, _) in queue.lanes()? {
            let done = queue.count(&id, ItemState::Sent)?;
            let total = done + queue.count(&id, ItemState::Queued)? + queue.count(&id, ItemState::InFlight)?;
            let bar = multi.add(ProgressBar::new(total).with_style(style.clone()).with_position(done));
            bar.set_prefix(format!("{}/{}", id.account, id.action));
            bars.insert(id, bar);
        }
        Ok(Progress { json, bars: Some((multi, bars)) })
    }

    pub fn step(&mut self, step: &Step) {
        if self.json {
            println!("{}", step_json(step));
            return;
        }
        let Some((_, bars)) = &self.bars else {
            if let Step::Did(r) = step {
                eprintln!("{} {}/{} item {}: {} — {}", r.at, r.lane.account, r.lane.action, r.item, r.what, r.detail);
            }
            return;
        };
        match step {
            Step::Did(r) => {
                if let Some(bar) = bars.get(&r.lane) {
                    if r.what == "sent" {
                        bar.inc(1);
                    }
                    bar.set_message(format!("{}: {}", r.what, r.detail));
                }
            }
            Step::Wait { until, why } => {
                for bar in bars.values() {
                    bar.set_message(format!("next at {}", short(*until)));
                }
                let _ = why;
            }
            _ => {}
        }
    }

    pub fn finish(&mut self) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars.values() {
                bar.abandon();
            }
        }
    }
}

fn short(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn step_json(step: &Step) -> serde_json::Value {
    match step {
        Step::Did(r) => serde_json::json!({
            "step": r.what, "account": r.lane.account, "action": r.lane.action, "item": r.item, "detail": r.detail, "at": r.at,
        }),
        Step::Wait { until, why } => serde_json::json!({ "step": "wait", "until": until, "why": why }),
        Step::Drained => serde_json::json!({ "step": "drained" }),
        Step::Blocked(why) => serde_json::json!({ "step": "blocked", "why": why }),
    }
}
