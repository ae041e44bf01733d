//! Just enough HTTP/1.1 for the load: one request at a time on a keep-alive connection, and
//! answers framed by `content-length` (chunked bodies are not supported: the server sends none).

use std::io;
use std::net::SocketAddr;

use anyhow::{Context, bail, ensure};
use tokio::net::TcpStream;

/// The longest response head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// The fixed parts of every request: only the member changes from one to the next.
#[derive(Debug)]
pub struct RequestTemplate {
    /// The request line and headers, up to the `content-length` value.
    head: String,
    /// The JSON body after the member id.
    body_tail: String,
}

impl RequestTemplate {
    /// `POST path` to `host` asking about `action` (`"dry_run":true` with `dry_run`).
    pub fn new(host: &str, path: &str, action: &str, dry_run: bool) -> anyhow::Result<RequestTemplate> {
        ensure!(
            path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic()),
            "--path {path}: expected an absolute path such as /v1/decide"
        );
        ensure!(
            !action.is_empty() && action.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b)),
            "--action {action}: expected letters, digits, `_`, `-`, `.` or `:`"
        );
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
             connection: keep-alive\r\ncontent-length: "
        );
        let dry = if dry_run { r#","dry_run":true"# } else { "" };
        Ok(RequestTemplate { head, body_tail: format!(r#"","action":"{action}"{dry}}}"#) })
    }

    /// Writes the request about member `m{member}` into `out`, replacing its contents.
    pub fn write(&self, member: u64, out: &mut Vec<u8>) {
        let body = format!(r#"{{"member":"m{member}{}"#, self.body_tail);
        out.clear();
        out.extend_from_slice(self.head.as_bytes());
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body.as_bytes());
    }
}

/// What the load needs of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// Bytes of the status line and headers, the blank line included.
    pub head_len: usize,
    /// Bytes of the body (`content-length`).
    pub body_len: usize,
    /// The server closes the connection after this answer (`connection: close`).
    pub close: bool,
}

impl Head {
    /// Bytes of the whole response.
    pub fn total(&self) -> usize {
        self.head_len + self.body_len
    }
}

/// Parses the response at the start of `buf`: `None` while its head or body is incomplete.
pub fn parse_response(buf: &[u8]) -> anyhow::Result<Option<Head>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        ensure!(buf.len() <= MAX_HEAD, "response head over {MAX_HEAD} bytes");
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end]).context("response head is not UTF-8")?;
    let (status_line, headers) = text.split_once("\r\n").unwrap_or((text, ""));
    let status = parse_status(status_line)?;
    let (length, close) = parse_headers(headers)?;
    let body_len = match length {
        Some(n) => n,
        None if status < 200 || status == 204 || status == 304 => 0,
        None => bail!("response {status} without content-length (chunked bodies are not supported)"),
    };
    let head = Head { status, head_len: end + 4, body_len, close };
    Ok((buf.len() >= head.total()).then_some(head))
}

/// The status code of an HTTP/1 status line.
fn parse_status(line: &str) -> anyhow::Result<u16> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    ensure!(version.starts_with("HTTP/1."), "not an HTTP/1 status line: {line:?}");
    match parts.next().unwrap_or_default().parse() {
        Ok(status @ 100..=999) => Ok(status),
        _ => bail!("no status code in {line:?}"),
    }
}

/// The `content-length` (if any) and whether the server closes, from the header lines.
fn parse_headers(headers: &str) -> anyhow::Result<(Option<usize>, bool)> {
    let (mut length, mut close) = (None, false);
    for line in headers.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').with_context(|| format!("malformed header line {line:?}"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse().with_context(|| format!("bad content-length {value:?}"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("transfer-encoding {value} is not supported");
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    Ok((length, close))
}

/// One keep-alive connection with one request outstanding at a time; after a failure, or
/// when dropped in the middle of an exchange (a timeout), the next request opens a new one.
#[derive(Debug)]
pub struct Conn {
    /// The server.
    addr: SocketAddr,
    /// The open connection, if any.
    stream: Option<TcpStream>,
    /// Bytes of the answer read so far.
    buf: Vec<u8>,
}

impl Conn {
    /// Opens a connection to `addr`.
    pub async fn open(addr: SocketAddr) -> io::Result<Conn> {
        Ok(Conn { addr, stream: Some(connect(addr).await?), buf: Vec::with_capacity(4096) })
    }

    /// Sends `request` and returns the answer's status. When a reused connection fails before
    /// any byte of the answer (the server closed it while idle), the request goes once more
    /// on a new connection.
    pub async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<u16> {
        let reused = self.stream.is_some();
        let status = match self.attempt(request).await {
            Ok(None) | Err(_) if reused && self.buf.is_empty() => self.attempt(request).await?,
            first => first?,
        };
        status.context("connection closed before the answer")
    }

    /// One try: `None` when the connection ended before any byte of the answer. The stream
    /// is taken out for the exchange and put back only after a complete keep-alive answer.
    async fn attempt(&mut self, request: &[u8]) -> anyhow::Result<Option<u16>> {
        let stream = match self.stream.take() {
            Some(stream) => stream,
            None => connect(self.addr).await.with_context(|| format!("connect to {}", self.addr))?,
        };
        self.buf.clear();
        let head = round_trip(&stream, &mut self.buf, request).await?;
        if head.is_some_and(|h| !h.close) {
            self.stream = Some(stream);
        }
        Ok(head.map(|h| h.status))
    }
}

/// Opens a TCP connection with Nagle's algorithm off (requests go out at once).
async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Writes `request` and reads one answer into `buf` (empty): its head, or `None` when the
/// stream ended before any byte of it.
async fn round_trip(stream: &TcpStream, buf: &mut Vec<u8>, request: &[u8]) -> anyhow::Result<Option<Head>> {
    write_all(stream, request).await.context("write")?;
    loop {
        if let Some(head) = parse_response(buf)? {
            ensure!(buf.len() == head.total(), "more bytes than one answer");
            return Ok(Some(head));
        }
        if read_some(stream, buf).await.context("read")? == 0 {
            ensure!(buf.is_empty(), "connection closed in the middle of an answer");
            return Ok(None);
        }
    }
}

/// Writes all of `bytes`.
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Appends what the stream has to `buf`, waiting for at least a byte; 0 at its end.
async fn read_some(stream: &TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let filled = buf.len();
    loop {
        stream.readable().await?;
        buf.resize(filled + 4096, 0);
        let result = stream.try_read(&mut buf[filled..]);
        buf.truncate(filled + *result.as_ref().unwrap_or(&0));
        match result {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests;
