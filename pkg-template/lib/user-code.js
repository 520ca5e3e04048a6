// @ts-check
// How the engine applies the aggregates and projections written in JavaScript, for the test
// kit (testing.js): the same rules as src/wasm/user_code.rs and the engine's checks of decided
// events (src/engine/batch.rs), in plain JavaScript. Keep the two in step:
// tests/js/testing.test.mjs runs the same definitions through the kit and a real Engine.
//
// - a definition is an object with the functions it needs, and an initialState that is a
//   value (copied for every new state) or a function returning one;
// - decide gets a deep copy of the state (structuredClone) and a JSON copy of the command;
// - decide returns an array of { type, data?, metadata? } (checked here), or throws: a thrown
//   value whose `code` is 'VALIDATION' is a ValidationError, 'INTERNAL' an InternalError, anything else a DomainError, with
//   the thrown error's message;
// - evolve must return the next state; events are read from canonical JSON.
import { DomainError, InternalError, ValidationError } from './errors.js';

const MAX_NAME_LEN = 256;
const MAX_EVENT_BYTES = 1 << 20;
const MAX_INPUT_BYTES = 2 * MAX_EVENT_BYTES;
// serde_json's nesting limit when the engine reads a value (containers inside containers)
const MAX_NESTING = 127;

/** @param {unknown} e */
function messageOf(e) {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    const text = JSON.stringify(e);
    return text === undefined ? 'unknown error' : text;
  } catch {
    return 'unknown error';
  }
}

/** @param {unknown} value */
function typeOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** @param {unknown} v @returns {v is Record<string, any>} */
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Nesting of containers: 0 for a scalar, 1 for [] or {}. @param {unknown} v @returns {number} */
function nesting(v) {
  if (v === null || typeof v !== 'object') return 0;
  let deepest = 0;
  for (const x of Object.values(v)) deepest = Math.max(deepest, nesting(x));
  return deepest + 1;
}

/** Does a string, or any key or string inside `v`, hold a lone surrogate? @param {unknown} v @returns {boolean} */
function illFormed(v) {
  if (typeof v === 'string') return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v);
  if (v === null || typeof v !== 'object') return false;
  return Object.entries(v).some(([k, x]) => illFormed(k) || illFormed(x));
}

/**
 * `value` as the engine reads it: through JSON.stringify and back, within the size and nesting
 * limits; otherwise a ValidationError naming `what`.
 * @param {unknown} value
 * @param {string} what
 * @returns {any}
 */
function readJson(value, what) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new ValidationError(`${what} cannot be converted to JSON: ${messageOf(e)}`);
  }
  if (text === undefined) throw new ValidationError(`${what} is missing or not JSON-serializable`);
  const bytes = utf8Length(text);
  if (bytes > MAX_INPUT_BYTES) throw new ValidationError(`${what} is ${bytes} bytes as JSON; the limit is ${MAX_INPUT_BYTES}`);
  const parsed = JSON.parse(text);
  if (nesting(parsed) > MAX_NESTING) throw new ValidationError(`${what} is not valid JSON: nested too deeply`);
  if (illFormed(parsed)) throw new ValidationError(`${what} is not valid JSON: a string holds a lone surrogate`);
  return parsed;
}

/** @param {string} text */
function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

/** @param {string} what @param {unknown} value */
function checkName(what, value) {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(`${what} must be a non-empty string`);
  if (value.length > MAX_NAME_LEN) {
    throw new ValidationError(`${what} must be at most ${MAX_NAME_LEN} characters, got ${value.length}`);
  }
}

/** A deep copy, as the engine makes of the state it hands to decide. @param {unknown} v */
function deepCopy(v) {
  if (v === null || typeof v !== 'object') return v;
  if (typeof structuredClone === 'function') {
    try {
      return structuredClone(v);
    } catch (e) {
      throw new DomainError(`the state cannot be copied (states must be plain JSON): ${messageOf(e)}`);
    }
  }
  return JSON.parse(JSON.stringify(v));
}

/** The initial state: the function's result, or a copy of the value. @param {unknown} initial */
function initialState(initial) {
  if (typeof initial !== 'function') return deepCopy(initial);
  try {
    return initial();
  } catch (e) {
    throw new Error(`initialState() threw: ${messageOf(e)}`);
  }
}

/**
 * Checks a definition as defineAggregate / defineProjection do.
 * @param {unknown} definition
 * @param {string} what e.g. 'decider(definition)'
 * @param {string[]} functions the names that must be functions
 * @returns {Record<string, any>}
 */
function checkDefinition(definition, what, functions) {
  if (!isObject(definition)) {
    throw new ValidationError(`${what} needs { initialState, ${functions.join(', ')} }, got ${typeOf(definition)}`);
  }
  for (const name of functions) {
    if (typeof definition[name] !== 'function') {
      throw new ValidationError(`${what}: ${name} must be a function, got ${typeOf(definition[name])}`);
    }
  }
  let probe;
  try {
    probe = initialState(definition.initialState);
    JSON.stringify(probe);
  } catch (e) {
    throw new ValidationError(`${what}: ${messageOf(e)}`);
  }
  return definition;
}

/**
 * The events decide returned, checked as the engine checks them.
 * @param {unknown} returned
 * @param {string} streamType
 * @returns {{ type: string, data: object, metadata?: object }[]}
 */
function decidedEvents(returned, streamType) {
  if (!Array.isArray(returned)) {
    throw new ValidationError(`decide must return an array of { type, data, metadata? } (return [] for no events), got ${typeOf(returned)}`);
  }
  const items = readJson(returned, 'the events decide returned');
  return items.map((/** @type {unknown} */ item, /** @type {number} */ i) => {
    if (!isObject(item)) throw new ValidationError(`decide's event #${i} must be an object { type, data }`);
    if (typeof item.type !== 'string') throw new ValidationError(`decide's event #${i} needs a string 'type'`);
    try {
      checkName('event type', item.type);
    } catch (e) {
      throw new ValidationError(`${streamType} decided an event #${i} with a bad type: ${messageOf(e)}`);
    }
    const data = item.data ?? {};
    if (!isObject(data)) throw new ValidationError(`decide's event #${i} ('${item.type}'): data must be an object`);
    const metadata = item.metadata ?? undefined;
    if (metadata !== undefined && !isObject(metadata)) {
      throw new ValidationError(`decide's event #${i} ('${item.type}'): metadata must be an object`);
    }
    const size = utf8Length(JSON.stringify(data)) + utf8Length(JSON.stringify(metadata ?? {}));
    if (size > MAX_EVENT_BYTES) {
      throw new ValidationError(`event '${item.type}' is ${size} bytes of data and metadata; the limit is ${MAX_EVENT_BYTES}`);
    }
    return metadata === undefined ? { type: item.type, data } : { type: item.type, data, metadata };
  });
}

/**
 * evolve(state, event), which must return the next state.
 * @param {Function} evolve
 * @param {unknown} state
 * @param {object} event
 */
function evolveOnce(evolve, state, event) {
  let next;
  try {
    next = evolve(state, event);
  } catch (e) {
    throw new Error(messageOf(e));
  }
  if (next === undefined) throw new Error('evolve must return the next state (it returned undefined)');
  return next;
}

/**
 * The error the engine makes of what decide threw.
 * @param {unknown} thrown
 */
function refusal(thrown) {
  const code = thrown !== null && typeof thrown === 'object' ? /** @type {{ code?: unknown }} */ (thrown).code : undefined;
  if (code === 'VALIDATION') return new ValidationError(messageOf(thrown));
  if (code === 'INTERNAL') return new InternalError(messageOf(thrown));
  return new DomainError(messageOf(thrown));
}

/**
 * A copy of JSON data with keys in code point order (how the engine's JSON map orders them).
 * @param {unknown} v
 * @returns {any}
 */
function byCodePoint(v) {
  if (Array.isArray(v)) return v.map(byCodePoint);
  if (v === null || typeof v !== 'object') return v;
  /** @type {Record<string, unknown>} */
  const out = {};
  const keys = Object.keys(v).sort((a, b) => {
    const [x, y] = [[...a], [...b]];
    for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
      const d = /** @type {number} */ (x[i].codePointAt(0)) - /** @type {number} */ (y[i].codePointAt(0));
      if (d !== 0) return d;
    }
    return x.length - y.length;
  });
  for (const k of keys) out[k] = byCodePoint(/** @type {Record<string, unknown>} */ (v)[k]);
  return out;
}

/** A fresh copy of JSON data (each reader gets its own, as from the engine). @template T @param {T} v @returns {T} */
function jsonCopy(v) {
  return JSON.parse(JSON.stringify(v));
}

/**
 * The filter of a projection definition, checked.
 * @param {unknown} filter
 * @returns {{ types: string[], streamType?: string, streamId?: string }}
 */
function checkFilter(filter) {
  if (filter === undefined || filter === null) return { types: [] };
  if (!isObject(filter)) throw new ValidationError(`filter must be an object, got ${typeOf(filter)}`);
  const types = filter.types === undefined || filter.types === null ? [] : filter.types;
  const list = typeof types === 'string' ? [types] : types;
  if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) {
    throw new ValidationError('filter.types must be a list of strings');
  }
  for (const key of ['streamType', 'streamId']) {
    if (filter[key] !== undefined && filter[key] !== null && typeof filter[key] !== 'string') {
      throw new ValidationError(`filter.${key} must be a string, got ${typeOf(filter[key])}`);
    }
  }
  return { types: list, streamType: filter.streamType ?? undefined, streamId: filter.streamId ?? undefined };
}

export {
  MAX_NAME_LEN, messageOf, typeOf, isObject, readJson, checkName, deepCopy, initialState, checkDefinition,
  decidedEvents, evolveOnce, refusal, byCodePoint, jsonCopy, checkFilter,
};
