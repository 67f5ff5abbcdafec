import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { missingSoftwareTpmManufactureCommands } from '../../../shared/node/tpm/software-tpm';

/**
 * `npm start` as a newcomer meets it: the demo store starts on a fresh data dir, prints tokens
 * and a walkthrough, and every line of that walkthrough works when pasted into a shell. Then it
 * stops on Ctrl-C (SIGINT) and a second start reuses the demo data.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** First start compiles the store with tsx and seeds the demo: allow for a loaded machine. */
const START_TIMEOUT_MS = 60_000;
const READY_LINE = 'Ctrl-C stops the demo.';

interface Demo {
  child: ChildProcess;
  out: () => string;
  ready: Promise<void>;
}

function startDemo(demoDir: string): Demo {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BREAKGLASS_')) env[k] = v;
  const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: ROOT, env: { ...env, BREAKGLASS_DEMO_DIR: demoDir, BREAKGLASS_DEMO_PORT: '0', BREAKGLASS_CONSOLE_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not get ready in ${START_TIMEOUT_MS} ms:\n${out}`)), START_TIMEOUT_MS);
    child.stdout!.on('data', () => {
      if (out.includes(READY_LINE)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${out}`));
    });
  });
  return { child, out: () => out, ready };
}

async function stop(demo: Demo | undefined): Promise<number | null> {
  if (!demo || demo.child.exitCode !== null || demo.child.signalCode !== null) return demo?.child.exitCode ?? null;
  const exited = once(demo.child, 'exit');
  demo.child.kill('SIGINT');
  const [code] = (await exited) as [number | null];
  return code;
}

describe('npm start (scripts/start.mjs)', { concurrency: false }, () => {
  let tmp: string;
  let demo: Demo | undefined;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'breakglass-demo-'));
  });

  after(async () => {
    await stop(demo);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('first start initialises the demo dir and prints a walkthrough that works as pasted', async () => {
    demo = startDemo(join(tmp, 'demo'));
    await demo.ready;
    const out = demo.out();
    assert.match(out, /Breakglass grant store \(demo\) on http:\/\/127\.0\.0\.1:\d+/);
    for (const who of ['admin', 'alice', 'bob', 'carol', 'erin', 'ci-gate']) assert.match(out, new RegExp(`\\n  ${who} +bgt_`));

    const lines = out.split('\n');
    const from = lines.findIndex((l) => l.trim().startsWith('export BREAKGLASS_STORE='));
    const to = lines.findIndex((l) => l.includes('ledger export --format csv'));
    assert.ok(from > 0 && to > from, 'the walkthrough is printed');
    const script = join(tmp, 'walkthrough.sh');
    await writeFile(script, `${lines.slice(from, to + 1).map((l) => l.trim()).join('\n')}\n`);
    const shell = spawn('bash', [script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    shell.stdout.on('data', (c: Buffer) => (text += c.toString()));
    shell.stderr.on('data', (c: Buffer) => (text += c.toString()));
    await once(shell, 'close');

    assert.match(text, /BLOCKED by gate container-signing/, text);
    assert.match(text, /^req_[0-9a-z]+$/m, 'the request id is captured in $REQ');
    assert.match(text, /needs_info/);
    assert.match(text, /bypass byp_\w+ is ACTIVE/);
    assert.match(text, /WARN: gate container-signing/);
    // Where swtpm is installed the critical-tier approvals are signed with the demo's TPM keys,
    // attested through the one demo TPM's endorsement key (the serial is its EK certificate's).
    if (missingSoftwareTpmManufactureCommands().length === 0) {
      assert.match(out, /attested through its endorsement key \(credential activation\)/);
      assert.match(text, /approvals: 2\/2 \(bob \[attested \(tpm, serial ([0-9a-f]+)\)\], carol \[attested \(tpm, serial \1\)\]\)/);
    }
    else assert.match(text, /approvals: 2\/2 \(bob \[software\], carol \[software\]\)/);
    assert.match(text, /Revoked req_\w+ \(state: revoked\)/);
    assert.match(text, /review_open/);
    assert.match(text, /^seq,time,type,actor,actorRole,target,gate,reason,incidentRef,approver,expiresAt,sourceAddress,data\r?$/m);
    assert.match(text, /,review_opened,system,system,req_/);
    assert.doesNotMatch(text, /^error:/m, 'no command failed');
  });

  test('Ctrl-C stops it cleanly; the next start reuses the demo data and tokens', async () => {
    const firstOut = demo!.out();
    const aliceToken = /\n {2}alice +(bgt_\S+)/.exec(firstOut)?.[1];
    assert.equal(await stop(demo), 0);
    assert.match(demo!.out(), /SIGINT: stopping/);

    demo = startDemo(join(tmp, 'demo'));
    await demo.ready;
    assert.equal(/\n {2}alice +(bgt_\S+)/.exec(demo.out())?.[1], aliceToken, 'same demo tokens on the second start');
    assert.equal(await stop(demo), 0);
  });
});
