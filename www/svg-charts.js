// Small hand-written SVG charts (no library): the event-type distribution and an account's
// balance over time, as SVG text. Both render at the container's pixel width so text stays
// readable. charts.js puts them on the page.
import { esc, money, count, dateTime } from './format.js';

/** Horizontal bars: one per event type, largest first; `colorOf(type)` gives each bar's colour. */
export function typeDistributionChart(distribution, width, colorOf) {
  const entries = Object.entries(distribution || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (entries.length === 0) return '<p class="empty">No events yet.</p>';
  const w = Math.max(260, Math.round(width || 480));
  const total = entries.reduce((a, [, n]) => a + n, 0);
  const max = entries[0][1];
  const labelW = Math.min(140, Math.round(w * 0.36));
  const valueW = 92;
  const barW = w - labelW - valueW - 8;
  const rowH = 26;
  const h = entries.length * rowH + 4;
  const rows = entries.map(([type, n], i) => {
    const y = i * rowH + 4;
    const bw = Math.max(2, Math.round((n / max) * barW));
    const pct = ((n / total) * 100).toFixed(n / total < 0.1 ? 1 : 0);
    return `<g class="bar-row" data-type="${esc(type)}" data-count="${n}">
      <title>${esc(type)}: ${count(n)} events (${pct}%)</title>
      <text x="${labelW - 8}" y="${y + 13}" text-anchor="end" class="chart-label">${esc(type)}</text>
      <rect x="${labelW}" y="${y + 2}" width="${bw}" height="${rowH - 10}" rx="4" fill="${colorOf(type)}"/>
      <text x="${labelW + bw + 6}" y="${y + 13}" class="chart-value">${count(n)} <tspan class="chart-dim">${pct}%</tspan></text>
    </g>`;
  }).join('');
  return `<svg class="svg-chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="Event type distribution">${rows}</svg>`;
}

/**
 * Balance after each event of an account, as a step line over time.
 * points: [{ t, balance, position }] in order; travel: position of the time-travel point or null.
 */
export function balanceChart(points, { width, travelPosition = null } = {}) {
  if (!points || points.length === 0) return '<p class="empty">No balance history yet.</p>';
  const w = Math.max(260, Math.round(width || 480));
  const h = 190;
  const m = { l: 64, r: 12, t: 12, b: 28 };
  const iw = w - m.l - m.r;
  const ih = h - m.t - m.b;
  let t0 = points[0].t;
  let t1 = points[points.length - 1].t;
  if (t1 === t0) { t0 -= 1000; t1 += 1000; }
  const maxB = Math.max(100, ...points.map((p) => p.balance));
  const niceMax = niceCeil(maxB / 4) * 4; // four round steps
  const x = (t) => m.l + ((t - t0) / (t1 - t0)) * iw;
  const y = (b) => m.t + ih - (b / niceMax) * ih;

  let d = `M${x(points[0].t).toFixed(1)},${y(points[0].balance).toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    d += `H${x(points[i].t).toFixed(1)}V${y(points[i].balance).toFixed(1)}`;
  }
  const end = x(t1).toFixed(1);
  d += `H${end}`;
  const area = `${d}V${y(0).toFixed(1)}H${x(points[0].t).toFixed(1)}Z`;

  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = niceMax * f;
    const yy = y(v).toFixed(1);
    return `<line x1="${m.l}" x2="${w - m.r}" y1="${yy}" y2="${yy}" class="grid"/>
      <text x="${m.l - 6}" y="${(+yy + 4).toFixed(1)}" text-anchor="end" class="axis">${esc(short(v))}</text>`;
  }).join('');

  let travel = '';
  if (travelPosition != null) {
    // The last point at or before the travel position: everything after it is the future.
    let idx = -1;
    for (let i = 0; i < points.length; i++) if (points[i].position <= travelPosition) idx = i;
    const next = points[idx + 1];
    if (next) {
      const tx = idx < 0 ? m.l : x(next.t);
      travel = `<rect x="${tx.toFixed(1)}" y="${m.t}" width="${(w - m.r - tx).toFixed(1)}" height="${ih}" class="future-mask"/>
        <line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${m.t}" y2="${m.t + ih}" class="travel-line"/>`;
    }
  }
  const last = points[points.length - 1];
  const dots = points.length <= 60
    ? points.map((p) => `<circle cx="${x(p.t).toFixed(1)}" cy="${y(p.balance).toFixed(1)}" r="3" class="dot" data-position="${p.position}" data-balance="${p.balance}"><title>#${p.position} ${esc(dateTime(p.t))}: ${money(p.balance)}</title></circle>`).join('')
    : '';
  return `<svg class="svg-chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="Balance over time, latest ${money(last.balance)}">
    ${ticks}
    <path d="${area}" class="area"/>
    <path d="${d}" class="line"/>
    ${dots}
    ${travel}
    <text x="${m.l}" y="${h - 8}" class="axis">${esc(dateTime(points[0].t))}</text>
    <text x="${w - m.r}" y="${h - 8}" text-anchor="end" class="axis">${esc(dateTime(points[points.length - 1].t))}</text>
  </svg>`;
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= v) return f * p;
  return 10 * p;
}

function short(cents) {
  const v = cents / 100;
  const trim = (x) => String(Number(x.toFixed(1)));
  if (v >= 1e6) return `${trim(v / 1e6)}M`;
  if (v >= 1e3) return `${trim(v / 1e3)}k`;
  return trim(v);
}
