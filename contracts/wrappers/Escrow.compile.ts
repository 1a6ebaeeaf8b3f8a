// Blueprint compile config of Escrow (`npx blueprint build Escrow`). scripts/build.ts compiles the
// same entry point with the same options into build/Escrow.compiled.json (plus hash and compiler
// version); that committed file is what tests, the Rust crate and the devnet load.
import { CompilerConfig } from '@ton/blueprint';

export const compile: CompilerConfig = {
    lang: 'tolk',
    entrypoint: 'contracts/escrow/escrow.tolk',
    optimizationLevel: 2,
};
