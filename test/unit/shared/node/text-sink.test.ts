import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { FileSink, writeText } from '../../../../shared/node/text-sink';

describe('text sinks: streamed output in bounded memory, files in place only when whole', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-text-sink-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writeText waits while the stream is full and goes on once it drains', async () => {
    const taken: string[] = [];
    let release: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 4,
      decodeStrings: false,
      write(chunk: string, _encoding, done) {
        taken.push(chunk);
        release = done;
      },
    });
    let settled = false;
    const writing = writeText(slow, 'more than four characters').then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'still waiting: the stream has not drained');
    release!();
    await writing;
    assert.deepEqual(taken, ['more than four characters']);
    await writeText(slow, '');
  });

  test('writeText rejects when the stream fails while it waits', async () => {
    const failing = new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, done) {
        setImmediate(() => done(new Error('disk full')));
      },
    });
    failing.on('error', () => undefined);
    await assert.rejects(writeText(failing, 'abc'), /disk full/);
  });

  test('FileSink: nothing at the path until commit, then exactly what was written; the earlier file stays whole until then', async () => {
    const path = join(dir, 'export.jsonl');
    await writeFile(path, 'the earlier export\n');
    const sink = await FileSink.create(path);
    await sink.write('line 1\n');
    await sink.write('line 2\n');
    assert.equal(await readFile(path, 'utf8'), 'the earlier export\n');
    await sink.commit();
    assert.equal(await readFile(path, 'utf8'), 'line 1\nline 2\n');
    await sink.abort();
    assert.equal(await readFile(path, 'utf8'), 'line 1\nline 2\n', 'abort after a commit changes nothing');
    assert.deepEqual(await readdir(dir), ['export.jsonl'], 'no temporary file left');
  });

  test('FileSink.abort removes the temporary file and leaves the target as it was', async () => {
    const path = join(dir, 'kept.csv');
    await writeFile(path, 'kept\n');
    const sink = await FileSink.create(path);
    await sink.write('half an export');
    await sink.abort();
    assert.equal(await readFile(path, 'utf8'), 'kept\n');
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('kept.csv')), ['kept.csv']);
  });

  test('FileSink.create refuses a path that cannot be written, naming it (not its temporary name)', async () => {
    const path = join(dir, 'no-such-dir', 'out.csv');
    await assert.rejects(FileSink.create(path), (error: Error) => {
      assert.match(error.message, /^cannot write .*no-such-dir\/out\.csv \(ENOENT\)/);
      assert.doesNotMatch(error.message, /partial/);
      return true;
    });
  });
});
