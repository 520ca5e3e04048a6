// The sync protocol's HTTP endpoints (docs/protocol.md): routing under /v1/, authentication
// and read authorization, and the answers of GET /v1/info, GET /v1/events, GET /v1/live,
// GET /v1/keys (with a key store) and POST /v1/commands.
import {
  HttpError, badRequest, integerParam, onlyParams, readJsonObject, sendJson, withoutParam,
} from './http.js';
import { PROTOCOL_VERSION, ZERO_HASH, wireEvents } from './wire.js';

const VERSION = '__VERSION__';
const PAGE_MAX = 10_000;
const MAX_KEY_SUBJECTS = 1000;

/** True when a request's path belongs to the sync protocol (any `/v<n>/`). */
function isApiPath(target) {
  return target.segments.length > 0 && /^v[0-9]+$/.test(target.segments[0]);
}

/** The hash of the event at `position` (64 zeros for 0, null past the head). */
async function hashAt(engine, position, headPosition) {
  if (position === 0) return ZERO_HASH;
  if (position > headPosition) return null;
  const [event] = await engine.readAll({ fromPosition: position - 1, limit: 1, raw: true });
  return event ? event.hash : null;
}

/**
 * The handler of every `/v<n>/` path: `(req, res, target)`, given the server's engine, its
 * options, the command runner and the live hub.
 */
function syncApi(engine, { authenticate, authorize, maxBodyBytes, maxConnections, log }, { runner, hub, keysServed }) {
  async function principalOf(req, target, live) {
    const token = target.query.get('access_token');
    if (token !== undefined) {
      if (!live) throw badRequest('access_token is accepted on GET /v1/live only; send Authorization: Bearer <token>');
      if (req.headers.authorization !== undefined) throw badRequest('send the token once: either Authorization or access_token');
      req.headers.authorization = `Bearer ${token}`;
      req.url = withoutParam(req.url, 'access_token');
      target.query.delete('access_token');
    }
    if (!authenticate) return null;
    let principal;
    try {
      principal = await authenticate(req);
    } catch (e) {
      log('eventjournal server: authenticate threw (answered 401)', e);
      principal = null;
    }
    if (principal === null || principal === undefined || principal === false) {
      throw new HttpError(401, 'UNAUTHENTICATED', 'missing or invalid credentials', { 'www-authenticate': 'Bearer' });
    }
    return principal;
  }

  async function mayRead(principal) {
    if (authorize && (await authorize(principal, { action: 'read' })) !== true) {
      throw new HttpError(403, 'FORBIDDEN', 'not allowed to read this log');
    }
  }

  async function head() {
    const { headPosition, headHash } = await engine.stats();
    return { headPosition, headHash };
  }

  const routes = {
    info: {
      method: 'GET',
      params: [],
      async answer(req, res) {
        sendJson(res, 200, { protocol: PROTOCOL_VERSION, server: 'eventjournal', version: VERSION, ...(await head()) });
      },
    },
    events: {
      method: 'GET',
      params: ['after', 'limit'],
      async answer(req, res, target) {
        const after = integerParam(target.query.get('after'), 'after', 0);
        const limit = Math.min(PAGE_MAX, integerParam(target.query.get('limit'), 'limit', PAGE_MAX));
        if (limit === 0) throw badRequest('limit must be at least 1');
        const now = await head();
        const count = Math.min(limit, Math.max(0, now.headPosition - after));
        const [afterHash, events] = await Promise.all([
          hashAt(engine, after, now.headPosition),
          count === 0 ? [] : engine.readAll({ fromPosition: after, limit: count, raw: true }),
        ]);
        sendJson(res, 200, { events: wireEvents(events), ...now, afterHash });
      },
    },
    live: {
      method: 'GET',
      params: ['after'],
      async answer(req, res, target) {
        const lastEventId = req.headers['last-event-id'];
        const after = lastEventId !== undefined
          ? integerParam(String(lastEventId).trim(), 'Last-Event-ID', 0)
          : integerParam(target.query.get('after'), 'after', undefined);
        if (hub.size >= maxConnections) {
          throw new HttpError(503, 'BUSY', `the server holds ${maxConnections} live connections; retry later`, { 'retry-after': '5' });
        }
        const now = await head();
        const from = after === undefined ? now.headPosition : after;
        hub.open(req, res, { after: from, hello: { ...now, afterHash: await hashAt(engine, from, now.headPosition) } });
      },
    },
    keys: {
      method: 'GET',
      params: ['subjects'],
      async answer(req, res, target, principal) {
        if (!keysServed) throw new HttpError(404, 'NOT_FOUND', 'this server has no key store (its engine was opened without keys)');
        const list = target.query.get('subjects');
        const subjects = list === undefined || list === '' ? [] : list.split(',');
        if (subjects.length > MAX_KEY_SUBJECTS) throw badRequest(`ask for at most ${MAX_KEY_SUBJECTS} subjects at once`);
        if (subjects.some((s) => s.length === 0 || s.length > 256)) throw badRequest('subjects must be 1 to 256 characters each');
        const allowed = [];
        for (const subject of subjects) {
          if (!authorize || (await authorize(principal, { action: 'read', subject })) === true) allowed.push(subject);
        }
        sendJson(res, 200, await engine.exportKeys(allowed));
      },
    },
    commands: {
      method: 'POST',
      params: [],
      async answer(req, res, target, principal) {
        const body = await readJsonObject(req, maxBodyBytes);
        sendJson(res, 200, await runner.run(principal, body));
      },
    },
  };

  return async function handleApi(req, res, target) {
    const [version, name, ...rest] = target.segments;
    if (version !== `v${PROTOCOL_VERSION}`) {
      throw new HttpError(400, 'PROTOCOL', `this server speaks sync protocol version ${PROTOCOL_VERSION} (paths under /v${PROTOCOL_VERSION}/), not /${version}/`);
    }
    const route = Object.hasOwn(routes, name) && rest.length === 0 ? routes[name] : null;
    if (!route) throw new HttpError(404, 'NOT_FOUND', `no such endpoint: /${target.segments.join('/')}`);
    if (req.method !== route.method) {
      throw new HttpError(405, 'VALIDATION', `${req.method} is not allowed here; use ${route.method}`, { allow: route.method });
    }
    const principal = await principalOf(req, target, name === 'live');
    onlyParams(target.query, route.params);
    if (route.method === 'GET') {
      req.resume(); // a GET's body, if any, is ignored
      await mayRead(principal);
    }
    await route.answer(req, res, target, principal);
  };
}

export { syncApi, isApiPath };
