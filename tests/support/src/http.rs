//! Plain HTTP against the controller's endpoints (`/metrics`, `/healthz`,
//! `/readyz`) on loopback: one blocking GET, no client library.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

/// A free loopback port (bound, then released for the server under test).
pub fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

/// `GET path` over HTTP/1.0: the status code and the body; None while
/// nothing listens at `address`.
pub fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    Some((status, body.to_owned()))
}
