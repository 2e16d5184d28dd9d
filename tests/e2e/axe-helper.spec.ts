// The accessibility helper itself: it must fail on the kinds of violation it exists to catch (a
// button whose name hides its visible text, unreadable contrast), and pass a clean page.
import { expect, test } from '@playwright/test';
import { expectNoSeriousA11yViolations } from './axe';

const shell = (body: string) => `<!doctype html><html lang="en"><head><title>t</title></head><body><main>${body}</main></body></html>`;

test('fails on label-in-name and colour contrast, passes a clean page', async ({ page }) => {
  await page.setContent(shell('<h1>Shop</h1><button type="button" aria-label="Put the mug in the basket">Add to cart</button>'));
  await expect(expectNoSeriousA11yViolations(page, { label: 'label-in-name' })).rejects.toThrow(/label-content-name-mismatch/);

  await page.setContent(shell('<h1>Shop</h1><p style="color:#bbb;background:#fff">404</p>'));
  await expect(expectNoSeriousA11yViolations(page, { label: 'contrast' })).rejects.toThrow(/color-contrast/);

  await page.setContent(shell('<h1>Shop</h1><button type="button" aria-label="Add to cart: Celadon mug">Add to cart</button>'));
  const results = await expectNoSeriousA11yViolations(page, { label: 'clean' });
  expect(results.passes.map((r) => r.id)).toEqual(expect.arrayContaining(['label-content-name-mismatch', 'button-name']));
});
