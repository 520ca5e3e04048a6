// POST /v1/commands: a batch of commands, each authorized, then all submitted to the engine in
// order in one go (so its group commit persists them together), answered in order.
//
// Idempotency (docs/protocol.md): an accepted commandId is the engine's business (it answers
// the first result again, durably); a final refusal is remembered here, in a bounded cache, so
// a retry answers the same refusal. FORBIDDEN depends on the principal, so it is decided again
// on every request and never cached; unknown outcomes (STORAGE, CLOSED, INTERNAL) are never
// cached either: a retry runs the command again, which the engine's idempotency makes safe.
import { HttpError, badRequest } from './http.js';
import { wireError, wireEvents } from './wire.js';

const CACHED_REFUSALS = new Set(['DOMAIN', 'VALIDATION', 'CONCURRENCY', 'NOT_FOUND']);
const MAX_COMMAND_ID = 256;

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The refusals this process gave, oldest evicted first once `capacity` is reached. */
function refusalCache(capacity) {
  const entries = new Map();
  return {
    get: (commandId) => entries.get(commandId),
    remember(commandId, error) {
      if (!CACHED_REFUSALS.has(error.code)) return;
      entries.delete(commandId);
      entries.set(commandId, error);
      if (entries.size > capacity) entries.delete(entries.keys().next().value);
    },
    get size() { return entries.size; },
  };
}

/** Checks the request body's shape; a batch the server cannot answer per command is a 400. */
function batchOf(body, maxBatchCommands) {
  const { commands } = body;
  if (!Array.isArray(commands)) throw badRequest('the body must be { "commands": [ ... ] }');
  if (commands.length > maxBatchCommands) {
    throw new HttpError(413, 'VALIDATION', `a batch holds at most ${maxBatchCommands} commands, got ${commands.length}`);
  }
  commands.forEach((c, i) => {
    if (!isObject(c)) throw badRequest(`commands[${i}] must be an object`);
    const id = c.commandId;
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_COMMAND_ID) {
      throw badRequest(`commands[${i}].commandId must be a string of 1 to ${MAX_COMMAND_ID} characters`);
    }
  });
  return commands;
}

/** Why the server refuses `c` before the engine sees it (the engine checks the rest). */
function shapeError(c) {
  if (typeof c.streamType !== 'string') return 'streamType must be a string';
  if (typeof c.streamId !== 'string') return 'streamId must be a string';
  if (!isObject(c.command)) return 'command must be an object';
  if (c.metadata !== undefined && !isObject(c.metadata)) return 'metadata must be an object';
  return null;
}

const refused = (commandId, error) => ({ commandId, ok: false, error });

/**
 * The command runner of one server: `run(principal, body)` → `{ results }`.
 * `authorize(principal, request)` may be async; only `true` allows.
 */
function commandRunner(engine, { authorize, maxBatchCommands, refusalCacheSize, log }) {
  const refusals = refusalCache(refusalCacheSize);

  // Resolves to a result when the command is answered before the engine, else to null.
  async function precheck(principal, c) {
    const shape = shapeError(c);
    if (shape) {
      const error = { name: 'ValidationError', code: 'VALIDATION', message: shape };
      refusals.remember(c.commandId, error);
      return refused(c.commandId, error);
    }
    if (authorize) {
      const request = { action: 'execute', streamType: c.streamType, streamId: c.streamId, command: c.command };
      let allowed;
      try {
        allowed = await authorize(principal, request);
      } catch (e) {
        log(`eventjournal server: authorize threw for command ${c.commandId}`, e);
        return refused(c.commandId, { name: 'InternalError', code: 'INTERNAL', message: 'authorize failed' });
      }
      if (allowed !== true) {
        return refused(c.commandId, {
          name: 'ForbiddenError', code: 'FORBIDDEN',
          message: `not allowed to execute ${c.command.type === undefined ? 'this command' : JSON.stringify(c.command.type)} on ${c.streamType} ${c.streamId}`,
        });
      }
    }
    return null;
  }

  // Submits synchronously (the engine queues in call order) and returns the answer's promise.
  function submit(c) {
    const known = refusals.get(c.commandId);
    if (known) return Promise.resolve(refused(c.commandId, known));
    // The stored form: what the client verifies the chain over.
    const options = { commandId: c.commandId, raw: true };
    if (c.expectedVersion !== undefined) options.expectedVersion = c.expectedVersion;
    if (c.metadata !== undefined) options.metadata = c.metadata;
    let pending;
    try {
      pending = Promise.resolve(engine.execute(c.streamType, c.streamId, c.command, options));
    } catch (e) {
      pending = Promise.reject(e);
    }
    return pending.then(
      (r) => ({ commandId: c.commandId, ok: true, events: wireEvents(r.events), version: r.version, position: r.position }),
      (e) => {
        const error = wireError(e);
        if (error.code === 'INTERNAL') log(`eventjournal server: command ${c.commandId} failed`, e);
        refusals.remember(c.commandId, error);
        return refused(c.commandId, error);
      },
    );
  }

  return {
    async run(principal, body) {
      const commands = batchOf(body, maxBatchCommands);
      const early = await Promise.all(commands.map((c) => precheck(principal, c)));
      const answers = commands.map((c, i) => early[i] || submit(c));
      return { results: await Promise.all(answers) };
    },
    get rememberedRefusals() { return refusals.size; },
  };
}

export { commandRunner };
