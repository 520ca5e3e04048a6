// @ts-check
// eventjournal/testing: given / when / then for the aggregates and projections you write in
// JavaScript, run without an engine (no WebAssembly, no storage), synchronously.
//
//   decider(definition).given(events).when(command).then(events)   or  .thenThrows(code)
//   projection(definition).given(events).then(state)                or  .thenThrows(code)
//
// `definition` is the object you pass to engine.defineAggregate / engine.defineProjection, and
// the kit applies it exactly as the engine does (tests/js/testing.test.mjs runs the same
// aggregates through both and compares): the state from `initialState` (a value, copied, or a
// function) evolved over the given events; `decide` gets a deep copy of the state and a JSON
// copy of the command; it returns an array of { type, data?, metadata? } (data and metadata
// plain objects, type a non-empty string of at most 256 characters) or throws: an error whose
// `code` is 'VALIDATION' is a ValidationError, one whose `code` is 'INTERNAL' an InternalError,
// anything else thrown a DomainError with its message. An initialState or evolve that fails
// (on the given events or on the decided ones) is the aggregate's bug: an InternalError, as in
// the engine. Events leave as JSON, as they would from the log.
//
// Events in `given` are { type, data?, metadata?, timestamp? } (and, for projections,
// streamId? and streamType?). The kit fills in the rest of each event: streamId and streamType
// (the options, by default 'test-1' and 'Test'), version and position (1, 2, 3...), an id, and
// a hash of 64 zeros: the kit keeps no log, so ids and hashes are placeholders.
import { ERROR_CODES, InternalError, ProjectionError, ValidationError } from './errors.js';
import { describeMismatch, jsonEqual, sortKeys } from './testing-diff.js';
import {
  checkDefinition, checkFilter, checkName, decidedEvents, deepCopy, evolveOnce, initialState, isObject, jsonCopy,
  messageOf, byCodePoint, readJson, refusal, typeOf,
} from './user-code.js';

const ZERO_HASH = '0'.repeat(64);

/**
 * What `then` and `thenThrows` throw when the outcome is not the expected one. Like Node's
 * assert.AssertionError (name, code 'ERR_ASSERTION', actual, expected, operator), so test
 * runners show it as a failed assertion; the message holds a line diff.
 */
class AssertionError extends Error {
  /**
   * @param {string} message
   * @param {{ actual: unknown, expected: unknown, operator: string }} details
   */
  constructor(message, { actual, expected, operator }) {
    super(message);
    this.name = 'AssertionError';
    this.code = 'ERR_ASSERTION';
    this.actual = actual;
    this.expected = expected;
    this.operator = operator;
    this.generatedMessage = false;
  }
}

/**
 * The options of decider() and projection(), with their defaults.
 * @param {unknown} options
 * @param {string} what
 * @param {string[]} allowed
 */
function checkOptions(options, what, allowed) {
  const opts = options === undefined || options === null ? {} : options;
  if (!isObject(opts)) throw new ValidationError(`${what}: options must be an object, got ${typeOf(options)}`);
  const unknown = Object.keys(opts).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new ValidationError(`${what}: unknown option(s) ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`);
  const { streamType = 'Test', streamId = 'test-1', name = 'test', clock = () => Date.now() } = opts;
  checkName(`${what}: options.streamType`, streamType);
  checkName(`${what}: options.streamId`, streamId);
  checkName(`${what}: options.name`, name);
  if (typeof clock !== 'function') throw new ValidationError(`${what}: options.clock must be a function, got ${typeOf(clock)}`);
  return {
    streamType: /** @type {string} */ (streamType),
    streamId: /** @type {string} */ (streamId),
    name: /** @type {string} */ (name),
    clock: /** @type {() => number} */ (clock),
  };
}

// ------------------------------------------------------------------------------------------
// Events

/**
 * A given or expected event, checked: only `allowed` keys, a valid type, object data and
 * metadata (as JSON).
 * @param {unknown} e
 * @param {string} what
 * @param {string[]} allowed
 */
function checkEventSpec(e, what, allowed) {
  if (!isObject(e)) throw new ValidationError(`${what} must be an object { type, data?, metadata? }, got ${typeOf(e)}`);
  const unknown = Object.keys(e).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new ValidationError(`${what} has unknown field(s) ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`);
  }
  checkName(`${what}.type`, e.type);
  /** @type {Record<string, any>} */
  const out = { type: e.type };
  for (const field of ['data', 'metadata']) {
    if (e[field] === undefined) continue;
    const value = readJson(e[field], `${what}.${field}`);
    if (!isObject(value)) throw new ValidationError(`${what}.${field} must be a plain object, got ${typeOf(value)}`);
    out[field] = value;
  }
  for (const field of ['streamId', 'streamType']) {
    if (e[field] === undefined) continue;
    checkName(`${what}.${field}`, e[field]);
    out[field] = e[field];
  }
  if (e.timestamp !== undefined) {
    if (!Number.isSafeInteger(e.timestamp) || e.timestamp < 0) throw new ValidationError(`${what}.timestamp must be a non-negative integer`);
    out.timestamp = e.timestamp;
  }
  return out;
}

/**
 * Given events, numbered as a log would number them.
 * @param {unknown} events
 * @param {string} what
 * @param {string[]} allowed
 * @param {{ streamType: string, streamId: string, clock: () => number }} defaults
 */
function logOf(events, what, allowed, defaults) {
  if (!Array.isArray(events)) throw new ValidationError(`${what} must be an array of events, got ${typeOf(events)}`);
  /** @type {Map<string, { type: string, version: number }>} */
  const streams = new Map();
  return events.map((given, i) => {
    const e = checkEventSpec(given, `${what}[${i}]`, allowed);
    const streamId = e.streamId ?? defaults.streamId;
    const streamType = e.streamType ?? defaults.streamType;
    const stream = streams.get(streamId) || { type: streamType, version: 0 };
    if (stream.type !== streamType) {
      throw new ValidationError(`${what}[${i}]: stream '${streamId}' is a ${stream.type} stream, not ${streamType}`);
    }
    stream.version += 1;
    streams.set(streamId, stream);
    return stamp(/** @type {{ type: string }} */ (e), { streamId, streamType, version: stream.version, position: i + 1, timestamp: e.timestamp ?? defaults.clock() });
  });
}

/**
 * An event as evolve sees it and the engine returns it.
 * @param {{ type: string, data?: object, metadata?: object }} e
 * @param {{ streamId: string, streamType: string, version: number, position: number, timestamp: number }} at
 */
function stamp(e, at) {
  return {
    id: `00000000-0000-7000-8000-${at.position.toString(16).padStart(12, '0')}`,
    streamId: at.streamId,
    streamType: at.streamType,
    type: e.type,
    // stored as canonical JSON (RFC 8785: keys sorted by UTF-16 code units)
    data: sortKeys(e.data ?? {}),
    metadata: sortKeys(e.metadata ?? {}),
    timestamp: at.timestamp,
    version: at.version,
    position: at.position,
    hash: ZERO_HASH,
  };
}

// ------------------------------------------------------------------------------------------
// Outcomes and their checks

/**
 * What a specification came to: its value, or (when `error` is set) the error.
 * @typedef {{ value?: any, error?: Error & { code?: string } }} Outcome
 */

/** @param {() => any} f @returns {Outcome} */
function outcomeOf(f) {
  try {
    return { value: f() };
  } catch (error) {
    return { error: /** @type {Error} */ (error) };
  }
}

/** @param {Error & { code?: string }} e */
const describeError = (e) => `${e.name} (${e.code}): ${e.message}`;

/**
 * The thenThrows check: the outcome is an error with `code` (if given) and a message that
 * includes `message` (a string) or matches it (a RegExp), if given.
 * @param {Outcome} outcome
 * @param {unknown} code
 * @param {unknown} message
 * @param {string} who
 */
function expectError(outcome, code, message, who) {
  if (code !== undefined && (typeof code !== 'string' || !ERROR_CODES.includes(code))) {
    throw new ValidationError(`thenThrows(code): code must be one of ${ERROR_CODES.join(', ')}, got ${String(code)}`);
  }
  if (message !== undefined && typeof message !== 'string' && !(message instanceof RegExp)) {
    throw new ValidationError('thenThrows(code, message): message must be a string or a RegExp');
  }
  const expected = { code, message };
  const { error } = outcome;
  if (!error) {
    throw new AssertionError(`${who}: expected ${code || 'an error'}, but it succeeded with:\n${JSON.stringify(outcome.value, null, 2)}`, {
      actual: outcome.value, expected, operator: 'thenThrows',
    });
  }
  const codeOk = code === undefined || error.code === code;
  const messageOk = message === undefined
    || (typeof message === 'string' ? error.message.includes(message) : /** @type {RegExp} */ (message).test(error.message));
  if (!codeOk || !messageOk) {
    const wanted = [code, message === undefined ? '' : `with a message ${typeof message === 'string' ? 'including ' : 'matching '}${String(message)}`].filter(Boolean).join(' ');
    throw new AssertionError(`${who}: expected ${wanted}, but it failed with ${describeError(error)}`, {
      actual: { code: error.code, message: error.message }, expected, operator: 'thenThrows',
    });
  }
  return error;
}

/**
 * The outcome's value, or an AssertionError naming the error it was.
 * @param {Outcome} outcome
 * @param {unknown} expected
 * @param {string} who
 */
function expectValue(outcome, expected, who) {
  const { error } = outcome;
  if (error) {
    throw new AssertionError(`${who}: expected success, but it failed with ${describeError(error)}`, {
      actual: error, expected, operator: 'then',
    });
  }
  return outcome.value;
}

// ------------------------------------------------------------------------------------------
// decider

/**
 * A specification of an aggregate written in JavaScript (the definition engine.defineAggregate
 * takes): `.given(events).when(command).then(events)` or `.thenThrows(code, message?)`.
 *
 * @example
 * decider(todo).given([{ type: 'added', data: { title: 'docs' } }])
 *   .when({ type: 'complete' })
 *   .then([{ type: 'completed' }]);
 * @param {unknown} definition `{ initialState, decide, evolve }`
 * @param {{ streamType?: string, streamId?: string, clock?: () => number }} [options]
 */
function decider(definition, options) {
  const def = checkDefinition(definition, 'decider(definition)', ['decide', 'evolve']);
  const settings = checkOptions(options, 'decider(definition, options)', ['streamType', 'streamId', 'clock']);
  const given = (/** @type {unknown} */ events) => {
    const log = logOf(events, 'given(events)', ['type', 'data', 'metadata', 'timestamp'], settings);
    return {
      /** @param {unknown} command */
      when(command) {
        const outcome = outcomeOf(() => decideOnce(def, settings, log, command));
        return {
          /** @param {unknown} expected the events, `{ type, data?, metadata? }`: fields left out are not compared */
          then(expected) {
            if (!Array.isArray(expected)) throw new ValidationError(`then(events): events must be an array, got ${typeOf(expected)}${awaited(expected)}`);
            const wanted = expected.map((e, i) => checkEventSpec(e, `then(events)[${i}]`, ['type', 'data', 'metadata']));
            const actual = expectValue(outcome, wanted, 'decider');
            const shown = actual.map((/** @type {any} */ e, /** @type {number} */ i) => pick(e, wanted[i] ? Object.keys(wanted[i]) : ['type', 'data', 'metadata']));
            if (!jsonEqual(shown, wanted)) {
              throw new AssertionError(describeMismatch('decider: the events differ', wanted, shown), {
                actual: shown, expected: wanted, operator: 'then',
              });
            }
            return actual;
          },
          /** @param {string} [code] @param {string | RegExp} [message] */
          thenThrows(code, message) {
            return expectError(outcome, code, message, 'decider');
          },
        };
      },
    };
  };
  return { given, when: (/** @type {unknown} */ command) => given([]).when(command) };
}

/**
 * A hint for `then` called with a function: most likely `await` on a specification, which
 * calls then(resolve, reject).
 * @param {unknown} arg
 */
function awaited(arg) {
  return typeof arg === 'function' ? ' (specifications are synchronous: call then(...) with what you expect, do not await them)' : '';
}

/**
 * @param {Record<string, any>} e
 * @param {string[]} keys
 */
function pick(e, keys) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const k of keys) if (k in e) out[k] = e[k];
  return out;
}

/**
 * One command against the state after `log`, as the engine decides it.
 * @param {Record<string, any>} def
 * @param {{ streamType: string, streamId: string, clock: () => number }} settings
 * @param {ReturnType<typeof stamp>[]} log
 * @param {unknown} command
 */
function decideOnce(def, settings, log, command) {
  // the engine hands decide the command as its JSON reader ordered it (keys by code point)
  const cmd = byCodePoint(readJson(command, 'command'));
  if (!isObject(cmd)) throw new ValidationError(`command must be an object with a string 'type', got ${typeOf(cmd)}`);
  if (cmd.type === undefined) throw new ValidationError('command.type is missing');
  if (typeof cmd.type !== 'string') throw new ValidationError(`command.type must be a string, got ${typeOf(cmd.type)}`);
  checkName('command.type', cmd.type);
  const { streamType, streamId } = settings;
  let state;
  try {
    state = initialState(def.initialState);
  } catch (e) {
    throw new InternalError(`${streamType} '${streamId}': initialState() threw: ${messageOf(e)}`);
  }
  for (const event of log) {
    try {
      state = evolveOnce(def.evolve, state, jsonCopy(event));
    } catch (e) {
      throw new InternalError(`${streamType} '${streamId}': evolve failed at version ${event.version} of stream '${streamId}': ${messageOf(e)}`);
    }
  }
  let returned;
  try {
    returned = def.decide(deepCopy(state), cmd);
  } catch (thrown) {
    throw refusal(thrown);
  }
  const decided = decidedEvents(returned, streamType);
  const timestamp = settings.clock();
  const events = decided.map((e, i) => stamp(e, {
    streamId, streamType, version: log.length + i + 1, position: log.length + i + 1, timestamp,
  }));
  for (const event of events) {
    try {
      state = evolveOnce(def.evolve, state, jsonCopy(event));
    } catch (e) {
      throw new InternalError(`${streamType} evolve failed on its own '${event.type}' event: ${messageOf(e)}`);
    }
  }
  return events.map(jsonCopy);
}

// ------------------------------------------------------------------------------------------
// projection

/**
 * A specification of a projection written in JavaScript (the definition
 * engine.defineProjection takes): `.given(events).then(state)` or `.thenThrows(code, message?)`.
 *
 * @example
 * projection(openTodos).given([
 *   { type: 'added', streamId: 't1', data: { title: 'docs' } },
 *   { type: 'added', streamId: 't2', data: { title: 'tests' } },
 *   { type: 'completed', streamId: 't1' },
 * ]).then({ t2: { title: 'tests' } });
 * @param {unknown} definition `{ initialState, evolve, filter? }`
 * @param {{ name?: string, streamType?: string, streamId?: string, clock?: () => number }} [options]
 */
function projection(definition, options) {
  const def = checkDefinition(definition, 'projection(definition)', ['evolve']);
  const filter = checkFilter(def.filter);
  const settings = checkOptions(options, 'projection(definition, options)', ['name', 'streamType', 'streamId', 'clock']);
  return {
    /** @param {unknown} events */
    given(events) {
      const log = logOf(events, 'given(events)', ['type', 'data', 'metadata', 'timestamp', 'streamId', 'streamType'], settings);
      const outcome = outcomeOf(() => project(def, filter, settings.name, log));
      return {
        /** @param {unknown} expected the state, compared as JSON */
        then(expected) {
          if (typeof expected === 'function') throw new ValidationError(`then(state): state must be JSON data, got a function${awaited(expected)}`);
          const wanted = readJson(expected, 'then(state)');
          const actual = expectValue(outcome, wanted, 'projection');
          if (!jsonEqual(actual, wanted)) {
            throw new AssertionError(describeMismatch('projection: the state differs', wanted, actual), {
              actual, expected: wanted, operator: 'then',
            });
          }
          return actual;
        },
        /** @param {string} [code] @param {string | RegExp} [message] */
        thenThrows(code, message) {
          return expectError(outcome, code, message, 'projection');
        },
      };
    },
  };
}

/**
 * The projection's state after `log`, as JSON, or its ProjectionError.
 * @param {Record<string, any>} def
 * @param {ReturnType<typeof checkFilter>} filter
 * @param {string} name
 * @param {ReturnType<typeof stamp>[]} log
 */
function project(def, filter, name, log) {
  let state = initialState(def.initialState);
  for (const event of log) {
    if (filter.types.length > 0 && !filter.types.includes(event.type)) continue;
    if (filter.streamType !== undefined && filter.streamType !== event.streamType) continue;
    if (filter.streamId !== undefined && filter.streamId !== event.streamId) continue;
    try {
      state = evolveOnce(def.evolve, state, jsonCopy(event));
    } catch (e) {
      const cause = messageOf(e);
      throw new ProjectionError(
        `projection '${name}' stopped at position ${event.position}: ${cause} (fix it and call replay('${name}'))`,
        { projection: name, position: event.position, cause },
      );
    }
  }
  return readJson(state, 'the projection state');
}

export { decider, projection, AssertionError };
