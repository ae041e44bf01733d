use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use super::*;

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"allow\":true}";

#[test]
fn requests_carry_the_member_action_and_length() {
    let template = RequestTemplate::new("127.0.0.1:8080", "/v1/decide", "invite", false).unwrap();
    let mut out = Vec::new();
    template.write(42, &mut out);
    let body = r#"{"member":"m42","action":"invite"}"#;
    let expected = format!(
        "POST /v1/decide HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-type: application/json\r\n\
         connection: keep-alive\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn dry_runs_say_so_in_the_body() {
    let template = RequestTemplate::new("localhost:1", "/d", "send_message", true).unwrap();
    let mut out = b"left over".to_vec();
    template.write(100_000, &mut out);
    let text = String::from_utf8(out).unwrap();
    let body = r#"{"member":"m100000","action":"send_message","dry_run":true}"#;
    assert!(text.starts_with("POST /d HTTP/1.1\r\n"));
    assert!(text.ends_with(&format!("content-length: {}\r\n\r\n{body}", body.len())), "{text}");
}

#[test]
fn odd_paths_and_actions_are_refused() {
    assert!(RequestTemplate::new("h", "v1/decide", "invite", false).is_err());
    assert!(RequestTemplate::new("h", "/v1/de cide", "invite", false).is_err());
    assert!(RequestTemplate::new("h", "/v1/decide", "in\"vite", false).is_err());
    assert!(RequestTemplate::new("h", "/v1/decide", "", false).is_err());
}

#[test]
fn a_complete_response() {
    let head = parse_response(OK).unwrap().unwrap();
    assert_eq!(head, Head { status: 200, head_len: OK.len() - 14, body_len: 14, close: false });
    assert_eq!(head.total(), OK.len());
}

#[test]
fn every_partial_response_waits_for_more() {
    for cut in 0..OK.len() {
        assert_eq!(parse_response(&OK[..cut]).unwrap(), None, "cut at {cut}");
    }
}

#[test]
fn header_names_are_case_insensitive() {
    let answer = b"HTTP/1.1 429 Too Many Requests\r\nCONTENT-length:  2\r\nConnection: Close\r\n\r\n{}";
    let head = parse_response(answer).unwrap().unwrap();
    assert_eq!((head.status, head.body_len, head.close), (429, 2, true));
}

#[test]
fn bodiless_answers_need_no_length() {
    let head = parse_response(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap().unwrap();
    assert_eq!((head.status, head.body_len), (204, 0));
    let head = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").unwrap().unwrap();
    assert_eq!(head.total(), 38);
}

#[test]
fn unsupported_or_malformed_answers_are_errors() {
    let error = |bytes: &[u8]| parse_response(bytes).unwrap_err().to_string();
    assert!(error(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").contains("not supported"));
    assert!(error(b"HTTP/1.1 200 OK\r\n\r\n").contains("without content-length"));
    assert!(error(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n").contains("bad content-length"));
    assert!(error(b"SSH-2.0-OpenSSH\r\n\r\n").contains("not an HTTP/1 status line"));
    assert!(error(b"HTTP/1.1 2000 OK\r\n\r\n").contains("no status code"));
    assert!(error(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n").contains("malformed header"));
    assert!(error(&vec![b'a'; MAX_HEAD + 1]).contains("response head over"));
}

/// A server on a spare loopback port: for each of `conns` connections in turn, reads up to
/// `per_conn` requests and answers each with `answer` in 7-byte pieces a little apart, then
/// closes. Gives the requests it read.
fn serve(conns: usize, per_conn: usize, answer: &'static [u8]) -> (SocketAddr, thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let mut requests = 0;
        for _ in 0..conns {
            let (mut stream, _) = listener.accept().unwrap();
            for _ in 0..per_conn {
                if !read_request(&mut stream) {
                    break;
                }
                requests += 1;
                for piece in answer.chunks(7) {
                    stream.write_all(piece).unwrap();
                    thread::sleep(Duration::from_millis(1));
                }
            }
        }
        requests
    });
    (addr, server)
}

/// Reads one request, head and body; false at the end of the stream.
fn read_request(stream: &mut std::net::TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).unwrap_or(0) == 0 {
            return false;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length = head.lines().find_map(|l| l.strip_prefix("content-length: ")).unwrap();
    let mut body = vec![0; length.parse().unwrap()];
    stream.read_exact(&mut body).unwrap();
    true
}

/// Runs `exchange` on `conn` `n` times, bounded in time.
async fn exchanges(conn: &mut Conn, n: usize) -> Vec<u16> {
    let request = b"POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}";
    let mut statuses = Vec::new();
    for _ in 0..n {
        let exchange = tokio::time::timeout(Duration::from_secs(5), conn.exchange(request));
        statuses.push(exchange.await.expect("answer within 5 s").unwrap());
    }
    statuses
}

#[tokio::test]
async fn answers_split_over_many_reads_on_one_kept_connection() {
    let (addr, server) = serve(1, 3, OK);
    let mut conn = Conn::open(addr).await.unwrap();
    assert_eq!(exchanges(&mut conn, 3).await, [200, 200, 200]);
    assert_eq!(server.join().unwrap(), 3);
}

#[tokio::test]
async fn a_connection_closed_while_idle_is_reopened() {
    let (addr, server) = serve(2, 1, OK);
    let mut conn = Conn::open(addr).await.unwrap();
    assert_eq!(exchanges(&mut conn, 2).await, [200, 200]);
    assert_eq!(server.join().unwrap(), 2);
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let (addr, server) = serve(2, 2, b"HTTP/1.1 429 Too Many\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    let mut conn = Conn::open(addr).await.unwrap();
    assert_eq!(exchanges(&mut conn, 1).await, [429]);
    assert!(conn.stream.is_none());
    assert_eq!(exchanges(&mut conn, 1).await, [429]);
    drop(conn);
    assert_eq!(server.join().unwrap(), 2);
}

#[tokio::test]
async fn an_answer_cut_short_is_an_error() {
    let (addr, server) = serve(1, 1, b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}");
    let mut conn = Conn::open(addr).await.unwrap();
    let request = b"POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}";
    let error = conn.exchange(request).await.unwrap_err();
    assert!(format!("{error:#}").contains("in the middle of an answer"), "{error:#}");
    assert_eq!(server.join().unwrap(), 1);
}
