import { describe, expect, it } from 'vitest';
import { diffBundles, formatBundleDiff } from './diff.ts';
import { sampleFiles, sampleWith } from './testing/sample.ts';

describe('diffBundles', () => {
  it('finds no change between equal bundles', () => {
    const d = diffBundles(sampleFiles(), sampleFiles());
    expect(d.changed).toBe(false);
    expect(d.files).toEqual([]);
    expect(formatBundleDiff(d)).toBe('no changes\n');
  });

  it('summarises rules and properties added, removed and changed, with a line diff per file', () => {
    const before = sampleFiles();
    const after = sampleWith('comeback-bundle.yaml', (t) => t.replace('discountPct: 40', 'discountPct: 50'));
    delete after['win-streak-cosmetic.yaml'];
    after['weekend.yaml'] = 'id: weekend\n';
    after['properties.yaml'] = (after['properties.yaml'] as string).replace(/^ {2}best_score:.*\n/m, '').replace('level:          { last', 'level:          { max');
    after['properties.yaml'] += '  kills_total:    { sum: { event: match.end, field: data.kills } }\n';
    after['segments.yaml'] = "segments:\n  whales: 'player.revenue_30d >= 9000'\n  loyal: 'player.sessions_7d >= 5'\n";
    const d = diffBundles(before, after);
    expect(d.summary).toEqual({
      rulesAdded: ['weekend'],
      rulesRemoved: ['win-streak-cosmetic'],
      rulesChanged: ['comeback-bundle'],
      propertiesAdded: ['kills_total'],
      propertiesRemoved: ['best_score'],
      propertiesChanged: ['level'],
      eventsAdded: [],
      eventsRemoved: [],
      eventsChanged: [],
      segmentsAdded: ['loyal'],
      segmentsRemoved: ['newcomers'],
      segmentsChanged: ['whales'],
      policyChanged: false,
    });
    expect(d.files.map((f) => [f.name, f.status])).toEqual([
      ['comeback-bundle.yaml', 'changed'],
      ['properties.yaml', 'changed'],
      ['segments.yaml', 'changed'],
      ['weekend.yaml', 'added'],
      ['win-streak-cosmetic.yaml', 'removed'],
    ]);
    expect(d.files[0]?.diff).toBe(
      [
        '--- a/comeback-bundle.yaml',
        '+++ b/comeback-bundle.yaml',
        '@@ -11,7 +11,7 @@',
        '   sku: bundle.comeback.small',
        '   title: Comeback Bundle',
        '   price: { amount: 199, currency: USD }',
        '-  discountPct: 40',
        '+  discountPct: 50',
        '   ttl: 15m',
        ' limits:',
        '   cooldown: 24h            # per player',
        '',
      ].join('\n'),
    );
    expect(d.files[3]?.diff).toBe('--- /dev/null\n+++ b/weekend.yaml\n@@ -0,0 +1,1 @@\n+id: weekend\n');
    expect(formatBundleDiff(d)).toMatch(/^rules added: weekend\nrules removed: win-streak-cosmetic\nrules changed: comeback-bundle\n/);
    expect(formatBundleDiff(d)).toContain('segments added: loyal\nsegments removed: newcomers\nsegments changed: whales\n');
  });

  it('does not count a comment or formatting edit as a rule change, and survives files that do not parse', () => {
    const d = diffBundles(sampleFiles(), sampleWith('comeback-bundle.yaml', (t) => t.replace('# per player', '# per player, always')));
    expect(d.changed).toBe(true);
    expect(d.summary.rulesChanged).toEqual([]);
    const broken = diffBundles(sampleFiles(), sampleWith('policy.yaml', () => 'fatigue: [\n'));
    expect(broken.summary.policyChanged).toBe(true);
  });

  it('reads only own files: a file named like an Object method is added, not compared with the method (found by fuzzing the admin API)', () => {
    const d = diffBundles({ 'a.yaml': 'id: a\n' }, { 'a.yaml': 'id: a\n', toString: 'id: x\n', constructor: 'id: y\n' });
    expect(d.files.map((f) => [f.name, f.status])).toEqual([
      ['constructor', 'added'],
      ['toString', 'added'],
    ]);
    expect(diffBundles({ toString: 'id: x\n' }, {}).files.map((f) => [f.name, f.status])).toEqual([['toString', 'removed']]);
  });

  it('summarizes files whose YAML alias contains itself instead of throwing (found by fuzzing the admin API: it was a 500)', () => {
    const d = diffBundles({}, { 'policy.yaml': 'a: &a [*a]\n', 'events.yaml': 'events: &e { x: *e }\n', 'r.yaml': 'id: r\nloop: &l [*l]\n' });
    expect(d.summary).toMatchObject({ policyChanged: true, rulesAdded: ['r'], eventsAdded: ['x'] });
    const again = diffBundles({ 'policy.yaml': 'a: &a [*a]\n' }, { 'policy.yaml': 'a: &a [*a]\n' });
    expect(again.changed).toBe(false);
    expect(again.summary.policyChanged).toBe(false);
  });

  it('keeps separate hunks for changes far apart', () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    const edited = text.replace('line 2\n', 'line two\n').replace('line 25\n', 'line twenty-five\n');
    const d = diffBundles({ 'a.yaml': text }, { 'a.yaml': edited });
    expect(d.files[0]?.diff.match(/^@@ .* @@$/gm)).toEqual(['@@ -1,6 +1,6 @@', '@@ -23,7 +23,7 @@']);
  });
});
