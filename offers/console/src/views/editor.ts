import { api, ApiError } from '../api.ts';
import { h, clear, debounce } from '../dom.ts';
import { toDiagnostics, type Diagnostic } from '../shapes.ts';
import { currentPublished, isEdited, loadPublished, resetDraft, saveDraft, workingCopy, type Draft } from '../state.ts';
import { ruleSummaries } from '../summary.ts';

const VALIDATE_DEBOUNCE_MS = 300;

/**
 * The YAML editor over the working copy. Every keystroke re-validates the whole draft
 * (debounced) with POST /v1/rules/validate — the compiler the CLI uses — and marks the
 * lines of the current file that have findings.
 */
export async function editorView(fileParam: string | null): Promise<HTMLElement> {
  await loadPublished();
  const draft = await workingCopy();
  const names = Object.keys(draft.files).sort();
  const file = fileParam && draft.files[fileParam] !== undefined ? fileParam : (ruleSummaries(draft.files)[0]?.file ?? names[0] ?? '');
  let diagnostics: Diagnostic[] = [];
  let seq = 0;

  const fileList = h('div', { class: 'files' });
  const gutter = h('pre', { class: 'gutter', 'aria-hidden': 'true' });
  const source = h('textarea', { class: 'src', id: 'source', spellcheck: 'false', autocomplete: 'off', wrap: 'off', 'aria-label': `YAML of ${file}` });
  source.value = draft.files[file] ?? '';
  const diagList = h('ul', { class: 'diags', id: 'diagnostics' });
  const status = h('div', { class: 'status', id: 'validation-status' });
  const output = h('div', { id: 'editor-output' });

  const renderFiles = () => {
    clear(fileList);
    const bad = new Set(diagnostics.filter((d) => d.severity === 'error').map((d) => d.file));
    for (const name of names) {
      const cls = [name === file ? 'active' : '', bad.has(name) ? 'has-error' : ''].join(' ').trim();
      fileList.appendChild(h('a', { href: `#/editor/${encodeURIComponent(name)}`, class: cls }, name));
    }
  };

  const renderGutter = () => {
    const lines = source.value.split('\n').length;
    const marks = new Map<number, Diagnostic>();
    for (const d of diagnostics) if (d.file === file && (!marks.has(d.line) || d.severity === 'error')) marks.set(d.line, d);
    clear(gutter);
    for (let i = 1; i <= lines; i++) {
      const d = marks.get(i);
      gutter.appendChild(d ? h('span', { class: d.severity === 'error' ? 'err' : 'wrn', title: d.message, 'data-line': i }, String(i)) : document.createTextNode(String(i)));
      gutter.appendChild(document.createTextNode('\n'));
    }
    source.rows = lines + 1;
  };

  const renderDiagnostics = () => {
    clear(diagList);
    const mine = diagnostics.filter((d) => d.file === file);
    const others = diagnostics.filter((d) => d.file !== file);
    for (const d of [...mine, ...others]) {
      diagList.appendChild(
        h(
          'li',
          { class: d.severity, 'data-code': d.code },
          h('a', { href: `#/editor/${encodeURIComponent(d.file)}` }, `${d.file}:${d.line}:${d.column}`),
          ` ${d.severity} ${d.code} ${d.message}`,
          d.hint ? h('span', { class: 'hint' }, ` — ${d.hint}`) : null,
        ),
      );
    }
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = diagnostics.length - errors;
    status.className = `status ${errors > 0 ? 'bad' : 'ok'}`;
    status.textContent = errors > 0 ? `${errors} error${errors > 1 ? 's' : ''}, ${warnings} warning${warnings === 1 ? '' : 's'}` : `valid${warnings ? `, ${warnings} warning${warnings > 1 ? 's' : ''}` : ''}`;
    publishBtn.disabled = errors > 0;
    renderFiles();
    renderGutter();
  };

  const validate = async () => {
    const mySeq = ++seq;
    status.className = 'status muted';
    status.textContent = 'checking…';
    try {
      const body = await api<unknown>('POST', '/v1/rules/validate', { files: draft.files });
      if (mySeq === seq) diagnostics = toDiagnostics(body);
    } catch (err) {
      if (mySeq !== seq) return;
      diagnostics = err instanceof ApiError ? toDiagnostics(err.body) : [];
      if (diagnostics.length === 0) {
        status.className = 'status bad';
        status.textContent = `validation failed: ${(err as Error).message}`;
        return;
      }
    }
    if (mySeq === seq) renderDiagnostics();
  };
  const validateSoon = debounce(() => void validate(), VALIDATE_DEBOUNCE_MS);

  source.addEventListener('input', () => {
    draft.files[file] = source.value;
    saveDraft(draft);
    renderGutter();
    validateSoon();
  });
  source.addEventListener('keydown', (e) => {
    if (e.key !== 'Tab') return;
    e.preventDefault();
    source.setRangeText('  ', source.selectionStart, source.selectionEnd, 'end');
    source.dispatchEvent(new Event('input'));
  });

  const publishBtn = h('button', { class: 'primary', id: 'publish', type: 'button' }, 'Publish');
  publishBtn.addEventListener('click', () => void publish(draft, output, status));
  const diffBtn = h('button', { id: 'diff', type: 'button' }, 'Diff against published');
  diffBtn.addEventListener('click', () => void showDiff(draft, output));
  const backtestBtn = h('button', { id: 'backtest-draft', type: 'button' }, 'Backtest this draft');
  backtestBtn.addEventListener('click', () => {
    location.hash = '#/backtest';
  });
  const revertBtn = h('button', { id: 'revert', type: 'button' }, 'Discard edits');
  revertBtn.addEventListener('click', () => {
    resetDraft();
    location.reload();
  });
  const rollbackBtn = h('button', { id: 'rollback', class: 'danger', type: 'button' }, 'Roll back published version');
  rollbackBtn.addEventListener('click', () => void rollback(output));

  renderFiles();
  renderGutter();
  void validate();

  return h(
    'section',
    {},
    h('h1', {}, 'Editor', h('span', { class: 'muted', id: 'draft-state' }, isEdited(draft) ? ` — draft based on v${draft.baseVersion}, edited` : ` — v${draft.baseVersion}`)),
    h(
      'div',
      { class: 'editor' },
      h('aside', {}, fileList),
      h(
        'div',
        {},
        h('div', { class: 'row' }, h('strong', { id: 'file-name' }, file), h('span', { class: 'grow' }), status),
        h('div', { class: 'code' }, gutter, source),
        diagList,
        h('div', { class: 'row' }, publishBtn, diffBtn, backtestBtn, revertBtn, h('span', { class: 'grow' }), rollbackBtn),
        output,
      ),
    ),
  );
}

async function publish(draft: Draft, output: HTMLElement, status: HTMLElement): Promise<void> {
  clear(output);
  try {
    const res = await api<{ version?: number }>('PUT', '/v1/rules', { files: draft.files });
    resetDraft();
    const p = await loadPublished();
    output.appendChild(h('p', { class: 'ok', id: 'publish-result' }, `Published version ${res?.version ?? p.version}.`));
    status.textContent = 'published';
  } catch (err) {
    const diags = err instanceof ApiError ? toDiagnostics(err.body) : [];
    output.appendChild(h('p', { class: 'bad', id: 'publish-result' }, `Not published: ${(err as Error).message}${diags.length ? ` (${diags.length} findings above)` : ''}`));
  }
}

async function rollback(output: HTMLElement): Promise<void> {
  clear(output);
  if (!confirm('Return to the previous published version?')) return;
  try {
    await api('POST', '/v1/rules/rollback', {});
    resetDraft();
    const p = await loadPublished();
    output.appendChild(h('p', { class: 'ok', id: 'publish-result' }, `Rolled back: version ${p.version} is live.`));
  } catch (err) {
    output.appendChild(h('p', { class: 'bad', id: 'publish-result' }, `Rollback refused: ${(err as Error).message}`));
  }
}

async function showDiff(draft: Draft, output: HTMLElement): Promise<void> {
  clear(output);
  const base = currentPublished();
  try {
    const res = await api<{ lines?: string[]; text?: string }>('POST', '/v1/rules/diff', { files: draft.files });
    const lines = res.lines ?? (res.text ?? '').split('\n');
    const pre = h('pre', { class: 'diff', id: 'diff-output' });
    for (const line of lines.length && lines.some((l) => l.trim()) ? lines : [`no changes against version ${base?.version ?? '?'}`]) {
      pre.appendChild(h('span', { class: line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : '' }, line));
      pre.appendChild(document.createTextNode('\n'));
    }
    output.appendChild(h('h2', {}, `Changes against published version ${base?.version ?? '?'}`));
    output.appendChild(pre);
  } catch (err) {
    output.appendChild(h('p', { class: 'bad' }, `Diff failed: ${(err as Error).message}`));
  }
}
