// Compiled with `tsc --noEmit --strict` against the installed package (next to types.ts): the
// declarations of `eventjournal/server` must type this usage.
import { Engine, sqliteStorage, ValidationError } from 'eventjournal';
import {
  createSyncServer, PROTOCOL_VERSION,
  type SyncServer, type SyncServerOptions, type SyncRequest, type AuthorizeRequest,
} from 'eventjournal/server';

type User = { id: string; role: 'teller' | 'admin' };

async function main(): Promise<void> {
  const engine = await Engine.open({ storage: await sqliteStorage('app.db') });

  const authenticate = async (request: SyncRequest): Promise<User | null> => {
    const header = request.headers.authorization;
    return header === 'Bearer t' ? { id: 'u1', role: 'teller' } : null;
  };
  const authorize = (user: User, request: AuthorizeRequest): boolean => {
    if (request.action === 'read') return true;
    const streamType: string = request.streamType;
    return user.role === 'admin' || (streamType === 'BankAccount' && request.command.type === 'deposit');
  };
  const options: SyncServerOptions<User> = {
    port: 8080, host: '0.0.0.0', authenticate, authorize,
    maxBodyBytes: 1 << 20, maxBatchCommands: 100, maxConnections: 1000, stallTimeoutMs: 10_000,
    closeTimeoutMs: 2000, refusalCacheSize: 1000,
    static: { '/': 'www', '/pkg/': 'node_modules/eventjournal' },
    log: (message, error) => console.error(message, error),
  };
  const server: SyncServer = await createSyncServer(engine, options);
  const url: string = server.url;
  const port: number = server.port;
  const protocol: 1 = PROTOCOL_VERSION;

  // Anonymous: no authenticate, principal unknown.
  const anonymous = await createSyncServer(engine);
  await anonymous.close();

  // @ts-expect-error: authorize answers a boolean
  await createSyncServer(engine, { authorize: () => 'yes' });
  // @ts-expect-error: no such option
  await createSyncServer(engine, { prot: 80 });
  // @ts-expect-error: static maps prefixes to folders
  await createSyncServer(engine, { static: ['www'] });

  try {
    await createSyncServer(engine, { host: '0.0.0.0' });
  } catch (e) {
    if (e instanceof ValidationError) console.log(e.code);
  }
  const closed: Promise<void> = server.close();
  await closed;
  await engine.close();
  void [url, port, protocol];
}

void main;
