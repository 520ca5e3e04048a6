// Type declarations for eventjournal/testing: given / when / then for the aggregates and
// projections you write in JavaScript, run without an engine, synchronously.

import type {
  AggregateDefinition, ProjectionDefinition, StoredEvent, JsonObject, ErrorCode, EventJournalError,
} from './index.js';

/** An event of `given`: the kit numbers it and fills in the other fields. */
export interface GivenEvent {
  type: string;
  /** Default `{}`. */
  data?: JsonObject;
  /** Default `{}`. */
  metadata?: JsonObject;
  /** Milliseconds since the epoch. Default: the `clock` option. */
  timestamp?: number;
}

/** An event of a projection's `given`: may belong to any stream. */
export interface GivenLogEvent extends GivenEvent {
  /** Default: the `streamId` option (`'test-1'`). */
  streamId?: string;
  /** Default: the `streamType` option (`'Test'`). */
  streamType?: string;
}

/** An expected event: the fields given are compared (as JSON), those left out are not. */
export interface ExpectedEvent {
  type: string;
  data?: JsonObject;
  metadata?: JsonObject;
}

export interface SpecificationOptions {
  /** The stream type of the events (default `'Test'`). */
  streamType?: string;
  /** The stream id of the events (default `'test-1'`). */
  streamId?: string;
  /** The events' timestamps (default `Date.now`). */
  clock?: () => number;
}

export interface ProjectionSpecificationOptions extends SpecificationOptions {
  /** The projection's name, in its errors (default `'test'`). */
  name?: string;
}

/** The outcome of a command, to check. Synchronous: nothing to await. */
export interface DeciderWhen {
  /**
   * Asserts that the command decided exactly these events, in order (only the fields given
   * are compared). Returns the events as the engine would return them (ids and hashes are
   * placeholders). Throws an `AssertionError` with a diff otherwise.
   */
  then(events: ExpectedEvent[]): StoredEvent[];
  /**
   * Asserts that the command was refused: with this code (`'DOMAIN'` when decide threw,
   * `'VALIDATION'` for bad input), and a message including `message` (or matching it).
   * Returns the error.
   */
  thenThrows(code?: ErrorCode, message?: string | RegExp): EventJournalError;
}

export interface DeciderGiven {
  when(command: { type: string; [key: string]: any }): DeciderWhen;
}

export interface DeciderSpecification extends DeciderGiven {
  /** The stream's events before the command (default: none). */
  given(events: GivenEvent[]): DeciderGiven;
}

/**
 * A specification of an aggregate: the `{ initialState, decide, evolve }` you pass to
 * `engine.defineAggregate`, applied exactly as the engine applies it.
 *
 * @example
 * decider(todo)
 *   .given([{ type: 'added', data: { title: 'docs' } }])
 *   .when({ type: 'complete' })
 *   .then([{ type: 'completed' }]);
 */
export function decider<S>(definition: AggregateDefinition<S, any>, options?: SpecificationOptions): DeciderSpecification;

export interface ProjectionGiven {
  /** Asserts that the projection's state (as JSON) is `state`; returns it. */
  then(state: unknown): any;
  /** Asserts that evolve failed (`'PROJECTION'`), with a message including or matching `message`. */
  thenThrows(code?: ErrorCode, message?: string | RegExp): EventJournalError;
}

export interface ProjectionSpecification {
  given(events: GivenLogEvent[]): ProjectionGiven;
}

/**
 * A specification of a projection: the `{ initialState, evolve, filter? }` you pass to
 * `engine.defineProjection`.
 *
 * @example
 * projection(openTodos)
 *   .given([{ type: 'added', streamId: 't1', data: { title: 'docs' } }])
 *   .then({ t1: { title: 'docs' } });
 */
export function projection<S>(definition: ProjectionDefinition<S>, options?: ProjectionSpecificationOptions): ProjectionSpecification;

/** What `then` and `thenThrows` throw on a mismatch (like Node's `assert.AssertionError`). */
export declare class AssertionError extends Error {
  name: 'AssertionError';
  code: 'ERR_ASSERTION';
  actual: unknown;
  expected: unknown;
  operator: string;
}
