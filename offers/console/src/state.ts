import { api } from './api.ts';
import { toPublished, type Published } from './shapes.ts';

/**
 * The designer's working copy: the published files plus their edits. Kept in
 * sessionStorage so a reload keeps unpublished work; `reset` drops the edits.
 */
const DRAFT_KEY = 'playpulse.draft';

export interface Draft {
  baseVersion: number;
  files: Record<string, string>;
}

let published: Published | null = null;

export async function loadPublished(): Promise<Published> {
  published = toPublished(await api('GET', '/v1/rules'));
  const v = document.getElementById('version');
  if (v) v.textContent = `published v${published.version}`;
  return published;
}

export function currentPublished(): Published | null {
  return published;
}

export function getDraft(): Draft | null {
  const raw = sessionStorage.getItem(DRAFT_KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Draft;
  } catch {
    return null;
  }
}

export function saveDraft(d: Draft): void {
  sessionStorage.setItem(DRAFT_KEY, JSON.stringify(d));
}

export function resetDraft(): void {
  sessionStorage.removeItem(DRAFT_KEY);
}

/** The draft if there is one, otherwise a fresh copy of the published files. */
export async function workingCopy(): Promise<Draft> {
  const p = published ?? (await loadPublished());
  return getDraft() ?? { baseVersion: p.version, files: { ...p.files } };
}

export function isEdited(d: Draft): boolean {
  if (!published) return false;
  const a = Object.keys(d.files).sort();
  const b = Object.keys(published.files).sort();
  return a.join('\0') !== b.join('\0') || a.some((f) => d.files[f] !== published?.files[f]);
}
