// Watches a page for Content Security Policy violations, both ways a browser reports them: the
// `securitypolicyviolation` DOM event (collected across navigations through an exposed binding) and the
// console message Chromium prints for each blocked script, style, frame or connection.
import type { Page } from '@playwright/test';

export interface CspWatch {
  /** Every violation seen since the watch started, as readable strings. */
  readonly violations: string[];
}

export async function watchCsp(page: Page): Promise<CspWatch> {
  const violations: string[] = [];
  await page.exposeBinding('__scanpayCspViolation', (_source, text: string) => {
    violations.push(text);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { __scanpayCspViolation?: (text: string) => void }).__scanpayCspViolation;
      report?.(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} on ${e.documentURI} (${e.sourceFile ?? ''}:${e.lineNumber})`);
    });
  });
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy|Refused to (load|execute|apply|connect|frame|evaluate|create)/i.test(text)) violations.push(`console: ${text}`);
  });
  return { violations };
}
