import { CheckInputSchema, type CheckInput } from '../../shared/domain/check';
import { validCheckInput } from '../../shared/domain/check-fast';
import { parseOrThrow } from '../../shared/errors';

export { validCheckInput };

/**
 * CheckInput validation for the gate-check hot path. zod costs a few microseconds per check
 * (a fresh output object per record, issue arrays, refinements), a sizeable share of a check
 * answered from memory. `validCheckInput` (shared/domain/check-fast.ts, which the CLI's check
 * uses too) accepts only input that CheckInputSchema certainly accepts and returns it as is;
 * anything else (including every invalid input) goes through the schema, so errors and field
 * paths are exactly the schema's. test/unit/grant-store/checks/check-input.test.ts holds the
 * two to the same verdict and the same value over many generated inputs.
 */
export function parseCheckInput(input: unknown): CheckInput {
  return validCheckInput(input) ?? parseOrThrow(CheckInputSchema, input, 'check');
}
