//! `fsync`: the disk's own cost of a log append: a write at the end of a file, then
//! `fdatasync` (`File::sync_data`), timed pair by pair.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::schedule::now;
use crate::stats::{Percentiles, micros, ms};

/// Options of `fsync`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory of the scratch file: on the disk to measure.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Appends to time.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    count: u32,
    /// Bytes per append.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=16 << 20))]
    bytes: u32,
    /// Stop after this many seconds, even with fewer appends made.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    max_seconds: u64,
}

/// The scratch file, removed when dropped, so also when the measurement fails.
#[derive(Debug)]
struct Scratch {
    /// Where it is.
    path: PathBuf,
    /// The file, open for appending.
    file: File,
}

impl Scratch {
    /// Creates a new, empty scratch file in `dir`.
    fn create(dir: &Path) -> anyhow::Result<Scratch> {
        let path = dir.join(format!(".pacekeeper-loadgen-fsync-{}.tmp", std::process::id()));
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Scratch { path, file })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Runs `fsync`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let mut scratch = Scratch::create(&args.dir)?;
    let (mut samples, elapsed) = measure(&mut scratch.file, args)?;
    drop(scratch);
    samples.sort_unstable();
    report(args, &samples, elapsed);
    Ok(())
}

/// Appends `args.bytes` bytes then syncs, `args.count` times or until `args.max_seconds`
/// have passed; gives each pair's latency in µs and the time taken.
fn measure(file: &mut File, args: &Args) -> anyhow::Result<(Vec<u32>, Duration)> {
    let block = vec![b'p'; args.bytes as usize];
    let limit = Duration::from_secs(args.max_seconds);
    let mut samples = Vec::with_capacity(args.count as usize);
    let start = now();
    while samples.len() < args.count as usize && start.elapsed() < limit {
        let t = now();
        file.write_all(&block).context("write")?;
        file.sync_data().context("fdatasync")?;
        samples.push(micros(t.elapsed()));
    }
    Ok((samples, start.elapsed()))
}

/// Prints the summary for people, then the `fsync` line for scripts.
fn report(args: &Args, sorted: &[u32], elapsed: Duration) {
    let p = Percentiles::of(sorted);
    let (n, secs) = (sorted.len(), elapsed.as_secs_f64());
    println!(
        "fsync: {n} appends of {} bytes in {}, each then fdatasync, in {secs:.1} s",
        args.bytes,
        args.dir.display()
    );
    if n < args.count as usize {
        println!("  stopped after --max-seconds {}: {n} of {} appends", args.max_seconds, args.count);
    }
    println!(
        "  latency, ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        ms(p.p50),
        ms(p.p90),
        ms(p.p99),
        ms(p.p999),
        ms(p.max)
    );
    println!(
        "fsync n={n} p50_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3}",
        ms(p.p50),
        ms(p.p99),
        ms(p.p999),
        ms(p.max)
    );
}
