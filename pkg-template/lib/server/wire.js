// The wire forms of the sync protocol (docs/protocol.md): the protocol version, events as the
// server sends them, and errors as every non-2xx answer and every refused command carries them.

/** The sync protocol version this server speaks; every path is under `/v<PROTOCOL_VERSION>/`. */
const PROTOCOL_VERSION = 1;

/** The hash "before position 1" (the chain's seed), as `afterHash` for `after=0`. */
const ZERO_HASH = '0'.repeat(64);

/**
 * The ONE place an engine event becomes its wire form. The server reads the stored form
 * (`readAll({ raw: true })`, `execute(…, { raw: true })`: encrypted values and schema versions
 * as stored and hashed), so the record goes out as it is.
 */
function wireEvent(event) {
  return event;
}

/** `wireEvent` over a page of events. */
function wireEvents(events) {
  return events.map(wireEvent);
}

// Extra fields of the package's errors that a client may use (ConcurrencyError's versions,
// StorageError's reason, IntegrityError's and ProjectionError's position, ...).
const ERROR_FIELDS = ['streamId', 'expectedVersion', 'actualVersion', 'reason', 'position', 'projection'];

/** The wire name of each error code the server itself answers with. */
const ERROR_NAMES = {
  VALIDATION: 'ValidationError',
  PROTOCOL: 'ProtocolError',
  UNAUTHENTICATED: 'UnauthenticatedError',
  FORBIDDEN: 'ForbiddenError',
  NOT_FOUND: 'NotFoundError',
  CLOSED: 'ClosedError',
  BUSY: 'BusyError',
  INTERNAL: 'InternalError',
};

/**
 * `{ name, code, message, ... }` for any thrown value: the package's errors keep their name,
 * code, message and plain extra fields (never `cause` or a stack); anything else is INTERNAL.
 */
function wireError(error) {
  const known = error !== null && typeof error === 'object' && typeof error.code === 'string'
    && /^[A-Z_]+$/.test(error.code) && typeof error.message === 'string';
  if (!known) {
    return { name: ERROR_NAMES.INTERNAL, code: 'INTERNAL', message: `internal error: ${describe(error)}` };
  }
  const out = {
    name: typeof error.name === 'string' ? error.name : (ERROR_NAMES[error.code] || 'EventJournalError'),
    code: error.code,
    message: error.message,
  };
  for (const field of ERROR_FIELDS) {
    const v = error[field];
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out[field] = v;
  }
  return out;
}

/** A short description of a thrown value, for messages and logs. */
function describe(value) {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

export { PROTOCOL_VERSION, ZERO_HASH, ERROR_NAMES, wireEvent, wireEvents, wireError, describe };
