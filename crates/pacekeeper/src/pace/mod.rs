//! `pacekeeper pace`: a sender's queue, paced inside the limits. Glue only: the queue, the
//! runner and the plan are `pacekeeper-queue` and `pacekeeper-pace`.

mod args;
mod commands;
mod run;
mod show;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

/// Exit status of `pace run` when the queue waits longer than `--max-wait` (the reason is
/// printed).
pub const EXIT_PAUSED: u8 = 3;
/// Exit status of `pace run` when what remains waits for a person.
pub const EXIT_NEEDS_HUMAN: u8 = 4;

#[derive(Args)]
pub struct PaceArgs {
    /// The queue's directory.
    #[arg(long, env = "PACEKEEPER_QUEUE", default_value = "pace-data", global = true)]
    queue: PathBuf,
    /// The Pacekeeper server asked before each send.
    #[arg(long, env = "PACEKEEPER_SERVER", default_value = "http://127.0.0.1:7300", global = true)]
    server: String,
    /// A bearer token for the server (decide scope; admin for nothing here).
    #[arg(long, env = "PACEKEEPER_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: PaceCommand,
}

#[derive(Subcommand)]
enum PaceCommand {
    /// Create or update a sending account: its zone, working hours, tier and daily targets.
    Init(args::Init),
    /// Queue one action.
    Add(args::Add),
    /// Queue actions from a CSV (header row) or JSON Lines file; duplicates are skipped.
    Import(args::Import),
    /// The schedule a run would follow and when each lane drains; sends nothing.
    Plan(args::Plan),
    /// Send what is due, lane by lane, reacting to every answer.
    Run(args::Run),
    /// Per lane: items by state, used / remaining / reset, pauses and why, warm-up,
    /// acceptance, the oldest pending invitation.
    Status,
    /// Pause an account by hand.
    Pause(args::Pause),
    /// Resume an account paused by hand or waiting for a person (a server's pause stays).
    Resume(args::AccountArg),
    /// Withdraw this queue's pending invitations older than a threshold, oldest first.
    Withdraw(args::Withdraw),
    /// Record the outcome of an invitation this queue sent, and post it to the server.
    Mark(args::Mark),
}

pub fn main(args: PaceArgs) -> anyhow::Result<ExitCode> {
    let ctx = commands::Context { queue: args.queue, server: args.server, token: args.token, json: args.json };
    match args.command {
        PaceCommand::Init(a) => commands::init(&ctx, a),
        PaceCommand::Add(a) => commands::add(&ctx, a),
        PaceCommand::Import(a) => commands::import(&ctx, a),
        PaceCommand::Plan(a) => show::plan(&ctx, a),
        PaceCommand::Run(a) => run::run(&ctx, a),
        PaceCommand::Status => show::status(&ctx),
        PaceCommand::Pause(a) => commands::pause(&ctx, a),
        PaceCommand::Resume(a) => commands::resume(&ctx, a),
        PaceCommand::Withdraw(a) => run::withdraw(&ctx, a),
        PaceCommand::Mark(a) => run::mark(&ctx, a),
    }
}
