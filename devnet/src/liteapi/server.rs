//! The ADNL accept loop: each TCP connection does the ADNL handshake with the devnet's key,
//! then serves liteServer queries, multiplexed with tokio-tower, through [`LiteTransport`].
//!
//! ton_liteapi's own `server::serve` binds the address itself and cannot report the port of
//! `127.0.0.1:0`, and its `LitePeer` turns a query whose TL does not decode into a transport
//! error that closes the connection. [`LiteTransport`] decodes the frames itself: an
//! `adnl.message.query` whose request does not decode is answered with `liteServer.error`
//! (its query id is readable before the request); only frames that are not a query at all
//! (garbage on the socket) end the connection. TON's `tcp.authentificate` handshake (which
//! tonlib starts every connection with) is answered as TON's server does
//! ([`crate::liteapi::tcp_auth`]).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use adnl::crypto::KeyPair;
use adnl::{AdnlError, AdnlPeer};
use futures::{Sink, Stream};
use tokio::net::TcpListener;
use ton_liteapi::tl::adnl::Message;
use ton_liteapi::tl::common::Int256;
use ton_liteapi::tl::request::{LiteQuery, WrappedRequest};
use ton_liteapi::tl::response::Response;
use ton_liteapi::types::LiteError;

use crate::liteapi::handler::{Answer, codes, handle_any};
use crate::liteapi::tcp_auth::{TcpAuth, is_auth_frame};
use crate::node::Node;

/// TL id of `adnl.message.query query_id:int256 query:bytes`.
const ADNL_MESSAGE_QUERY: u32 = 0xb48b_f97a;

/// One frame from a liteclient.
#[derive(Debug)]
pub enum Incoming {
    /// A decoded query.
    Query {
        /// Echoed in the answer.
        query_id: Int256,
        /// The request.
        request: WrappedRequest,
    },
    /// An `adnl.message.query` whose request does not decode.
    Undecodable {
        /// Echoed in the answer.
        query_id: Int256,
        /// What the TL decoder said.
        reason: String,
    },
    /// `tcp.ping`.
    Ping {
        /// Echoed in the pong.
        random_id: u64,
    },
    /// A `tcp.authentificate` step the transport handled; `Some` is its answer frame.
    Auth {
        /// The raw answer (`tcp.authentificationNonce`), none for `authentificationComplete`.
        reply: Option<Vec<u8>>,
    },
}

/// Decodes one ADNL frame. `Err` only for frames that are not a liteserver query or ping.
pub fn decode_frame(bytes: &[u8]) -> Result<Incoming, LiteError> {
    match tl_proto::deserialize::<Message>(bytes) {
        Ok(Message::Query {
            query_id,
            query: LiteQuery { wrapped_request },
        }) => Ok(Incoming::Query {
            query_id,
            request: wrapped_request,
        }),
        Ok(Message::Ping { random_id }) => Ok(Incoming::Ping { random_id }),
        Ok(_) => Err(LiteError::UnexpectedMessage),
        Err(e) => match (bytes.get(..4), bytes.get(4..36)) {
            (Some(tag), Some(id)) if tag == ADNL_MESSAGE_QUERY.to_le_bytes() => {
                let mut query_id = [0u8; 32];
                query_id.copy_from_slice(id);
                Ok(Incoming::Undecodable {
                    query_id: Int256(query_id),
                    reason: e.to_string(),
                })
            }
            _ => Err(LiteError::TlError(e)),
        },
    }
}

/// TL id of `adnl.message.answer query_id:int256 answer:bytes`.
const ADNL_MESSAGE_ANSWER: u32 = 0x0fac_8416;

/// One frame to a liteclient: a typed message, or an answer serialized by the handler
/// (`liteServer.blockTransactionsExt`, which ton_liteapi's `Response` cannot hold).
#[derive(Debug)]
pub enum Outgoing {
    /// A ton_liteapi message.
    Message(Box<Message>),
    /// `adnl.message.answer` around an already serialized answer.
    RawAnswer {
        /// Echoed query id.
        query_id: Int256,
        /// The boxed TL answer.
        answer: Vec<u8>,
    },
    /// A raw TL frame (`tcp.authentificationNonce`).
    Raw(Vec<u8>),
    /// Nothing to send (`tcp.authentificationComplete` has no answer).
    Nothing,
}

impl Outgoing {
    /// The frame's bytes; `None` when nothing is sent.
    fn serialize(self) -> Option<Vec<u8>> {
        Some(match self {
            Self::Message(m) => tl_proto::serialize(*m),
            Self::Raw(bytes) => bytes,
            Self::Nothing => return None,
            Self::RawAnswer { query_id, answer } => {
                let mut out = ADNL_MESSAGE_ANSWER.to_le_bytes().to_vec();
                out.extend_from_slice(&query_id.0);
                out.extend(tl_proto::serialize(answer.as_slice()));
                out
            }
        })
    }
}

/// An ADNL peer as a stream of [`Incoming`] frames and a sink of answers.
pub struct LiteTransport<T> {
    inner: T,
    auth: TcpAuth,
}

impl<T> LiteTransport<T> {
    /// Wraps an ADNL peer (after the handshake).
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            auth: TcpAuth::default(),
        }
    }
}

impl<T, B> Stream for LiteTransport<T>
where
    T: Stream<Item = Result<B, AdnlError>> + Unpin,
    B: AsRef<[u8]>,
{
    type Item = Result<Incoming, LiteError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        Pin::new(&mut this.inner).poll_next(cx).map(|frame| {
            frame.map(|r| match r {
                Ok(bytes) if is_auth_frame(bytes.as_ref()) => {
                    match this.auth.handle(bytes.as_ref()) {
                        Ok(reply) => Ok(Incoming::Auth { reply }),
                        Err(e) => {
                            tracing::debug!(error = %e, "tcp.authentificate refused; closing");
                            Err(LiteError::UnexpectedMessage)
                        }
                    }
                }
                Ok(bytes) => decode_frame(bytes.as_ref()),
                Err(e) => Err(LiteError::AdnlError(e)),
            })
        })
    }
}

impl<T, B> Sink<Outgoing> for LiteTransport<T>
where
    T: Stream<Item = Result<B, AdnlError>> + Sink<B, Error = AdnlError> + Unpin,
    B: From<Vec<u8>>,
{
    type Error = LiteError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), LiteError>> {
        Pin::new(&mut self.inner)
            .poll_ready(cx)
            .map_err(LiteError::AdnlError)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Outgoing) -> Result<(), LiteError> {
        let Some(bytes) = item.serialize() else {
            return Ok(());
        };
        Pin::new(&mut self.inner)
            .start_send(B::from(bytes))
            .map_err(LiteError::AdnlError)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), LiteError>> {
        Pin::new(&mut self.inner)
            .poll_flush(cx)
            .map_err(LiteError::AdnlError)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), LiteError>> {
        Pin::new(&mut self.inner)
            .poll_close(cx)
            .map_err(LiteError::AdnlError)
    }
}

/// Answers one frame.
async fn answer(node: Arc<Node>, incoming: Incoming) -> Outgoing {
    Outgoing::Message(Box::new(match incoming {
        Incoming::Query { query_id, request } => match handle_any(node, request).await {
            Answer::Tl(answer) => Message::Answer {
                query_id,
                answer: *answer,
            },
            Answer::Raw(answer) => return Outgoing::RawAnswer { query_id, answer },
        },
        Incoming::Auth { reply: Some(bytes) } => return Outgoing::Raw(bytes),
        Incoming::Auth { reply: None } => return Outgoing::Nothing,
        Incoming::Undecodable { query_id, reason } => Message::Answer {
            query_id,
            answer: Response::Error(ton_liteapi::tl::response::Error {
                code: codes::PROTOVIOLATION,
                message: format!("cannot decode the request: {reason}")
                    .as_str()
                    .into(),
            }),
        },
        Incoming::Ping { random_id } => Message::Pong { random_id },
    }))
}

/// Serves `listener` forever.
pub async fn serve(listener: TcpListener, key: KeyPair, node: Arc<Node>) {
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let node = node.clone();
        tokio::spawn(async move {
            let adnl = match AdnlPeer::handle_handshake(socket, |_| Some(key)).await {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(%peer, error = ?e, "ADNL handshake failed");
                    return;
                }
            };
            tracing::debug!(%peer, "liteclient connected");
            let service = tower::service_fn(move |incoming: Incoming| {
                let node = node.clone();
                async move { Ok::<_, LiteError>(answer(node, incoming).await) }
            });
            let server = tokio_tower::multiplex::Server::new(LiteTransport::new(adnl), service);
            if let Err(e) = server.await {
                tracing::debug!(%peer, error = ?e, "liteclient connection closed");
            }
        });
    }
}
