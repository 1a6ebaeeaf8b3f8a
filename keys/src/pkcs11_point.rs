//! ed25519 public keys in PKCS#11 attributes: CKA_EC_PARAMS and CKA_EC_POINT.

/// CKA_EC_PARAMS for Ed25519: the DER OID 1.3.101.112 (id-Ed25519, RFC 8410).
pub(crate) const ED25519_PARAMS_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// The 32-byte key from CKA_EC_POINT: PKCS#11 3.0 says a DER OCTET STRING (`04 20 || key`),
/// some tokens give the raw 32 bytes; both are accepted, nothing else.
pub(crate) fn parse_ec_point(point: &[u8]) -> Option<[u8; 32]> {
    match point {
        [0x04, 0x20, key @ ..] if key.len() == 32 => key.try_into().ok(),
        key if key.len() == 32 => key.try_into().ok(),
        _ => None,
    }
}

/// CKA_EC_POINT as written on import: the DER OCTET STRING form.
pub(crate) fn der_ec_point(key: &[u8; 32]) -> Vec<u8> {
    let mut point = Vec::with_capacity(34);
    point.extend_from_slice(&[0x04, 0x20]);
    point.extend_from_slice(key);
    point
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_and_raw_points() {
        let key = [0xabu8; 32];
        assert_eq!(parse_ec_point(&der_ec_point(&key)), Some(key));
        assert_eq!(parse_ec_point(&key), Some(key));
        assert_eq!(parse_ec_point(&[0x04, 0x20, 1, 2]), None);
        assert_eq!(parse_ec_point(&[0x03, 0x20]), None);
        let mut long = der_ec_point(&key);
        long.push(0);
        assert_eq!(parse_ec_point(&long), None);
        // A 34-byte raw-looking value that does not start with 04 20 is not a key.
        let mut bad = vec![0x05, 0x20];
        bad.extend_from_slice(&key);
        assert_eq!(parse_ec_point(&bad), None);
    }
}
