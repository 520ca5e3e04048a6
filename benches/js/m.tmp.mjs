let inst = null;
const Orig = WebAssembly.Instance;
WebAssembly.Instance = new Proxy(Orig, { construct(t, args) { const i = Reflect.construct(t, args); inst = i; return i; } });
const { Engine } = await import('eventjournal');
const f = () => { gc(); gc(); const m = process.memoryUsage(); return { heap: m.heapUsed, ext: m.external, ab: m.arrayBuffers, rss: m.rss, wasm: inst.exports.memory.buffer.byteLength }; };
const e = await Engine.open();
const a = f(); console.log(a);
for (let i = 0; i < 1000; i++) await e.execute('BankAccount', 'a' + i, { type: 'create_account', accountHolder: 'H', initialDeposit: 100 });
for (let b = 0; b < 200; b++) { const ps = []; for (let i = 0; i < 1000; i++) ps.push(e.execute('BankAccount', 'a' + i, { type: 'deposit', amount: 1 })); await Promise.all(ps); }
const z = f(); console.log(z); for (const k in z) console.log(k, ((z[k] - a[k]) / 202000).toFixed(1));
