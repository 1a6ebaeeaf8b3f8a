// Blueprint compile config of JettonWallet (`npx blueprint build JettonWallet`). scripts/build.ts compiles the
// same entry point with the same options into build/JettonWallet.compiled.json (plus hash and compiler
// version); that committed file is what tests, the Rust crate and the devnet load.
import { CompilerConfig } from '@ton/blueprint';

export const compile: CompilerConfig = {
    lang: 'tolk',
    entrypoint: 'contracts/jetton/wallet.tolk',
    optimizationLevel: 2,
};
