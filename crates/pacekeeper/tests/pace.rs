//! `pacekeeper pace` against a real `pacekeeper serve`: twenty `kill -9`s of a run charge
//! nothing twice; a week of a real queue on a virtual clock ends with every item sent,
//! skipped with a reason, or parked; the plan is the same twice for a seed; the exit codes.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::Server;
use serde_json::Value;

const BULK_POLICY: &str = r#"
name = "bulk"
tiers = ["free"]
default_tier = "free"
actions = ["invite"]

[[limit]]
name = "weekly_invitations"
actions = ["invite"]
window = { kind = "anchored", period = "7d" }
amount = 100000
"#;

fn pace(queue: &Path, server: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pacekeeper"));
    cmd.arg("pace")
        .args(args)
        .env("PACEKEEPER_QUEUE", queue)
        .env("PACEKEEPER_SERVER", server)
        .env_remove("PACEKEEPER_TOKEN");
    cmd
}

fn ok(cmd: &mut Command) -> String {
    let out: Output = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A sender that appends each request id it is given to `log`.
fn recording_sender(dir: &Path) -> (String, std::path::PathBuf) {
    let log = dir.join("performed.log");
    let script = dir.join("send.sh");
    let extract = r#"sed -n 's/.*"request_id":"\([^"]*\)".*/\1/p'"#;
    std::fs::write(&script, format!("#!/bin/sh\n{{ {extract}; echo; }} >> {}\n", log.display())).unwrap();
    (format!("sh {}", script.display()), log)
}

async fn member(base: &str, id: &str, at: Option<&str>) -> Value {
    let url = match at {
        Some(at) => format!("{base}/v1/members/{id}?at={at}"),
        None => format!("{base}/v1/members/{id}"),
    };
    common::client().get(url).send().await.unwrap().json().await.unwrap()
}

fn used(view: &Value, limit: &str) -> u64 {
    view["limits"].as_array().unwrap().iter().find(|l| l["name"] == limit).map_or(0, |l| l["used"].as_u64().unwrap())
}

fn status(queue: &Path, server: &str) -> Value {
    serde_json::from_str(&ok(&mut pace(queue, server, &["status", "--json"]))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_kill_9s_of_a_run_charge_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("bulk.toml");
    std::fs::write(&policy, BULK_POLICY).unwrap();
    let server = Server::start(&dir.path().join("srv"), &["--policy", policy.to_str().unwrap()], &[]);
    let queue = dir.path().join("queue");
    ok(&mut pace(&queue, &server.base, &["init", "--account", "kim", "--no-warmup", "--withdraw-after", "0d"]));
    let leads: String = (0..150).map(|i| format!("{{\"target\":\"lead-{i}\"}}\n")).collect();
    std::fs::write(dir.path().join("leads.jsonl"), leads).unwrap();
    ok(&mut pace(
        &queue,
        &server.base,
        &["import", dir.path().join("leads.jsonl").to_str().unwrap(), "--account", "kim", "--action", "invite"],
    ));
    let (exec, log) = recording_sender(dir.path());
    let run = ["run", "--until-empty", "--pacing", "off", "--exec", exec.as_str()];
    let mut rng = fastrand::Rng::with_seed(12);
    for _ in 0..20 {
        let mut child = pace(&queue, &server.base, &run)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.u64(20..250)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    ok(&mut pace(&queue, &server.base, &run));
    let s = status(&queue, &server.base);
    let lane = &s[0]["lanes"][0];
    assert_eq!(
        (lane["sent"].as_u64(), lane["queued"].as_u64(), lane["in_flight"].as_u64()),
        (Some(150), Some(0), Some(0)),
        "{s}"
    );
    let charged = used(&member(&server.base, "kim", None).await, "weekly_invitations");
    assert_eq!(charged, 150, "the server charged {charged} for 150 sends");
    let performed = std::fs::read_to_string(&log).unwrap();
    let mut per_item: HashMap<String, u32> = HashMap::new();
    for id in performed.lines().filter(|l| !l.is_empty()) {
        let item = id.rsplit_once('-').unwrap().0.to_string();
        *per_item.entry(item).or_default() += 1;
    }
    assert_eq!(per_item.len(), 150, "every item performed: {}", &performed[..performed.len().min(300)]);
}

/// A Monday early in a month, so the week stays inside one calendar month of notes.
const MONDAY_6AM: &str = "2026-12-07T06:00:00Z";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_a_real_queue_ends_with_every_item_sent_skipped_or_parked() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("srv"), &["--trust-client-time"], &[]);
    let queue = dir.path().join("queue");
    let init = [
        "init",
        "--account",
        "ana",
        "--zone",
        "Europe/Paris",
        "--hours",
        "Mon-Fri 09:00-18:00",
        "--daily",
        "invite=30",
        "--no-warmup",
    ];
    ok(&mut pace(&queue, &server.base, &init));
    let mut leads = String::from("target,note,note_policy,priority\n");
    for i in 0..70 {
        // Eight invitations with a note: the free tier allows five a month (seed 003); the
        // notes are optional, so the last three go without theirs.
        let (note, policy) = if i < 8 { ("Met you at the meetup", "optional") } else { ("", "required") };
        leads.push_str(&format!("p{i},{note},{policy},{}\n", if i < 8 { 5 } else { 0 }));
    }
    std::fs::write(dir.path().join("leads.csv"), leads).unwrap();
    ok(&mut pace(
        &queue,
        &server.base,
        &["import", dir.path().join("leads.csv").to_str().unwrap(), "--account", "ana", "--action", "invite"],
    ));
    // An action the policy does not know: the server refuses the item, which is skipped.
    ok(&mut pace(&queue, &server.base, &["add", "--account", "ana", "--action", "poke", "--target", "p1"]));
    let (exec, log) = recording_sender(dir.path());
    let plan = |seed: &str| ok(&mut pace(&queue, &server.base, &["plan", "--from", MONDAY_6AM, "--seed", seed]));
    assert_eq!(plan("5"), plan("5"), "the same seed plans the same schedule");
    assert_ne!(plan("5"), plan("6"));

    let out = pace(
        &queue,
        &server.base,
        &["run", "--until-empty", "--seed", "5", "--virtual-time", MONDAY_6AM, "--exec", &exec, "--json"],
    )
    .output()
    .unwrap();
    let steps: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let sent: Vec<&Value> = steps.iter().filter(|s| s["step"] == "sent").collect();
    assert_eq!(sent.len(), 70);
    let last = sent.last().unwrap()["at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    assert!(last < "2026-12-12T00:00:00Z".parse().unwrap(), "30 a day drain 70 within the week: {last}");
    for s in &sent {
        let at: jiff::Timestamp = s["at"].as_str().unwrap().parse().unwrap();
        let local = at.to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Paris").unwrap());
        assert!(
            (9..18).contains(&local.hour()) && local.weekday().to_monday_one_offset() <= 5,
            "sent outside working hours: {local}"
        );
    }
    let notes: Vec<&Value> =
        steps.iter().filter(|s| s["step"] != "wait" && s["item"].as_u64().is_some_and(|i| i <= 8)).collect();
    assert_eq!(
        steps.iter().filter(|s| s["detail"].as_str().is_some_and(|d| d.contains("without its note"))).count(),
        3,
        "{notes:#?}"
    );
    let skipped: Vec<&Value> = steps.iter().filter(|s| s["step"] == "skipped").collect();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0]["detail"].as_str().unwrap().contains("field `action`"), "{}", skipped[0]);
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 70);

    let view = member(&server.base, "ana", Some("2026-12-11T17:00:00Z")).await;
    assert_eq!(used(&view, "weekly_invitations"), 70);
    assert_eq!(used(&view, "monthly_notes"), 5);
    let s = status(&queue, &server.base);
    let lanes = s[0]["lanes"].as_array().unwrap();
    let total = |k: &str| lanes.iter().map(|l| l[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!((total("sent"), total("skipped"), total("queued"), total("in_flight")), (70, 1, 0, 0), "{s}");
    assert_eq!(s[0]["pending"], 70);
}

#[test]
fn a_run_whose_next_send_is_far_off_exits_paused_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let queue = dir.path().join("queue");
    let server = "http://127.0.0.1:9";
    ok(&mut pace(&queue, server, &["init", "--account", "bo", "--hours", "Mon-Fri 09:00-17:00"]));
    ok(&mut pace(&queue, server, &["add", "--account", "bo", "--target", "x"]));
    ok(&mut pace(&queue, server, &["pause", "--account", "bo", "--until", "2026-12-21T00:00:00Z"]));
    let out = pace(
        &queue,
        server,
        &["run", "--until-empty", "--max-wait", "1h", "--virtual-time", MONDAY_6AM, "--exec", "true"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("paused by hand until 2026-12-21"), "{err}");
    let out = pace(&queue, server, &["run", "--until-empty"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--exec"), "the error says how to send");
    let bad = pace(&queue, server, &["init", "--account", "bo", "--hours", "Mon-Fry 09:00-17:00"]).output().unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`Fry` is not a weekday"));
}

#[test]
fn the_readme_example_queue_plans_what_the_readme_shows_twice() {
    let dir = tempfile::tempdir().unwrap();
    let queue = dir.path().join("queue");
    let server = "http://127.0.0.1:9";
    let init = [
        "init",
        "--account",
        "ada",
        "--zone",
        "Europe/Paris",
        "--hours",
        "Mon-Fri 09:00-18:00",
        "--daily",
        "invite=25",
    ];
    ok(&mut pace(&queue, server, &init));
    let leads = dir.path().join("leads.csv");
    let csv = "target,note,note_policy,priority\ngrace,Loved your talk at RustConf,optional,5\nlinus,,required,0\nbarbara,,required,0\n";
    std::fs::write(&leads, csv).unwrap();
    ok(&mut pace(&queue, server, &["import", leads.to_str().unwrap(), "--account", "ada", "--action", "invite"]));
    ok(&mut pace(
        &queue,
        server,
        &["add", "--account", "ada", "--target", "ken", "--note", "Hello from the meetup", "--note-optional"],
    ));
    let plan =
        || ok(&mut pace(&queue, server, &["plan", "--seed", "7", "--days", "3", "--from", "2026-12-07T08:00:00Z"]));
    let first = plan();
    assert_eq!(first, plan());
    let readme = include_str!("../../../README.md");
    for line in first.lines() {
        assert!(readme.contains(&format!("#   {line}\n")), "the README does not show `{line}`");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_added_while_a_daemon_holds_the_queue_go_through_its_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("bulk.toml");
    std::fs::write(&policy, BULK_POLICY).unwrap();
    let server = Server::start(&dir.path().join("srv"), &["--policy", policy.to_str().unwrap()], &[]);
    let queue = dir.path().join("queue");
    ok(&mut pace(&queue, &server.base, &["init", "--account", "dee", "--no-warmup", "--withdraw-after", "0d"]));
    let (exec, log) = recording_sender(dir.path());
    let mut daemon = pace(&queue, &server.base, &["run", "--pacing", "off", "--exec", exec.as_str()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The daemon reports each step on stderr once it is recorded in the queue.
    let (steps_tx, steps) = std::sync::mpsc::channel();
    let stderr = daemon.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            if steps_tx.send(line).is_err() {
                return;
            }
        }
    });
    // The daemon holds the queue once it has opened it: wait for that (bounded).
    let mut said = String::new();
    for _ in 0..100 {
        said = ok(&mut pace(&queue, &server.base, &["add", "--account", "dee", "--target", "late"]));
        if said.contains("inbox") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(said.contains("left in its inbox"), "{said}");
    // Bounded: at most 20 s for the daemon to send the item and record it.
    let mut recorded = None;
    for _ in 0..200 {
        match steps.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.contains(": sent") => {
                recorded = Some(line);
                break;
            }
            Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let performed = std::fs::read_to_string(&log).unwrap_or_default();
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    assert!(recorded.is_some(), "the daemon never reported the item sent");
    assert_eq!(performed.lines().filter(|l| !l.is_empty()).count(), 1, "{performed}");
    let s = status(&queue, &server.base);
    assert_eq!(s[0]["lanes"][0]["sent"], 1, "{s}");
}
