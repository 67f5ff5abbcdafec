/**
 * The one CSV writer of the project (audit export over HTTP, `breakglass ledger export --format
 * csv`, `breakglass report --csv`): RFC 4180 with CRLF line ends, plus spreadsheet formula
 * neutralisation, so an export opens cleanly in Excel, LibreOffice or Google Sheets.
 *
 * Formula injection (OWASP "CSV Injection"): a cell whose text begins with = + - @ TAB or CR is
 * evaluated as a formula by spreadsheets, and the ledger holds attacker-chosen text (reasons,
 * comments, scope values). Such cells get a leading single quote, which spreadsheets show as
 * text and which a reader can strip. The cell is then quoted as RFC 4180 requires.
 */

const FORMULA_TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r']);
const NEEDS_QUOTES = /[",\r\n]/;

/** Text of one value: null/undefined as empty, strings as they are, the rest as JSON. */
export function csvText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * One cell, neutralised and quoted. Numbers are written as numbers (a negative number is data,
 * not a formula); only text is neutralised.
 */
export function csvCell(value: unknown): string {
  let text = csvText(value);
  if (typeof value !== 'number' && text.length > 0 && FORMULA_TRIGGERS.has(text[0] as string)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(values: readonly unknown[]): string {
  return values.map(csvCell).join(',');
}

/** The header line of a document with these columns, its CRLF included. */
export function csvHeader(columns: readonly string[]): string {
  return `${csvRow(columns)}\r\n`;
}

/** One record's line (columns in `columns` order), its CRLF included: a document streamed record by record is csvHeader then these. */
export function csvLine<T extends object>(columns: readonly (keyof T & string)[], record: T): string {
  return `${csvRow(columns.map((c) => record[c]))}\r\n`;
}

/** A whole document: the header row, then one row per record (columns in `columns` order), CRLF after each. */
export function toCsv<T extends object>(columns: readonly (keyof T & string)[], records: readonly T[]): string {
  return csvHeader(columns) + records.map((r) => csvLine(columns, r)).join('');
}
