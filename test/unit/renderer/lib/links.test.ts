import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedIncidentUrl } from '../../../../renderer/lib/links';

const HOSTS = ['incidents.example.com'];

describe('incident links', () => {
  test('an https URL on an allow-listed host becomes a link', () => {
    assert.equal(allowedIncidentUrl('https://incidents.example.com/INC-1190', HOSTS), 'https://incidents.example.com/INC-1190');
  });

  test('everything else stays plain text', () => {
    for (const ref of [
      'INC-1190',
      'http://incidents.example.com/INC-1190',
      'https://incidents.example.com.evil.test/INC-1',
      'https://incidents.example.com@evil.test/INC-1',
      'https://user:pw@incidents.example.com/INC-1',
      'https://incidents.example.com:8443/INC-1',
      'javascript:alert(1)',
      'https://evil.test/?incidents.example.com',
    ]) {
      assert.equal(allowedIncidentUrl(ref, HOSTS), null, ref);
    }
    assert.equal(allowedIncidentUrl(null, HOSTS), null);
    assert.equal(allowedIncidentUrl('https://incidents.example.com/x', []), null);
  });
});
