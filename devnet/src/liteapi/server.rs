//! The ADNL accept loop: each TCP connection does the ADNL handshake with the devnet's key,
//! then serves liteServer queries, multiplexed, through ton_liteapi's `LitePeer`.
//!
//! ton_liteapi's own `server::serve` binds the address itself and cannot report the port of
//! `127.0.0.1:0`; this loop is the same composition over a listener the devnet binds first.

use std::sync::Arc;

use adnl::AdnlPeer;
use adnl::crypto::KeyPair;
use tokio::net::TcpListener;
use ton_liteapi::layers::UnwrapMessagesLayer;
use ton_liteapi::peer::LitePeer;
use ton_liteapi::tl::request::WrappedRequest;
use ton_liteapi::types::LiteError;
use tower::ServiceBuilder;

use crate::liteapi::handler::handle;
use crate::node::Node;

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
            let service = ServiceBuilder::new().layer(UnwrapMessagesLayer).service_fn(
                move |req: WrappedRequest| {
                    let node = node.clone();
                    async move { Ok::<_, LiteError>(handle(node, req).await) }
                },
            );
            let server = tokio_tower::multiplex::Server::new(LitePeer::new(adnl), service);
            if let Err(e) = server.await {
                tracing::debug!(%peer, error = ?e, "liteclient connection closed");
            }
        });
    }
}
