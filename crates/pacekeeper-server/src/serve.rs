//! Running the server: configuration to a bound socket, signals, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use pacekeeper_engine::Policy;
use pacekeeper_store::{AnyStore, EmbeddedConfig, EmbeddedStore, RedisConfig, RedisStore, Store};
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config::{Config, ConfigError, FailMode, StoreName};
use crate::{AppState, app};

/// Why the server could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The policy does not load.
    #[error(transparent)]
    Policy(#[from] pacekeeper_engine::LoadError),
    /// The store does not open.
    #[error(transparent)]
    Store(#[from] pacekeeper_store::StoreError),
    /// `--listen` is not an address.
    #[error("--listen `{0}` is not an address; write e.g. 127.0.0.1:7300 or [::1]:7300")]
    Listen(String),
    /// Refused: no tokens and a non-loopback address.
    #[error(
        "refusing to listen on {0} without tokens: anyone who can reach it could use the API. Bind a loopback address, or configure tokens (PACEKEEPER_ADMIN_TOKEN, PACEKEEPER_DECIDE_TOKEN, or [[token]] in the config file)"
    )]
    Unprotected(SocketAddr),
    /// Socket trouble.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// A configured server, bound and ready to run.
pub struct Server {
    /// The address actually bound (port 0 resolved).
    pub addr: SocketAddr,
    listener: TcpListener,
    state: Arc<AppState<AnyStore>>,
    /// Installed before the banner is printed, so a SIGHUP right after start-up reloads
    /// rather than ending the process.
    hangup: Option<Signal>,
}

impl Server {
    /// Loads the policy, opens the store and binds the socket.
    pub async fn bind(config: &Config, env: impl Fn(&str) -> Option<String>) -> Result<Server, ServeError> {
        let tokens = config.resolve_tokens(&env)?;
        let addr: SocketAddr = config.listen.parse().map_err(|_| ServeError::Listen(config.listen.clone()))?;
        if tokens.is_empty() && !addr.ip().is_loopback() {
            return Err(ServeError::Unprotected(addr));
        }
        let policy = Policy::load(&config.policy)?;
        let store = open_store(config)?;
        let listener = TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
        let addr = listener.local_addr()?;
        let mut state = AppState::new(store, policy, config.policy.clone());
        state.trust_client_time = config.trust_client_time;
        state.tokens = tokens;
        state.max_body_bytes = config.max_body_bytes;
        state.fail_open = config.fail_mode == FailMode::Open;
        let hangup = match signal(SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGHUP; reload through POST /v1/policy/reload");
                None
            }
        };
        Ok(Server { addr, listener, state: Arc::new(state), hangup })
    }

    /// One line saying what runs where.
    pub fn banner(&self) -> String {
        let s = &self.state;
        let auth = if s.tokens.is_empty() {
            "no tokens (loopback only; admin endpoints closed)".to_string()
        } else {
            format!("{} token(s)", s.tokens.len())
        };
        format!(
            "pacekeeper listening on http://{} — policy `{}` ({}) — {}{} — auth: {auth}{}",
            self.addr,
            s.policy().name,
            s.policy_source,
            s.store.describe(),
            if s.fail_open {
                " — fail-open (decisions are allowed unchecked while the store is unreachable)"
            } else {
                ""
            },
            if s.trust_client_time { " — trusting client `at`" } else { "" }
        )
    }

    /// Serves until SIGTERM or SIGINT, then answers in-flight requests and flushes the store.
    /// SIGHUP reloads the policy (an invalid one is refused and the old one stays).
    pub async fn run(self) -> Result<(), ServeError> {
        let state = self.state.clone();
        if let Some(hangup) = self.hangup {
            tokio::spawn(reload_on_hangup(state.clone(), hangup));
        }
        if let Some(handle) = crate::metrics::handle() {
            // Histogram samples wait in memory until upkeep folds them: bound that memory
            // even when nothing scrapes /metrics.
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(5));
                loop {
                    every.tick().await;
                    handle.run_upkeep();
                }
            });
        }
        // Answers go out as soon as they are written, never held back by Nagle's algorithm.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(error = %e, "cannot set TCP_NODELAY on a connection");
            }
        });
        axum::serve(listener, app(state.clone())).with_graceful_shutdown(shutdown_signal()).await?;
        tracing::info!("shutting down: flushing the store");
        state.store.flush().await?;
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

/// Binds, prints the banner on standard output, and serves.
pub async fn serve(config: Config, env: impl Fn(&str) -> Option<String>) -> Result<(), ServeError> {
    let server = Server::bind(&config, env).await?;
    println!("{}", server.banner());
    tracing::info!(addr = %server.addr, "started");
    server.run().await
}

async fn shutdown_signal() {
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
}

async fn reload_on_hangup<S: Store>(state: Arc<AppState<S>>, mut hup: Signal) {
    while hup.recv().await.is_some() {
        match state.reload_policy() {
            Ok(p) => tracing::info!(policy = %p.name, "SIGHUP: policy reloaded"),
            Err(e) => tracing::error!(error = %e, "SIGHUP: policy refused; the old one stays in force"),
        }
    }
}

/// Opens the store the configuration names.
fn open_store(config: &Config) -> Result<AnyStore, ServeError> {
    Ok(match config.store {
        StoreName::Embedded => AnyStore::Embedded(EmbeddedStore::open_observed(
            EmbeddedConfig {
                path: config.data.clone(),
                durability: config.durability.level(),
                sync_interval: Duration::from_millis(config.sync_interval_ms.max(1)),
                log_segment_bytes: config.log_segment_kb.max(1) << 10,
                cache_members: config.cache_members,
                block_cache_bytes: config.block_cache_mb << 20,
                commit_timeout: Duration::from_millis(config.commit_timeout_ms.max(1)),
            },
            Some(Arc::new(crate::metrics::record_commit)),
        )?),
        StoreName::Redis => {
            let r = &config.redis;
            AnyStore::Redis(RedisStore::open(RedisConfig {
                urls: r.urls.clone(),
                cluster: r.cluster,
                timeout: Duration::from_millis(r.timeout_ms.max(1)),
                key_prefix: r.key_prefix.clone(),
                cache_members: config.cache_members,
            })?)
        }
    })
}
