import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../../grant-store/storage/sqlite/sqlite-store';
import { storeConformanceSuite } from './store-conformance';

storeConformanceSuite({
  name: 'sqlite',
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'bg-store-sqlite-'));
    const path = join(dir, 'breakglass.db');
    const store = SqliteStore.open(path);
    return {
      store,
      // One writer per database file: a second grant-store process cannot share it, so the
      // "other instance" is this store (its callers still race through async transactions).
      openPeer: async () => store,
      async rawExec(sql: string) {
        const db = new Database(path);
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
      },
      async destroy() {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
});
