import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../../../shared/errors';
import { machineLogOrigin, originFromPublicUrl, storeIdFor } from '../../../../grant-store/ledger/log-key';

const KEY = new Uint8Array(32).fill(7);

describe('the default log origin', () => {
  test('a public URL names the log by its host, non-default port and path', () => {
    assert.equal(originFromPublicUrl('https://breakglass.example.com'), 'breakglass.example.com');
    assert.equal(originFromPublicUrl('https://Breakglass.Example.COM/prod/'), 'breakglass.example.com/prod');
    assert.equal(originFromPublicUrl('https://breakglass.example.com:443/a/b'), 'breakglass.example.com/a/b');
    assert.equal(originFromPublicUrl('https://breakglass.example.com:8443'), 'breakglass.example.com:8443');
    assert.equal(originFromPublicUrl('http://10.1.2.3:7410/'), '10.1.2.3:7410');
  });

  test('anything else is bad input naming the field it came from', () => {
    for (const [url, message] of [
      ['breakglass.example.com', /"breakglass\.example\.com" is not a URL/],
      ['ftp://breakglass.example.com', /not a store address/],
      ['https://breakglass.example.com/#x', /not a store address/],
      ['https://bob:secret@breakglass.example.com', /not a store address/],
      ['https://breakglass.example.com/a+b', /does not make a log origin: .*without spaces or "\+"/],
    ] as const) {
      assert.throws(
        () => originFromPublicUrl(url, 'BREAKGLASS_PUBLIC_URL'),
        (error: unknown) => error instanceof AppError && error.code === 'invalid_input' && message.test(error.message) && error.fieldErrors?.[0]?.path === 'BREAKGLASS_PUBLIC_URL',
        url,
      );
    }
  });

  test('without a public URL: this machine\'s host name and the store id; breakglass.local only for a machine without a usable name', () => {
    const id = storeIdFor(KEY);
    assert.match(id, /^[0-9a-f]{16}$/);
    assert.equal(machineLogOrigin('Build-01.Example.COM.', KEY), `build-01.example.com/${id}`);
    assert.equal(machineLogOrigin('vm', KEY), `vm/${id}`);
    assert.equal(machineLogOrigin('localhost', KEY), `breakglass.local/${id}`);
    assert.equal(machineLogOrigin('my laptop', KEY), `breakglass.local/${id}`);
    assert.equal(machineLogOrigin('', KEY), `breakglass.local/${id}`);
    assert.notEqual(machineLogOrigin('vm', new Uint8Array(32).fill(8)), machineLogOrigin('vm', KEY), 'two stores on one machine are two logs');
  });
});
