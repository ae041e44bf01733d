//! Running the server: configuration to a bound socket, signals, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use pacekeeper_engine::Policy;
use pacekeeper_rls::{RateLimiter, RlsConfig};
use pacekeeper_service::Service;
use pacekeeper_store::{AnyStore, EmbeddedConfig, EmbeddedStore, RedisConfig, RedisStore, Store};
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::app;
use crate::config::{Config, ConfigError, FailMode, StoreName};

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
    /// The recording directory cannot be used.
    #[error(transparent)]
    Record(#[from] pacekeeper_service::record::RecordError),
    /// `--listen` or `--grpc-listen` is not an address.
    #[error("{flag} `{address}` is not an address; write e.g. 127.0.0.1:7300 or [::1]:7300")]
    Listen {
        /// The flag.
        flag: &'static str,
        /// What was given.
        address: String,
    },
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
    /// The HTTP server failed while running.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    /// The gRPC server failed while running.
    #[error("gRPC server error: {0}")]
    Grpc(#[source] tonic::transport::Error),
    /// A server task panicked.
    #[error("a server task failed: {0}")]
    Task(#[source] tokio::task::JoinError),
    /// The final flush of the store failed: the last writes may be lost.
    #[error("flushing the store at shutdown failed: {0}")]
    Flush(#[source] pacekeeper_service::ServiceError),
}

/// The sockets a server answers on: HTTP always, Envoy's rate limit service (gRPC) when
/// configured.
pub struct Listeners {
    /// The HTTP API.
    pub http: TcpListener,
    /// Envoy's rate limit service.
    pub grpc: Option<TcpListener>,
}

impl Listeners {
    /// Binds `listen` and, if set, `grpc_listen`. Refuses a non-loopback address without
    /// tokens: anyone who could reach it could use the API.
    pub async fn bind(config: &Config, tokens_configured: bool) -> Result<Listeners, ServeError> {
        let http = bind(&config.listen, "--listen", tokens_configured).await?;
        let grpc = match &config.grpc_listen {
            Some(a) => Some(bind(a, "--grpc-listen", tokens_configured).await?),
            None => None,
        };
        Ok(Listeners { http, grpc })
    }
}

async fn bind(address: &str, flag: &'static str, tokens_configured: bool) -> Result<TcpListener, ServeError> {
    let addr: SocketAddr = address.parse().map_err(|_| ServeError::Listen { flag, address: address.into() })?;
    if !tokens_configured && !addr.ip().is_loopback() {
        return Err(ServeError::Unprotected(addr));
    }
    TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })
}

/// A configured server: the service over its store, ready to run on listeners.
pub struct Server {
    service: Arc<Service<AnyStore>>,
    rls: RlsConfig,
    /// Installed before the banner is printed, so a SIGHUP right after start-up reloads
    /// rather than ending the process.
    hangup: Option<Signal>,
}

impl Server {
    /// Loads the policy and opens the store. Must be called inside a Tokio runtime.
    pub fn new(config: &Config, env: impl Fn(&str) -> Option<String>) -> Result<Server, ServeError> {
        let tokens = config.resolve_tokens(&env)?;
        let policy = Policy::load(&config.policy)?;
        let store = open_store(config)?;
        let mut service = Service::new(store, policy, config.policy.clone());
        service.trust_client_time = config.trust_client_time;
        service.tokens = tokens;
        service.max_body_bytes = config.max_body_bytes;
        service.fail_open = config.fail_mode == FailMode::Open;
        service.signer = config.resolve_signer(&env)?;
        if !config.stats {
            service.observer = None;
        }
        if let Some(dir) = &config.record {
            let recorder = pacekeeper_service::record::Recorder::start(dir, service.signer.clone())?;
            tracing::info!(dir = %dir.display(), "recording decisions and events for back-tests");
            service.recorder = Some(recorder);
        }
        if let Some(source) = &config.shadow_policy {
            let policy = Arc::new(Policy::load(source)?);
            tracing::info!(policy = %policy.name, source = %source, "shadow policy: every decision is compared with it");
            service.shadow = Some(pacekeeper_service::shadow::Shadow { policy, source: source.clone() });
        }
        let hangup = match signal(SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGHUP; reload through POST /v1/policy/reload");
                None
            }
        };
        Ok(Server { service: Arc::new(service), rls: config.rls.clone(), hangup })
    }

    /// Whether bearer tokens are configured (without them only loopback is served).
    pub fn has_tokens(&self) -> bool {
        !self.service.tokens.is_empty()
    }

    /// One line saying what runs where.
    pub fn banner(&self, listeners: &Listeners) -> String {
        let s = &self.service;
        let addr = |l: &TcpListener| l.local_addr().map_or_else(|e| format!("({e})"), |a| a.to_string());
        let auth = if s.tokens.is_empty() {
            "no tokens (loopback only; admin endpoints closed)".to_string()
        } else {
            format!("{} token(s)", s.tokens.len())
        };
        let grpc = match &listeners.grpc {
            Some(l) => format!(" — envoy rls on grpc://{}{}", addr(l), if self.rls.shadow { " (shadow)" } else { "" }),
            None => String::new(),
        };
        format!(
            "pacekeeper listening on http://{}{grpc} — policy `{}` ({}) — {}{} — auth: {auth}{}",
            addr(&listeners.http),
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

    /// Serves HTTP and, if it has a listener, gRPC until `shutdown` completes; then both stop
    /// taking connections, answer what is in flight, and the store is flushed. SIGHUP reloads
    /// the policy (an invalid one is refused and the old one stays).
    pub async fn run(self, listeners: Listeners, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        let service = self.service.clone();
        if let Some(hangup) = self.hangup {
            tokio::spawn(reload_on_hangup(service.clone(), hangup));
        }
        if let Some(handle) = pacekeeper_service::metrics::handle() {
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
        let (stop, stopping) = watch::channel(false);
        let http = tokio::spawn(serve_http(listeners.http, service.clone(), stopped(stopping.clone())));
        let grpc = listeners.grpc.map(|l| {
            let rls = RateLimiter::new(service.clone(), self.rls.clone());
            tokio::spawn(serve_grpc(l, rls, stopped(stopping)))
        });
        shutdown.await;
        let _ = stop.send(true);
        let http = http.await;
        let grpc = match grpc {
            Some(g) => Some(g.await),
            None => None,
        };
        tracing::info!("shutting down: flushing the store");
        service.flush().await.map_err(ServeError::Flush)?;
        http.map_err(ServeError::Task)??;
        if let Some(g) = grpc {
            g.map_err(ServeError::Task)??;
        }
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

async fn stopped(mut stopping: watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}

async fn serve_http(
    listener: TcpListener,
    service: Arc<Service<AnyStore>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    // Answers go out as soon as they are written, never held back by Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
    });
    axum::serve(listener, app(service)).with_graceful_shutdown(shutdown).await.map_err(ServeError::Io)
}

async fn serve_grpc(
    listener: TcpListener,
    rls: RateLimiter<AnyStore>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(rls.into_server())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(ServeError::Grpc)
}

/// Opens the listeners, prints the banner on standard output, and serves until SIGTERM or
/// SIGINT.
pub async fn serve(config: Config, env: impl Fn(&str) -> Option<String>) -> Result<(), ServeError> {
    let server = Server::new(&config, env)?;
    let listeners = Listeners::bind(&config, server.has_tokens()).await?;
    println!("{}", server.banner(&listeners));
    tracing::info!("started");
    server.run(listeners, shutdown_signal()).await
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
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

async fn reload_on_hangup<S: Store>(service: Arc<Service<S>>, mut hup: Signal) {
    while hup.recv().await.is_some() {
        if let Err(e) = service.reload_policy() {
            tracing::error!(error = %e, "SIGHUP: policy refused; the old one stays in force");
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
