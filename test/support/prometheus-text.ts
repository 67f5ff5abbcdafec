import assert from 'node:assert/strict';

/** One sample of the Prometheus text exposition format 0.0.4. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(text: string, line: number): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  assert.match(text, /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, `line ${line}: bad value ${text}`);
  return Number(text);
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    assert.ok(eq > i, `line ${line}: label without =`);
    const name = text.slice(i, eq);
    assert.match(name, LABEL_NAME, `line ${line}: bad label name ${name}`);
    assert.equal(text[eq + 1], '"', `line ${line}: label value must be quoted`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      assert.ok(j < text.length, `line ${line}: unterminated label value`);
      const ch = text[j] as string;
      if (ch === '\\') {
        const next = text[j + 1];
        assert.ok(next === '\\' || next === '"' || next === 'n', `line ${line}: bad escape \\${next}`);
        value += next === 'n' ? '\n' : next;
        j += 2;
      } else if (ch === '"') {
        j += 1;
        break;
      } else {
        value += ch;
        j += 1;
      }
    }
    assert.ok(!(name in labels), `line ${line}: duplicate label ${name}`);
    labels[name] = value;
    if (text[j] === ',') j += 1;
    else assert.equal(j, text.length, `line ${line}: junk after label ${name}`);
    i = j;
  }
  return labels;
}

/**
 * A strict reader of the Prometheus text format: every line is HELP, TYPE, a sample or empty;
 * each sample belongs to a family declared by TYPE before it (histogram samples as _bucket,
 * _sum, _count); histogram buckets are cumulative and end with le="+Inf" equal to _count.
 */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const helps = new Map<string, string>();
  const lines = text.split('\n');
  assert.equal(lines.at(-1), '', 'the exposition ends with a newline');
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw === '') return;
    if (raw.startsWith('# HELP ')) {
      const [, name, help] = /^# HELP (\S+) (.*)$/.exec(raw) ?? [];
      assert.ok(name && NAME.test(name), `line ${line}: bad HELP`);
      helps.set(name, help ?? '');
      return;
    }
    if (raw.startsWith('# TYPE ')) {
      const [, name, type] = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(raw) ?? [];
      assert.ok(name && type && NAME.test(name), `line ${line}: bad TYPE: ${raw}`);
      assert.ok(!families.has(name), `line ${line}: family ${name} declared twice`);
      families.set(name, { name, type: type as PromFamily['type'], help: helps.get(name) ?? '', samples: [] });
      return;
    }
    assert.ok(!raw.startsWith('#'), `line ${line}: unknown comment`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(raw);
    assert.ok(m, `line ${line}: not a sample: ${raw}`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const sample: PromSample = { name, labels: labelText ? parseLabels(labelText, line) : {}, value: parseValue(valueText, line) };
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
    assert.ok(family, `line ${line}: sample ${name} has no TYPE`);
    if (family.name !== name) assert.ok(family.type === 'histogram' || family.type === 'summary', `line ${line}: suffixed sample of a ${family.type}`);
    family.samples.push(sample);
  });
  for (const family of families.values()) {
    if (family.type !== 'histogram') continue;
    const series = new Map<string, PromSample[]>();
    for (const s of family.samples.filter((x) => x.name === `${family.name}_bucket`)) {
      const { le, ...rest } = s.labels;
      assert.ok(le !== undefined, `${family.name}: bucket without le`);
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      let previous = 0;
      for (const b of buckets) {
        assert.ok(b.value >= previous, `${family.name}${key}: buckets must be cumulative`);
        previous = b.value;
      }
      const last = buckets.at(-1) as PromSample;
      assert.equal(last.labels.le, '+Inf', `${family.name}${key}: the last bucket is +Inf`);
      const count = family.samples.find((s) => s.name === `${family.name}_count` && JSON.stringify(s.labels) === key);
      assert.equal(count?.value, last.value, `${family.name}${key}: _count equals the +Inf bucket`);
    }
  }
  return families;
}

/** The value of the sample `name` whose labels include `labels`, or undefined. */
export function sampleValue(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families.values()) {
    const hit = family.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    if (hit) return hit.value;
  }
  return undefined;
}
