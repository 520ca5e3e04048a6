// The floor: the seed's design written the way any JS developer would in an afternoon.
// A Map of stream arrays plus a global array; execute = fold the stream, decide, append with an
// expected-version check; crypto.randomUUID() per event. No hash chain, no snapshots, no
// serialization: it is deliberately the cheapest correct thing.
import { bankAccount, order } from './domain.mjs';

const domains = { BankAccount: bankAccount, Order: order };
const EMPTY = [];

export class PlainStore {
  constructor() {
    this.streams = new Map();
    this.all = [];
  }

  append(streamType, streamId, expectedVersion, newEvents) {
    let stream = this.streams.get(streamId);
    const current = stream ? stream.length : 0;
    if (current !== expectedVersion) {
      const e = new Error(`expected version ${expectedVersion}, stream is at ${current}`);
      e.name = 'ConcurrencyError';
      throw e;
    }
    if (!stream) { stream = []; this.streams.set(streamId, stream); }
    const timestamp = Date.now();
    const out = [];
    for (const ne of newEvents) {
      const event = {
        id: crypto.randomUUID(), streamId, streamType, type: ne.type, data: ne.data, metadata: {},
        timestamp, version: stream.length + 1, position: this.all.length + 1,
      };
      stream.push(event);
      this.all.push(event);
      out.push(event);
    }
    return out;
  }

  foldStream(streamType, streamId, upToVersion = Infinity) {
    const d = domains[streamType];
    const stream = this.streams.get(streamId) ?? EMPTY;
    const n = Math.min(stream.length, upToVersion);
    let state = d.initialState(streamId);
    for (let i = 0; i < n; i++) state = d.evolve(state, stream[i]);
    return { state, version: n };
  }

  async execute(streamType, streamId, command) {
    const { state, version } = this.foldStream(streamType, streamId);
    const events = domains[streamType].decide(state, command);
    const stored = this.append(streamType, streamId, version, events);
    return { events: stored, version: version + stored.length, position: this.all.length };
  }

  async load(streamType, streamId, version) {
    const r = this.foldStream(streamType, streamId, version);
    return r.version === 0 ? null : r;
  }
}
