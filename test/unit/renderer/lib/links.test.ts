import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedIncidentUrl, incidentLabel } from '../../../../renderer/lib/links';

const HOSTS = ['incidents.example.com'];

describe('incident links', () => {
  test('dense rows show the last path segment of a URL reference', () => {
    assert.equal(incidentLabel('https://incidents.example.com/INC-4240'), 'INC-4240');
    assert.equal(incidentLabel('https://incidents.example.com/'), 'incidents.example.com');
    assert.equal(incidentLabel('INC-1190'), 'INC-1190');
  });

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
