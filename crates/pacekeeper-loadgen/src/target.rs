//! The server under load, from `--url`: loopback only, since the tool offers a fixed rate
//! whatever the answers and is meant for a server on the same machine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{Context, bail, ensure};

/// Where requests go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The socket address to connect to.
    pub addr: SocketAddr,
    /// The `Host` header: the URL's host and port as given.
    pub host: String,
}

impl Target {
    /// Parses `http://HOST[:PORT][/]` where HOST is a loopback address (127.0.0.0/8 or `::1`,
    /// in brackets) or `localhost` (taken as 127.0.0.1). The path goes in `--path`.
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        let rest =
            url.strip_prefix("http://").with_context(|| format!("--url {url}: only http:// URLs are supported"))?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        ensure!(
            !authority.is_empty() && !authority.contains(['/', '?', '#', '@']),
            "--url {url}: give the server only, as http://127.0.0.1:PORT (the path goes in --path)"
        );
        let (host, port) = split_host_port(authority).with_context(|| format!("--url {url}"))?;
        let ip = match host {
            "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            _ => host.parse().with_context(|| format!("--url {url}: `{host}` is not an IP address or localhost"))?,
        };
        ensure!(
            ip.is_loopback(),
            "--url {url}: only a loopback server (127.0.0.1, ::1 or localhost) is accepted: \
             the load is offered at a fixed rate whatever the answers"
        );
        Ok(Target { addr: SocketAddr::new(ip, port), host: authority.to_string() })
    }
}

/// Splits `host:port`, `[v6]:port`, `host` or `[v6]` (port 80 when none is given).
fn split_host_port(authority: &str) -> anyhow::Result<(&str, u16)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').context("missing `]` after an IPv6 address")?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').context("expected `:PORT` after `]`")?)),
        }
    } else if let Some((host, port)) = authority.split_once(':') {
        (host, Some(port))
    } else {
        (authority, None)
    };
    let port = match port {
        None => 80,
        Some(p) => match p.parse() {
            Ok(port) if port > 0 => port,
            _ => bail!("`{p}` is not a port"),
        },
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(url: &str) -> String {
        Target::parse(url).map(|t| t.addr.to_string()).unwrap_or_else(|e| format!("error: {e:#}"))
    }

    #[test]
    fn loopback_urls() {
        assert_eq!(addr("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(addr("http://127.0.0.1:8080/"), "127.0.0.1:8080");
        assert_eq!(addr("http://[::1]:9000"), "[::1]:9000");
        assert_eq!(addr("http://localhost:3000"), "127.0.0.1:3000");
        assert_eq!(addr("http://127.0.0.1"), "127.0.0.1:80");
        assert_eq!(Target::parse("http://localhost:3000").unwrap().host, "localhost:3000");
    }

    #[test]
    fn other_hosts_are_refused() {
        for url in ["http://10.0.0.1:80", "http://192.168.1.2:8080", "http://[2001:db8::1]:80", "http://0.0.0.0:80"] {
            assert!(addr(url).contains("only a loopback server"), "{url}: {}", addr(url));
        }
        assert!(addr("http://example.com:80").contains("not an IP address"));
    }

    #[test]
    fn malformed_urls_are_refused() {
        assert!(addr("https://127.0.0.1:443").contains("only http://"));
        assert!(addr("127.0.0.1:80").contains("only http://"));
        assert!(addr("http://127.0.0.1:80/v1/decide").contains("--path"));
        assert!(addr("http://127.0.0.1:0").contains("not a port"));
        assert!(addr("http://127.0.0.1:x").contains("not a port"));
        assert!(addr("http://[::1]9000").contains("expected `:PORT`"));
        assert!(addr("http://").contains("give the server only"));
    }
}
