// The fresh-machine path of `npm test` (scripts/lib/system-deps.ts), without touching this machine: the
// requirements are stand-ins whose presence we control, and apt-get is a recorder.
import { describe, expect, it } from 'vitest';
import { ensureSystemPackages, firstExisting, testRequirements, type SystemRequirement } from '../../scripts/lib/system-deps';

function fakeMachine(initiallyMissing: string[]) {
  const installed = new Set<string>();
  const calls: { command: string; args: string[]; env: Record<string, string> }[] = [];
  const reqs: SystemRequirement[] = ['chromium', 'fonts-noto-cjk', 'pgbouncer'].map((pkg) => ({
    pkg,
    why: `${pkg} is needed`,
    present: () => !initiallyMissing.includes(pkg) || installed.has(pkg),
  }));
  const run = (command: string, args: string[], env: Record<string, string>) => {
    calls.push({ command, args, env });
    if (args[0] === 'install') for (const p of args.slice(2)) installed.add(p);
    return 0;
  };
  const lines: string[] = [];
  return { reqs, run, calls, lines, say: (l: string) => lines.push(l) };
}

describe('ensureSystemPackages', () => {
  it('does nothing when everything is there', () => {
    const m = fakeMachine([]);
    expect(ensureSystemPackages(m.reqs, { isRoot: true, run: m.run, say: m.say })).toEqual({ ok: true, missing: [], installed: [] });
    expect(m.calls).toEqual([]);
  });

  it('as root: apt-get update, then installs exactly the missing packages, non-interactively, saying so', () => {
    const m = fakeMachine(['chromium', 'fonts-noto-cjk']);
    const result = ensureSystemPackages(m.reqs, { isRoot: true, run: m.run, say: m.say });
    expect(result).toEqual({ ok: true, missing: ['chromium', 'fonts-noto-cjk'], installed: ['chromium', 'fonts-noto-cjk'] });
    expect(m.calls.map((c) => [c.command, ...c.args])).toEqual([
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', 'chromium', 'fonts-noto-cjk'],
    ]);
    expect(m.calls.every((c) => c.env.DEBIAN_FRONTEND === 'noninteractive')).toBe(true);
    expect(m.lines.join('\n')).toContain('$ apt-get install -y chromium fonts-noto-cjk');
  });

  it('not root: one message naming the exact command, and a failure', () => {
    const m = fakeMachine(['chromium', 'pgbouncer']);
    const result = ensureSystemPackages(m.reqs, { isRoot: false, run: m.run, say: m.say });
    expect(result.ok).toBe(false);
    expect(m.calls).toEqual([]);
    expect(m.lines).toHaveLength(1);
    expect(result.message).toContain('sudo apt-get update && apt-get install -y chromium pgbouncer');
  });

  it('a failing apt-get, or a package still missing afterwards, is a failure', () => {
    const failing = fakeMachine(['chromium']);
    expect(ensureSystemPackages(failing.reqs, { isRoot: true, run: () => 100, say: failing.say }).ok).toBe(false);
    const m = fakeMachine(['chromium']);
    const noop = (c: string, a: string[], e: Record<string, string>) => {
      m.calls.push({ command: c, args: a, env: e });
      return 0;
    };
    const result = ensureSystemPackages(m.reqs, { isRoot: true, run: noop, say: m.say });
    expect(result.ok).toBe(false);
    expect(result.message).toContain('still missing: chromium');
  });

  it('checks the real paths the suites use', () => {
    expect(testRequirements().map((r) => r.pkg)).toEqual(['chromium', 'fonts-noto-cjk', 'pgbouncer']);
    expect(firstExisting(['/nonexistent/chromium', '/nonexistent/two'])).toBeUndefined();
  });
});
