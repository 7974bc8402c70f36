import { describe, expect, it } from 'vitest';
import { isPlayPulseError, PlayPulseError } from '../../lib/errors.ts';
import { errorBody, filesOf, parseJsonObject } from './http.ts';
import { openApiDocument } from './openapi.ts';
import { matchRoute, ROUTES } from './routes.ts';
import { adminRoutes } from './server.ts';

describe('route table', () => {
  it('matches templates, decodes parameters, and tells a wrong method from an unknown path', () => {
    const m = matchRoute(ROUTES, 'GET', '/v1/players/p%3A1/decisions');
    expect(m !== null && m !== 'method' ? [m.route.operationId, m.params] : m).toEqual(['getPlayerDecisions', { id: 'p:1' }]);
    expect(matchRoute(ROUTES, 'DELETE', '/v1/rules')).toBe('method');
    expect(matchRoute(ROUTES, 'GET', '/v1/players//decisions')).toBeNull();
    expect(matchRoute(ROUTES, 'GET', '/v1/players/%E0%A4%A/decisions')).toBeNull();
    expect(matchRoute(ROUTES, 'GET', '/v1/unknown')).toBeNull();
  });

  it('has unique method + path and unique operation ids', () => {
    const routes = adminRoutes();
    expect(new Set(routes.map((r) => `${r.method} ${r.path}`)).size).toBe(routes.length);
    expect(new Set(routes.map((r) => r.operationId)).size).toBe(routes.length);
  });

  it('documents every route with its parameters, body and error responses; every schema it names exists', () => {
    const doc = openApiDocument(adminRoutes(), '1') as { paths: Record<string, Record<string, Record<string, unknown>>>; components: { schemas: Record<string, unknown> } };
    const text = JSON.stringify(doc);
    for (const [, name] of text.matchAll(/#\/components\/schemas\/(\w+)/g)) expect(doc.components.schemas, name).toHaveProperty(name as string);
    const player = doc.paths['/v1/players/{id}']?.get as { parameters: { name: string; in: string }[]; responses: Record<string, unknown> };
    expect(player.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path' })]);
    expect(Object.keys(player.responses)).toEqual(expect.arrayContaining(['200', '401', '400']));
    expect(doc.paths['/v1/rules']?.put).toHaveProperty('requestBody');
  });
});

describe('request and error helpers', () => {
  it('parses only JSON objects with a string file map', () => {
    expect(parseJsonObject(Buffer.from('{"files":{"a.yaml":"x: 1"}}'))).toEqual({ files: { 'a.yaml': 'x: 1' } });
    for (const bad of ['', 'nope', '[1]', 'null', '"s"']) {
      let err: unknown = null;
      try {
        parseJsonObject(Buffer.from(bad));
      } catch (e) {
        err = e;
      }
      expect(isPlayPulseError(err, 'ADMIN_BAD_REQUEST'), bad).toBe(true);
    }
    expect(() => filesOf({ files: { 'a.yaml': 1 } })).toThrow(/must be a string/);
    expect(() => filesOf({})).toThrow(/files/);
  });

  it('refuses a file named __proto__, constructor or prototype instead of dropping it', () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const body = JSON.parse(`{"files":{"a.yaml":"id: a\\n","${name}":"id: x\\n"}}`) as Record<string, unknown>;
      let err: unknown;
      try {
        filesOf(body);
      } catch (e) {
        err = e;
      }
      expect(isPlayPulseError(err, 'ADMIN_BAD_REQUEST') && err.message, name).toBe(`"${name}" is not a designer file name`);
    }
    expect(filesOf({ files: { 'a.yaml': 'id: a' } })).toEqual({ 'a.yaml': 'id: a' });
  });

  it('shapes errors without stack traces; unknown errors become ADMIN_INTERNAL', () => {
    expect(errorBody(new PlayPulseError('RULE_TYPE_ERROR', 'bad', { diagnostics: [] }))).toEqual({
      status: 422,
      body: { error: { code: 'RULE_TYPE_ERROR', message: 'bad', details: { diagnostics: [] } } },
    });
    const internal = errorBody(new Error('secret internals at /src/file.ts:1'));
    expect(internal.status).toBe(500);
    expect(internal.body.error.code).toBe('ADMIN_INTERNAL');
    expect(JSON.stringify(internal)).not.toContain('secret');
  });
});
