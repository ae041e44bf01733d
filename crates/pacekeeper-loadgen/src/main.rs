//! `pacekeeper-loadgen`: the measurements behind the latency benchmarks.
//!
//! - `open-loop` offers HTTP requests to a loopback server at a constant rate and takes each
//!   latency from the request's intended send time, so a stalled server is charged for the
//!   requests that queued behind the stall (no coordinated omission).
//! - `closed` keeps a fixed number of callers busy over HTTP or Envoy's rate limit protocol
//!   (gRPC): the two front ends of one server, measured the same way.
//! - `fsync` measures the disk's own cost of a log append: a write then `fdatasync`.

mod closed;
mod fsync;
mod http;
mod openloop;
mod schedule;
mod stats;
mod target;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The command line.
#[derive(Parser)]
#[command(name = "pacekeeper-loadgen", version, about = "Latency measurements for Pacekeeper benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
enum Command {
    /// Offer POST requests at a constant rate to a loopback server; latencies count from each
    /// request's intended send time.
    OpenLoop(openloop::Args),
    /// Keep callers busy over HTTP or gRPC (Envoy's rate limit protocol); report decisions/s
    /// and latency percentiles.
    Closed(closed::Args),
    /// Measure the disk's write + fdatasync latency, the cost of a log append.
    Fsync(fsync::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::OpenLoop(args) => openloop::run(&args),
        Command::Closed(args) => closed::run(&args),
        Command::Fsync(args) => fsync::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
