// Type declarations for `eventjournal/server` (Node): the sync server (DESIGN.md §7, the wire
// protocol in the README's "Wire protocol" section).

import type { Engine, JsonObject } from './index.js';

/**
 * The request `authenticate` receives: Node's `http.IncomingMessage` (only these fields are
 * promised). On `GET /v1/live` an `access_token` query parameter has been moved into
 * `headers.authorization` as `Bearer <token>` (and removed from `url`).
 */
export interface SyncRequest {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * What `authorize` is asked: reading the log (all or nothing), reading the data keys of one
 * subject (`GET /v1/keys`, with a key store), or executing one command.
 */
export type AuthorizeRequest =
  | { action: 'read'; subject?: undefined }
  | { action: 'read'; subject: string }
  | { action: 'execute'; streamType: string; streamId: string; command: JsonObject };

export interface SyncServerOptions<P = unknown> {
  /** TCP port; 0 (default) picks a free one (see `SyncServer.port`). */
  port?: number;
  /** Address to bind (default `'127.0.0.1'`). Any non-loopback address needs `authenticate`. */
  host?: string;
  /**
   * Who is calling: a principal (any value), or `null` for HTTP 401 `UNAUTHENTICATED`. May be
   * async; a throw is a 401 too (and is logged). Absent: every request is anonymous (`null`).
   */
  authenticate?: (request: SyncRequest) => P | null | undefined | Promise<P | null | undefined>;
  /**
   * May `principal` do this? Only `true` allows. A refused read is HTTP 403 `FORBIDDEN`; a
   * refused command is that command's `ForbiddenError` result. Absent: everything is allowed.
   */
  authorize?: (principal: P, request: AuthorizeRequest) => boolean | Promise<boolean>;
  /** Largest request body (default 4 MiB): HTTP 413 above. */
  maxBodyBytes?: number;
  /** Most commands in one `POST /v1/commands` (default 1,000): HTTP 413 above. */
  maxBatchCommands?: number;
  /** Most live connections at once (default 10,000): HTTP 503 `BUSY` above. */
  maxConnections?: number;
  /** A live client whose socket does not drain for this long is disconnected (default 30,000 ms). */
  stallTimeoutMs?: number;
  /** How long `close()` waits for requests under way (default 5,000 ms). */
  closeTimeoutMs?: number;
  /** How many refused commandIds the server remembers to answer retries the same (default 100,000). */
  refusalCacheSize?: number;
  /**
   * Static folders by URL prefix, e.g. `{ '/': 'www', '/pkg/': 'pkg' }` (GET and HEAD; the
   * longest prefix wins; `/v<n>/` is the protocol's).
   */
  static?: Record<string, string>;
  /** Where the server reports what it cannot answer to anyone (default `console.error`). */
  log?: (message: string, error?: unknown) => void;
}

export interface SyncServer {
  /** E.g. `'http://127.0.0.1:8080'` (no trailing slash). */
  url: string;
  port: number;
  /**
   * Forgets a subject on the server's engine (`engine.forget`: needs a key store), then sends
   * every live client `event: forget` so it deletes the subject's keys too.
   */
  forget(subject: string): Promise<void>;
  /**
   * Stops accepting (new requests get 503 `CLOSED`), lets the requests under way finish (at
   * most `closeTimeoutMs`), ends the live streams and stops listening. The engine stays open.
   */
  close(): Promise<void>;
}

/**
 * Serves the sync protocol for `engine` over HTTP; resolves once listening.
 * Rejects with a `ValidationError` for a bad option or a non-loopback `host` without
 * `authenticate`, and with Node's error (e.g. `EADDRINUSE`) when it cannot listen.
 *
 * @example
 * import { Engine, sqliteStorage } from 'eventjournal';
 * import { createSyncServer } from 'eventjournal/server';
 *
 * const engine = await Engine.open({ storage: await sqliteStorage('app.db') });
 * const server = await createSyncServer(engine, {
 *   port: 8080,
 *   authenticate: (req) => (req.headers.authorization === 'Bearer s3cret' ? { user: 'ada' } : null),
 *   authorize: (user, { action }) => action === 'read' || user.user === 'ada',
 * });
 * console.log(server.url);
 * // ... later
 * await server.close();
 * await engine.close();
 */
export function createSyncServer<P = unknown>(engine: Engine, options?: SyncServerOptions<P>): Promise<SyncServer>;

/** The sync protocol version this server speaks (paths under `/v1/`). */
export const PROTOCOL_VERSION: 1;
