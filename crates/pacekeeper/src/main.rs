//! The `pacekeeper` command: the CLI interface and the glue between the engine, the stores
//! and the server. It holds no rule of its own: decisions are the engine's.

mod pace;
mod replay;
mod simulate;

use std::io::{self, IsTerminal};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use pacekeeper_engine::{PRESETS, Policy};

/// mimalloc rather than the system allocator: a decision allocates a few dozen small,
/// short-lived values (the answer, its headers, the encoded state), where glibc's malloc
/// spent about a fifth of the request path in a profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "pacekeeper", version, about = "Rate limits and anti-spam policy for member actions")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (and Envoy's rate limit service over gRPC) on the embedded store or on Redis.
    Serve(Box<ServeArgs>),
    /// Replay recorded traffic (JSON Lines of decide and event bodies, each with `at`) through
    /// the engine: one JSON line out per line in.
    Replay {
        /// A preset name (linkedin, linkedin-classic) or a policy file.
        #[arg(long, default_value = "linkedin")]
        policy: String,
        /// Output format: `json` (one JSON line per input line) or `text` (one readable line).
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Read from this file instead of standard input.
        input: Option<std::path::PathBuf>,
    },
    /// A sender's queue of outreach, paced inside the limits: init, add, import, plan, run,
    /// status, pause, resume, withdraw, mark.
    Pace(pace::PaceArgs),
    /// Try policies before they bite: populations of members on a virtual clock through the
    /// engine; a report comparing policies (HTML with plots, JSON, Markdown).
    Simulate(Box<simulate::SimulateArgs>),
    /// Check or show policies.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "PACEKEEPER_LISTEN")]
    listen: Option<String>,
    /// Address of Envoy's rate limit service over gRPC (h2c); off unless given here or as
    /// `grpc_listen` in the config file. Port 0 picks a free port (printed at start-up).
    #[arg(long, env = "PACEKEEPER_GRPC_LISTEN")]
    grpc_listen: Option<String>,
    /// Data directory of the embedded store.
    #[arg(long, env = "PACEKEEPER_DATA")]
    data: Option<std::path::PathBuf>,
    /// A preset name (linkedin, linkedin-classic) or a policy file.
    #[arg(long, env = "PACEKEEPER_POLICY")]
    policy: Option<String>,
    /// Accept `at` in requests (replay, back-testing, tests).
    #[arg(long)]
    trust_client_time: bool,
    /// Do not fold decisions into the statistics of `/v1/stats` and the dashboard.
    #[arg(long)]
    no_stats: bool,
    /// A preset or policy file every decision is also decided against, on separate shadow
    /// states: disagreements are counted, never answered (doubles the store's writes).
    #[arg(long)]
    shadow_policy: Option<String>,
    /// Record decisions and events into this directory, one replay file a day (members as
    /// keyed hashes), for `pacekeeper simulate --traffic`.
    #[arg(long)]
    record: Option<std::path::PathBuf>,
    /// Durability, named for what an answered decision survives: process (the default; the
    /// write reaches the OS before the answer leaves: survives kill -9), strict (the answer
    /// waits for fsync: survives a power loss) or relaxed (waits for nothing).
    #[arg(long, value_parser = ["process", "strict", "relaxed"])]
    durability: Option<String>,
    /// Fsync the log at least this often, in milliseconds (process and relaxed durability).
    #[arg(long)]
    sync_interval_ms: Option<u64>,
    /// Member states held in memory at most.
    #[arg(long)]
    cache_members: Option<usize>,
    /// Where member states live: embedded (default) or redis.
    #[arg(long, value_parser = ["embedded", "redis"])]
    store: Option<String>,
    /// A Redis URL (redis://host:port): one server, or, repeated, the seeds of a cluster.
    /// Implies --store redis. A URL with a password is better kept in the config file or
    /// PACEKEEPER_REDIS.
    #[arg(long = "redis", env = "PACEKEEPER_REDIS", value_delimiter = ',')]
    redis: Vec<String>,
    /// The Redis URLs are Redis Cluster seeds.
    #[arg(long)]
    redis_cluster: bool,
    /// While the store is unreachable: closed (answer 503, the default) or open (allow,
    /// flagged `store_unavailable`).
    #[arg(long, value_parser = ["closed", "open"])]
    fail_mode: Option<String>,
    /// Configuration file (TOML) for everything else; flags override it.
    #[arg(long, env = "PACEKEEPER_CONFIG")]
    config: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file; errors name file:line:column and how to fix them.
    Check {
        /// The policy file (TOML).
        file: std::path::PathBuf,
    },
    /// Print a shipped preset's TOML, with its comments.
    Show {
        /// The preset (default linkedin).
        #[arg(default_value = "linkedin")]
        preset: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Text,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Pace(args) => pace::main(args),
        Command::Simulate(args) => simulate::main(*args),
        Command::Replay { policy, format, input } => {
            let policy = Policy::load(&policy)?;
            let stdout = io::stdout().lock();
            let summary = match input {
                Some(path) => {
                    let f = std::fs::File::open(&path)
                        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
                    replay::run(&policy, io::BufReader::new(f), stdout, matches!(format, Format::Text))?
                }
                None => {
                    if io::stdin().is_terminal() {
                        eprintln!("reading JSON Lines from standard input (Ctrl-D to end)…");
                    }
                    replay::run(&policy, io::stdin().lock(), stdout, matches!(format, Format::Text))?
                }
            };
            eprintln!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy { command: PolicyCommand::Check { file } } => {
            let name = file.display().to_string();
            let src = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
            match Policy::from_toml(&name, &src) {
                Ok(p) => {
                    println!(
                        "{name}: ok — policy `{}`: {} tiers, {} actions, {} limits",
                        p.name,
                        p.tiers().len(),
                        p.action_names().count(),
                        p.limit_names().count()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{e}");
                    let n = e.diagnostics.len();
                    eprintln!("{name}: {n} error{}", if n == 1 { "" } else { "s" });
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Policy { command: PolicyCommand::Show { preset } } => match Policy::preset_source(&preset) {
            Some(src) => {
                print!("{src}");
                Ok(ExitCode::SUCCESS)
            }
            None => {
                let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
                anyhow::bail!("no preset named `{preset}`; the presets are: {}", names.join(", "))
            }
        },
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    use pacekeeper_server::config::{DurabilityName, FailMode, LogFormat, StoreName};
    let mut config = match &args.config {
        Some(path) => pacekeeper_server::Config::from_file(path)?,
        None => pacekeeper_server::Config::default(),
    };
    if let Some(v) = args.listen {
        config.listen = v;
    }
    if let Some(v) = args.grpc_listen {
        config.grpc_listen = Some(v);
    }
    if let Some(v) = args.data {
        config.data = v;
    }
    if let Some(v) = args.policy {
        config.policy = v;
    }
    if args.trust_client_time {
        config.trust_client_time = true;
    }
    if args.no_stats {
        config.stats = false;
    }
    if let Some(v) = args.shadow_policy {
        config.shadow_policy = Some(v);
    }
    if let Some(v) = args.record {
        config.record = Some(v);
    }
    if let Some(v) = args.durability {
        config.durability = match v.as_str() {
            "strict" => DurabilityName::Strict,
            "relaxed" => DurabilityName::Relaxed,
            _ => DurabilityName::Process,
        };
    }
    if let Some(v) = args.sync_interval_ms {
        config.sync_interval_ms = v;
    }
    if let Some(v) = args.cache_members {
        config.cache_members = v;
    }
    if !args.redis.is_empty() {
        config.store = StoreName::Redis;
        config.redis.urls = args.redis;
    }
    if let Some(v) = args.store {
        config.store = if v == "redis" { StoreName::Redis } else { StoreName::Embedded };
    }
    if args.redis_cluster {
        config.redis.cluster = true;
    }
    if let Some(v) = args.fail_mode {
        config.fail_mode = if v == "open" { FailMode::Open } else { FailMode::Closed };
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("PACEKEEPER_LOG").unwrap_or_else(|_| "info".into());
    // Colour only on a terminal: journald, a pipe or a file gets plain lines.
    let logs =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr).with_ansi(io::stderr().is_terminal());
    match config.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(pacekeeper_server::serve(config, |k| std::env::var(k).ok()))?;
    Ok(ExitCode::SUCCESS)
}
