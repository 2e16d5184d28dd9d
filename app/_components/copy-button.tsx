'use client';
import { useTranslations } from 'next-intl';
import { useEffect, useState } from 'react';

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Older browsers, or a WebView without the async clipboard: copy through a hidden selection.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

/** A "Copy" button whose result is announced politely and shown for a few seconds. */
export function CopyButton({ text, label, children, testId }: { text: string; label: string; children?: React.ReactNode; testId?: string }) {
  const t = useTranslations('common');
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const timer = setTimeout(() => setState('idle'), 4000);
    return () => clearTimeout(timer);
  }, [state]);
  return (
    <span className="inline-flex items-center gap-2">
      <button
        type="button"
        aria-label={label}
        data-testid={testId}
        onClick={async () => setState((await copyText(text)) ? 'copied' : 'failed')}
        className="rounded-md border border-neutral-300 bg-white px-2.5 py-1 text-sm font-medium text-neutral-800 hover:bg-neutral-100"
      >
        {children ?? t('copy')}
      </button>
      <span aria-live="polite" className={state === 'failed' ? 'text-sm text-red-800' : 'text-sm text-green-800'}>
        {state === 'copied' ? t('copied') : state === 'failed' ? t('copyFailed') : ''}
      </span>
    </span>
  );
}
