// The UI reaches the shell through one module only, so every component runs against a mock.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(__dirname);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.(ts|svelte)$/.test(name) ? [path] : [];
  });
}

describe('architecture', () => {
  it('only lib/backend.ts imports @tauri-apps', () => {
    const importers = files(SRC)
      .filter((f) => /from\s+['"]@tauri-apps\//.test(readFileSync(f, 'utf8')))
      .map((f) => relative(SRC, f));
    expect(importers).toEqual(['lib/backend.ts']);
  });
});
