//! A request with any method, headers and bytes, and the whole answer (every header), for the
//! tests that throw garbage at the server or read rate limit headers.

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// An answer with its headers.
#[derive(Debug)]
pub(crate) struct RawResp {
    pub(crate) status: u16,
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl RawResp {
    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// `method` `url` with `headers` and `body`. `Err`: the connection failed or was dropped.
pub(crate) async fn raw(
    method: &str,
    url: &str,
    headers: &[(&str, &[u8])],
    body: Vec<u8>,
) -> Result<RawResp, String> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(
            *k,
            hyper::header::HeaderValue::from_bytes(v).map_err(|e| format!("header {k}: {e}"))?,
        );
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("build {method} {url}: {e}"))?;
    let res = client
        .request(req)
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{method} {url}: body: {e}"))?
        .to_bytes()
        .to_vec();
    Ok(RawResp {
        status,
        headers,
        body,
    })
}
