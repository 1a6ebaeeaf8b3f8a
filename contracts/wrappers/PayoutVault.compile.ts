// Blueprint compile config of PayoutVault (`npx blueprint build PayoutVault`). scripts/build.ts compiles the
// same entry point with the same options into build/PayoutVault.compiled.json (plus hash and compiler
// version); that committed file is what tests, the Rust crate and the devnet load.
import { CompilerConfig } from '@ton/blueprint';

export const compile: CompilerConfig = {
    lang: 'tolk',
    entrypoint: 'contracts/vault/vault.tolk',
    optimizationLevel: 2,
};
