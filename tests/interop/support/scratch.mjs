// Scratch directories for one test file, removed when its process exits (node --test runs
// each file in a process of its own, after its `after` hooks have stopped the brokers
// that wrote there), so reruns do not pile configuration and certificates up in /tmp.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the system's temporary directory, named `prefix` + random. */
export function scratchDir(prefix) {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
