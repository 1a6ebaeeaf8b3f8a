// The list of compiled contracts: one entry per Tolk entry point. build.ts compiles them into
// build/<name>.compiled.json; tests and the Rust ABI crate load code from there.
export const CONTRACTS = [
    { name: 'JettonMinter', entrypoint: 'contracts/jetton/minter.tolk' },
    { name: 'JettonWallet', entrypoint: 'contracts/jetton/wallet.tolk' },
    { name: 'Escrow', entrypoint: 'contracts/escrow/escrow.tolk' },
    { name: 'PayoutVault', entrypoint: 'contracts/vault/vault.tolk' },
] as const;

export type ContractName = (typeof CONTRACTS)[number]['name'];
