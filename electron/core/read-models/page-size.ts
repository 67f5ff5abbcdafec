import { MAX_PAGE_LIMIT } from '../../../shared/domain/page-cursor';

/**
 * A console list's rows per page (the `option` that set it, for the error): a whole number the
 * store takes as a page's `limit`, from 1 to its largest page.
 */
export function checkedPageSize(option: string, size: number): number {
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_LIMIT) throw new RangeError(`${option} must be a whole number from 1 to ${MAX_PAGE_LIMIT} (the store's largest page), got ${size}`);
  return size;
}
