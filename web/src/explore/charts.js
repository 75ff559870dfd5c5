// Small SVG charts drawn without a library: a sparkline, a line chart of
// a series with targets and methodology breaks, and ranked bars.

const NS = 'http://www.w3.org/2000/svg';

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

function extent(xs) {
  let lo = Infinity, hi = -Infinity;
  for (const x of xs) { if (x < lo) lo = x; if (x > hi) hi = x; }
  if (lo === hi) { lo -= 1; hi += 1; }
  return [lo, hi];
}

// sparkline draws points [{x, y}] as a small line.
export function sparkline(points, w = 120, h = 24) {
  const s = svg('svg', { width: w, height: h, class: 'spark', viewBox: `0 0 ${w} ${h}` });
  if (!points.length) return s;
  const [x0, x1] = extent(points.map((p) => p.x));
  const [y0, y1] = extent(points.map((p) => p.y));
  const X = (x) => 3 + ((x - x0) / (x1 - x0)) * (w - 6);
  const Y = (y) => h - 3 - ((y - y0) / (y1 - y0)) * (h - 6);
  if (points.length > 1) s.append(svg('polyline', { points: points.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ') }));
  const last = points[points.length - 1];
  s.append(svg('circle', { cx: X(last.x).toFixed(1), cy: Y(last.y).toFixed(1), r: 2 }));
  return s;
}

function ticks(lo, hi, n = 5) {
  const step0 = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) || mag * 10;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
  return out;
}

// lineChart draws actual points (joined), target points and breaks.
// Each point is {x, y, label, kind, obs}; breaks are {x, label}. hover(el,
// point) is called for every point drawn, to attach a tooltip.
export function lineChart({ actual, targets, breaks, fmtY, hover, w = 720, h = 300 }) {
  const m = { l: 64, r: 16, t: 16, b: 32 };
  const all = [...actual, ...targets];
  const s = svg('svg', { width: w, height: h, class: 'chart line', viewBox: `0 0 ${w} ${h}` });
  if (!all.length) return s;
  let [x0, x1] = extent(all.map((p) => p.x));
  x0 -= 0.5; x1 += 0.5;
  let [y0, y1] = extent(all.map((p) => p.y));
  if (y0 > 0 && y0 < (y1 - y0)) y0 = 0;
  const pad = (y1 - y0) * 0.08; y0 -= y0 === 0 ? 0 : pad; y1 += pad;
  const X = (x) => m.l + ((x - x0) / (x1 - x0)) * (w - m.l - m.r);
  const Y = (y) => h - m.b - ((y - y0) / (y1 - y0)) * (h - m.t - m.b);
  const axes = svg('g', { class: 'axes' });
  for (const v of ticks(y0, y1)) {
    axes.append(svg('line', { x1: m.l, x2: w - m.r, y1: Y(v), y2: Y(v), class: 'grid' }));
    axes.append(svg('text', { x: m.l - 6, y: Y(v) + 4, 'text-anchor': 'end' }, fmtY(v)));
  }
  for (let yr = Math.ceil(x0); yr <= Math.floor(x1); yr++) {
    axes.append(svg('text', { x: X(yr + 0.5), y: h - m.b + 18, 'text-anchor': 'middle' }, String(yr)));
  }
  s.append(axes);
  for (const b of breaks) {
    s.append(svg('g', { class: 'break', 'data-break': b.label },
      svg('line', { x1: X(b.x), x2: X(b.x), y1: m.t, y2: h - m.b }),
      svg('text', { x: X(b.x) + 4, y: m.t + 10 }, b.label)));
  }
  if (actual.length > 1) {
    s.append(svg('polyline', { class: 'actual', points: actual.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ') }));
  }
  for (const p of actual) {
    const c = svg('circle', { class: 'pt actual', cx: X(p.x).toFixed(1), cy: Y(p.y).toFixed(1), r: 5, 'data-period': p.label, 'data-value': p.y, 'data-kind': 'ACTUAL' });
    hover(c, p);
    s.append(c);
  }
  for (const p of targets) {
    const x = X(p.x), y = Y(p.y);
    const d = svg('path', { class: 'pt target', d: `M${x} ${y - 7}L${x + 7} ${y}L${x} ${y + 7}L${x - 7} ${y}Z`, 'data-period': p.label, 'data-value': p.y, 'data-kind': 'TARGET' });
    hover(d, p);
    s.append(d);
  }
  return s;
}

// bars draws ranked horizontal bars: rows [{label, value, text, mark}].
export function bars(rows, { w = 720 } = {}) {
  const rowH = 26, m = { l: 170, r: 110 };
  const h = rows.length * rowH + 8;
  const s = svg('svg', { width: w, height: h, class: 'chart bars', viewBox: `0 0 ${w} ${h}` });
  const vals = rows.map((r) => r.value);
  const lo = Math.min(0, ...vals), hi = Math.max(0, ...vals) || 1;
  const X = (v) => m.l + ((v - lo) / (hi - lo)) * (w - m.l - m.r);
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    s.append(svg('g', { class: 'bar', 'data-unit': r.code, 'data-value': r.value },
      svg('text', { x: m.l - 8, y: y + 17, 'text-anchor': 'end' }, r.label),
      svg('rect', { x: Math.min(X(0), X(r.value)), y: y + 3, width: Math.max(1, Math.abs(X(r.value) - X(0))), height: rowH - 8 }),
      svg('text', { x: Math.max(X(0), X(r.value)) + 6, y: y + 17, class: 'val' }, r.text + (r.mark ? ' *' : ''))));
  });
  return s;
}
