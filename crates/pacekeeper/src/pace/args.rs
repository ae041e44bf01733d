//! The arguments of `pacekeeper pace`, and the parsers of working hours, durations and
//! instants they use.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use jiff::civil::{Time, Weekday};
use jiff::{SpanRelativeTo, Timestamp};

#[derive(Args)]
pub struct Init {
    /// The account's member id on the server.
    #[arg(long)]
    pub account: String,
    /// Its IANA time zone.
    #[arg(long, default_value = "UTC")]
    pub zone: String,
    /// Working days and hours, in the zone: `Mon-Fri 09:00-18:00`, `Mon,Wed,Fri 10:00-16:30`.
    #[arg(long, default_value = "Mon-Fri 09:00-17:00", value_parser = parse_hours)]
    pub hours: Hours,
    /// Its tier on the server (`free`, `premium`…).
    #[arg(long)]
    pub tier: Option<String>,
    /// Sends per working day of an action, `action=N`; repeat for each action.
    #[arg(long = "daily", value_parser = parse_daily)]
    pub daily: Vec<(String, u32)>,
    /// No warm-up ramp (an established account).
    #[arg(long)]
    pub no_warmup: bool,
    /// Withdraw this queue's invitations still pending after this long (`30d`); `0d` never.
    #[arg(long, value_parser = parse_duration)]
    pub withdraw_after: Option<Duration>,
    /// Withdrawals per day at most.
    #[arg(long)]
    pub withdrawals_per_day: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct Hours {
    pub days: Vec<Weekday>,
    pub start: Time,
    pub end: Time,
}

#[derive(Args)]
pub struct Add {
    #[arg(long)]
    pub account: String,
    /// The action (`invite`, `message`…).
    #[arg(long, default_value = "invite")]
    pub action: String,
    #[arg(long)]
    pub target: Option<String>,
    /// A personalised note.
    #[arg(long, conflicts_with = "note_file")]
    pub note: Option<String>,
    /// The note, read from a file.
    #[arg(long)]
    pub note_file: Option<PathBuf>,
    /// The item may go without its note once the note allowance is used up.
    #[arg(long)]
    pub note_optional: bool,
    /// 0–9, higher first.
    #[arg(long, default_value_t = 0)]
    pub priority: u8,
    /// JSON passed to the sender as is.
    #[arg(long, value_parser = parse_json)]
    pub data: Option<serde_json::Value>,
}

#[derive(Args)]
pub struct Import {
    /// The file: `.csv` (header row) or JSON Lines; `-` reads standard input as JSON Lines.
    pub file: PathBuf,
    /// The account of rows that name none.
    #[arg(long)]
    pub account: Option<String>,
    /// The action of rows that name none.
    #[arg(long)]
    pub action: Option<String>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Pacing {
    /// Working hours, even spacing, daily targets, warm-up.
    On,
    /// Only the server's answers hold a send back (benchmarks, bulk jobs).
    Off,
}

#[derive(Args)]
pub struct Plan {
    /// The seed of the slots' random source (as `run --seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Show the sends of this many days (the drain times count every item).
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Plan from this instant instead of the start of the current minute.
    #[arg(long, value_parser = parse_instant)]
    pub from: Option<Timestamp>,
    #[arg(long, value_enum, default_value_t = Pacing::On)]
    pub pacing: Pacing,
}

#[derive(Args)]
pub struct Run {
    /// Stop once the queue is drained (or only items waiting for a person remain); without
    /// it the runner keeps going as a daemon.
    #[arg(long)]
    pub until_empty: bool,
    /// With --until-empty: stop (exit 3) when the next send is further away than this (`2h`).
    #[arg(long, value_parser = parse_duration)]
    pub max_wait: Option<Duration>,
    /// Ask the server with dry runs for the next item of each lane, and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub sender: SenderArgs,
    /// Decide from the sender's own answers (a third-party API's 429 and rate-limit headers)
    /// instead of asking a Pacekeeper server.
    #[arg(long)]
    pub no_server: bool,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, value_enum, default_value_t = Pacing::On)]
    pub pacing: Pacing,
    /// Run on a virtual clock from this instant: waits take no time and every request says
    /// when (`at`), for a server run with --trust-client-time (rehearsals and tests).
    #[arg(long, value_parser = parse_instant)]
    pub virtual_time: Option<Timestamp>,
}

#[derive(Args)]
pub struct SenderArgs {
    /// Perform each send with this shell command: the item as JSON on its stdin; exit 0 done,
    /// 3 limited (rate-limit headers on stdout), 75 try again later, other failed for good.
    #[arg(long, conflicts_with = "webhook")]
    pub exec: Option<String>,
    /// Perform each send by posting the item as JSON to this URL.
    #[arg(long)]
    pub webhook: Option<String>,
    /// How long one send may take.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub send_timeout: Duration,
}

#[derive(Args)]
pub struct Pause {
    #[arg(long)]
    pub account: String,
    /// Until this instant.
    #[arg(long, value_parser = parse_instant, conflicts_with = "for_")]
    pub until: Option<Timestamp>,
    /// For this long (`3d`).
    #[arg(long = "for", value_parser = parse_duration)]
    pub for_: Option<Duration>,
}

#[derive(Args)]
pub struct AccountArg {
    #[arg(long)]
    pub account: String,
}

#[derive(Args)]
pub struct Withdraw {
    #[arg(long)]
    pub account: String,
    /// Pending for longer than this.
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    pub older_than: Duration,
    /// At most this many.
    #[arg(long, default_value_t = 20)]
    pub max: usize,
    /// List them, withdraw nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub sender: SenderArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Outcome {
    Accepted,
    Ignored,
    Declined,
    Unknown,
    Spam,
    Withdrawn,
}

#[derive(Args)]
pub struct Mark {
    #[arg(long)]
    pub account: String,
    #[arg(long)]
    pub target: String,
    pub outcome: Outcome,
    /// When it happened (a server run with --trust-client-time takes it as `at`).
    #[arg(long, value_parser = parse_instant)]
    pub at: Option<Timestamp>,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn weekday(s: &str) -> Result<Weekday, String> {
    let i = DAY_NAMES
        .iter()
        .position(|d| s.len() >= 3 && d.eq_ignore_ascii_case(&s[..3]))
        .ok_or_else(|| format!("`{s}` is not a weekday; write Mon, Tue… Sun"))?;
    Weekday::from_monday_zero_offset(i as i8).map_err(|e| e.to_string())
}

/// `Mon-Fri 09:00-18:00`, `Mon,Wed 10:00-16:00`, `Sat-Mon 08:00-12:00`.
pub fn parse_hours(s: &str) -> Result<Hours, String> {
    let (days, span) = s.trim().split_once(' ').ok_or("write days and hours, e.g. `Mon-Fri 09:00-18:00`")?;
    let mut out = Vec::new();
    for part in days.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (mut d, end) = (weekday(a)?, weekday(b)?);
                out.push(d);
                while d != end {
                    d = d.next();
                    out.push(d);
                }
            }
            None => out.push(weekday(part)?),
        }
    }
    let (start, end) = span.trim().split_once('-').ok_or("write the hours as `09:00-18:00`")?;
    let time = |t: &str| t.trim().parse::<Time>().map_err(|e| format!("`{t}` is not a time of day (HH:MM): {e}"));
    Ok(Hours { days: out, start: time(start)?, end: time(end)? })
}

fn parse_daily(s: &str) -> Result<(String, u32), String> {
    let (action, n) = s.split_once('=').ok_or("write `action=N`, e.g. `invite=20`")?;
    Ok((action.trim().into(), n.trim().parse().map_err(|_| format!("`{n}` is not a whole number"))?))
}

/// `30d`, `2h 30m`, `90s`, or ISO 8601 (`P30D`); days are 24 hours.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let span: jiff::Span =
        s.trim().parse().map_err(|e| format!("`{s}` is not a duration (write 30d, 2h, 90s): {e}"))?;
    let d = span.to_duration(SpanRelativeTo::days_are_24_hours()).map_err(|e| e.to_string())?;
    Duration::try_from(d).map_err(|_| format!("`{s}` is negative"))
}

fn parse_instant(s: &str) -> Result<Timestamp, String> {
    s.parse().map_err(|e| format!("`{s}` is not an RFC 3339 instant (2026-12-01T09:00:00Z): {e}"))
}

fn parse_json(s: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(s).map_err(|e| format!("not JSON: {e}"))
}
