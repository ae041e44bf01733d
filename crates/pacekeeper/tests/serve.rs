//! The real `pacekeeper serve` binary on loopback: crash recovery after `kill -9`, exact
//! admission under concurrency, graceful shutdown, SIGHUP reload, refusing open binds.
//! Every test bounds its request count and stops its servers.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

mod common;

use common::{AT, Server, client, decide, from_64_clients, used};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_readme_request_answers_200_with_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]);
    let r = client()
        .post(format!("{}/v1/decide", server.base))
        .header("content-type", "application/json")
        .body(r#"{"member":"ada","action":"invite"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for h in ["ratelimit-policy", "ratelimit", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"] {
        assert!(r.headers().contains_key(h), "missing {h}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_clients_on_one_member_admit_exactly_the_amount() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--trust-client-time"], &[]);
    let c = client();
    let answers =
        from_64_clients(&c, &[&server.base], json!({"member": "hot", "action": "profile_view", "at": AT})).await;
    let allowed = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(allowed, 150, "384 attempts, a daily amount of 150");
    assert_eq!(used(&c, &server.base, "hot", "daily_profile_views").await, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_clients_over_eight_members_admit_exactly_the_organisations_amount() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--trust-client-time"], &[]);
    common::assert_org_exact(&client(), &[&server.base]).await;
}

/// Per member: decisions sent, and decisions answered allowed, over every run so far.
struct Tally {
    sent: Vec<AtomicUsize>,
    answered: Vec<AtomicUsize>,
}

const MEMBERS: usize = 16;

/// 32 clients send `total` decisions over `MEMBERS` members to `base`; the server is killed
/// with SIGKILL (no flush, no goodbye) once `kill_after` were answered. Returns when every
/// client has stopped.
async fn load_then_kill_9(mut server: Server, tally: &Arc<Tally>, total: usize, kill_after: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (c, base, tally, next, done, killed) =
            (client(), server.base.clone(), tally.clone(), next.clone(), done.clone(), killed.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return;
                }
                let m = i % MEMBERS;
                tally.sent[m].fetch_add(1, Ordering::Relaxed);
                // Weekly event invitations: 1,000 a week, no penalty, so every answer is 200.
                match decide(&c, &base, json!({"member": format!("m{m}"), "action": "event_invite", "at": AT})).await {
                    Ok((200, _)) => {
                        tally.answered[m].fetch_add(1, Ordering::Relaxed);
                        if done.fetch_add(1, Ordering::Relaxed) + 1 == kill_after {
                            killed.notify_one();
                        }
                    }
                    Ok((status, body)) => panic!("unexpected {status}: {body}"),
                    // The server is gone: this request may or may not have been applied.
                    Err(_) => return,
                }
            }
        }));
    }
    killed.notified().await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
}

/// Several `kill -9`s under load on one data directory, each followed by a restart: every
/// decision answered allowed is still counted, and nothing is counted twice.
async fn kill_9_repeatedly_loses_nothing_answered(durability: &str) {
    let dir = tempfile::tempdir().unwrap();
    // 16 KiB log segments: each run seals many, checkpoints them into fjall and deletes them,
    // so the kills land between checkpoints as well as between fsyncs.
    let config = dir.path().join("pacekeeper.toml");
    std::fs::write(&config, "log_segment_kb = 16\n").unwrap();
    let data = dir.path().join("data");
    let args = ["--trust-client-time", "--durability", durability, "--config", config.to_str().unwrap()];
    let tally = Arc::new(Tally {
        sent: (0..MEMBERS).map(|_| AtomicUsize::new(0)).collect(),
        answered: (0..MEMBERS).map(|_| AtomicUsize::new(0)).collect(),
    });
    const CYCLES: usize = 5;
    for cycle in 0..CYCLES {
        // 900 answers per cycle at most: 16 members x 1,000 a week leave room for all of them.
        let server = Server::start(&data, &args, &[]);
        load_then_kill_9(server, &tally, 1200, 300 + 100 * cycle).await;
    }
    let server = Server::start(&data, &args, &[]);
    let (c, mut total) = (client(), 0);
    for m in 0..MEMBERS {
        let used = used(&c, &server.base, &format!("m{m}"), "weekly_event_invitations").await as usize;
        let (a, s) = (tally.answered[m].load(Ordering::Relaxed), tally.sent[m].load(Ordering::Relaxed));
        assert!(a <= used, "{durability}: member m{m}: {a} answered allowed, only {used} counted after the crashes");
        assert!(used <= s, "{durability}: member m{m}: {used} counted from {s} sent: double counting");
        total += a;
    }
    assert!(total >= 300 * CYCLES, "{durability}: each kill came after 300 or more answers, {total} in all");
    // The restarted server checkpoints too (other members, so the tally above stands).
    for i in 0..400 {
        decide(&c, &server.base, json!({"member": format!("other{}", i % 40), "action": "event_invite", "at": AT}))
            .await
            .unwrap();
    }
    // The applier checkpoints on its own thread once a segment is sealed: wait for it (bounded).
    let mut checkpoints = 0;
    for _ in 0..250 {
        let metrics = c.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
        let line = metrics.lines().find_map(|l| l.strip_prefix("pacekeeper_store_checkpoints_total "));
        checkpoints = line.map_or(0, |v| v.trim().parse::<u64>().unwrap());
        if checkpoints > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(checkpoints > 0, "{durability}: no checkpoint into fjall within 5 s");
    // A clean stop checkpoints everything and deletes the log.
    server.signal("-TERM");
    let (code, logs) = server.wait();
    assert_eq!(code, 0, "{logs}");
    let left: Vec<_> = std::fs::read_dir(data.join("wal")).unwrap().collect();
    assert!(left.is_empty(), "{durability}: log segments left after a clean stop: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn process_durability_loses_no_answered_decision_over_repeated_kill_9s() {
    kill_9_repeatedly_loses_nothing_answered("process").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strict_durability_loses_no_answered_decision_over_repeated_kill_9s() {
    kill_9_repeatedly_loses_nothing_answered("strict").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_logs_without_colour_codes_when_standard_error_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[("PACEKEEPER_LOG", "info")]);
    decide(&client(), &server.base, json!({"member": "ada", "action": "invite"})).await.unwrap();
    server.signal("-TERM");
    let (code, logs) = server.wait();
    assert_eq!(code, 0, "{logs}");
    assert!(logs.contains("started") && logs.contains("stopped cleanly"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "no ANSI escape codes in piped logs: {logs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_answers_in_flight_requests_flushes_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--trust-client-time", "--durability", "relaxed"], &[]);
    let c = client();
    for _ in 0..10 {
        decide(&c, &server.base, json!({"member": "ada", "action": "profile_view", "at": AT})).await.unwrap();
    }
    server.signal("-TERM");
    let (code, stderr) = server.wait();
    assert_eq!(code, 0, "{stderr}");
    // Relaxed mode answered before fsync; the shutdown flush made it durable.
    let server = Server::start(dir.path(), &["--trust-client-time"], &[]);
    assert_eq!(used(&c, &server.base, "ada", "daily_profile_views").await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sighup_reloads_the_policy_and_keeps_the_old_one_when_the_new_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    let src = pacekeeper_engine::Policy::preset_source("linkedin").unwrap();
    std::fs::write(&file, src).unwrap();
    let token = "reload-admin-token-42";
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--policy", file.to_str().unwrap()], &[("PACEKEEPER_ADMIN_TOKEN", token)]);
    let c = client();
    let amount = || async {
        let r = c
            .post(format!("{}/v1/decide", server.base))
            .bearer_auth(token)
            .json(&json!({"member": "ada", "action": "profile_view", "dry_run": true}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.json::<Value>().await.unwrap();
        body["limits"][0]["amount"].as_u64().unwrap_or_else(|| panic!("{status}: {body}"))
    };
    assert_eq!(amount().await, 150);
    std::fs::write(&file, src.replace("amount = 150", "amount = 75")).unwrap();
    server.signal("-HUP");
    let mut seen = 0;
    for _ in 0..500 {
        seen = amount().await;
        if seen == 75 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(seen, 75, "SIGHUP reloaded the file");
    std::fs::write(&file, "this is not a policy").unwrap();
    server.signal("-HUP");
    // The refusal is logged; a reload through the endpoint shows the same error.
    let r = c.post(format!("{}/v1/policy/reload", server.base)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(amount().await, 75, "the old policy stays");
}

#[test]
fn without_tokens_the_server_refuses_to_listen_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pacekeeper"))
        .args(["serve", "--listen", "0.0.0.0:0", "--data", dir.path().to_str().unwrap()])
        .env_remove("PACEKEEPER_ADMIN_TOKEN")
        .env_remove("PACEKEEPER_DECIDE_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0:0 without tokens"), "{err}");
}

#[test]
fn a_bad_config_file_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pacekeeper.toml");
    std::fs::write(&cfg, "listen = \"127.0.0.1:0\"\ncache_members = \"lots\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pacekeeper"))
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pacekeeper.toml:2:17: error:"), "{err}");
}
