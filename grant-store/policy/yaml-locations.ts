import type { Document, LineCounter } from 'yaml';

/**
 * 1-based line and column of the YAML node at `path`, or of its nearest existing ancestor when
 * the node is missing (a required field that is absent is reported where its parent starts).
 */
export function locate(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): { line: number; col: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth) as (string | number)[];
    const node = prefix.length === 0 ? doc.contents : doc.getIn(prefix, true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return lineCounter.linePos(range[0]);
  }
  return { line: 1, col: 1 };
}
