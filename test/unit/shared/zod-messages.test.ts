import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { fieldErrorsFromZod } from '../../../shared/errors';
import { ListRequestsQuerySchema } from '../../../shared/domain/api';
import { AuditQuerySchema } from '../../../shared/domain/audit';

const errorsOf = (schema: z.ZodType, input: unknown) => {
  const result = schema.safeParse(input);
  assert.equal(result.success, false, 'the input must be refused');
  return Object.fromEntries(fieldErrorsFromZod(result.error!).map((f) => [f.path, f.message]));
};

describe('friendly field errors instead of zod defaults (issue 13)', () => {
  test('a union of enums and literals lists every allowed value (request list --state)', () => {
    const errors = errorsOf(ListRequestsQuerySchema, { state: 'bogus' });
    assert.equal(errors.state, 'must be one of: pending, needs_info, active, denied, cancelled, lapsed, expired, revoked, open');
  });

  test('enums, numbers, lengths, required fields and unknown keys read as plain English', () => {
    const schema = z.strictObject({
      format: z.enum(['jsonl', 'csv', 'json']),
      limit: z.coerce.number().int().min(1).max(5000),
      name: z.string().min(3).max(5),
      tags: z.array(z.string()).min(1).max(1),
      required: z.string(),
      flag: z.boolean(),
      empty: z.string().min(1),
    });
    const errors = errorsOf(schema, { format: 'xml', limit: 'abc', name: 'ab', tags: ['a', 'b'], flag: 'yes', empty: '', extra: 1 });
    assert.deepEqual(errors, {
      format: 'must be one of: jsonl, csv, json',
      limit: 'must be a number',
      name: 'must be at least 3 characters',
      tags: 'must be at most 1 item',
      required: 'is required',
      flag: 'must be true or false (got a string)',
      empty: 'must not be empty',
      extra: 'unknown field "extra"',
    });
    assert.deepEqual(errorsOf(schema, { format: 'csv', limit: 9000, name: 'abcdefg', tags: [], required: 'x', flag: true, empty: 'x' }), {
      limit: 'must be at most 5000',
      name: 'must be at most 5 characters',
      tags: 'needs at least 1 item',
    });
  });

  test("a schema's own message is kept as written, also inside a union", () => {
    const own = z.string().regex(/^[a-z]+$/, 'lower-case letters only');
    assert.deepEqual(errorsOf(z.object({ a: own }), { a: 'X' }), { a: 'lower-case letters only' });
    // actor: a principal name or the literal "system"; the principal name's own message wins
    assert.deepEqual(errorsOf(AuditQuerySchema, { actor: 'Not A Name!' }), { actor: 'must be 1-64 characters: letters, digits, . _ @ -' });
    const union = z.union([z.string().regex(/^x/, 'starts with x'), z.number().int(), z.literal('none')]);
    assert.deepEqual(errorsOf(z.object({ u: union }), { u: true }), { u: 'must be text (got a boolean), or must be a number (got a boolean), or must be none' });
  });

  test('no message anywhere starts with a zod default opening', () => {
    const schema = z.strictObject({ when: z.iso.datetime(), url: z.url(), n: z.number().multipleOf(5), d: z.literal('x') });
    for (const message of Object.values(errorsOf(schema, { when: 'yesterday', url: 'nope', n: 7, d: 'y' }))) {
      assert.doesNotMatch(message, /^(Invalid|Too (small|big))/, message);
    }
  });
});
