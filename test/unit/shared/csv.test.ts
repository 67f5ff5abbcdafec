import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell, toCsv } from '../../../shared/csv';

/** A strict RFC 4180 reader, to prove what a spreadsheet would read back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
      } else if (ch === '"') {
        quoted = false;
        i += 1;
      } else {
        cell += ch;
        i += 1;
      }
    } else if (ch === '"') {
      assert.equal(cell, '', `a quote may only open a cell (at ${i})`);
      quoted = true;
      i += 1;
    } else if (ch === ',') {
      row.push(cell);
      cell = '';
      i += 1;
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 2;
    } else {
      assert.ok(ch !== '\r' && ch !== '\n', `bare line break outside quotes at ${i}`);
      cell += ch;
      i += 1;
    }
  }
  assert.equal(quoted, false, 'unterminated quote');
  assert.equal(row.length + cell.length, 0, 'the document ends with CRLF');
  return rows;
}

test('RFC 4180 quoting: commas, quotes and line breaks survive a round trip', () => {
  assert.equal(csvCell('plain'), 'plain');
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell('two\nlines'), '"two\nlines"');
  assert.equal(csvCell(null), '');
  assert.equal(csvCell(undefined), '');
  assert.equal(csvCell(42), '42');
  assert.equal(csvCell(true), 'true');
  assert.equal(csvCell({ repo: 'x', n: 1 }), '"{""repo"":""x"",""n"":1}"');
  const records = [
    { seq: 1, reason: 'checkout 500s, "fix" verified\r\nin staging', gate: 'integration' },
    { seq: 2, reason: '', gate: null },
  ];
  const text = toCsv(['seq', 'reason', 'gate'], records);
  assert.deepEqual(parseCsv(text), [
    ['seq', 'reason', 'gate'],
    ['1', 'checkout 500s, "fix" verified\r\nin staging', 'integration'],
    ['2', '', ''],
  ]);
});

test('formula injection: cells starting with = + - @ TAB or CR are neutralised with a single quote', () => {
  assert.equal(csvCell('=HYPERLINK("http://evil","x")'), '"\'=HYPERLINK(""http://evil"",""x"")"');
  assert.equal(csvCell('+1+cmd|calc'), "'+1+cmd|calc");
  assert.equal(csvCell('-2+3'), "'-2+3");
  assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvCell('\t=1'), "'\t=1");
  assert.equal(csvCell('\r=1'), '"\'\r=1"');
  // only the first character matters; numbers are data, not formulas
  assert.equal(csvCell('a=1'), 'a=1');
  assert.equal(csvCell(-5), '-5');
  const rows = parseCsv(toCsv(['reason'], [{ reason: '=cmd|"/c calc"!A1' }, { reason: '@evil' }]));
  assert.deepEqual(rows, [['reason'], ["'=cmd|\"/c calc\"!A1"], ["'@evil"]]);
  for (const [cell] of rows.slice(1)) assert.ok(!/^[=+\-@\t\r]/.test(cell as string), `cell ${cell} would be evaluated`);
});
