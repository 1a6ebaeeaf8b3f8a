// Checks that fail today, each tied to the devnet feature it lacks or the defect that breaks it
// (issue 12: SIGNED = point 2, branch h/sign; PROOFS = point 3, branch h/proofs). `check` in
// support.mjs runs each as an expected failure whose error must match `error`; one that passes
// fails the run until it is removed from here. None left since h/sign a26e99b (minimal Merkle
// state updates: @ton/core reads the state-root proof's pruned branches).
export const EXPECTED = {
  // name: { reason, error: /what the failure's message must match/ },
};
