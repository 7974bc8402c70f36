/**
 * The peer edge of the bench: a minimal WebSocket ingest gateway built the way most Node
 * teams would build one: the `ws` server, jose for the token, msgpackr, and one awaited
 * kafkajs `producer.send` per frame before the ack. Same producer settings as ours
 * (lib/kafka.ts createDurableProducer, acks from all in-sync replicas, idempotent), same
 * record format and topic (with the upgrade's `stream` and each event's `seq`), same token contract. It takes events and acks them; it does not
 * deliver offers. Only the bench starts it.
 *
 *   node --import tsx load/peers/ws-edge.ts   (EDGE_PORT, KAFKA_BROKERS, PLAYPULSE_TOPIC_PREFIX, PLAYPULSE_AUTH_SECRET)
 */
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { jwtVerify } from 'jose';
import { Packr, Unpackr } from 'msgpackr';
import { WebSocketServer, type WebSocket } from 'ws';
import { loadConfig } from '../../lib/config.ts';
import { createDurableProducer, createKafka } from '../../lib/kafka.ts';
import { registry } from '../../lib/metrics.ts';
import { encodeRecord, recordHeaders, type EventRecord } from '../../protocol/record.ts';
import { PlayPulseError } from '../../lib/errors.ts';

const config = loadConfig();
if (!config.kafkaBrokers) throw new PlayPulseError('CONFIG_INVALID', 'KAFKA_BROKERS must be set for the peer edge');
const key = new TextEncoder().encode(config.authSecret);
const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const producer = createDurableProducer(createKafka(config.kafkaBrokers, 'ws-peer'));
await producer.connect();

interface ClientEvent {
  id: string;
  type: string;
  ts?: number;
  data?: Record<string, unknown>;
  seq?: number;
}

const server = createServer((req, res) => {
  if (req.url === '/metrics') {
    registry.metrics().then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body));
  } else if (req.url === '/healthz' || req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  } else {
    res.writeHead(404).end();
  }
});
const wss = new WebSocketServer({ noServer: true, maxPayload: config.edge.maxPayloadBytes });

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url ?? '/', 'http://peer');
  const token = url.searchParams.get('token') ?? '';
  const stream = url.searchParams.get('stream') ?? undefined;
  if (url.pathname !== '/v1/play') {
    socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    return;
  }
  jwtVerify(token, key, { algorithms: ['HS256'] }).then(
    ({ payload }) => {
      // programmer error: internal sentinel, answered by the rejection handler below
      if (typeof payload.sub !== 'string') throw new Error('no sub');
      const player = payload.sub;
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, player, stream));
    },
    () => socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n'),
  );
});

function onConnection(ws: WebSocket, player: string, stream: string | undefined): void {
  const session = randomUUID();
  const send = (m: unknown) => ws.send(packr.pack(m));
  send({ t: 'hello', player, session, serverTime: Date.now() });
  ws.on('message', async (data: Buffer) => {
    let msg: { t?: string; events?: ClientEvent[]; n?: unknown } & Partial<ClientEvent>;
    try {
      msg = unpackr.unpack(data);
    } catch {
      send({ t: 'err', code: 'bad_frame', message: 'not MessagePack' });
      return;
    }
    if (msg.t === 'ping') return send({ t: 'pong', n: msg.n });
    const events: ClientEvent[] = msg.t === 'evs' && Array.isArray(msg.events) ? msg.events : msg.t === 'ev' ? [msg as ClientEvent] : [];
    if (events.length === 0) return send({ t: 'err', code: 'bad_frame', message: 'unknown frame' });
    const recvAt = Date.now();
    const messages = events.map((e) => {
      const record: EventRecord = { v: 1, player, id: e.id, type: e.type, ts: e.ts, data: e.data, recvAt, edge: 'ws-peer', session };
      if (stream !== undefined && typeof e.seq === 'number') {
        record.stream = stream;
        record.seq = e.seq;
      }
      return { key: player, value: encodeRecord(record), headers: recordHeaders(record) };
    });
    try {
      await producer.send({ topic: config.topics.events, acks: -1, messages });
      send({ t: 'ack', ids: events.map((e) => e.id) });
    } catch {
      send({ t: 'err', code: 'unavailable', message: 'Kafka cannot take events now' });
    }
  });
}

server.listen(config.edgePort, '0.0.0.0', () => {
  process.stdout.write(`ws peer edge listening on ${config.edgePort}\n`);
});

const stop = () => {
  wss.clients.forEach((c) => c.terminate());
  server.close();
  void producer.disconnect().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
