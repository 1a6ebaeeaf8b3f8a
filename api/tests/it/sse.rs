//! A small server-sent events client for the tests (hyper, the body read frame by frame).

use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::support::Resp;

/// One event as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    pub(crate) id: Option<String>,
    pub(crate) event: Option<String>,
    pub(crate) data: String,
}

impl SseEvent {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).expect("data is JSON")
    }
}

/// What [`Sse::next`] saw.
#[derive(Debug)]
pub(crate) enum Next {
    Event(SseEvent),
    /// Nothing within the wait.
    Quiet,
    /// The server ended the stream.
    End,
}

/// An open stream.
pub(crate) struct Sse {
    body: Incoming,
    buf: String,
    /// The `retry:` the server announced (ms).
    pub(crate) retry: Option<u64>,
    /// Keep-alive comments seen.
    pub(crate) comments: usize,
}

/// GET `url` as an event stream with an optional bearer and `Last-Event-ID`: the stream, or
/// the (non-200) answer.
pub(crate) async fn open(
    url: &str,
    bearer: Option<&str>,
    last_event_id: Option<&str>,
) -> Result<Sse, Resp> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = hyper::Request::builder()
        .uri(url)
        .header("accept", "text/event-stream");
    if let Some(b) = bearer {
        req = req.header("authorization", format!("Bearer {b}"));
    }
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let res = client
        .request(req.body(Full::new(Bytes::new())).expect("request"))
        .await
        .expect("connect");
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let status = res.status().as_u16();
    if status != 200 {
        let request_id = header("x-request-id");
        let body = res.into_body().collect().await.expect("body").to_bytes();
        return Err(Resp {
            status,
            content_type,
            request_id,
            body: String::from_utf8_lossy(&body).into_owned(),
            replayed: false,
        });
    }
    assert_eq!(content_type, "text/event-stream", "{url}");
    assert_eq!(header("cache-control").as_deref(), Some("no-cache"));
    Ok(Sse {
        body: res.into_body(),
        buf: String::new(),
        retry: None,
        comments: 0,
    })
}

impl Sse {
    /// The next event, waiting at most `wait` for it.
    pub(crate) async fn next(&mut self, wait: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut ev = SseEvent {
                    id: None,
                    event: None,
                    data: String::new(),
                };
                let mut has_data = false;
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                        continue;
                    }
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "id" => ev.id = Some(value.to_owned()),
                        "event" => ev.event = Some(value.to_owned()),
                        "data" => {
                            if has_data {
                                ev.data.push('\n');
                            }
                            ev.data.push_str(value);
                            has_data = true;
                        }
                        "retry" => self.retry = value.parse().ok(),
                        _ => {}
                    }
                }
                if has_data {
                    return Next::Event(ev);
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame()).await;
            match frame {
                Err(_) => return Next::Quiet,
                Ok(None) => return Next::End,
                Ok(Some(Err(_))) => return Next::End,
                Ok(Some(Ok(f))) => {
                    if let Ok(data) = f.into_data() {
                        self.buf.push_str(&String::from_utf8_lossy(&data));
                    }
                }
            }
        }
    }

    /// The next event, which must come within `wait`.
    pub(crate) async fn expect(&mut self, wait: Duration) -> SseEvent {
        match self.next(wait).await {
            Next::Event(e) => e,
            other => panic!("expected an event within {wait:?}, got {other:?}"),
        }
    }

    /// Asserts nothing comes within `wait` (keep-alives aside).
    pub(crate) async fn quiet(&mut self, wait: Duration) {
        match self.next(wait).await {
            Next::Quiet => {}
            other => panic!("expected nothing within {wait:?}, got {other:?}"),
        }
    }
}
