import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command } from 'commander';
import { CliContext } from '../../../../grant-store/cli/context';
import { COMMAND_TABLE, modulesFor, verbOf } from '../../../../grant-store/cli/command-table';
import { buildProgram, createRootCommand, main } from '../../../../grant-store/cli/main';
import { registerModules } from '../../../../grant-store/cli/command-table';

function capture() {
  let stdout = '';
  let stderr = '';
  return { io: { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t) }, out: () => stdout, err: () => stderr };
}

/** Every command path of the tree, e.g. ['admin', 'token', 'create']. */
function paths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.filter((c) => c.name() !== 'help').flatMap((c) => [[...prefix, c.name()], ...paths(c, [...prefix, c.name()])]);
}

const all = paths(await buildProgram(new CliContext(capture().io, {})));

describe('breakglass --help', () => {

  test('the tree has the verbs of ARCHITECTURE.md', () => {
    const top = new Set(all.filter((p) => p.length === 1).map((p) => p[0]));
    for (const verb of ['serve', 'request', 'check', 'approve', 'deny', 'ask', 'revoke', 'status', 'review', 'keygen', 'ledger', 'admin']) assert.ok(top.has(verb), verb);
    for (const sub of ['admin init', 'admin token create', 'admin approver enroll', 'admin migrate', 'admin policy reload', 'review complete', 'request reply', 'ledger export']) {
      assert.ok(all.some((p) => p.join(' ') === sub), sub);
    }
  });

  for (const path of [[], ...all]) {
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

describe('one verb per command line (command-table.ts)', () => {
  test('every top-level verb is in the table, and loading it alone registers exactly its names', async () => {
    const top = all.filter((p) => p.length === 1).map((p) => p[0] as string);
    const named = COMMAND_TABLE.flatMap((m) => m.names);
    assert.deepEqual([...named].sort(), [...top].sort());
    for (const module of COMMAND_TABLE) {
      const program = createRootCommand(capture().io);
      await registerModules(program, new CliContext(capture().io, {}), [module]);
      assert.deepEqual(program.commands.map((c) => c.name()).sort(), [...module.names].sort());
    }
  });

  test('the verb is found past global options and their values; help, unknown verbs and nothing load all', () => {
    assert.equal(verbOf(['--store', 'http://x', '--json', 'check', '--gate', 'g']), 'check');
    assert.equal(verbOf(['--token', 'check', 'status', 'req_1']), 'status');
    assert.equal(verbOf(['--timeout=2s', 'ledger', 'verify']), 'ledger');
    assert.deepEqual(modulesFor(['check', '--gate', 'g']).map((m) => m.names), [['check']]);
    assert.deepEqual(modulesFor(['deny', 'req_1']).map((m) => m.names), [['approve', 'deny', 'ask', 'revoke']]);
    assert.equal(modulesFor(['--version']).length, 0);
    for (const argv of [[], ['--help'], ['--version', '--help'], ['help', 'check'], ['frobnicate']]) assert.equal(modulesFor(argv), COMMAND_TABLE, argv.join(' '));
  });
});

describe('--json argument errors', () => {
  for (const [argv, path, message] of [
    [['check', '--json', '--subject', 'a=b'], '--gate', /required option '--gate <id>' not specified/],
    [['check', '--gate', 'g', '--subject', 'a=b', '--frob', '--json'], '--frob', /unknown option '--frob'/],
    [['frobnicate', '--json'], 'command', /unknown command 'frobnicate'/],
    [['check', '--json', '--gate'], '--gate', /option '--gate <id>' argument missing/],
    [['status', 'req_1', 'extra', '--json'], '(arguments)', /too many arguments/],
  ] as const) {
    test(`${argv.join(' ')} → {"error": …} on stderr naming ${path}, exit 2`, async () => {
      const c = capture();
      assert.equal(await main([...argv], c.io, {}), 2);
      assert.equal(c.out(), '');
      const body = JSON.parse(c.err()) as { error: { code: string; message: string; fieldErrors: { path: string; message: string }[] } };
      assert.equal(body.error.code, 'invalid_input');
      assert.match(body.error.message, message);
      assert.equal(body.error.fieldErrors[0]?.path, path);
    });
  }
});

