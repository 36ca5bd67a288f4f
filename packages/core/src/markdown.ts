/** A column of a Markdown table: numeric columns are right-aligned. */
export interface MarkdownColumn {
  name: string;
  numeric: boolean;
}

/** A GitHub-flavoured Markdown table of already formatted cells (pipes inside cells escaped), newline-terminated. */
export function markdownTable(columns: MarkdownColumn[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    line(columns.map((c) => c.name)),
    line(columns.map((c) => (c.numeric ? '---:' : '---'))),
    ...rows.map((cells) => line(cells.map((cell) => cell.replaceAll('|', '\\|')))),
  ];
  return lines.join('\n') + '\n';
}
