// Installed package versions, for reports.
import { readFileSync } from 'fs';
import path from 'path';

export function getVersion(pkg: string): string {
    const file = path.resolve(__dirname, '..', 'node_modules', pkg, 'package.json');
    return JSON.parse(readFileSync(file, 'utf-8')).version as string;
}
