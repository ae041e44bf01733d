//! The real `pacekeeper serve` binary, started on a spare loopback port, and a client for it.
#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub const AT: &str = "2026-11-23T09:00:00Z";

pub struct Server {
    pub child: Child,
    pub base: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    pub fn start(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pacekeeper"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data", data.to_str().unwrap()])
            .args(extra)
            .env_remove("PACEKEEPER_ADMIN_TOKEN")
            .env_remove("PACEKEEPER_DECIDE_TOKEN")
            .env("PACEKEEPER_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start pacekeeper serve");
        let stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line
            .split("listening on http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no banner: {line:?}"))
            .to_string();
        Server { child, base: format!("http://{addr}"), stderr: Some(stderr) }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill {sig}");
    }

    pub fn wait(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), self.stderr.take().unwrap().join().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(20)).build().unwrap()
}

pub async fn decide(c: &reqwest::Client, base: &str, body: Value) -> Result<(u16, Value), reqwest::Error> {
    let r = c.post(format!("{base}/v1/decide")).json(&body).send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await?))
}

pub async fn used(c: &reqwest::Client, base: &str, member: &str, limit: &str) -> u64 {
    let v: Value = c.get(format!("{base}/v1/members/{member}?at={AT}")).send().await.unwrap().json().await.unwrap();
    let limits = v["limits"].as_array().unwrap_or_else(|| panic!("GET /v1/members/{member}: {v}"));
    limits.iter().find(|l| l["name"] == limit).map_or(0, |l| l["used"].as_u64().unwrap())
}

/// 64 clients at once, 6 decisions each with `body`, spread in turn over the servers at
/// `bases`: every answer's status and body.
pub async fn from_64_clients(c: &reqwest::Client, bases: &[&str], body: Value) -> Vec<(u16, Value)> {
    from_64_clients_each(c, bases, |_| body.clone()).await
}

/// [`from_64_clients`] with client `i` sending `body(i)`.
pub async fn from_64_clients_each(
    c: &reqwest::Client,
    bases: &[&str],
    body: impl Fn(usize) -> Value,
) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (c, base, body) = (c.clone(), bases[i % bases.len()].to_string(), body(i));
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..6 {
                answers.push(decide(&c, &base, body.clone()).await.unwrap());
            }
            answers
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

/// A message through the API channel for member `m{i % 8}` of the organisation `acme` (the
/// `linkedin` preset counts 50 an hour for the organisation, 20 for each member).
pub fn org_message(i: usize) -> Value {
    serde_json::json!({"member": format!("m{}", i % 8), "action": "message", "channel": "api", "organisation": "acme", "at": AT})
}

/// What `GET /v1/organisations/{id}` says is used of `limit`.
pub async fn org_used(c: &reqwest::Client, base: &str, org: &str, limit: &str) -> u64 {
    let v: Value = c.get(format!("{base}/v1/organisations/{org}?at={AT}")).send().await.unwrap().json().await.unwrap();
    let limits = v["limits"].as_array().unwrap_or_else(|| panic!("GET /v1/organisations/{org}: {v}"));
    limits.iter().find(|l| l["name"] == limit).map_or(0, |l| l["used"].as_u64().unwrap())
}

/// 64 clients over 8 members of `acme` through `bases`: exactly the organisation's 50
/// messages an hour go through, and its count and its members' counts say so.
pub async fn assert_org_exact(c: &reqwest::Client, bases: &[&str]) {
    let answers = from_64_clients_each(c, bases, org_message).await;
    for (status, body) in &answers {
        assert!(*status == 200 || *status == 429, "{status}: {body}");
    }
    let allowed = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(allowed, 50, "384 messages over 8 members: the organisation's 50 an hour");
    for base in bases {
        assert_eq!(org_used(c, base, "acme", "organisation_hourly_api_messages").await, 50);
    }
    let mut members = 0;
    for m in 0..8 {
        members += used(c, bases[0], &format!("m{m}"), "hourly_messages").await;
    }
    assert_eq!(members, 50, "the members counted exactly what the organisation did");
}
