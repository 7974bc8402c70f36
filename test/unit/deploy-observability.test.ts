/**
 * The Grafana dashboard and the Prometheus alert rules name metrics; every `playpulse_*`
 * one must be registered by the code (the metrics modules are imported and prom-client's
 * registry read), with the labels the queries group by. Names from outside PlayPulse are
 * a short, explained list. The scrape config reaches each role on the port and path it
 * serves metrics on, and every alert has a runbook line in docs/operations.md.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registry } from '../../lib/metrics.ts';
import '../../lib/kafka.ts';
import '../../edge/metrics.ts';
import '../../processors/metrics.ts';
import '../../offers/engine/metrics.ts';
import { defaultConfig, healthStatus, readRepoFile, readYaml, REPO } from './deploy-support.ts';

/** Series that are not PlayPulse's, and who exports them. */
const EXTERNAL_SERIES: Record<string, string> = {
  up: 'Prometheus, per scrape target',
  haproxy_server_status: "HAProxy's exporter (deploy/compose/haproxy/haproxy.cfg, frontend stats)",
};
/** Labels Prometheus adds to every series it scrapes, or that histograms carry. */
const TARGET_LABELS = new Set(['instance', 'job', 'le']);

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

interface Registered {
  base: string;
  labels: Set<string>;
}

/** Series name → the metric that produces it (histograms give _bucket, _sum, _count). */
function registeredSeries(): Map<string, Registered> {
  const out = new Map<string, Registered>();
  for (const metric of registry.getMetricsAsArray()) {
    const m = metric as unknown as { name: string; labelNames?: string[]; type?: string };
    const entry = { base: m.name, labels: new Set(m.labelNames ?? []) };
    out.set(m.name, entry);
    for (const suffix of ['_bucket', '_sum', '_count']) out.set(`${m.name}${suffix}`, entry);
  }
  return out;
}

/** Metric names and grouping labels of one PromQL expression. */
function promqlNames(expr: string): { metrics: string[]; groupLabels: string[] } {
  const groupLabels = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => (m[1] as string).split(',').map((l) => l.trim()).filter(Boolean));
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, '');
  const metrics = [...stripped.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)]
    .filter((m) => m[2] === undefined && !PROMQL_WORDS.has((m[1] as string).toLowerCase()))
    .map((m) => m[1] as string);
  return { metrics, groupLabels };
}

/** `'playpulse_…'` names passed to counter/gauge/histogram in the code (tests excluded). */
function metricNamesInSource(): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts') && !path.endsWith('.test.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/\b(?:counter|gauge|histogram)(?:<[^>]*>)?\(\s*'(playpulse_[a-z0-9_]+)'/g)) {
          found.set(m[1] as string, relative(REPO, path));
        }
      }
    }
  };
  for (const dir of ['lib', 'edge', 'processors', 'offers']) walk(join(REPO, dir));
  return found;
}

const series = registeredSeries();
const dashboard = JSON.parse(readRepoFile('deploy/compose/grafana/dashboards/playpulse.json')) as {
  uid: string;
  panels: { id: number; title: string; datasource: { uid: string }; targets: { expr: string; legendFormat?: string }[] }[];
};
const alerts = readYaml<{ groups: { name: string; rules: { alert: string; expr: string; labels?: Record<string, string> }[] }[] }>(
  'deploy/compose/prometheus/alerts.yml',
);
const rules = alerts.groups.flatMap((g) => g.rules);

function checkExpression(where: string, expr: string): string[] {
  const { metrics, groupLabels } = promqlNames(expr);
  expect(metrics.length, `${where}: no metric in ${expr}`).toBeGreaterThan(0);
  const labels = new Set(TARGET_LABELS);
  for (const name of metrics) {
    if (name.startsWith('playpulse_')) {
      const reg = series.get(name);
      expect(reg, `${where}: ${name} is not registered by the code`).toBeDefined();
      for (const l of reg?.labels ?? []) labels.add(l);
    } else {
      expect(EXTERNAL_SERIES[name], `${where}: ${name} is neither PlayPulse's nor a known external series`).toBeDefined();
    }
  }
  if (metrics.every((m) => m.startsWith('playpulse_'))) {
    for (const l of groupLabels) expect(labels.has(l), `${where}: no label ${l} on ${metrics.join(', ')}`).toBe(true);
  }
  return metrics;
}

describe('metric registry', () => {
  it('holds every metric the code registers, so the checks below see them all', () => {
    const inSource = metricNamesInSource();
    expect(inSource.size).toBeGreaterThan(20);
    for (const [name, file] of inSource) expect(series.has(name), `${name} (${file}) is not imported here`).toBe(true);
  });

  it('the expression reader finds names and skips functions, labels and ranges', () => {
    expect(promqlNames('sum by (partition) (rate(playpulse_x_total{code="a b"}[5m])) > 0 and up == 0')).toEqual({
      metrics: ['playpulse_x_total', 'up'],
      groupLabels: ['partition'],
    });
  });
});

describe('Grafana dashboard', () => {
  it('uses the provisioned data source', () => {
    const ds = readYaml<{ datasources: { uid: string; url: string }[] }>('deploy/compose/grafana/provisioning/datasources/prometheus.yml');
    const uids = new Set(ds.datasources.map((d) => d.uid));
    for (const p of dashboard.panels) expect(uids.has(p.datasource.uid), p.title).toBe(true);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });

  it('names only metrics the code registers, grouped by labels they have', () => {
    for (const p of dashboard.panels) for (const t of p.targets) checkExpression(`panel "${p.title}"`, t.expr);
  });

  it('shows what an operator watches', () => {
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => promqlNames(t.expr).metrics)).map((m) => series.get(m)?.base ?? m));
    for (const m of [
      'playpulse_edge_connections',
      'playpulse_edge_events_received_total',
      'playpulse_processor_events_applied_total',
      'playpulse_processor_consumer_lag',
      'playpulse_edge_ack_latency_seconds',
      'playpulse_offers_decision_seconds',
      'playpulse_offers_decisions_total',
      'playpulse_offers_delivered_total',
      'playpulse_edge_offers_delivered_total',
      'playpulse_processor_dead_letters_total',
      'playpulse_processor_redis_retries_total',
      'playpulse_edge_produce_failures_total',
      'playpulse_kafka_producer_replacements_total',
    ]) {
      expect(used.has(m), `dashboard lacks ${m}`).toBe(true);
    }
  });
});

describe('Prometheus alert rules', () => {
  it('name only metrics the code registers, grouped by labels they have', () => {
    expect(rules.length).toBeGreaterThan(5);
    for (const r of rules) checkExpression(`alert ${r.alert}`, r.expr);
  });

  it('cover lag, dead letters, ack p99 and readiness flapping', () => {
    const exprs = rules.map((r) => r.expr).join('\n');
    expect(exprs).toContain('playpulse_processor_consumer_lag');
    expect(exprs).toContain('playpulse_processor_dead_letters_total');
    expect(exprs).toMatch(/histogram_quantile\(0\.99,[^\n]*playpulse_edge_ack_latency_seconds_bucket/);
    expect(exprs).toMatch(/changes\(haproxy_server_status/);
  });

  it('each has a severity and a runbook line in docs/operations.md', () => {
    const doc = readRepoFile('docs/operations.md');
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const r of rules) {
      expect(['page', 'warn']).toContain(r.labels?.severity);
      expect(new RegExp(`^\\| \`${r.alert}\` \\|`, 'm').test(doc), `no runbook line for ${r.alert}`).toBe(true);
    }
  });
});

describe('Prometheus scrape config', () => {
  const prom = readYaml<{
    rule_files: string[];
    scrape_configs: { job_name: string; metrics_path: string; static_configs?: { targets: string[] }[]; dns_sd_configs?: { port: number }[] }[];
  }>('deploy/compose/prometheus/prometheus.yml');
  const config = defaultConfig();

  it('reaches each role where it serves /metrics', async () => {
    const portOf: Record<string, number> = { edge: config.edgePort, processors: config.healthPort, offers: config.healthPort };
    for (const [job, port] of Object.entries(portOf)) {
      const sc = prom.scrape_configs.find((s) => s.job_name === job);
      expect(sc, job).toBeDefined();
      expect(await healthStatus(sc?.metrics_path ?? '')).toBe(200);
      const ports = [...(sc?.static_configs ?? []).flatMap((s) => s.targets.map((t) => Number(t.split(':')[1]))), ...(sc?.dns_sd_configs ?? []).map((d) => d.port)];
      expect(ports.length).toBeGreaterThan(0);
      for (const p of ports) expect(p, job).toBe(port);
    }
  });

  it('loads the alert rules file the compose file mounts', () => {
    const compose = readRepoFile('deploy/compose/docker-compose.yml');
    for (const f of prom.rule_files) expect(compose).toContain(`./prometheus/alerts.yml:${f}:ro`);
  });
});
