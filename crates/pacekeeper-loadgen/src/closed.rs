//! `closed`: a fixed number of callers, each sending its next decision as soon as the last is
//! answered, over HTTP/1.1 or Envoy's rate limit protocol (gRPC): throughput and latency of
//! the two front ends of one server, measured the same way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, ensure};
use envoy_types::pb::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor;
use envoy_types::pb::envoy::extensions::common::ratelimit::v3::rate_limit_descriptor::Entry;
use envoy_types::pb::envoy::service::ratelimit::v3::RateLimitRequest;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_client::RateLimitServiceClient;
use tonic::transport::{Channel, Endpoint};

use crate::http::{Conn, RequestTemplate};
use crate::schedule::{Rng, now};
use crate::stats::{Percentiles, micros, ms};
use crate::target::Target;

/// A request slower than this counts as an error.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The protocol the callers speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Proto {
    /// `POST /v1/decide`, one HTTP/1.1 connection per caller.
    Http,
    /// `ShouldRateLimit`, callers shared over `--channels` HTTP/2 connections.
    Grpc,
}

/// Options of `closed`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's HTTP or gRPC listener, as http://127.0.0.1:PORT (loopback only).
    #[arg(long)]
    url: String,
    /// The protocol.
    #[arg(long, value_enum)]
    proto: Proto,
    /// Callers, each with one request outstanding.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4_096))]
    callers: u32,
    /// HTTP/2 connections the gRPC callers share.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1_024))]
    channels: u32,
    /// Seconds measured, after one second of warm-up.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=120))]
    duration: u64,
    /// Members picked from, uniformly: m1 to mN (1: one hot member).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    members: u64,
    /// The action asked about.
    #[arg(long, default_value = "invite")]
    action: String,
    /// The gRPC domain (the policy's name).
    #[arg(long, default_value = "linkedin")]
    domain: String,
    /// Seed of the member choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// One caller's samples (microseconds) and errors.
#[derive(Default)]
struct Tally {
    samples: Vec<u32>,
    errors: u64,
    /// Every answer, warm-up included (for CPU per request).
    answered: u64,
}

/// Runs `closed`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let target = Target::parse(&args.url)?;
    ensure!(args.action.bytes().all(|b| b.is_ascii_graphic()), "--action: printable ASCII only");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let tally = runtime.block_on(async {
        let measuring = Arc::new(AtomicBool::new(false));
        let callers = spawn_callers(args, &target, &measuring).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        measuring.store(true, Ordering::Relaxed);
        let started = now();
        tokio::time::sleep(Duration::from_secs(args.duration)).await;
        measuring.store(false, Ordering::Relaxed);
        let elapsed = started.elapsed();
        let mut all = Tally::default();
        for c in callers {
            let t = c.await.context("a caller failed")?;
            all.samples.extend(t.samples);
            all.errors += t.errors;
            all.answered += t.answered;
        }
        anyhow::Ok((all, elapsed))
    })?;
    report(args, tally.0, tally.1);
    Ok(())
}

/// Starts the callers; they run until `measuring` goes from true back to false.
async fn spawn_callers(
    args: &Args,
    target: &Target,
    measuring: &Arc<AtomicBool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<Tally>>> {
    let mut seeds = Rng::new(args.seed);
    let mut out = Vec::new();
    let channels = match args.proto {
        Proto::Grpc => grpc_channels(target, args.channels).await?,
        Proto::Http => Vec::new(),
    };
    for i in 0..args.callers as usize {
        let (rng, m, members) = (Rng::new(seeds.next_u64()), measuring.clone(), args.members);
        out.push(match args.proto {
            Proto::Http => {
                let template = RequestTemplate::new(&target.host, "/v1/decide", &args.action, false)?;
                let conn = Conn::open(target.addr).await.with_context(|| format!("connect to {}", target.addr))?;
                tokio::spawn(http_caller(conn, template, rng, members, m))
            }
            Proto::Grpc => {
                let client = RateLimitServiceClient::new(channels[i % channels.len()].clone());
                let ask = Ask { domain: args.domain.clone(), action: args.action.clone(), members };
                tokio::spawn(grpc_caller(client, ask, rng, m))
            }
        });
    }
    Ok(out)
}

async fn grpc_channels(target: &Target, n: u32) -> anyhow::Result<Vec<Channel>> {
    let mut out = Vec::new();
    for _ in 0..n {
        let endpoint = Endpoint::from_shared(format!("http://{}", target.addr))?.tcp_nodelay(true);
        out.push(endpoint.connect().await.with_context(|| format!("connect to {}", target.addr))?);
    }
    Ok(out)
}

/// Whether a caller goes on, and whether its next sample counts: it stops once measuring
/// was on and is off again.
struct Phase {
    seen_on: bool,
}

impl Phase {
    fn next(&mut self, measuring: &AtomicBool) -> Option<bool> {
        let on = measuring.load(Ordering::Relaxed);
        if self.seen_on && !on {
            return None;
        }
        self.seen_on |= on;
        Some(on)
    }
}

async fn http_caller(
    mut conn: Conn,
    template: RequestTemplate,
    mut rng: Rng,
    members: u64,
    measuring: Arc<AtomicBool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut phase = Phase { seen_on: false };
    let mut request = Vec::with_capacity(256);
    while let Some(counted) = phase.next(&measuring) {
        template.write(1 + rng.below(members), &mut request);
        let start = now();
        let ok = matches!(tokio::time::timeout(TIMEOUT, conn.exchange(&request)).await, Ok(Ok(200 | 403 | 429)));
        record(&mut tally, counted, ok, start);
    }
    tally
}

/// What a gRPC caller asks.
struct Ask {
    domain: String,
    action: String,
    members: u64,
}

async fn grpc_caller(
    mut client: RateLimitServiceClient<Channel>,
    ask: Ask,
    mut rng: Rng,
    measuring: Arc<AtomicBool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut phase = Phase { seen_on: false };
    while let Some(counted) = phase.next(&measuring) {
        let entry = |k: &str, v: String| Entry { key: k.into(), value: v };
        let descriptor = RateLimitDescriptor {
            entries: vec![
                entry("member", format!("m{}", 1 + rng.below(ask.members))),
                entry("action", ask.action.clone()),
            ],
            ..Default::default()
        };
        let req = RateLimitRequest { domain: ask.domain.clone(), descriptors: vec![descriptor], hits_addend: 0 };
        let start = now();
        let ok = matches!(tokio::time::timeout(TIMEOUT, client.should_rate_limit(req)).await, Ok(Ok(_)));
        record(&mut tally, counted, ok, start);
    }
    tally
}

fn record(tally: &mut Tally, counted: bool, ok: bool, start: std::time::Instant) {
    tally.answered += u64::from(ok);
    if !counted {
        return;
    }
    if ok {
        tally.samples.push(micros(start.elapsed()));
    } else {
        tally.errors += 1;
    }
}

fn report(args: &Args, mut tally: Tally, elapsed: Duration) {
    tally.samples.sort_unstable();
    let p = Percentiles::of(&tally.samples);
    let rate = tally.samples.len() as f64 / elapsed.as_secs_f64();
    println!(
        "{:?} callers={} members={} decisions/s={:.0} p50={:.2}ms p99={:.2}ms p99.9={:.2}ms max={:.2}ms errors={} answered={}",
        args.proto,
        args.callers,
        args.members,
        rate,
        ms(p.p50),
        ms(p.p99),
        ms(p.p999),
        ms(p.max),
        tally.errors,
        tally.answered
    );
}
