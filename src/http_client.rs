//! The HTTP/1.1 client the daemons use between themselves: a JournalNode or a NameNode
//! fetching a segment from `/getJournal`, a NameNode fetching or uploading an fsimage at
//! `/imagetransfer`. One request per connection (`Connection: close`), bodies read as they
//! arrive, so a large file never has to fit in memory on the way.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most bytes of a response's status line and headers.
const MAX_HEAD: usize = 64 << 10;

/// Why a request got no HTTP answer. `Display` is the reason alone: callers name the URL.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("only http:// URLs are supported")]
    NotHttpUrl,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the response headers are too long")]
    HeadTooLong,
    #[error("the connection closed before the headers ended")]
    ClosedInHead,
    #[error("not an HTTP response: {0}")]
    NotHttp(String),
}

/// A response whose status line and headers have been read; the body follows.
pub struct Response {
    /// The status code (`200`).
    pub status: u16,
    /// The status line (`HTTP/1.1 200 OK`).
    pub status_line: String,
    headers: Vec<(String, String)>,
    /// Body bytes that arrived with the headers, not yet handed out.
    buffered: Vec<u8>,
    stream: TcpStream,
}

impl Response {
    /// The first header called `name` (case-insensitively), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")?.parse().ok()
    }

    /// Reads the next body bytes into `buf`; 0 at the end of the body.
    pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.buffered.is_empty() {
            let n = buf.len().min(self.buffered.len());
            buf[..n].copy_from_slice(&self.buffered[..n]);
            self.buffered.drain(..n);
            return Ok(n);
        }
        self.stream.read(buf).await
    }

    /// The rest of the body.
    pub async fn body(mut self) -> std::io::Result<Vec<u8>> {
        let mut body = std::mem::take(&mut self.buffered);
        self.stream.read_to_end(&mut body).await?;
        Ok(body)
    }

    /// A refusal in the words a caller prints: the status line and the body's text.
    pub async fn refusal(self) -> String {
        let status_line = self.status_line.clone();
        let body = self.body().await.unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        format!("{status_line}: {}", text.trim())
    }
}

/// Sends `method url` with `body` (sent with a `Content-Length` when the method is not GET)
/// and reads the answer's headers. Only `http://` URLs.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<Response, HttpError> {
    let rest = url.strip_prefix("http://").ok_or(HttpError::NotHttpUrl)?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(authority).await?;
    let _ = stream.set_nodelay(true);
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    read_head(stream).await
}

async fn read_head(mut stream: TcpStream) -> Result<Response, HttpError> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::HeadTooLong);
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(HttpError::ClosedInHead);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default().to_string();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| HttpError::NotHttp(status_line.clone()))?;
    let headers = lines
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_string(), value.trim().to_string()))
        })
        .collect();
    Ok(Response {
        status,
        status_line,
        headers,
        buffered: buf.split_off(head_end),
        stream,
    })
}

/// The `storageInfo` parameter of Hadoop's transfer servlets (`/getJournal`,
/// `/imagetransfer`), which the servlet checks against its own:
/// `layoutVersion:namespaceID:cTime:clusterID` (not yet URL-encoded).
pub fn storage_info(
    layout_version: i32,
    namespace_id: u32,
    ctime: u64,
    cluster_id: &str,
) -> String {
    format!("{layout_version}:{namespace_id}:{ctime}:{cluster_id}")
}

/// `application/x-www-form-urlencoded`, as Java's `URLEncoder` writes it.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;

    /// A server that reads one request and answers `answer`, returning what it read.
    async fn one_shot(answer: &'static [u8]) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/x?a=1", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = vec![0u8; 4096];
            let n = s.read(&mut got).await.unwrap();
            got.truncate(n);
            s.write_all(answer).await.unwrap();
            got
        });
        (url, task)
    }

    #[tokio::test]
    async fn a_put_carries_its_length_and_the_answer_its_headers_and_body() {
        let (url, server) =
            one_shot(b"HTTP/1.1 200 OK\r\nX-MD5-Digest: abc\r\nContent-Length: 5\r\n\r\nhello")
                .await;
        let response = request("PUT", &url, &[("X-Test", "1".into())], b"data")
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.header("x-md5-digest"), Some("abc"));
        assert_eq!(response.content_length(), Some(5));
        assert_eq!(response.body().await.unwrap(), b"hello");
        let sent = String::from_utf8(server.await.unwrap()).unwrap();
        assert!(sent.starts_with("PUT /x?a=1 HTTP/1.1\r\n"), "{sent}");
        assert!(sent.contains("X-Test: 1\r\n"), "{sent}");
        assert!(sent.contains("Content-Length: 4\r\n"), "{sent}");
        assert!(sent.ends_with("\r\n\r\ndata"), "{sent}");
    }

    #[tokio::test]
    async fn a_refusal_reads_as_its_status_line_and_text() {
        let (url, _server) = one_shot(b"HTTP/1.1 410 Gone\r\n\r\nGetImage failed.\n").await;
        let response = request("GET", &url, &[], &[]).await.unwrap();
        assert_eq!(response.status, 410);
        assert_eq!(
            response.refusal().await,
            "HTTP/1.1 410 Gone: GetImage failed."
        );
    }

    #[tokio::test]
    async fn bytes_that_are_not_http_are_refused_by_name() {
        let (url, _server) = one_shot(b"SSH-2.0-OpenSSH\r\n\r\n").await;
        let err = request("GET", &url, &[], &[]).await.err().unwrap();
        assert_eq!(err.to_string(), "not an HTTP response: SSH-2.0-OpenSSH");
        assert!(request("GET", "https://x/", &[], &[]).await.is_err());
    }

    #[test]
    fn url_encoding_is_javas() {
        assert_eq!(
            url_encode("-66:12:0:CID-a b/c"),
            "-66%3A12%3A0%3ACID-a+b%2Fc"
        );
    }
}
