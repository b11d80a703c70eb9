// Plain-text tables for people; `--json` output never goes through here.

export interface Column<Row> {
  header: string;
  /** A field of the row, or a function of it. */
  get: keyof Row | ((row: Row) => unknown);
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) return value.map(cell).join(',');
  return String(value);
}

/** Left-aligned columns two spaces apart, a header line, trailing spaces trimmed. */
export function formatTable<Row>(rows: readonly Row[], columns: ReadonlyArray<Column<Row>>): string {
  const cells = rows.map((row) =>
    columns.map((column) => cell(typeof column.get === 'function' ? column.get(row) : row[column.get])),
  );
  const header = columns.map((column) => column.header);
  const widths = header.map((text, i) => Math.max(text.length, ...cells.map((line) => line[i].length)));
  const render = (line: string[]) => line.map((text, i) => text.padEnd(widths[i])).join('  ').trimEnd();
  return [render(header), ...cells.map(render)].join('\n');
}
