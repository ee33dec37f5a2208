// Debian's Chromium, headless, through playwright-core: no browser is ever downloaded.
import { chromium } from 'playwright-core';

const DEFAULT_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Launches Chromium; `args` are added to the usual flags. */
export async function launchChromium({ args = [] } = {}) {
  const extra = (process.env.TABMQ_CHROMIUM_ARGS ?? '')
    .split(/\s+/)
    .filter((arg) => arg && !arg.startsWith('--headless'));
  return chromium.launch({
    executablePath: process.env.TABMQ_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...new Set([...DEFAULT_ARGS, ...extra, ...args])],
    timeout: 30_000,
  });
}
