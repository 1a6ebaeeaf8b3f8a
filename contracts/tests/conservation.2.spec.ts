// Randomized conservation, shard 2 of 4 (tests/helpers/conservation.ts has the test and
// what it checks after every step; 4 shards x 250 = 1,000 seeded sequences).
import { conservationSuite } from './helpers/conservation';

conservationSuite(1, 4);
