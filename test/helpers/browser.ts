import { afterAll, beforeAll } from '@jest/globals';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

/** Debian's Chromium (apt-get install -y chromium), which playwright-core drives. */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];

/**
 * One Chromium for the test file: launched before its first test (with these switches beside the common
 * ones), closed after its last. Each test opens contexts of its own.
 */
export function useChromium(args: string[] = []): {
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
} {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, ...args] });
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    newContext(options) {
      if (!browser) throw new Error('Chromium is not running: useChromium() launches it before the first test');
      return browser.newContext(options);
    },
  };
}
