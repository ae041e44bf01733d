//! `pacekeeper simulate`: runs the simulator for a policy and the policies or sweep settings
//! it is compared with, in parallel, writes the report, and checks `--fail-if`.

use std::path::PathBuf;
use std::process::ExitCode;

use jiff::civil::{Date, Weekday};
use pacekeeper_engine::Policy;
use pacekeeper_sim::backtest::Traffic;
use pacekeeper_sim::report::{PolicyRef, Report};
use pacekeeper_sim::sweep::Sweep;
use pacekeeper_sim::{Run, Scenario, gate, population};

/// The most members a simulation takes.
const MAX_MEMBERS: usize = 1_000_000;
/// The most weeks.
const MAX_WEEKS: u32 = 104;

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The policy to try: a preset (linkedin, linkedin-classic) or a policy file.
    #[arg(long, default_value = "linkedin")]
    policy: String,
    /// A policy to compare it with (repeat for more).
    #[arg(long)]
    against: Vec<String>,
    /// Populations: a preset (linkedin-mix) or a TOML file.
    #[arg(long, default_value = "linkedin-mix")]
    population: String,
    /// Members in all, split by the populations' shares.
    #[arg(long, default_value_t = 10_000)]
    members: usize,
    /// Weeks to simulate.
    #[arg(long, default_value_t = 8)]
    weeks: u32,
    /// The random seed: the same seed gives the same report.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The first Monday (weeks start at 00:00 UTC).
    #[arg(long, default_value = "2026-12-07")]
    start: Date,
    /// Back-test on recorded traffic (the `replay` format; a file, or a `serve --record`
    /// directory) instead of simulating populations.
    #[arg(long)]
    traffic: Option<PathBuf>,
    /// Sweep one number of the policy: `limit.weekly_invitations.amount=60..200:20`.
    #[arg(long)]
    sweep: Option<String>,
    /// Where the report goes.
    #[arg(long, default_value = "report")]
    out: PathBuf,
    /// Conditions the policy must meet, or the command exits 1:
    /// `honest.friction<=0.005 && spam.delivered_per_spammer_week<=30`.
    #[arg(long)]
    fail_if: Option<String>,
}

/// The runs to make: a label and a policy each, the policy under test first.
fn variants(args: &SimulateArgs) -> anyhow::Result<Vec<(String, Policy)>> {
    let base = Policy::load(&args.policy)?;
    let mut out = vec![(args.policy.clone(), base.clone())];
    for other in &args.against {
        out.push((other.clone(), Policy::load(other)?));
    }
    if let Some(spec) = &args.sweep {
        let sweep = Sweep::parse(spec)?;
        for v in &sweep.values {
            out.push((sweep.label(*v), sweep.variant(&base, *v)?));
        }
    }
    Ok(out)
}

fn scenario(args: &SimulateArgs) -> anyhow::Result<Scenario> {
    if args.members == 0 || args.members > MAX_MEMBERS {
        anyhow::bail!("--members: {} is not between 1 and {MAX_MEMBERS}", args.members);
    }
    if args.weeks == 0 || args.weeks > MAX_WEEKS {
        anyhow::bail!("--weeks: {} is not between 1 and {MAX_WEEKS}", args.weeks);
    }
    if args.start.weekday() != Weekday::Monday {
        anyhow::bail!("--start: {} is a {:?}; give a Monday", args.start, args.start.weekday());
    }
    let start = jiff::tz::TimeZone::UTC.to_timestamp(args.start.to_datetime(jiff::civil::Time::midnight()))?;
    Ok(Scenario {
        populations: population::load(&args.population)?,
        members: args.members,
        weeks: args.weeks,
        seed: args.seed,
        start,
    })
}

/// Runs every variant, as many at once as there are cores.
fn run_all(sc: &Scenario, variants: &[(String, Policy)]) -> anyhow::Result<Vec<Run>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut runs = Vec::with_capacity(variants.len());
    for chunk in variants.chunks(cores) {
        let done: Vec<Result<Run, pacekeeper_sim::SimError>> = std::thread::scope(|s| {
            let handles: Vec<_> =
                chunk.iter().map(|(label, p)| s.spawn(move || pacekeeper_sim::run(label, p, sc))).collect();
            handles.into_iter().map(|h| h.join().expect("a simulation thread panicked")).collect()
        });
        for r in done {
            runs.push(r?);
        }
    }
    Ok(runs)
}

/// The recorded traffic: a file, or every `*.jsonl` of a directory (`serve --record`'s, one a
/// day) in name order, which is time order.
fn traffic_text(path: &std::path::Path) -> anyhow::Result<String> {
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("--traffic: cannot read {}: {e}", p.display()))
    };
    if !path.is_dir() {
        return read(path);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| anyhow::anyhow!("--traffic: cannot list {}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files.iter().map(|p| read(p)).collect()
}

/// The report of a back-test on `--traffic`.
fn backtest(args: &SimulateArgs, path: &std::path::Path) -> anyhow::Result<Report> {
    let name = path.display().to_string();
    let traffic = Traffic::read(&name, std::io::Cursor::new(traffic_text(path)?))?;
    let variants = variants(args)?;
    let runs = pacekeeper_sim::backtest::backtest(&traffic, &variants)?;
    let policies = variants.iter().map(|(l, p)| PolicyRef::of(l, p)).collect();
    Ok(Report::of_backtest(&name, traffic.len(), policies, runs))
}

pub fn main(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let conditions = args.fail_if.as_deref().map(gate::parse).transpose()?.unwrap_or_default();
    let report = match &args.traffic {
        Some(path) => backtest(&args, path)?,
        None => {
            let sc = scenario(&args)?;
            let variants = variants(&args)?;
            let runs = run_all(&sc, &variants)?;
            let policies = variants.iter().map(|(l, p)| PolicyRef::of(l, p)).collect();
            Report::new(&sc, policies, runs)
        }
    };
    // Every condition must name a metric of this kind of run.
    let checked: Vec<_> = conditions
        .iter()
        .map(|c| {
            let result = match (report.runs.first(), report.backtest.first()) {
                (Some(run), _) => c.check(&run.headline),
                (None, Some(b)) => c.check_backtest(b),
                (None, None) => None,
            };
            let kind = if args.traffic.is_some() { "a back-test (--traffic)" } else { "a simulation" };
            result.ok_or_else(|| anyhow::anyhow!("--fail-if: `{}` is not a metric of {kind}", c.metric)).map(|r| (c, r))
        })
        .collect::<anyhow::Result<_>>()?;
    report.write(&args.out).map_err(|e| anyhow::anyhow!("cannot write the report to {}: {e}", args.out.display()))?;
    print!("{}", pacekeeper_sim::report::markdown(&report));
    eprintln!("report: {}", args.out.join("report.html").display());
    let label = report.policies.first().map_or("", |p| p.label.as_str());
    let mut failed = false;
    for (c, (ok, value)) in checked {
        if !ok {
            eprintln!("--fail-if: `{}` does not hold for {label}: the value is {value}", c.text);
            failed = true;
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
