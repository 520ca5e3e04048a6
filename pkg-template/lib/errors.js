// Error classes of eventjournal. Every error the engine throws or rejects with is one of
// these, with a stable `name` and `code`:
//
//   try { await engine.execute(...) } catch (e) {
//     if (e instanceof DomainError) showRefusal(e.message);     // or: e.code === 'DOMAIN'
//   }

class EventJournalError extends Error {
  constructor(message, props) {
    const cause = props && props.cause !== undefined ? { cause: props.cause } : undefined;
    super(message, cause);
    if (props) {
      for (const key of Object.keys(props)) {
        if (key !== 'name') this[key] = props[key];
      }
    }
    this.name = 'EventJournalError';
  }
}

function errorClass(name, code) {
  const cls = class extends EventJournalError {
    constructor(message, props) {
      super(message, props);
      this.name = name;
      this.code = code;
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/** Bad input shape or value. */
const ValidationError = errorClass('ValidationError', 'VALIDATION');
/** The aggregate refused the command; the message says why (e.g. "Insufficient funds"). */
const DomainError = errorClass('DomainError', 'DOMAIN');
/** Expected version mismatch, or other writers kept appending first. */
const ConcurrencyError = errorClass('ConcurrencyError', 'CONCURRENCY');
/** The storage callback failed; `cause` holds its error, `reason` is 'failed' or 'timeout' (...). */
const StorageError = errorClass('StorageError', 'STORAGE');
/** A stored record is malformed or breaks the hash chain; `position` names it. */
const IntegrityError = errorClass('IntegrityError', 'INTEGRITY');
/** Unknown stream type or projection. */
const NotFoundError = errorClass('NotFoundError', 'NOT_FOUND');
/** A projection's evolve failed at `position`; fix it and replay. */
const ProjectionError = errorClass('ProjectionError', 'PROJECTION');
/** The engine was closed. */
const ClosedError = errorClass('ClosedError', 'CLOSED');
/** A sync server's `authorize` said no to this principal and action. */
const ForbiddenError = errorClass('ForbiddenError', 'FORBIDDEN');
/** A broken invariant inside eventjournal: a bug, never a business refusal. Please report it. */
const InternalError = errorClass('InternalError', 'INTERNAL');
/** A sync server did not accept the client's credentials (HTTP 401); in `syncState().lastError`. */
const UnauthenticatedError = errorClass('UnauthenticatedError', 'UNAUTHENTICATED');
/** A sync server speaks another protocol version; sync stops. In `syncState().lastError`. */
const ProtocolError = errorClass('ProtocolError', 'PROTOCOL');
/** The sync server could not be reached, or the answer was cut; in `syncState().lastError`. */
const NetworkError = errorClass('NetworkError', 'NETWORK');

const classes = {
  ValidationError, DomainError, ConcurrencyError, StorageError, IntegrityError,
  NotFoundError, ProjectionError, ClosedError, ForbiddenError, InternalError,
  UnauthenticatedError, ProtocolError, NetworkError,
};

/** Builds the error the engine throws (registered with the wasm module at start). */
function errorFactory(name, message, props) {
  const Cls = classes[name] || EventJournalError;
  return new Cls(message, props);
}

/** The set of every error code. */
const ERROR_CODES = Object.freeze([
  'VALIDATION', 'DOMAIN', 'CONCURRENCY', 'STORAGE', 'INTEGRITY', 'NOT_FOUND', 'PROJECTION', 'CLOSED',
  'FORBIDDEN', 'INTERNAL', 'UNAUTHENTICATED', 'PROTOCOL', 'NETWORK',
]);

export {
  EventJournalError, ValidationError, DomainError, ConcurrencyError, StorageError, IntegrityError,
  NotFoundError, ProjectionError, ClosedError, ForbiddenError, InternalError, UnauthenticatedError,
  ProtocolError, NetworkError, errorFactory, ERROR_CODES,
};
