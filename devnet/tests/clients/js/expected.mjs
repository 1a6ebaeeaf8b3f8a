// Checks that fail today, each tied to the devnet feature it lacks or the defect that breaks it
// (issue 12: SIGNED = point 2, branch h/sign; PROOFS = point 3, branch h/proofs). `check` in
// support.mjs runs each as an expected failure whose error must match `error`; one that passes
// fails the run until it is removed from here.
const STATE_UPDATE_UNPRUNED =
  "PROOFS: a devnet block's state_update carries the whole new state with nothing pruned (TON prunes the unchanged " +
  'subtrees), so the state-root proof prunes that side as a pruned branch of level mask 2 where TON proofs have 3; ' +
  "@ton/core 0.63.1's exoticPruned cannot read a mask-2 pruned branch (it reads `level` hashes, 2, from a cell that " +
  'holds 1), so Cell.fromBoc of getAccountState\'s proof throws';

export const EXPECTED = {
  // { reason, error: what the failure's message must match }
  'account state': { reason: STATE_UPDATE_UNPRUNED, error: /Offset \+ Length = 528 is out of bounds/ },
  'transfer': {
    reason: `${STATE_UPDATE_UNPRUNED} (WalletContractV4.getSeqno reads the wallet through getAccountState)`,
    error: /Offset \+ Length = 528 is out of bounds/,
  },
};
