//! The server's configuration file (TOML) and its bearer tokens.

use std::fmt;
use std::path::PathBuf;

use pacekeeper_rls::RlsConfig;
use pacekeeper_service::Signer;
use pacekeeper_service::auth::{Scope, Token, Tokens};
use serde::Deserialize;

/// `durability = "process" | "strict" | "relaxed"`: what an answered decision survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DurabilityName {
    /// Answers leave once their write reaches the operating system; fsync every
    /// `sync_interval_ms` (default): survives `kill -9`.
    #[default]
    Process,
    /// Answers wait for their fsync: survives a power loss.
    Strict,
    /// Answers wait for nothing: a `kill -9` may lose the last `sync_interval_ms`.
    Relaxed,
}

impl DurabilityName {
    /// The store's durability level of this name.
    pub fn level(self) -> pacekeeper_store::Durability {
        match self {
            DurabilityName::Process => pacekeeper_store::Durability::Process,
            DurabilityName::Strict => pacekeeper_store::Durability::Strict,
            DurabilityName::Relaxed => pacekeeper_store::Durability::Relaxed,
        }
    }
}

/// `store = "embedded" | "redis"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StoreName {
    /// fjall in `data` (default).
    #[default]
    Embedded,
    /// Redis or Redis Cluster, as `[redis]` says.
    Redis,
}

/// `fail_mode = "closed" | "open"`: what decisions do while the store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    /// Answer 503 problem+json (default): nothing is allowed unchecked.
    #[default]
    Closed,
    /// Allow, with `reason: "store_unavailable"` in the answer and a metric.
    Open,
}

/// The `[redis]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSection {
    /// `redis://host:port` of one server, or several seeds of a cluster.
    pub urls: Vec<String>,
    /// The URLs are Redis Cluster seeds.
    pub cluster: bool,
    /// Bound on every Redis call, in milliseconds.
    pub timeout_ms: u64,
    /// Prefix of every key.
    pub key_prefix: String,
}

impl Default for RedisSection {
    /// The store's own defaults, on `redis://127.0.0.1:6379`.
    fn default() -> RedisSection {
        let d = pacekeeper_store::RedisConfig::new("redis://127.0.0.1:6379");
        RedisSection {
            urls: d.urls,
            cluster: d.cluster,
            timeout_ms: d.timeout.as_millis() as u64,
            key_prefix: d.key_prefix,
        }
    }
}

/// `log_format = "text" | "json"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The configuration file. Every field has a default; command-line flags override it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to bind (`127.0.0.1:7300`); port 0 picks a free port.
    pub listen: String,
    /// Address of Envoy's rate limit service over gRPC (h2c); off unless set. Port 0 picks
    /// a free port.
    pub grpc_listen: Option<String>,
    /// Envoy's rate limit service: domains, ignored keys, shadow mode, headers.
    pub rls: RlsConfig,
    /// Data directory of the embedded store.
    pub data: PathBuf,
    /// A preset name or a policy file.
    pub policy: String,
    /// Accept `at` in requests (replay, back-testing, tests).
    pub trust_client_time: bool,
    /// Where member states live.
    pub store: StoreName,
    /// How to reach Redis when `store = "redis"`.
    pub redis: RedisSection,
    /// What decisions do while the store cannot be reached.
    pub fail_mode: FailMode,
    /// Process (default), strict or relaxed durability.
    pub durability: DurabilityName,
    /// The log is fsynced at least this often (process and relaxed), in milliseconds.
    #[serde(alias = "flush_interval_ms")]
    pub sync_interval_ms: u64,
    /// How long an answer waits for its write to be as durable as promised before it fails
    /// (503), in milliseconds.
    pub commit_timeout_ms: u64,
    /// Size of a log segment of the embedded store, in KiB: a checkpoint into fjall follows
    /// each one, and a crash replays at most about this much at start-up.
    pub log_segment_kb: u64,
    /// Member states held in memory at most.
    pub cache_members: usize,
    /// The store's block cache, in MiB.
    pub block_cache_mb: u64,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Log format.
    pub log_format: LogFormat,
    /// Bearer tokens.
    #[serde(rename = "token")]
    pub tokens: Vec<TokenConfig>,
    /// Fold decisions into the read model of `/v1/stats` and the dashboard (on by default).
    pub stats: bool,
    /// A preset or policy file every decision is compared with, on separate shadow states
    /// (doubles the store's writes).
    pub shadow_policy: Option<String>,
    /// Record decisions and events here, one replay file a day, for back-tests.
    pub record: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:7300".into(),
            grpc_listen: None,
            rls: RlsConfig::default(),
            data: PathBuf::from("./pacekeeper-data"),
            policy: "linkedin".into(),
            trust_client_time: false,
            store: StoreName::Embedded,
            redis: RedisSection::default(),
            fail_mode: FailMode::Closed,
            durability: DurabilityName::Process,
            sync_interval_ms: 100,
            commit_timeout_ms: 5000,
            log_segment_kb: 64 << 10,
            cache_members: 100_000,
            block_cache_mb: 16,
            max_body_bytes: 1 << 20,
            log_format: LogFormat::Text,
            tokens: Vec::new(),
            stats: true,
            shadow_policy: None,
            record: None,
        }
    }
}

/// One `[[token]]` table: the secret inline or, better, named by an environment variable.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A name for logs (never the secret).
    pub name: String,
    /// The secret itself.
    pub token: Option<String>,
    /// The environment variable holding the secret.
    pub token_env: Option<String>,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

impl fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenConfig").field("name", &self.name).field("scopes", &self.scopes).finish_non_exhaustive()
    }
}

/// A configuration problem, with where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}:{line}:{column}: error: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The signing key is unusable.
    #[error(transparent)]
    SigningKey(#[from] pacekeeper_service::signing::ShortKey),
    /// A token is unusable.
    #[error("token `{name}`: {message}")]
    Token {
        /// The token's name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads a configuration file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: p.clone(), source })?;
        Config::from_toml(&p, &src)
    }

    /// Parses configuration TOML; `path` names it in errors.
    pub fn from_toml(path: &str, src: &str) -> Result<Config, ConfigError> {
        toml::from_str(src).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start).min(src.len());
            let before = &src[..offset];
            ConfigError::Invalid {
                path: path.to_string(),
                line: before.matches('\n').count() + 1,
                column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
                message: e.message().trim().to_string(),
            }
        })
    }

    /// The key that signs members' links and dashboard sessions: `PACEKEEPER_SIGNING_KEY`
    /// (32+ characters), else a random one (links and sessions then end with the process).
    pub fn resolve_signer(&self, env: impl Fn(&str) -> Option<String>) -> Result<Signer, ConfigError> {
        match env("PACEKEEPER_SIGNING_KEY").filter(|s| !s.is_empty()) {
            Some(key) => Ok(Signer::with_key(&key)?),
            None => Ok(Signer::random()),
        }
    }

    /// The tokens in force: the file's, plus `PACEKEEPER_ADMIN_TOKEN` (admin) and
    /// `PACEKEEPER_DECIDE_TOKEN` (decide) from `env`.
    pub fn resolve_tokens(&self, env: impl Fn(&str) -> Option<String>) -> Result<Tokens, ConfigError> {
        let mut out = Vec::new();
        for t in &self.tokens {
            let secret = match (&t.token, &t.token_env) {
                (Some(s), None) => s.clone(),
                (None, Some(var)) => env(var).ok_or_else(|| ConfigError::Token {
                    name: t.name.clone(),
                    message: format!("environment variable {var} is not set"),
                })?,
                _ => {
                    return Err(ConfigError::Token {
                        name: t.name.clone(),
                        message: "give exactly one of `token` and `token_env`".into(),
                    });
                }
            };
            out.push(Token::new(&t.name, secret, t.scopes.clone()).map_err(token_error)?);
        }
        if let Some(s) = env("PACEKEEPER_ADMIN_TOKEN").filter(|s| !s.is_empty()) {
            out.push(Token::new("PACEKEEPER_ADMIN_TOKEN", s, vec![Scope::Admin, Scope::Decide]).map_err(token_error)?);
        }
        if let Some(s) = env("PACEKEEPER_DECIDE_TOKEN").filter(|s| !s.is_empty()) {
            out.push(Token::new("PACEKEEPER_DECIDE_TOKEN", s, vec![Scope::Decide]).map_err(token_error)?);
        }
        Ok(out.into_iter().collect())
    }
}

fn token_error(e: pacekeeper_service::auth::ShortToken) -> ConfigError {
    ConfigError::Token { name: e.name, message: "a token must be at least 16 characters".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration file shown in the README, as an operator would copy it.
    fn readme_example() -> String {
        let readme = include_str!("../../../README.md");
        let section = readme.split("### Configuration file").nth(1).expect("the README has a configuration section");
        let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
        section[start..].split("```").next().unwrap().to_string()
    }

    #[test]
    fn the_readme_configuration_example_is_accepted_as_written() {
        let config = Config::from_toml("README.md", &readme_example()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.listen, "127.0.0.1:7300");
        assert_eq!(config.commit_timeout_ms, 5000);
        assert_eq!(config.sync_interval_ms, 100);
        assert_eq!(config.redis.timeout_ms, 500);
        assert_eq!(config.tokens.len(), 2);
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_line() {
        let src = format!("{}\ncommit_timeout = 5\n", readme_example().split("\n[redis]").next().unwrap());
        let e = Config::from_toml("pacekeeper.toml", &src).unwrap_err().to_string();
        let line = src.lines().count();
        assert!(e.contains(&format!("pacekeeper.toml:{line}")) && e.contains("commit_timeout"), "{e}");
    }
}
