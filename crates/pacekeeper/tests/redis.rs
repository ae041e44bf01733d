//! `pacekeeper serve` on a real Redis and a real 3-master Redis Cluster, started by the tests
//! on spare loopback ports: exactness across two server processes, Redis stopped mid-run in
//! both fail modes, and a cluster node killed and restarted. Every test bounds its requests
//! and stops its processes.

use std::collections::HashMap;
use std::time::Duration;

use pacekeeper_testkit::{RedisCluster, RedisServer};
use serde_json::{Value, json};

mod common;

use common::{AT, Server, client, decide, from_64_clients, used};

/// Decisions per member.
type Tally = HashMap<String, u64>;

fn view(member: &str) -> Value {
    json!({"member": member, "action": "profile_view", "at": AT})
}

/// Serve flags for a cluster.
fn on_cluster(cluster: &RedisCluster) -> Vec<String> {
    vec!["--trust-client-time".into(), "--redis".into(), cluster.urls().join(","), "--redis-cluster".into()]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Polls until `member` can be decided again (a dry run answers 200), for a store coming back.
async fn wait_until_served(c: &reqwest::Client, base: &str, member: &str) {
    for _ in 0..200 {
        let dry = json!({"member": member, "action": "profile_view", "at": AT, "dry_run": true});
        if let Ok((200, _)) = decide(c, base, dry).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{member} was not served again within 10 s of the store coming back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_cluster_admit_exactly_the_amount() {
    let cluster = RedisCluster::start(3);
    let dir = tempfile::tempdir().unwrap();
    let flags = on_cluster(&cluster);
    let a = Server::start(dir.path(), &args(&flags), &[]);
    let b = Server::start(dir.path(), &args(&flags), &[]);
    let c = client();
    let answers = from_64_clients(&c, &[&a.base, &b.base], view("hot")).await;
    for (status, body) in &answers {
        assert!(*status == 200 || *status == 429, "{status}: {body}");
    }
    let allowed = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(allowed, 150, "384 requests through two servers, a daily amount of 150");
    assert_eq!(used(&c, &a.base, "hot", "daily_profile_views").await, 150);
    assert_eq!(used(&c, &b.base, "hot", "daily_profile_views").await, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_cluster_admit_exactly_an_organisations_amount() {
    let cluster = RedisCluster::start(3);
    let dir = tempfile::tempdir().unwrap();
    let flags = on_cluster(&cluster);
    let a = Server::start(dir.path(), &args(&flags), &[]);
    let b = Server::start(dir.path(), &args(&flags), &[]);
    common::assert_org_exact(&client(), &[&a.base, &b.base]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_server_on_redis_admits_exactly_an_organisations_amount() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--trust-client-time", "--redis", &redis.url()], &[]);
    common::assert_org_exact(&client(), &[&server.base]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_stopped_mid_run_gets_the_fail_mode_and_decisions_are_right_once_it_is_back() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let url = redis.url();
    let closed = Server::start(dir.path(), &["--trust-client-time", "--redis", &url], &[]);
    let open = Server::start(dir.path(), &["--trust-client-time", "--redis", &url, "--fail-mode", "open"], &[]);
    let c = client();
    for _ in 0..3 {
        assert_eq!(decide(&c, &closed.base, view("ada")).await.unwrap().0, 200);
    }
    redis.kill();

    // Closed: 503 problem+json naming the store; the request ends (the client would give up
    // after 20 s, far beyond the 500 ms store timeout).
    let r = c.post(format!("{}/v1/decide", closed.base)).json(&view("ada")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = r.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("store"), "{body}");
    let ready = c.get(format!("{}/readyz", closed.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503, "not ready while Redis is down");

    // Open: allowed, and flagged in the answer and in the metrics.
    let (status, body) = decide(&c, &open.base, view("ada")).await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["allowed"], true);
    assert_eq!(body["reason"], "store_unavailable", "{body}");
    let metrics = c.get(format!("{}/metrics", open.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("pacekeeper_fail_open_total ") && !l.ends_with(" 0")), "{metrics}");

    redis.restart();
    wait_until_served(&c, &closed.base, "ada").await;
    assert_eq!(used(&c, &closed.base, "ada", "daily_profile_views").await, 3, "the three answered decisions survived");
    let (status, body) = decide(&c, &closed.base, view("ada")).await.unwrap();
    assert_eq!(status, 200, "{body}");
    wait_until_served(&c, &open.base, "ada").await;
    assert_eq!(used(&c, &open.base, "ada", "daily_profile_views").await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_node_restarted_loses_no_answered_decision() {
    let mut cluster = RedisCluster::start(3);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &args(&on_cluster(&cluster)), &[]);
    let c = client();
    let members: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
    let mut answered = Tally::new();
    let mut refused = Tally::new();
    let round = async |answered: &mut Tally, refused: &mut Tally| {
        for m in &members {
            match decide(&c, &server.base, view(m)).await.unwrap() {
                (200, _) => *answered.entry(m.clone()).or_default() += 1,
                (503, _) => *refused.entry(m.clone()).or_default() += 1,
                (s, body) => panic!("{m}: {s} {body}"),
            }
        }
    };
    round(&mut answered, &mut refused).await;
    assert_eq!(answered.values().sum::<u64>(), 30, "all served before the restart: {refused:?}");

    let victim = cluster.owner_of("pk:{m0}");
    cluster.node(victim).kill();
    round(&mut answered, &mut refused).await;
    assert!(refused.contains_key("m0"), "m0's node is down, so m0 is refused (fail closed)");
    assert!(answered.values().sum::<u64>() > 30, "members on the other nodes are still served");

    cluster.node(victim).restart();
    cluster.wait_ok();
    for m in &members {
        wait_until_served(&c, &server.base, m).await;
    }
    round(&mut answered, &mut refused).await;
    for m in &members {
        let n = used(&c, &server.base, m, "daily_profile_views").await;
        let (ok, failed) = (answered[m], refused.get(m).copied().unwrap_or(0));
        // Every answered decision is counted; a refused one may have been written before
        // its answer was lost, never more than that.
        assert!(ok <= n && n <= ok + failed, "{m}: {n} counted, {ok} answered, {failed} refused");
    }
}

#[test]
fn bad_redis_settings_are_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pacekeeper"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data", dir.path().to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} started");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = run(&["--redis", "not-a-url"]);
    assert!(err.contains("redis.urls (--redis): `not-a-url` is not a Redis URL"), "{err}");
    let err = run(&["--redis", "redis://127.0.0.1:1,redis://127.0.0.1:2"]);
    assert!(err.contains("set redis.cluster = true"), "{err}");
    let config = dir.path().join("pacekeeper.toml");
    std::fs::write(&config, "store = \"redis\"\n[redis]\nurls = [\"redis://127.0.0.1:1\"]\ntimeot_ms = 5\n").unwrap();
    let err = run(&["--config", config.to_str().unwrap()]);
    assert!(err.contains("pacekeeper.toml:4:1") && err.contains("unknown field `timeot_ms`"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_redis_times_out_instead_of_hanging() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--trust-client-time", "--redis", &redis.url()], &[]);
    let c = client();
    assert_eq!(decide(&c, &server.base, view("ada")).await.unwrap().0, 200);
    // Frozen, Redis accepts nothing and answers nothing: only the store's timeout ends the call.
    redis.signal("STOP");
    let (status, body) = decide(&c, &server.base, view("ada")).await.unwrap();
    redis.signal("CONT");
    assert_eq!(status, 503, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("did not answer within 500 ms"), "{body}");
    wait_until_served(&c, &server.base, "ada").await;
    let (status, body) = decide(&c, &server.base, view("ada")).await.unwrap();
    assert_eq!(status, 200, "{body}");
    // The frozen call's write may have landed after its 503 (Redis ran it when thawed).
    let n = used(&c, &server.base, "ada", "daily_profile_views").await;
    assert!((2..=3).contains(&n), "{n}");
}
