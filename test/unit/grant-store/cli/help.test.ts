import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command } from 'commander';
import { CliContext } from '../../../../grant-store/cli/context';
import { buildProgram, main } from '../../../../grant-store/cli/main';

function capture() {
  let stdout = '';
  let stderr = '';
  return { io: { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t) }, out: () => stdout, err: () => stderr };
}

/** Every command path of the tree, e.g. ['admin', 'token', 'create']. */
function paths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.filter((c) => c.name() !== 'help').flatMap((c) => [[...prefix, c.name()], ...paths(c, [...prefix, c.name()])]);
}

describe('breakglass --help', () => {
  const all = paths(buildProgram(new CliContext(capture().io, {})));

  test('the tree has the verbs of ARCHITECTURE.md', () => {
    const top = new Set(all.filter((p) => p.length === 1).map((p) => p[0]));
    for (const verb of ['serve', 'request', 'check', 'approve', 'deny', 'ask', 'revoke', 'status', 'review', 'keygen', 'ledger', 'admin']) assert.ok(top.has(verb), verb);
    for (const sub of ['admin init', 'admin token create', 'admin approver enroll', 'admin migrate', 'admin policy reload', 'review complete', 'request reply', 'ledger export']) {
      assert.ok(all.some((p) => p.join(' ') === sub), sub);
    }
  });

  for (const path of [[], ...paths(buildProgram(new CliContext(capture().io, {})))]) {
    test(`${['breakglass', ...path].join(' ')} --help exits 0 with an example`, async () => {
      const c = capture();
      assert.equal(await main([...path, '--help'], c.io, {}), 0);
      assert.match(c.out(), /Examples:\n {2}\$ breakglass /);
      assert.equal(c.err(), '');
    });
  }

  test('unknown options and commands exit 2 saying what was wrong', async () => {
    let c = capture();
    assert.equal(await main(['check', '--gate', 'g', '--subject', 'a=b', '--frob'], c.io, {}), 2);
    assert.match(c.err(), /unknown option '--frob'/);
    c = capture();
    assert.equal(await main(['frobnicate'], c.io, {}), 2);
    assert.match(c.err(), /unknown command 'frobnicate'/);
    c = capture();
    assert.equal(await main(['request', '--scope', 'a=b'], c.io, {}), 2);
    assert.match(c.err(), /required option '--gate <id>' not specified/);
  });
});
