import { factories } from './lib/contenders.mjs';
const N = Number(process.argv[3] ?? 20000);
for (const name of (process.argv[2] ?? 'eventjournal,plain,emmett,castore').split(',')) {
  const c = await factories[name]();
  let t = performance.now();
  for (let i = 0; i < 1000; i++) await c.create('acc' + i, 'Holder ' + i, 10000);
  for (let i = 0; i < N; i++) await c.deposit('acc' + (i % 1000), 100 + (i % 50));
  const dt = performance.now() - t;
  const s = await c.loadAt('acc5', 3);
  console.log(name, (dt).toFixed(0), 'ms', (dt*1000/(N+1000)).toFixed(2), 'us/cmd', JSON.stringify(s, (k,v)=>typeof v==="bigint"?Number(v):v).slice(0, 200));
  await c.close();
}
