//! Merkle proofs: the exotic cell, its proven hash, and the partial tree under it.

use tycho_types::boc::Boc;
use tycho_types::cell::Cell;
use tycho_types::merkle::MerkleProof;

use super::{ProofResult, VerifyError};

/// Decodes a BOC holding one Merkle proof and returns the partial tree, after checking that
/// it proves `expected` (the original root's representation hash).
pub fn proof_root(what: &'static str, boc: &[u8], expected: &[u8; 32]) -> ProofResult<Cell> {
    let cell = Boc::decode(boc).map_err(|e| VerifyError::malformed(what, e))?;
    checked_proof_root(what, &cell, expected)
}

/// [`proof_root`] over a decoded cell.
pub fn checked_proof_root(
    what: &'static str,
    cell: &Cell,
    expected: &[u8; 32],
) -> ProofResult<Cell> {
    let proof: MerkleProof = cell
        .parse_exotic()
        .map_err(|e| VerifyError::malformed(what, format!("not a Merkle proof: {e}")))?;
    // The proof cell's declared hash must be the hash its tree really has (before pruning).
    let tree_hash = proof.cell.hash(0);
    if tree_hash != &proof.hash {
        return Err(VerifyError::hash_mismatch(
            what,
            proof.hash.as_slice(),
            tree_hash.as_slice(),
        ));
    }
    if proof.hash.0 != *expected {
        return Err(VerifyError::hash_mismatch(
            what,
            expected,
            proof.hash.as_slice(),
        ));
    }
    Ok(proof.cell)
}

/// The hash a cell of a partial tree had before pruning.
pub fn original_hash(cell: &tycho_types::cell::DynCell) -> [u8; 32] {
    cell.hash(0).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tycho_types::cell::{CellBuilder, HashBytes};

    #[test]
    fn proves_only_its_own_root() {
        // tycho-types keeps childless cells whole: give the pruned one a child.
        let grandchild = CellBuilder::build_from(9u32).expect("grandchild");
        let mut l = CellBuilder::new();
        l.store_u32(7).expect("bits");
        l.store_reference(grandchild).expect("ref");
        let leaf = l.build().expect("leaf");
        let mut b = CellBuilder::new();
        b.store_u32(1).expect("bits");
        b.store_reference(leaf.clone()).expect("ref");
        let root = b.build().expect("root");
        let keep: std::collections::HashSet<HashBytes> = [*root.repr_hash()].into();
        let proof = MerkleProof::create(root.as_ref(), keep)
            .build()
            .expect("proof");
        let cell = CellBuilder::build_from(&proof).expect("cell");
        let boc = Boc::encode(&cell);
        let tree = proof_root("test", &boc, &root.repr_hash().0).expect("verifies");
        assert_eq!(original_hash(tree.as_ref()), root.repr_hash().0);
        // The leaf is pruned: reading it is an error, not a panic.
        assert!(tree.reference(0).expect("ref").as_slice().is_err());
        assert!(matches!(
            proof_root("test", &boc, &[0; 32]),
            Err(VerifyError::HashMismatch { .. })
        ));
        // An ordinary cell is not a proof.
        assert!(matches!(
            proof_root("test", &Boc::encode(&root), &root.repr_hash().0),
            Err(VerifyError::Malformed { .. })
        ));
        assert!(proof_root("test", b"garbage", &[0; 32]).is_err());
    }
}
