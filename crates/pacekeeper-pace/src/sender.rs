//! What performs the action once it is allowed: a [`Sender`]. The library user implements
//! their own; the CLI offers a command ([`ExecSender`]) and a webhook ([`WebhookSender`]).

use std::process::Stdio;
use std::time::Duration;

use pacekeeper_client::Feedback;
use serde::Serialize;
use tokio::io::AsyncWriteExt;

/// What a sender is asked to do: the item, as JSON on a command's stdin or a webhook's body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outgoing {
    /// The item's id in the queue.
    pub item: u64,
    /// The id the server charged this send under; the same on a resend after a crash, so a
    /// sender that remembers it can tell a resend from a new send.
    pub request_id: String,
    /// The sending account.
    pub account: String,
    /// The action (`invite`, `message`, `withdraw`…).
    pub action: String,
    /// Whom it is aimed at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The note to send; absent when the item has none or goes without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The item's own data, as added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// True when this is a resend after the runner stopped mid-send: the action may already
    /// have been performed.
    pub resumed: bool,
}

/// How a send went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Done.
    Done,
    /// Not done; `transient` when trying again later may work.
    Failed {
        /// Whether to try again.
        transient: bool,
        /// Why, for the ledger.
        why: String,
    },
    /// The other side limited it (a third-party API's 429): what it said.
    Limited(Feedback),
}

/// Performs allowed actions.
pub trait Sender: Send + Sync {
    /// Performs `out`.
    fn send(&self, out: &Outgoing) -> impl Future<Output = Sent> + Send;
}

/// A command's exit status for "done".
pub const EXIT_DONE: i32 = 0;
/// A command's exit status for "limited by the other side": its stdout may carry the answer's
/// rate-limit headers, one `Name: value` per line.
pub const EXIT_LIMITED: i32 = 3;
/// A command's exit status for "failed, try again later" (`EX_TEMPFAIL`).
pub const EXIT_TEMPORARY: i32 = 75;

/// Runs a shell command per send, the item as JSON on its stdin; its exit status is the
/// outcome ([`EXIT_DONE`], [`EXIT_LIMITED`], [`EXIT_TEMPORARY`]; any other status is a
/// failure a person must look at).
#[derive(Debug, Clone)]
pub struct ExecSender {
    command: String,
    timeout: Duration,
}

impl ExecSender {
    /// Runs `command` with `sh -c`, killed after `timeout` (a temporary failure).
    pub fn new(command: &str, timeout: Duration) -> ExecSender {
        ExecSender { command: command.into(), timeout }
    }

    async fn run(&self, out: &Outgoing) -> std::io::Result<std::process::Output> {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            let body = serde_json::to_vec(out).unwrap_or_default();
            // A command that does not read its input is its own business.
            let _ = stdin.write_all(&body).await;
        }
        child.wait_with_output().await
    }
}

impl Sender for ExecSender {
    async fn send(&self, out: &Outgoing) -> Sent {
        let output = match tokio::time::timeout(self.timeout, self.run(out)).await {
            Err(_) => return failed(true, format!("`{}` took longer than {:?}", self.command, self.timeout)),
            Ok(Err(e)) => return failed(true, format!("cannot run `{}`: {e}", self.command)),
            Ok(Ok(o)) => o,
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail = stderr.trim().lines().last().unwrap_or("").to_string();
        match output.status.code() {
            Some(EXIT_DONE) => Sent::Done,
            Some(EXIT_LIMITED) => {
                let stdout = String::from_utf8_lossy(&output.stdout);
                let headers = stdout.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim(), v.trim()));
                #[allow(clippy::disallowed_methods)] // turns the answer's instants into delays
                let now = jiff::Timestamp::now();
                Sent::Limited(Feedback::parse(headers, None, now))
            }
            Some(EXIT_TEMPORARY) => failed(true, format!("temporary failure: {tail}")),
            Some(code) => failed(false, format!("`{}` exited {code}: {tail}", self.command)),
            None => failed(true, format!("`{}` was killed by a signal", self.command)),
        }
    }
}

/// Posts each send as JSON to a URL: 2xx is done, 429 and 503 are limits (their headers are
/// read), other 5xx and network errors are temporary, other answers need a person.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    http: reqwest::Client,
    url: reqwest::Url,
}

impl WebhookSender {
    /// Posts to `url`, waiting at most `timeout` per send.
    pub fn new(url: reqwest::Url, timeout: Duration) -> Result<WebhookSender, reqwest::Error> {
        Ok(WebhookSender { http: reqwest::Client::builder().timeout(timeout).build()?, url })
    }
}

impl Sender for WebhookSender {
    async fn send(&self, out: &Outgoing) -> Sent {
        let res = match self.http.post(self.url.clone()).json(out).send().await {
            Ok(r) => r,
            Err(e) => return failed(true, format!("cannot reach {}: {e}", self.url)),
        };
        let status = res.status().as_u16();
        match status {
            200..=299 => Sent::Done,
            429 | 503 => {
                let headers: Vec<(String, String)> = res
                    .headers()
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                    .collect();
                #[allow(clippy::disallowed_methods)] // turns the answer's instants into delays
                let now = jiff::Timestamp::now();
                Sent::Limited(Feedback::parse(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())), None, now))
            }
            500..=599 => failed(true, format!("{} answered {status}", self.url)),
            _ => failed(false, format!("{} answered {status}", self.url)),
        }
    }
}

fn failed(transient: bool, why: String) -> Sent {
    Sent::Failed { transient, why }
}
