/** A unified-style line diff (`---`/`+++` headers, `@@` hunks, 3 lines of context). */
export function unifiedDiff(oldName: string, newName: string, oldText: string, newText: string, context = 3): string {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  const ops = diffLines(a, b);
  if (ops.every((o) => o.kind === ' ')) return '';
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  let i = 0;
  while (i < ops.length) {
    if (ops[i]?.kind === ' ') {
      i++;
      continue;
    }
    let start = Math.max(0, i - context);
    let end = i;
    while (end < ops.length) {
      if (ops[end]?.kind !== ' ') {
        end++;
        continue;
      }
      let run = 0;
      while (end + run < ops.length && ops[end + run]?.kind === ' ') run++;
      if (end + run >= ops.length || run > context * 2) {
        end = Math.min(ops.length, end + context);
        break;
      }
      end += run;
    }
    const hunk = ops.slice(start, end);
    const first = ops[start] as Op;
    const oldCount = hunk.filter((o) => o.kind !== '+').length;
    const newCount = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${first.oldLine + (oldCount ? 1 : 0)},${oldCount} +${first.newLine + (newCount ? 1 : 0)},${newCount} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.text}`);
    i = end;
    start = end;
  }
  return `${out.join('\n')}\n`;
}

interface Op {
  readonly kind: ' ' | '-' | '+';
  readonly text: string;
  /** Lines of each side before this one (0-based positions). */
  readonly oldLine: number;
  readonly newLine: number;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** LCS over the lines between the common prefix and suffix; files are at most 256 KiB. */
function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const n = am.length;
  const m = bm.length;
  const ops: Op[] = [];
  let oi = 0;
  let ni = 0;
  const push = (kind: Op['kind'], text: string) => {
    ops.push({ kind, text, oldLine: oi, newLine: ni });
    if (kind !== '+') oi++;
    if (kind !== '-') ni++;
  };
  for (let k = 0; k < pre; k++) push(' ', a[k] ?? '');
  if (n * m > 4_000_000) {
    for (const line of am) push('-', line);
    for (const line of bm) push('+', line);
  } else {
    const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let x = n - 1; x >= 0; x--) {
      for (let y = m - 1; y >= 0; y--) {
        const row = lcs[x] as Uint32Array;
        row[y] = am[x] === bm[y] ? (lcs[x + 1] as Uint32Array)[y + 1]! + 1 : Math.max((lcs[x + 1] as Uint32Array)[y]!, row[y + 1]!);
      }
    }
    let x = 0;
    let y = 0;
    while (x < n && y < m) {
      if (am[x] === bm[y]) {
        push(' ', am[x] ?? '');
        x++;
        y++;
      } else if ((lcs[x + 1] as Uint32Array)[y]! >= (lcs[x] as Uint32Array)[y + 1]!) {
        push('-', am[x++] ?? '');
      } else {
        push('+', bm[y++] ?? '');
      }
    }
    while (x < n) push('-', am[x++] ?? '');
    while (y < m) push('+', bm[y++] ?? '');
  }
  for (let k = a.length - suf; k < a.length; k++) push(' ', a[k] ?? '');
  return ops;
}
