import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as React from 'react';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { KeyBadge } from '../../../../renderer/components/badges';

// tsx compiles renderer files (outside the Node tsconfig) with the classic JSX runtime, which
// calls React.createElement from the global scope.
Object.assign(globalThis, { React });

/**
 * The key badge must not make a claim look like a proof: only an attested key is green; a key
 * that claims hardware without an attestation is amber and says "claimed, not attested"; a
 * software key is neutral. Colours read from the stylesheet the console ships, each pair at
 * least 4.5:1 (WCAG AA for normal text).
 */

const css = readFileSync(new URL('../../../../renderer/styles/app.css', import.meta.url), 'utf8');

/** The value of a custom property or literal colour used in a rule. */
function resolve(value: string): string {
  const v = value.trim();
  const custom = /^var\((--[\w-]+)\)$/.exec(v);
  if (!custom) return v;
  const m = new RegExp(`${custom[1]}:\\s*(#[0-9a-fA-F]{6})`).exec(css);
  assert.ok(m, `custom property ${custom[1]} is defined`);
  return m[1]!;
}

function ruleColours(selector: string): { fg: string; bg: string } {
  const m = new RegExp(`(?:^|\\n)${selector.replace('.', '\\.')}\\s*\\{([^}]*)\\}`).exec(css);
  assert.ok(m, `rule ${selector} in app.css`);
  const body = m[1]!;
  const fg = /(?:^|;)\s*color:\s*([^;]+)/.exec(body)?.[1];
  const bg = /background:\s*([^;]+)/.exec(body)?.[1];
  assert.ok(fg && bg, `${selector} sets color and background`);
  return { fg: resolve(fg), bg: resolve(bg) };
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** Hue family of a colour: which channel dominates (green for the success colour). */
function isGreen(hex: string): boolean {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return g! > r! && g! > b!;
}

const badge = (props: Parameters<typeof KeyBadge>[0]) => renderToStaticMarkup(createElement(KeyBadge, props));
const className = (html: string) => /class="badge ([\w-]+)"/.exec(html)?.[1];

describe('key badge: attested positive, claimed a caution, software neutral', () => {
  test('each kind gets its own class and words', () => {
    const attested = badge({ hardwareBacked: true, attestation: { kind: 'tpm', serial: '0de0a1' } });
    const claimed = badge({ hardwareBacked: true, attestation: null });
    const software = badge({ hardwareBacked: false });
    assert.equal(className(attested), 'hw');
    assert.match(attested, /hardware key · attested \(tpm, serial 0de0a1\)/);
    assert.equal(className(claimed), 'hw-claimed');
    assert.match(claimed, /claimed, not attested/);
    assert.doesNotMatch(claimed, /class="badge hw"/);
    assert.match(claimed, /aria-label="hardware key claimed, not attested: no attestation was verified"/);
    assert.equal(className(software), 'sw');
  });

  test('a TPM key the store has not verified yet is a caution that says so; once attested it is the green one', () => {
    const pending = badge({ hardwareBacked: true, kind: 'tpm', attestation: null });
    assert.equal(className(pending), 'hw-claimed');
    assert.match(pending, />TPM key · not attested by the store yet</);
    const attested = badge({ hardwareBacked: true, kind: 'tpm', attestation: { kind: 'tpm', serial: 'c0501e7a' } });
    assert.equal(className(attested), 'hw');
    assert.match(attested, /hardware key · attested \(tpm, serial c0501e7a\)/);
  });

  test('only the attested badge is green; every badge has at least 4.5:1 contrast', () => {
    const attested = ruleColours('.hw');
    const claimed = ruleColours('.hw-claimed');
    const software = ruleColours('.sw');
    assert.ok(isGreen(attested.fg), `attested is the positive colour (${attested.fg})`);
    assert.ok(!isGreen(claimed.fg) && !isGreen(claimed.bg), `claimed is not green (${claimed.fg} on ${claimed.bg})`);
    assert.ok(!isGreen(software.fg), `software is neutral (${software.fg})`);
    for (const [name, c] of Object.entries({ attested, claimed, software })) {
      assert.ok(contrast(c.fg, c.bg) >= 4.5, `${name}: ${c.fg} on ${c.bg} is ${contrast(c.fg, c.bg).toFixed(2)}:1`);
    }
  });
});
