// The console's own primitives in the shadcn style (Tailwind classes, forwarded props, a `variant`).
import type { ButtonHTMLAttributes, InputHTMLAttributes, LabelHTMLAttributes, ReactNode, SelectHTMLAttributes } from 'react';
import { cn } from './cn';

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost';
const VARIANTS: Record<Variant, string> = {
  primary: 'bg-neutral-900 text-white hover:bg-neutral-700 disabled:bg-neutral-400',
  secondary: 'border border-neutral-300 bg-white text-neutral-900 hover:bg-neutral-100 disabled:text-neutral-400',
  danger: 'bg-red-700 text-white hover:bg-red-800 disabled:bg-red-300',
  ghost: 'text-neutral-700 hover:bg-neutral-100',
};

export function Button({ variant = 'primary', className, ...props }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return (
    <button
      type="button"
      {...props}
      className={cn(
        'inline-flex min-h-10 items-center justify-center gap-2 rounded-md px-3 py-2 text-sm font-medium transition-colors disabled:cursor-not-allowed',
        VARIANTS[variant],
        className,
      )}
    />
  );
}

export function Input({ className, ...props }: InputHTMLAttributes<HTMLInputElement>) {
  return (
    <input
      {...props}
      className={cn('min-h-10 w-full rounded-md border border-neutral-300 bg-white px-3 py-2 text-sm placeholder:text-neutral-500', className)}
    />
  );
}

export function Select({ className, ...props }: SelectHTMLAttributes<HTMLSelectElement>) {
  return <select {...props} className={cn('min-h-10 w-full rounded-md border border-neutral-300 bg-white px-2 py-2 text-sm', className)} />;
}

export function Label({ className, ...props }: LabelHTMLAttributes<HTMLLabelElement>) {
  return <label {...props} className={cn('block text-sm font-medium text-neutral-800', className)} />;
}

export function Field({ label, htmlFor, children, hint }: { label: string; htmlFor: string; children: ReactNode; hint?: string }) {
  return (
    <div className="space-y-1">
      <Label htmlFor={htmlFor}>{label}</Label>
      {children}
      {hint ? <p className="text-xs text-neutral-600">{hint}</p> : null}
    </div>
  );
}

export function Card({ className, children, title, actions }: { className?: string; children: ReactNode; title?: string; actions?: ReactNode }) {
  return (
    <section className={cn('rounded-lg border border-neutral-200 bg-white p-4 shadow-sm', className)} aria-label={title}>
      {title || actions ? (
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          {title ? <h2 className="text-base font-semibold">{title}</h2> : <span />}
          {actions}
        </div>
      ) : null}
      {children}
    </section>
  );
}

const TONES = {
  neutral: 'bg-neutral-100 text-neutral-800',
  green: 'bg-green-100 text-green-900',
  amber: 'bg-amber-100 text-amber-900',
  red: 'bg-red-100 text-red-900',
  blue: 'bg-blue-100 text-blue-900',
};
export function Badge({ tone = 'neutral', children }: { tone?: keyof typeof TONES; children: ReactNode }) {
  return <span className={cn('inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium whitespace-nowrap', TONES[tone])}>{children}</span>;
}

export function Alert({ tone = 'red', children, testId }: { tone?: 'red' | 'green' | 'amber'; children: ReactNode; testId?: string }) {
  const cls = {
    red: 'border-red-300 bg-red-50 text-red-900',
    green: 'border-green-300 bg-green-50 text-green-900',
    amber: 'border-amber-300 bg-amber-50 text-amber-900',
  }[tone];
  return (
    <div role={tone === 'red' ? 'alert' : 'status'} data-testid={testId} className={cn('rounded-md border px-3 py-2 text-sm', cls)}>
      {children}
    </div>
  );
}

export function Loading({ label }: { label: string }) {
  return (
    <p role="status" aria-live="polite" className="flex items-center gap-2 py-6 text-sm text-neutral-600">
      <span aria-hidden="true" className="size-4 animate-spin rounded-full border-2 border-neutral-300 border-t-neutral-700" />
      {label}
    </p>
  );
}

export function EmptyState({ children }: { children: ReactNode }) {
  return <p className="rounded-md border border-dashed border-neutral-300 px-4 py-8 text-center text-sm text-neutral-600">{children}</p>;
}

export function ErrorState({ message, retry, retryLabel }: { message: string; retry?: () => void; retryLabel?: string }) {
  return (
    <div role="alert" className="flex flex-wrap items-center gap-3 rounded-md border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900">
      <span>{message}</span>
      {retry ? (
        <Button variant="secondary" onClick={retry}>
          {retryLabel}
        </Button>
      ) : null}
    </div>
  );
}

/**
 * A horizontally scrolling area (a wide table on a phone) that keyboard users can reach and scroll.
 * `relative` makes it the containing block of the table's sr-only captions and cells (position: absolute):
 * without it they are laid out at their place in the wide table but clipped by nothing, and widen the
 * whole page past a phone's screen.
 */
export function ScrollRegion({ label, className, children }: { label: string; className?: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to be scrolled by keyboard (axe: scrollable-region-focusable)
    <div className={cn('relative overflow-x-auto', className)} role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
