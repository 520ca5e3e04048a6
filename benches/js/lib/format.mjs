// Formatting of figures and markdown tables for the generated BENCHMARKS.md section.
import { median } from './stats.mjs';

export const fmtTime = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`);
export const fmtUs = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
export const fmtRate = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k/s` : `${n.toFixed(0)}/s`);
export const fmtX = (x) => (x >= 100 ? `${x.toFixed(0)}×` : x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`);
export const fmtBytes = (b) => `${Math.round(b) || 0} B`;
export const int = (n) => n.toLocaleString('en-US');
export const spread = (xs, f) => `${f(Math.min(...xs))} – ${f(Math.max(...xs))}`;
export const ratioCell = (xs) => `**${fmtX(median(xs))}** (${spread(xs, fmtX)})`;
export const met = (ok) => (ok ? '✅ met' : '❌ missed');
export const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
