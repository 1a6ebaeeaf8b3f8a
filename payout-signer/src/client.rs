//! [`SignerClient`]: the small HTTP client the settler and `make up` use (hyper, HTTP/1.1 over
//! TCP or a unix socket; one connection per call).

use std::path::PathBuf;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Token;
use crate::error::{Error, Result};
use crate::wire::{BatchBody, CloseBody, ErrorBody, PubkeyBody, ReleaseBody, Signed};

/// Where the signer listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `host:port`.
    Tcp(String),
    /// A unix socket.
    Unix(PathBuf),
}

/// What a call answered when it was not a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The JSON error body.
    pub body: ErrorBody,
}

/// A client of the payout signer.
#[derive(Debug, Clone)]
pub struct SignerClient {
    endpoint: Endpoint,
    token: Token,
}

impl SignerClient {
    /// A client for `url` (`http://127.0.0.1:PORT` or `unix:/path`).
    pub fn new(url: &str, token: Token) -> Result<Self> {
        let endpoint = if let Some(p) = url.strip_prefix("unix:") {
            Endpoint::Unix(PathBuf::from(p))
        } else {
            let hostport = url.strip_prefix("http://").ok_or_else(|| {
                Error::Config(format!(
                    "signer url {url:?}: expected http://host:port or unix:/path"
                ))
            })?;
            Endpoint::Tcp(hostport.trim_end_matches('/').to_string())
        };
        Ok(Self { endpoint, token })
    }

    /// `POST /v1/escrow/release`.
    pub async fn release(&self, body: &ReleaseBody) -> Result<Result<Signed, Refusal>> {
        self.call(Method::POST, "/v1/escrow/release", Some(body))
            .await
    }

    /// `POST /v1/escrow/close`.
    pub async fn close(&self, body: &CloseBody) -> Result<Result<Signed, Refusal>> {
        self.call(Method::POST, "/v1/escrow/close", Some(body))
            .await
    }

    /// `POST /v1/vault/batch`.
    pub async fn batch(&self, body: &BatchBody) -> Result<Result<Signed, Refusal>> {
        self.call(Method::POST, "/v1/vault/batch", Some(body)).await
    }

    /// `GET /v1/pubkey`: the signer's public key.
    pub async fn public_key(&self) -> Result<[u8; 32]> {
        let body: PubkeyBody = self
            .call::<(), PubkeyBody>(Method::GET, "/v1/pubkey", None)
            .await?
            .map_err(|r| Error::Client(format!("pubkey: {} {}", r.status, r.body.message)))?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(&body.public_key, &mut key)
            .map_err(|e| Error::Client(format!("pubkey: {e}")))?;
        Ok(key)
    }

    /// Sends raw bytes to `path` (tests send malformed bodies with it). Returns status and body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        auth: bool,
    ) -> Result<(u16, Vec<u8>)> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "payout-signer")
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if auth {
            req = req.header(
                hyper::header::AUTHORIZATION,
                format!("Bearer {}", self.token.expose()),
            );
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Error::Client(e.to_string()))?;
        let resp = match &self.endpoint {
            Endpoint::Tcp(hp) => {
                let stream = tokio::net::TcpStream::connect(hp).await?;
                stream.set_nodelay(true)?;
                send(stream, req).await?
            }
            Endpoint::Unix(p) => send(tokio::net::UnixStream::connect(p).await?, req).await?,
        };
        Ok(resp)
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Result<T, Refusal>> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| Error::Client(e.to_string()))?,
            None => Vec::new(),
        };
        let (status, body) = self.raw(method, path, bytes, true).await?;
        if status == StatusCode::OK.as_u16() {
            return serde_json::from_slice(&body)
                .map(Ok)
                .map_err(|e| Error::Client(format!("{path}: bad answer: {e}")));
        }
        let body: ErrorBody = serde_json::from_slice(&body).map_err(|e| {
            Error::Client(format!(
                "{path}: HTTP {status} with a non-JSON body ({e}): {}",
                String::from_utf8_lossy(&body)
            ))
        })?;
        Ok(Err(Refusal { status, body }))
    }
}

async fn send<S>(stream: S, req: Request<Full<Bytes>>) -> Result<(u16, Vec<u8>)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Error::Client(format!("handshake: {e}")))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| Error::Client(format!("request: {e}")))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| Error::Client(format!("body: {e}")))?
        .to_bytes()
        .to_vec();
    driver.abort();
    Ok((status, body))
}
