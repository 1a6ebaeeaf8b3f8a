//! The standard TON global config JSON that points liteclients at the devnet.

use std::net::SocketAddrV4;

use base64::Engine as _;
use serde_json::json;
use tycho_types::models::BlockId;

/// The global config: one liteserver (ip as a signed 32-bit int, port, ed25519 key) and the
/// masterchain zero state as `validator.zero_state` / `init_block`.
pub fn global_config(
    addr: SocketAddrV4,
    public_key: &[u8; 32],
    init: &BlockId,
) -> serde_json::Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let ip = u32::from(*addr.ip()) as i32;
    let block = json!({
        "workchain": init.shard.workchain(),
        "shard": init.shard.prefix() as i64,
        "seqno": init.seqno,
        "root_hash": b64.encode(init.root_hash.0),
        "file_hash": b64.encode(init.file_hash.0),
    });
    json!({
        "@type": "config.global",
        "liteservers": [{
            "ip": ip,
            "port": addr.port(),
            "id": { "@type": "pub.ed25519", "key": b64.encode(public_key) },
        }],
        "validator": {
            "@type": "validator.config.global",
            "zero_state": block,
            "init_block": block,
            "hardforks": [],
        },
    })
}
