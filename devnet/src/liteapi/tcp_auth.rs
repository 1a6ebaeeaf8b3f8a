//! TON's `tcp.authentificate` handshake on an ADNL TCP connection (ton-blockchain/ton
//! `adnl/adnl-ext-server.cpp`, `AdnlInboundConnection::process_custom_packet`). A client
//! with its own key (tonlib always has one) proves it after the ADNL handshake:
//!
//! ```text
//!  client -> tcp.authentificate nonce:bytes                 (1..512 bytes)
//!  server -> tcp.authentificationNonce nonce:bytes           (256 fresh random bytes)
//!  client -> tcp.authentificationComplete key:pub.ed25519 signature:bytes
//!            (ed25519 over client nonce ++ server nonce; no answer, the connection goes on)
//! ```
//!
//! A liteserver serves authenticated and anonymous clients alike; a second `authentificate`,
//! a bad nonce size, a key that is not ed25519 or a bad signature closes the connection, as
//! TON's protocol violations do.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use rand::RngCore;

/// `tcp.authentificate nonce:bytes = tcp.Message`.
pub const TCP_AUTHENTIFICATE: u32 = 0x445b_ab12;
/// `tcp.authentificationNonce nonce:bytes = tcp.Message`.
pub const TCP_AUTHENTIFICATION_NONCE: u32 = 0xe35d_4ab6;
/// `tcp.authentificationComplete key:PublicKey signature:bytes = tcp.Message`.
pub const TCP_AUTHENTIFICATION_COMPLETE: u32 = 0xf7ad_9ea6;
/// `pub.ed25519 key:int256 = PublicKey`.
pub const PUB_ED25519: u32 = 0x4813_b4c6;
/// Length of the server's nonce.
pub const SERVER_NONCE_LEN: usize = 256;

/// Why an authentication frame ends the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A second `tcp.authentificate`, or a complete without one.
    #[error("duplicate or unexpected authentication")]
    Unexpected,
    /// The client nonce is empty or longer than 512 bytes.
    #[error("bad nonce size {0}")]
    NonceSize(usize),
    /// The frame does not decode.
    #[error("malformed authentication frame")]
    Malformed,
    /// The key is not `pub.ed25519`.
    #[error("expected an ed25519 key")]
    NotEd25519,
    /// The signature does not verify.
    #[error("bad signature over the nonces")]
    BadSignature,
}

/// TL `bytes`: the value and the rest of the input.
fn read_bytes(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    let (len, header) = if first < 254 {
        (usize::from(first), 1)
    } else {
        let l = rest.get(..3)?;
        (
            usize::from(l[0]) | usize::from(l[1]) << 8 | usize::from(l[2]) << 16,
            4,
        )
    };
    let data = input.get(header..header + len)?;
    let padded = (header + len).div_ceil(4) * 4;
    Some((data, input.get(padded..)?))
}

/// TL `bytes` appended to `out`.
fn write_bytes(out: &mut Vec<u8>, data: &[u8]) {
    let header = if data.len() < 254 {
        out.push(data.len() as u8);
        1
    } else {
        let l = data.len();
        out.extend_from_slice(&[254, l as u8, (l >> 8) as u8, (l >> 16) as u8]);
        4
    };
    out.extend_from_slice(data);
    let pad = (header + data.len()).div_ceil(4) * 4 - header - data.len();
    out.extend(std::iter::repeat_n(0u8, pad));
}

fn tag(frame: &[u8]) -> Option<u32> {
    frame
        .get(..4)
        .map(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]))
}

/// Whether the frame is one of the handshake's (by its TL id).
pub fn is_auth_frame(frame: &[u8]) -> bool {
    matches!(
        tag(frame),
        Some(TCP_AUTHENTIFICATE | TCP_AUTHENTIFICATION_COMPLETE)
    )
}

/// One connection's handshake state.
#[derive(Debug, Default)]
pub struct TcpAuth {
    /// Client nonce ++ server nonce, between `authentificate` and `complete`.
    nonce: Vec<u8>,
    /// The client's key once it proved it.
    client_key: Option<[u8; 32]>,
}

impl TcpAuth {
    /// The client's proven key, if any.
    pub fn client_key(&self) -> Option<[u8; 32]> {
        self.client_key
    }

    /// Handles an authentication frame: `Ok(Some(reply))` to send, `Ok(None)` when nothing is
    /// answered, `Err` to close the connection.
    pub fn handle(&mut self, frame: &[u8]) -> Result<Option<Vec<u8>>, AuthError> {
        let body = frame.get(4..).ok_or(AuthError::Malformed)?;
        match tag(frame) {
            Some(TCP_AUTHENTIFICATE) => {
                if !self.nonce.is_empty() || self.client_key.is_some() {
                    return Err(AuthError::Unexpected);
                }
                let (client, _) = read_bytes(body).ok_or(AuthError::Malformed)?;
                if client.is_empty() || client.len() > 512 {
                    return Err(AuthError::NonceSize(client.len()));
                }
                let mut server = [0u8; SERVER_NONCE_LEN];
                rand::thread_rng().fill_bytes(&mut server);
                self.nonce = [client, &server].concat();
                let mut reply = TCP_AUTHENTIFICATION_NONCE.to_le_bytes().to_vec();
                write_bytes(&mut reply, &server);
                Ok(Some(reply))
            }
            Some(TCP_AUTHENTIFICATION_COMPLETE) => {
                if self.nonce.is_empty() || self.client_key.is_some() {
                    return Err(AuthError::Unexpected);
                }
                let (key_tag, rest) = body.split_first_chunk::<4>().ok_or(AuthError::Malformed)?;
                if u32::from_le_bytes(*key_tag) != PUB_ED25519 {
                    return Err(AuthError::NotEd25519);
                }
                let (key, rest) = rest.split_first_chunk::<32>().ok_or(AuthError::Malformed)?;
                let (signature, _) = read_bytes(rest).ok_or(AuthError::Malformed)?;
                let signature =
                    Signature::from_slice(signature).map_err(|_| AuthError::BadSignature)?;
                let verifying =
                    VerifyingKey::from_bytes(key).map_err(|_| AuthError::BadSignature)?;
                verifying
                    .verify(&self.nonce, &signature)
                    .map_err(|_| AuthError::BadSignature)?;
                self.nonce.clear();
                self.client_key = Some(*key);
                Ok(None)
            }
            _ => Err(AuthError::Malformed),
        }
    }
}

/// The client side, for tests and tools: `tcp.authentificate` with `nonce`.
pub fn authentificate_frame(nonce: &[u8]) -> Vec<u8> {
    let mut out = TCP_AUTHENTIFICATE.to_le_bytes().to_vec();
    write_bytes(&mut out, nonce);
    out
}

/// The client side: the server nonce from a `tcp.authentificationNonce` frame.
pub fn server_nonce(frame: &[u8]) -> Option<Vec<u8>> {
    if tag(frame)? != TCP_AUTHENTIFICATION_NONCE {
        return None;
    }
    read_bytes(frame.get(4..)?).map(|(n, _)| n.to_vec())
}

/// The client side: `tcp.authentificationComplete` with `key` and its signature over
/// `client_nonce ++ server_nonce`.
pub fn complete_frame(key: &ed25519_dalek::SigningKey, client: &[u8], server: &[u8]) -> Vec<u8> {
    use ed25519_dalek::Signer;
    let signature = key.sign(&[client, server].concat());
    let mut out = TCP_AUTHENTIFICATION_COMPLETE.to_le_bytes().to_vec();
    out.extend_from_slice(&PUB_ED25519.to_le_bytes());
    out.extend_from_slice(key.verifying_key().as_bytes());
    write_bytes(&mut out, &signature.to_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tl_bytes_round_trip_short_and_long() {
        for len in [1usize, 3, 253, 254, 256, 1000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            write_bytes(&mut out, &data);
            assert_eq!(out.len() % 4, 0);
            out.extend_from_slice(&[9, 9]);
            let (read, rest) = read_bytes(&out).unwrap();
            assert_eq!(read, &data[..]);
            assert_eq!(rest, &[9, 9]);
        }
    }

    #[test]
    fn the_handshake_accepts_a_good_signature_and_refuses_the_rest() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let mut auth = TcpAuth::default();
        let reply = auth
            .handle(&authentificate_frame(&[1; 32]))
            .unwrap()
            .unwrap();
        let server = server_nonce(&reply).unwrap();
        assert_eq!(server.len(), SERVER_NONCE_LEN);
        // A second authentificate is a protocol violation.
        let mut again = TcpAuth::default();
        again.handle(&authentificate_frame(&[1; 32])).unwrap();
        assert_eq!(
            again.handle(&authentificate_frame(&[1; 32])),
            Err(AuthError::Unexpected)
        );
        // A signature over other nonces fails.
        let mut wrong = TcpAuth::default();
        wrong.handle(&authentificate_frame(&[1; 32])).unwrap();
        assert_eq!(
            wrong.handle(&complete_frame(&key, &[2; 32], &server)),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            auth.handle(&complete_frame(&key, &[1; 32], &server)),
            Ok(None)
        );
        assert_eq!(auth.client_key(), Some(key.verifying_key().to_bytes()));
        assert_eq!(
            TcpAuth::default().handle(&authentificate_frame(&[])),
            Err(AuthError::NonceSize(0))
        );
    }
}
