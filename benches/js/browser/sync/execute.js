// Optimistic execute on a synced engine vs execute on an unsynced one, both on IndexedDB in
// this page (issue 12, target ≤ 1.3×). Each command is awaited: the synced one resolves once
// its outbox entry is stored, the unsynced one once its event is appended. The synced engine
// pushes to the page's own server meanwhile (that work is part of what is measured).
import { Engine, indexedDbStorage } from '/pkg/index.js';

async function run(engine, n, prefix) {
  const t0 = performance.now();
  await engine.execute('BankAccount', `${prefix}`, { type: 'create_account', accountHolder: 'Bench', initialDeposit: 0 });
  for (let i = 1; i < n; i++) await engine.execute('BankAccount', `${prefix}`, { type: 'deposit', amount: 100 });
  return (performance.now() - t0) / n;
}

/** `{ rounds: [{ synced, unsynced, ratio }] }`: mean ms per execute, each round on fresh databases. */
window.bench = async ({ commands, rounds }) => {
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const tag = `${Date.now()}-${r}`;
    const plain = await Engine.open({ storage: await indexedDbStorage(`bench-plain-${tag}`) });
    const synced = await Engine.open({ storage: await indexedDbStorage(`bench-synced-${tag}`), sync: { url: location.origin } });
    // alternate which goes first
    const order = r % 2 === 0 ? ['plain', 'synced'] : ['synced', 'plain'];
    const ms = {};
    for (const which of order) ms[which] = await run(which === 'plain' ? plain : synced, commands, `account_${which}_${tag}`);
    // the synced engine's commands reach the server (the run is not measuring a stuck client)
    const t0 = performance.now();
    while (synced.syncState().pending > 0) {
      if (performance.now() - t0 > 60_000) throw new Error(`still pending after 60 s: ${JSON.stringify(synced.syncState())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await plain.close();
    await synced.close();
    out.push({ synced: ms.synced, unsynced: ms.plain, ratio: ms.synced / ms.plain });
  }
  return { rounds: out };
};
window.benchReady = true;
