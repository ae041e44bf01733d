//! Real `redis-server` processes for tests: a single server or a Redis Cluster of masters,
//! each on a spare loopback port, in its own temporary directory, killed when dropped.
//!
//! Servers run with `appendonly yes` and `appendfsync always`, so a write Redis acknowledged
//! survives `kill -9` of its node: the setting a deployment that wants Pacekeeper's strict
//! durability on Redis uses too.
//!
//! Needs `redis-server` and `redis-cli` on the `PATH`; `scripts/test.sh` installs them.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to start or a cluster to settle.
const SETTLE: Duration = Duration::from_secs(20);

/// Runs `redis-cli -p port args…` (for at most 5 s) and returns its output, trimmed.
pub fn cli(port: u16, args: &[&str]) -> String {
    // Bounded: a node frozen by a test (SIGSTOP) must not hang the caller.
    let out = Command::new("timeout")
        .args(["5", "redis-cli", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli not found: run scripts/test.sh, which installs redis-server and redis-tools");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A port free on 127.0.0.1 (and, for cluster nodes, its bus port, `port + 10000`, too).
fn spare_port(cluster: bool) -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("cannot bind a loopback port");
        let port = l.local_addr().expect("local address").port();
        if !cluster {
            return port;
        }
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// Waits until `f` holds, or panics with `what` after [`SETTLE`].
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    #[allow(clippy::disallowed_methods)] // waiting on a child process, not letting time pass
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < SETTLE, "{what} within {SETTLE:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One `redis-server` process.
pub struct RedisServer {
    port: u16,
    cluster: bool,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a standalone server on a spare port.
    pub fn start() -> RedisServer {
        Self::start_node(false)
    }

    fn start_node(cluster: bool) -> RedisServer {
        for _ in 0..10 {
            let mut s = RedisServer {
                port: spare_port(cluster),
                cluster,
                dir: tempfile::tempdir().expect("temporary directory"),
                child: None,
            };
            if s.spawn() {
                return s;
            }
        }
        panic!("redis-server did not start on any of 10 spare ports");
    }

    /// Starts the process; false if it exited at once (port taken meanwhile).
    fn spawn(&mut self) -> bool {
        let log = std::fs::File::create(self.dir.path().join("redis.log")).expect("log file");
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(self.dir.path());
        if self.cluster {
            cmd.args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]).args([
                "--cluster-node-timeout",
                "1000",
                "--cluster-require-full-coverage",
                "no",
            ]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server not found: run scripts/test.sh, which installs it");
        self.child = Some(child);
        #[allow(clippy::disallowed_methods)] // waiting on a child process, not letting time pass
        let start = Instant::now();
        let pid = self.child.as_ref().map_or(0, Child::id);
        loop {
            // Exited (its port was taken meanwhile): give up on this port. Checked before the
            // ping, which another test's server on the same port could answer.
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return false;
            }
            if cli(self.port, &["ping"]) == "PONG" {
                if cli(self.port, &["info", "server"]).contains(&format!("process_id:{pid}")) {
                    return true;
                }
                // Someone else's server answers on this port: ours cannot bind it.
                self.kill();
                return false;
            }
            assert!(start.elapsed() < SETTLE, "redis-server on port {} did not answer: {}", self.port, self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its directory (append-only file, `nodes.conf`, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// Sends a signal (`"STOP"`, `"CONT"`, …) to the process, e.g. to freeze it.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().map(Child::id).expect("the server is not running");
        let ok = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().is_ok_and(|s| s.success());
        assert!(ok, "kill -{sig} {pid}");
    }

    /// `kill -9`: no goodbye, no final save.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and directory (its data comes back from the
    /// append-only file).
    pub fn restart(&mut self) {
        self.kill();
        assert!(self.spawn(), "redis-server could not restart on port {}: {}", self.port, self.log());
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Redis Cluster of masters (no replicas), every slot assigned.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` nodes, joins them and waits until every node reports the cluster ok.
    pub fn start(masters: usize) -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..masters).map(|_| RedisServer::start_node(true)).collect();
        let addrs: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli not found");
        assert!(out.status.success(), "cluster create failed: {}", String::from_utf8_lossy(&out.stdout));
        let cluster = RedisCluster { nodes };
        cluster.wait_ok();
        cluster
    }

    /// Waits until every node says `cluster_state:ok` and knows every other node.
    pub fn wait_ok(&self) {
        for n in &self.nodes {
            wait_for(&format!("cluster state ok on node {}", n.port), || {
                let info = cli(n.port, &["cluster", "info"]);
                info.contains("cluster_state:ok")
                    && info.contains(&format!("cluster_known_nodes:{}", self.nodes.len()))
                    && cli(n.port, &["cluster", "nodes"]).lines().all(|l| !l.contains("fail"))
            });
        }
    }

    /// Seed URLs, one per node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The node at `i`.
    pub fn node(&mut self, i: usize) -> &mut RedisServer {
        &mut self.nodes[i]
    }

    /// Which node serves `key` (by asking each node whether it owns the key's slot).
    pub fn owner_of(&self, key: &str) -> usize {
        let slot = cli(self.nodes[0].port, &["cluster", "keyslot", key]);
        self.nodes
            .iter()
            .position(|n| owns(n.port, &slot))
            .unwrap_or_else(|| panic!("no node owns slot {slot} of {key}"))
    }
}

/// Whether the node on `port` serves `slot` itself (per its own `cluster nodes` line).
fn owns(port: u16, slot: &str) -> bool {
    let slot: u32 = slot.parse().unwrap_or(u32::MAX);
    cli(port, &["cluster", "nodes"]).lines().filter(|l| l.contains("myself")).any(|l| {
        l.split_whitespace().skip(8).any(|range| {
            let mut ends = range.splitn(2, '-').map(|x| x.parse::<u32>().unwrap_or(u32::MAX));
            let lo = ends.next().unwrap_or(u32::MAX);
            let hi = ends.next().unwrap_or(lo);
            (lo..=hi).contains(&slot)
        })
    })
}
