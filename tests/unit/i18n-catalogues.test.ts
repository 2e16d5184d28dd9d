import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const keys = (node: object, prefix = ''): string[] =>
  Object.entries(node).flatMap(([k, v]) => (typeof v === 'object' && v ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));

it('both message catalogues have exactly the same keys', () => {
  const en = keys(JSON.parse(readFileSync('messages/en.json', 'utf8'))).sort();
  const zh = keys(JSON.parse(readFileSync('messages/zh-CN.json', 'utf8'))).sort();
  expect(en.length).toBeGreaterThan(20);
  expect(zh).toEqual(en);
});
