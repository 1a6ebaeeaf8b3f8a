// Blueprint compile config of JettonMinter (`npx blueprint build JettonMinter`). scripts/build.ts compiles the
// same entry point with the same options into build/JettonMinter.compiled.json (plus hash and compiler
// version); that committed file is what tests, the Rust crate and the devnet load.
import { CompilerConfig } from '@ton/blueprint';

export const compile: CompilerConfig = {
    lang: 'tolk',
    entrypoint: 'contracts/jetton/minter.tolk',
    optimizationLevel: 2,
};
