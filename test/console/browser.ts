// Debian's chromium driven by playwright-core, for the console's browser tests. Missing chromium
// skips the tests with one line, except under CI=true, where it fails them (.ci/run installs it).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const CHROMIUM = process.env.WAFGEN_TEST_CHROMIUM || '/usr/bin/chromium';

/** True when the browser tests can run; throws under CI=true when they cannot. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const why = `${CHROMIUM} is missing (apt-get install -y chromium, or set WAFGEN_TEST_CHROMIUM)`;
  if (process.env.CI === 'true') throw new Error(`the console's browser tests need chromium: ${why}`);
  console.warn(`skipping the console's browser tests: ${why}`);
  return false;
}

/** A fresh profile (playwright passes it as --user-data-dir) with the flags Debian's chromium needs here. */
export function launchChromium(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'wafgen-chromium-')), {
    executablePath: CHROMIUM,
    viewport: { width: 1280, height: 860 },
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** axe-core's serious and critical WCAG 2 A/AA violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`);
}
