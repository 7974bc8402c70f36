/**
 * A rule file's headline fields read from its top-level YAML keys, for lists. The server's
 * compiler stays the only judge of validity; this only labels files.
 */
export interface RuleSummary {
  file: string;
  id: string;
  description: string;
  mode: 'live' | 'shadow';
  enabled: boolean;
  priority: number | null;
}

export const NON_RULE_FILES = new Set(['events.yaml', 'properties.yaml', 'segments.yaml', 'policy.yaml']);

function topLevel(text: string, key: string): string | null {
  const m = new RegExp(`^${key}:[ \\t]*(.*?)[ \\t]*(?:#.*)?$`, 'm').exec(text);
  if (!m || m[1] === undefined) return null;
  return m[1].replace(/^(['"])(.*)\1$/, '$2');
}

export function summarize(file: string, text: string): RuleSummary {
  const priority = Number(topLevel(text, 'priority'));
  return {
    file,
    id: topLevel(text, 'id') ?? file.replace(/\.ya?ml$/, ''),
    description: topLevel(text, 'description') ?? '',
    mode: topLevel(text, 'mode') === 'shadow' ? 'shadow' : 'live',
    enabled: topLevel(text, 'enabled') !== 'false',
    priority: Number.isFinite(priority) && topLevel(text, 'priority') !== null ? priority : null,
  };
}

export function ruleSummaries(files: Record<string, string>): RuleSummary[] {
  return Object.keys(files)
    .filter((f) => /\.ya?ml$/.test(f) && !NON_RULE_FILES.has(f))
    .sort()
    .map((f) => summarize(f, files[f] ?? ''));
}
