import type { Config } from 'jest';

// ts-jest transpiles each file on its own (tsconfig.jest.json: isolatedModules), without the
// type checker per test file; `make jest` type-checks the whole project once first
// (`tsc --noEmit`), so no type error goes unseen.
const config: Config = {
    testEnvironment: 'node',
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    testTimeout: 600_000,
    transform: {
        '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }],
    },
};

export default config;
