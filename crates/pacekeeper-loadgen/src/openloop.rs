//! `open-loop`: requests offered at a constant rate, each latency counted from the request's
//! intended send time.
//!
//! A dispatcher thread releases the requests as they fall due (a thread's sleep is finer than
//! the runtime's millisecond timer); a connection task takes the next one released as soon as
//! it is free. A request that finds every connection busy waits, and the wait counts in its
//! latency. Requests taken over 1 ms after their due time are reported as late starts: the
//! sign of too few connections, or of a generator short of CPU.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::Semaphore;
use tokio::time::timeout;

use crate::http::{Conn, RequestTemplate};
use crate::schedule::{Plan, Rng, now};
use crate::stats::{Percentiles, count_over, micros, ms, percent_over};
use crate::target::Target;

/// How long a request may take before it counts as an error (with that latency).
const TIMEOUT: Duration = Duration::from_secs(5);
/// A request taken later than this after its due time is a late start.
const LATE_US: u32 = 1_000;
/// The bound the share of slow answers is given for: a gateway's default timeout.
const SLOW_US: u32 = 20_000;
/// Time between opening the connections and the first request due.
const LEAD: Duration = Duration::from_millis(20);

/// Options of `open-loop`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server, as http://127.0.0.1:PORT (loopback only).
    #[arg(long)]
    url: String,
    /// Requests per second offered, over all connections.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    rate: u32,
    /// Seconds measured, after the warm-up.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=300))]
    duration: u64,
    /// Connections: the most requests outstanding at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connections: u32,
    /// Members picked from, uniformly: m1 to mN.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    members: u64,
    /// The action asked about.
    #[arg(long, default_value = "invite")]
    action: String,
    /// The request path.
    #[arg(long, default_value = "/v1/decide")]
    path: String,
    /// Ask for dry runs: decisions answered, nothing written.
    #[arg(long)]
    dry_run: bool,
    /// Seconds of warm-up before the measured part, left out of the figures.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=60))]
    warmup: u64,
    /// Seed of the member picks.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Runtime threads (1: a current-thread runtime, which leaves the other cores to the server).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    threads: u32,
}

/// What the dispatcher and the connection tasks share.
#[derive(Debug)]
struct Shared {
    /// The schedule.
    plan: Plan,
    /// When request 0 is due.
    start: Instant,
    /// One permit per request released; the dispatcher adds them as requests fall due.
    released: Semaphore,
    /// The index of the next request to take.
    next: AtomicU64,
    /// The requests, but for the member.
    template: RequestTemplate,
    /// Members picked from.
    members: u64,
    /// Samples each connection reserves room for.
    reserve: usize,
}

impl Shared {
    /// Waits for the next request to be released and takes it; `None` once the run is over.
    async fn take(&self) -> Option<u64> {
        self.released.acquire().await.ok()?.forget();
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.plan.total).then_some(i)
    }
}

/// Runs `open-loop`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let target = Target::parse(&args.url)?;
    let template = RequestTemplate::new(&target.host, &args.path, &args.action, args.dry_run)?;
    let plan = Plan::new(args.rate, args.warmup, args.duration);
    let runtime = runtime(args.threads).context("cannot start the runtime")?;
    let conns = runtime.block_on(open_all(target.addr, args.connections))?;
    let reserve = reserve(&plan, conns.len());
    let start = now() + LEAD;
    let (released, next, members) = (Semaphore::new(0), AtomicU64::new(0), args.members);
    let shared = Arc::new(Shared { plan, start, released, next, template, members, reserve });
    let dispatcher = {
        let (shared, conns) = (Arc::clone(&shared), conns.len());
        thread::Builder::new().name("dispatch".into()).spawn(move || dispatch(&shared, conns))?
    };
    let tally = runtime.block_on(load(&shared, conns, args.seed))?;
    dispatcher.join().map_err(|_| anyhow!("the dispatcher panicked"))?;
    report(args, &shared, tally);
    Ok(())
}

/// A current-thread runtime for one thread, else a multi-thread one with `threads` workers.
fn runtime(threads: u32) -> std::io::Result<Runtime> {
    let mut builder = match threads {
        1 => Builder::new_current_thread(),
        n => {
            let mut builder = Builder::new_multi_thread();
            builder.worker_threads(n as usize);
            builder
        }
    };
    builder.enable_all().build()
}

/// Opens `count` connections to `addr`, before the clock starts.
async fn open_all(addr: SocketAddr, count: u32) -> anyhow::Result<Vec<Conn>> {
    let mut conns = Vec::with_capacity(count as usize);
    for _ in 0..count {
        conns.push(Conn::open(addr).await.with_context(|| format!("cannot connect to {addr}"))?);
    }
    Ok(conns)
}

/// Samples a connection reserves room for: its share of the measured requests and a quarter.
fn reserve(plan: &Plan, conns: usize) -> usize {
    let share = plan.measured() / conns.max(1) as u64;
    usize::try_from(share + share / 4 + 64).unwrap_or(usize::MAX).min(1 << 20)
}

/// Releases the requests as they fall due, then `wake` more permits so that every
/// connection task waiting finds the run over.
fn dispatch(shared: &Shared, wake: usize) {
    fine_sleeps();
    let plan = &shared.plan;
    let mut released = 0;
    while released < plan.total {
        let at = now();
        let due = shared.start + plan.due(released);
        if at < due {
            thread::sleep(due - at);
            continue;
        }
        let upto = plan.due_by(at - shared.start).max(released + 1);
        shared.released.add_permits(usize::try_from(upto - released).unwrap_or(usize::MAX));
        released = upto;
    }
    shared.released.add_permits(wake);
}

/// Asks the kernel to end this thread's sleeps on time: by default Linux may let a sleep run
/// 50 µs long (timer slack) to group wake-ups, which would delay every request by as much.
fn fine_sleeps() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and changes only this thread's slack.
    let failed = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) } != 0;
    if failed {
        eprintln!("warning: could not lower the timer slack; requests may start up to 50 µs late");
    }
}

/// Runs one task per connection until the run is over and merges their tallies.
async fn load(shared: &Arc<Shared>, conns: Vec<Conn>, seed: u64) -> anyhow::Result<Tally> {
    let mut seeds = Rng::new(seed);
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|conn| tokio::spawn(connection(conn, Arc::clone(shared), Rng::new(seeds.next_u64()))))
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        tally.merge(task.await.context("a connection task failed")?);
    }
    Ok(tally)
}

/// One connection's loop: take the next request due, send it, wait for the answer.
async fn connection(mut conn: Conn, shared: Arc<Shared>, mut rng: Rng) -> Tally {
    let reserve = shared.reserve;
    let mut tally =
        Tally { samples: Vec::with_capacity(reserve), lags: Vec::with_capacity(reserve), ..Tally::default() };
    let mut request = Vec::with_capacity(256);
    while let Some(i) = shared.take().await {
        let due = shared.start + shared.plan.due(i);
        shared.template.write(1 + rng.below(shared.members), &mut request);
        let sent = now();
        let outcome = match timeout(TIMEOUT, conn.exchange(&request)).await {
            Ok(Ok(status)) => Outcome::Answer(status),
            Ok(Err(e)) => Outcome::Failed(e),
            Err(_) => Outcome::TimedOut,
        };
        if shared.plan.is_measured(i) {
            tally.record(outcome, due, sent, now());
        }
    }
    tally
}

/// How a request ended.
#[derive(Debug)]
enum Outcome {
    /// An answer with this status.
    Answer(u16),
    /// No answer within [`TIMEOUT`].
    TimedOut,
    /// The connection failed.
    Failed(anyhow::Error),
}

/// The counts of a connection, then of the whole run.
#[derive(Debug, Default)]
struct Tally {
    /// Latencies from the due time in µs, of the answers and the timeouts.
    samples: Vec<u32>,
    /// Answers, whatever their status.
    answered: u64,
    /// 429 answers (a rate limiter's normal answer, counted among the answers).
    status_429: u64,
    /// Answers neither 2xx nor 429.
    non_2xx: u64,
    /// Timeouts and failed connections.
    errors: u64,
    /// How late each measured request was taken, from its due time, in µs.
    lags: Vec<u32>,
    /// When the last answer came.
    last_answer: Option<Instant>,
    /// The first error, to show.
    first_error: Option<String>,
}

impl Tally {
    /// Counts a measured request due at `due`, sent at `sent`, ended at `done`.
    fn record(&mut self, outcome: Outcome, due: Instant, sent: Instant, done: Instant) {
        self.lags.push(micros(sent.duration_since(due)));
        let latency = micros(done.duration_since(due));
        match outcome {
            Outcome::Answer(status) => {
                self.answered += 1;
                self.samples.push(latency);
                self.last_answer = self.last_answer.max(Some(done));
                match status {
                    200..=299 => {}
                    429 => self.status_429 += 1,
                    _ => self.non_2xx += 1,
                }
            }
            Outcome::TimedOut => self.error(Some(latency), || format!("no answer within {} s", TIMEOUT.as_secs())),
            Outcome::Failed(e) => self.error(None, || format!("{e:#}")),
        }
    }

    /// Counts an error, with its latency if it has one.
    fn error(&mut self, latency: Option<u32>, describe: impl FnOnce() -> String) {
        self.errors += 1;
        self.samples.extend(latency);
        if self.first_error.is_none() {
            self.first_error = Some(describe());
        }
    }

    /// Adds `other`'s counts to these.
    fn merge(&mut self, other: Tally) {
        self.samples.extend_from_slice(&other.samples);
        self.answered += other.answered;
        self.status_429 += other.status_429;
        self.non_2xx += other.non_2xx;
        self.errors += other.errors;
        self.lags.extend_from_slice(&other.lags);
        self.last_answer = self.last_answer.max(other.last_answer);
        self.first_error = self.first_error.take().or(other.first_error);
    }
}

/// Answers per second over the measured part: from the first measured request's due time
/// to the last answer, or to the end of the schedule if that is later.
fn achieved(shared: &Shared, tally: &Tally) -> f64 {
    let plan = &shared.plan;
    let from = shared.start + plan.due(plan.warmup);
    let span = plan.due(plan.total) - plan.due(plan.warmup);
    let until = tally.last_answer.map_or(span, |last| last.saturating_duration_since(from)).max(span);
    tally.answered as f64 / until.as_secs_f64()
}

/// The figures of a run.
#[derive(Debug)]
struct Figures {
    /// Answers per second achieved.
    achieved: f64,
    /// Latency percentiles (µs).
    latency: Percentiles,
    /// The share of latencies over [`SLOW_US`], per cent.
    over: f64,
    /// Start lag percentiles (µs).
    lag: Percentiles,
    /// Requests taken over [`LATE_US`] after their due time.
    late_starts: usize,
}

impl Figures {
    /// Sorts the tally's samples and works the figures out.
    fn of(shared: &Shared, tally: &mut Tally) -> Figures {
        tally.samples.sort_unstable();
        tally.lags.sort_unstable();
        Figures {
            achieved: achieved(shared, tally),
            latency: Percentiles::of(&tally.samples),
            over: percent_over(&tally.samples, SLOW_US),
            lag: Percentiles::of(&tally.lags),
            late_starts: count_over(&tally.lags, LATE_US),
        }
    }
}

/// Prints the summary for people, then the `openloop` line for scripts.
fn report(args: &Args, shared: &Shared, mut tally: Tally) {
    let f = Figures::of(shared, &mut tally);
    let (p, url) = (f.latency, format!("{}{}", args.url.trim_end_matches('/'), args.path));
    println!("open loop: {} requests/s to {url} for {} s after {} s of warm-up", args.rate, args.duration, args.warmup);
    println!("  {} connections, {} runtime thread(s), {} members", args.connections, args.threads, args.members);
    println!(
        "  answered {} ({:.1}/s); 429: {}; other non-2xx: {}",
        tally.answered, f.achieved, tally.status_429, tally.non_2xx
    );
    println!("  errors (failed connections, timeouts after 5 s): {}", tally.errors);
    println!("  latency from the intended send time, ms: {}", human(&p));
    println!("  over 20 ms: {:.3} %", f.over);
    println!("  start lag (intended send time to sending), ms: {}", human(&f.lag));
    println!("  late starts (> 1 ms: connections all busy, or the generator short of CPU): {}", f.late_starts);
    if let Some(e) = &tally.first_error {
        println!("  first error: {e}");
    }
    println!(
        "openloop rate={} achieved={:.1} n={} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3} \
         over20ms_pct={:.3} non2xx={} errors={} late_starts={} http429={} lag_p99_ms={:.3}",
        args.rate,
        f.achieved,
        tally.samples.len(),
        ms(p.p50),
        ms(p.p90),
        ms(p.p99),
        ms(p.p999),
        ms(p.max),
        f.over,
        tally.non_2xx,
        tally.errors,
        f.late_starts,
        tally.status_429,
        ms(f.lag.p99)
    );
}

/// Percentiles in milliseconds, for people.
fn human(p: &Percentiles) -> String {
    let (p50, p90, p99, p999, max) = (ms(p.p50), ms(p.p90), ms(p.p99), ms(p.p999), ms(p.max));
    format!("p50 {p50:.3}  p90 {p90:.3}  p99 {p99:.3}  p99.9 {p999:.3}  max {max:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, micros: u64) -> Instant {
        start + Duration::from_micros(micros)
    }

    #[test]
    fn a_tally_counts_statuses_errors_and_start_lags() {
        let t0 = now();
        let mut tally = Tally::default();
        tally.record(Outcome::Answer(200), t0, at(t0, 10), at(t0, 500));
        tally.record(Outcome::Answer(429), t0, at(t0, 1_500), at(t0, 2_000));
        tally.record(Outcome::Answer(503), t0, t0, at(t0, 300));
        tally.record(Outcome::TimedOut, t0, t0, at(t0, 5_000_000));
        tally.record(Outcome::Failed(anyhow!("refused")), t0, t0, at(t0, 10));
        assert_eq!(tally.samples, [500, 2_000, 300, 5_000_000]);
        assert_eq!((tally.answered, tally.status_429, tally.non_2xx, tally.errors), (3, 1, 1, 2));
        assert_eq!(tally.lags, [10, 1_500, 0, 0, 0]);
        assert_eq!(tally.last_answer, Some(at(t0, 2_000)));
        assert_eq!(tally.first_error.as_deref(), Some("no answer within 5 s"));
    }

    #[test]
    fn tallies_merge() {
        let t0 = now();
        let (mut a, mut b) = (Tally::default(), Tally::default());
        a.record(Outcome::Answer(200), t0, t0, at(t0, 100));
        b.record(Outcome::Answer(200), t0, t0, at(t0, 300));
        b.record(Outcome::Failed(anyhow!("reset")), t0, t0, at(t0, 400));
        a.merge(b);
        assert_eq!(a.samples, [100, 300]);
        assert_eq!((a.answered, a.errors, a.last_answer), (2, 1, Some(at(t0, 300))));
        assert_eq!(a.first_error.as_deref(), Some("reset"));
    }

    #[test]
    fn connections_reserve_their_share() {
        let plan = Plan::new(10_000, 1, 10);
        assert_eq!(reserve(&plan, 64), 1_562 + 390 + 64);
        assert_eq!(reserve(&Plan::new(200_000, 0, 300), 1), 1 << 20);
    }
}
