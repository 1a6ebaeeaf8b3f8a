//! The standard TON global config JSON that points liteclients at the devnet.

use std::net::SocketAddrV4;

use base64::Engine as _;
use serde_json::json;
use tycho_types::models::BlockId;

/// The global config: one liteserver (ip as a signed 32-bit int, port, ed25519 key), the
/// masterchain zero state as `validator.zero_state` and the block liteclients trust and sync
/// from as `validator.init_block` (the devnet's first key block, as real networks name a key
/// block there).
pub fn global_config(
    addr: SocketAddrV4,
    public_key: &[u8; 32],
    zero_state: &BlockId,
    init: &BlockId,
) -> serde_json::Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let ip = u32::from(*addr.ip()) as i32;
    let block = |id: &BlockId| {
        json!({
            "workchain": id.shard.workchain(),
            "shard": id.shard.prefix() as i64,
            "seqno": id.seqno,
            "root_hash": b64.encode(id.root_hash.0),
            "file_hash": b64.encode(id.file_hash.0),
        })
    };
    json!({
        "@type": "config.global",
        "liteservers": [{
            "ip": ip,
            "port": addr.port(),
            "id": { "@type": "pub.ed25519", "key": b64.encode(public_key) },
        }],
        "validator": {
            "@type": "validator.config.global",
            "zero_state": block(zero_state),
            "init_block": block(init),
            "hardforks": [],
        },
    })
}
