import pg from 'pg';
import { PgStore } from '../../../grant-store/storage/postgres/pg-store';
import type { Store } from '../../../grant-store/storage/store';
import { createTempDatabase } from './pg-temp-database';
import { storeConformanceSuite } from './store-conformance';

storeConformanceSuite({
  name: 'postgres',
  async create() {
    const db = await createTempDatabase('bg_conformance');
    const store = await PgStore.open({ databaseUrl: db.url });
    const peers: Store[] = [];
    return {
      store,
      // A second PgStore on the same database: what another grant-store instance holds.
      async openPeer() {
        const peer = await PgStore.open({ databaseUrl: db.url });
        peers.push(peer);
        return peer;
      },
      async rawExec(sql: string) {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          await client.query(sql);
        } finally {
          await client.end();
        }
      },
      async destroy() {
        await Promise.all([store, ...peers].map((s) => s.close()));
        await db.drop();
      },
    };
  },
});
