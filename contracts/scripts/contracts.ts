// The compiled contracts: one per blueprint compile config in wrappers/<Name>.compile.ts (the
// single place an entry point is named). build.ts compiles them into build/<name>.compiled.json.
import { compile as jettonMinter } from '../wrappers/JettonMinter.compile';
import { compile as jettonWallet } from '../wrappers/JettonWallet.compile';
import { compile as escrow } from '../wrappers/Escrow.compile';
import { compile as payoutVault } from '../wrappers/PayoutVault.compile';

function entrypoint(c: unknown): string {
    const cfg = c as { lang?: string; entrypoint?: string };
    if (cfg.lang !== 'tolk' || !cfg.entrypoint) throw new Error('expected a Tolk compile config');
    return cfg.entrypoint;
}

export const CONTRACTS = [
    { name: 'JettonMinter', entrypoint: entrypoint(jettonMinter) },
    { name: 'JettonWallet', entrypoint: entrypoint(jettonWallet) },
    { name: 'Escrow', entrypoint: entrypoint(escrow) },
    { name: 'PayoutVault', entrypoint: entrypoint(payoutVault) },
] as const;

export type ContractName = (typeof CONTRACTS)[number]['name'];
