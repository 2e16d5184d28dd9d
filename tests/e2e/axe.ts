// Accessibility, checked rather than claimed: axe-core's WCAG 2.x A and AA rules on the page as it is
// now. Serious and critical violations fail the test with a readable list (rule, impact, help, the
// offending elements); minor and moderate ones are attached to the report. Used by the shopper's pages
// and meant for the merchant console's too.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';

export const A11Y_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

type AxeResults = Awaited<ReturnType<AxeBuilder['analyze']>>;
type Violation = AxeResults['violations'][number];

export interface A11yCheckOptions {
  /** Names the check in the failure message and the report (e.g. "checkout paid, en"). */
  label?: string;
  /** CSS selectors left out (third-party widgets we do not control; none on shopper pages). */
  exclude?: string[];
}

function describeViolation(v: Violation): string {
  const nodes = v.nodes
    .slice(0, 5)
    .map((n) => `    ${n.target.join(' ')}\n      ${(n.failureSummary ?? '').replace(/\n/g, '\n      ')}`)
    .join('\n');
  return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}`;
}

/** Runs axe on the page and fails on any serious or critical violation; returns the full results. */
export async function expectNoSeriousA11yViolations(page: Page, opts: A11yCheckOptions = {}): Promise<AxeResults> {
  // Let fonts and the first paint settle: colour contrast is computed from what is rendered.
  await page.evaluate(() => document.fonts.ready);
  // One run in the page itself (our pages have no frames): the default splits the run across frames and
  // finishes it in a new blank page with axe injected a second time, which costs as much as the run. Only the
  // violations are reported in full (the passes are not read).
  let builder = new AxeBuilder({ page })
    .setLegacyMode(true)
    .options({ resultTypes: ['violations'] })
    .withTags(A11Y_TAGS);
  for (const selector of opts.exclude ?? []) builder = builder.exclude(selector);
  const results = await builder.analyze();
  const label = opts.label ?? page.url();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = results.violations.filter((v) => !serious.includes(v));
  if (minor.length) {
    await test.info().attach(`a11y-minor-${label}`, { body: minor.map(describeViolation).join('\n'), contentType: 'text/plain' });
  }
  expect(serious, `serious accessibility violations on ${label}:\n${serious.map(describeViolation).join('\n')}`).toEqual([]);
  return results;
}
