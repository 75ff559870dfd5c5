// chiso's explorer: the unit tree with search, a unit's indicators by
// theme, one series as a chart, a comparison across a unit's children and
// a map of Lai Châu's districts. Every view is a URL (/explore?view=…),
// and every view downloads its table through /export.
import './style.css';
import { gql, str, exportURL } from './api.js';
import { t, name, num, value, fold, themeName } from './i18n.js';
import { sparkline, lineChart, bars, svg } from './charts.js';

const VIEWS = ['unit', 'series', 'compare', 'map'];
const FORMATS = ['csv', 'xlsx', 'parquet', 'arrow', 'json'];
const NEXT_LEVEL = { COUNTRY: 'PROVINCE', PROVINCE: 'DISTRICT', DISTRICT: 'COMMUNE', COMMUNE: 'VILLAGE' };
const MAP_UNIT = 'vn.lai-chau';

// state is the URL's: every view is a permalink.
let state = {};
const TREE_DAY = '2025-06-30';
function readURL() {
  const p = new URLSearchParams(location.search);
  state = {
    view: VIEWS.includes(p.get('view')) ? p.get('view') : 'unit',
    unit: p.get('unit') || '',
    ind: p.get('ind') || '',
    lang: p.get('lang') === 'en' ? 'en' : 'vi',
    q: p.get('q') || '',
    period: p.get('period') || 'latest',
    filter: p.get('filter') || '',
    format: FORMATS.includes(p.get('format')) ? p.get('format') : 'csv',
    // The day whose unit tree is shown: by default the last day before the
    // 2025 reform, the tree every figure of the embedded documents is about.
    asOf: /^\d{4}-\d{2}-\d{2}$/.test(p.get('asOf') || '') ? p.get('asOf') : TREE_DAY,
  };
}
function href(changes) {
  const s = { ...state, ...changes };
  const p = new URLSearchParams();
  for (const k of ['view', 'unit', 'ind', 'period', 'q', 'filter', 'format', 'lang', 'asOf']) {
    if (s[k] && !(k === 'period' && s[k] === 'latest') && !(k === 'format' && s[k] === 'csv') && !(k === 'asOf' && s[k] === TREE_DAY)) p.set(k, s[k]);
  }
  return '/explore?' + p.toString();
}
function go(changes, replace = false) {
  const url = href(changes);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  readURL();
  render();
}
window.addEventListener('popstate', () => { readURL(); render(); });

// h builds an element: h('a', {href}, 'text', child…).
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}
// link is an in-app link: a real href (a permalink), followed without a reload.
function link(changes, ...children) {
  return h('a', { href: href(changes), onclick: (e) => { if (e.button === 0 && !e.ctrlKey && !e.metaKey) { e.preventDefault(); go(changes); } } }, ...children);
}
const L = (k) => t(state.lang, k);

// Tooltips.
const tip = () => document.getElementById('tip');
function hoverTip(el, lines) {
  el.addEventListener('mouseenter', (e) => { const d = tip(); d.replaceChildren(...lines().map((l) => h('div', {}, l))); d.hidden = false; place(e); });
  el.addEventListener('mousemove', place);
  el.addEventListener('mouseleave', () => { tip().hidden = true; });
}
function place(e) { const d = tip(); d.style.left = e.clientX + 14 + 'px'; d.style.top = e.clientY + 14 + 'px'; }

// Periods on a calendar-year axis: the midpoint of start and end.
function yearOf(date) {
  const [y, m, d] = date.split('-').map(Number);
  const t0 = Date.UTC(y, 0, 1), t1 = Date.UTC(y + 1, 0, 1);
  return y + (Date.UTC(y, m - 1, d) - t0) / (t1 - t0);
}
function midYear(o) {
  const [y, m, d] = o.periodEnd.split('-').map(Number);
  const after = new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
  return (yearOf(o.periodStart) + yearOf(after)) / 2;
}
const isRange = (label) => /^\d{4}-\d{4}$/.test(label);
const BASES = ['POINT', 'PER_YEAR', 'CUMULATIVE'];
// lineOf picks what a chart joins: canonical actuals of single periods,
// of the first basis the series has (POINT, PER_YEAR, CUMULATIVE), as
// the API's analytics do.
function lineOf(obs, kind = 'ACTUAL') {
  const single = obs.filter((o) => o.kind === kind && o.canonical && !isRange(o.periodLabel));
  const basis = BASES.find((b) => single.some((o) => o.basis === b));
  return single.filter((o) => o.basis === basis).map((o) => ({ x: midYear(o), y: o.value, label: o.periodLabel, kind, obs: o })).sort((a, b) => a.x - b.x);
}

// Caches of what does not change while the page is open.
const children = new Map();
const open = new Set();
let roots = null;

async function loadRoots() {
  if (roots) return roots;
  const d = await gql('query($d: Date) { units(level: PROVINCE, first: 100, asOf: $d) { nodes { code nameVi nameEn level } } }', { d: state.asOf });
  roots = d.units.nodes;
  if (roots.length === 1) open.add(roots[0].code);
  return roots;
}
async function loadChildren(code) {
  if (!children.has(code)) {
    const d = await gql('query($c: ID!, $d: Date) { unit(code: $c, asOf: $d) { children { code nameVi nameEn level } } }', { c: code, d: state.asOf });
    children.set(code, d.unit ? d.unit.children : []);
  }
  return children.get(code);
}

function download(query) {
  return h('span', { class: 'dl' },
    h('select', { 'aria-label': 'format', onchange: (e) => go({ format: e.target.value }, true) },
      FORMATS.map((f) => h('option', { value: f, selected: f === state.format }, f))),
    ' ',
    h('a', { class: 'download', id: 'download', href: exportURL(state.format, query), download: '' }, '⤓ ' + L('download')));
}

// ---- layout

let renderSeq = 0;
async function render() {
  const seq = ++renderSeq;
  document.documentElement.lang = state.lang;
  document.title = L('title');
  const app = document.getElementById('app');
  const main = h('main', { id: 'main' }, h('p', { class: 'muted' }, '…'));
  const aside = h('aside', {});
  app.replaceChildren(header(), h('div', { class: 'layout' }, aside, main));
  sidebar(aside).catch((e) => aside.append(h('div', { class: 'err' }, String(e.message || e))));
  try {
    const content = await VIEW_FNS[state.view]();
    if (seq !== renderSeq) return;
    main.replaceChildren(...[content].flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
    main.dataset.ready = state.view;
  } catch (e) {
    if (seq !== renderSeq) return;
    main.replaceChildren(h('div', { class: 'err' }, `${L('error')}: ${e.message || e}`));
    main.dataset.ready = 'error';
  }
}

function header() {
  return h('header', {},
    h('h1', {}, L('title')),
    h('nav', {}, VIEWS.map((v) => {
      const a = link({ view: v }, L(v));
      if (v === state.view) a.className = 'on';
      a.dataset.view = v;
      return a;
    })),
    h('div', { class: 'right' },
      h('a', { href: '/' }, L('graphiql')),
      ['vi', 'en'].map((l) => h('button', { class: l === state.lang ? 'on' : '', 'data-lang': l, onclick: () => go({ lang: l }, true) }, l.toUpperCase()))));
}

async function sidebar(aside) {
  let timer;
  const results = h('div', { id: 'results' });
  const input = h('input', { id: 'search', type: 'search', placeholder: L('search'), value: state.q,
    oninput: (e) => { clearTimeout(timer); timer = setTimeout(() => { history.replaceState(null, '', href({ q: e.target.value })); readURL(); search(results); }, 200); } });
  const tree = h('ul', { class: 'tree', id: 'tree' });
  aside.append(input, results, h('h3', {}, L('tree')), tree);
  search(results);
  const current = await defaultUnit();
  if (current) {
    if (!state.unit) open.add(current);
    try {
      const d = await gql('query($c: ID!) { unit(code: $c) { ancestors { code } } }', { c: current });
      for (const a of d.unit?.ancestors || []) open.add(a.code);
    } catch { /* an unknown unit: the view says so */ }
  }
  for (const r of await loadRoots()) tree.append(await treeNode(r));
}

async function search(results) {
  const q = state.q.trim();
  if (!q) { results.replaceChildren(); return; }
  const d = await gql('query($q: String!) { units(search: $q, first: 20) { nodes { code nameVi nameEn level parent { nameVi nameEn } } } }', { q });
  if (q !== state.q.trim()) return;
  const nodes = d.units.nodes;
  results.replaceChildren(h('h3', {}, L('results')), nodes.length ? h('ul', { class: 'tree' }, nodes.map((u) => h('li', {},
    link({ unit: u.code, view: state.view === 'map' ? 'unit' : state.view }, name(state.lang, u)),
    h('span', { class: 'lvl' }, L(u.level) + (u.parent ? ' · ' + name(state.lang, u.parent) : ''))))) : h('p', { class: 'muted' }, L('none')));
}

async function treeNode(u) {
  const li = h('li', { 'data-code': u.code });
  const isOpen = open.has(u.code);
  const kids = isOpen ? await loadChildren(u.code) : null;
  const tw = h('button', { class: 'tw', 'aria-expanded': String(isOpen), title: L('children'),
    onclick: async () => {
      if (open.has(u.code)) open.delete(u.code); else open.add(u.code);
      li.replaceWith(await treeNode(u));
    } }, isOpen ? '▾' : '▸');
  const a = link({ unit: u.code, view: ['series', 'compare'].includes(state.view) ? state.view : 'unit' }, name(state.lang, u));
  if (u.code === state.unit) a.className = 'sel';
  li.append(tw, a, h('span', { class: 'lvl' }, L(u.level)));
  if (kids && kids.length) {
    const ul = h('ul', {});
    for (const k of kids) ul.append(await treeNode(k));
    li.append(ul);
  } else if (kids) tw.style.visibility = 'hidden';
  return li;
}

async function defaultUnit() {
  if (state.unit) return state.unit;
  const r = await loadRoots();
  // The embedded figures are Lai Châu's: start there when it is served.
  return (r.find((u) => u.code === MAP_UNIT) || r[0])?.code || '';
}

function crumbs(u) {
  return h('div', { class: 'crumbs' }, (u.ancestors || []).map((a) => [link({ unit: a.code }, name(state.lang, a)), ' › ']), L(u.level));
}

// ---- the unit: its indicators by theme, each with a sparkline

const OBS_FIELDS = 'indicatorCode periodLabel periodStart periodEnd kind value canonical basis';

async function unitView() {
  const code = await defaultUnit();
  const d = await gql(`query($c: ID!) { unit(code: $c) { code nameVi nameEn level ancestors { code nameVi nameEn level }
    indicators { code nameVi nameEn nameAscii theme unitLabel } } }`, { c: code });
  if (!d.unit) throw new Error(`unit ${code}?`);
  const u = d.unit;
  const obs = [];
  for (let after = null; ;) {
    const p = await gql(`query($c: ID!, $a: String) { observations(filter: { units: [$c] }, first: 1000, after: $a) { pageInfo { hasNextPage endCursor } nodes { ${OBS_FIELDS} } } }`, { c: code, a: after });
    obs.push(...p.observations.nodes);
    if (!p.observations.pageInfo.hasNextPage) break;
    after = p.observations.pageInfo.endCursor;
  }
  const byInd = Object.groupBy(obs, (o) => o.indicatorCode);
  const f = fold(state.filter);
  const inds = u.indicators.filter((i) => !f || fold(i.nameVi).includes(f) || fold(i.nameEn).includes(f) || i.code.includes(f));
  const byTheme = Object.groupBy(inds, (i) => i.theme || '');
  const themes = Object.keys(byTheme).sort((a, b) => themeName(state.lang, a).localeCompare(themeName(state.lang, b), state.lang));
  const filter = h('input', { id: 'filter', type: 'search', placeholder: L('filter'), value: state.filter, size: 36,
    onchange: (e) => go({ filter: e.target.value }, true) });
  const exportQ = `{ observations(filter: { units: [${str(code)}] }) { nodes { unit { code nameVi } indicator { code nameVi } periodLabel kind value measureUnit scale qualifier flags methodology canonical basis provenance { line raw source { id } } } } }`;
  return [
    crumbs(u),
    h('h2', { id: 'unit-name' }, name(state.lang, u)),
    h('div', { class: 'toolbar' }, filter, h('span', { class: 'muted' }, `${inds.length} ${L('indicators').toLowerCase()}`),
      link({ view: 'compare', ind: '' }, L('compare') + ' →'), download(exportQ)),
    inds.length ? null : h('p', { class: 'muted' }, L('noIndicators')),
    themes.map((th) => h('details', { class: 'theme', open: true, 'data-theme': th },
      h('summary', {}, `${themeName(state.lang, th)} (${byTheme[th].length})`),
      h('table', {}, h('tbody', {}, byTheme[th].map((i) => {
        const line = lineOf(byInd[i.code] || []);
        const last = line[line.length - 1];
        const tgt = lineOf(byInd[i.code] || [], 'TARGET');
        return h('tr', { 'data-indicator': i.code },
          h('td', {}, link({ view: 'series', ind: i.code }, name(state.lang, i))),
          h('td', {}, sparkline(line)),
          h('td', { class: 'num' }, last ? value(state.lang, last.y, i.unitLabel) : '–'),
          h('td', { class: 'muted' }, last ? last.label : ''),
          h('td', { class: 'muted' }, tgt.length ? `${L('target')} ${tgt[tgt.length - 1].label}: ${value(state.lang, tgt[tgt.length - 1].y, i.unitLabel)}` : ''));
      }))))),
  ];
}

// ---- one series: line chart with targets, breaks and provenance

async function seriesView() {
  const code = await defaultUnit();
  let ind = state.ind;
  if (!ind) {
    const d = await gql('query($c: ID!) { unit(code: $c) { indicators { code } } }', { c: code });
    ind = d.unit?.indicators[0]?.code;
    if (!ind) return h('p', { class: 'muted' }, L('noSeries'));
  }
  const d = await gql(`query($u: ID!, $i: ID!) {
    unit(code: $u) { code nameVi nameEn level ancestors { code nameVi nameEn level } }
    indicator(code: $i) { code nameVi nameEn unitLabel definition }
    series(unit: $u, indicator: $i, kinds: [ACTUAL, TARGET]) { observations { id periodLabel periodStart periodEnd kind value qualifier flags methodology canonical basis
      provenance { line raw note source { id title } } } } }`, { u: code, i: ind });
  const { unit: u, indicator: i } = d;
  const obs = d.series.observations;
  const fmt = (v) => value(state.lang, v, i.unitLabel);
  const actual = lineOf(obs), targets = lineOf(obs, 'TARGET');
  const breaks = [];
  for (let k = 1; k < actual.length; k++) {
    const a = actual[k - 1].obs, b = actual[k].obs;
    if ((a.methodology || '') !== (b.methodology || '') || b.flags.includes('break')) {
      breaks.push({ x: (actual[k - 1].x + actual[k].x) / 2, label: b.methodology || L('breakAt') });
    }
  }
  const provenance = (o) => `${L('source')}: ${o.provenance.source.id}${o.provenance.line ? `, ${L('line')} ${o.provenance.line}` : ''}`;
  const chart = lineChart({
    actual, targets, breaks, fmtY: (v) => num(state.lang, v),
    hover: (el, p) => hoverTip(el, () => [
      `${p.label} · ${L(p.kind)}: ${fmt(p.y)}`,
      p.obs.provenance.raw ? `${L('raw')}: "${p.obs.provenance.raw}"` : null,
      p.obs.methodology ? `${L('methodology')}: ${p.obs.methodology}` : null,
      provenance(p.obs),
      p.obs.provenance.source.title,
    ].filter(Boolean)),
  });
  const exportQ = `{ observations(filter: { units: [${str(code)}], indicators: [${str(ind)}] }) { nodes { unit { code nameVi } indicator { code nameVi } periodLabel kind value measureUnit scale qualifier flags methodology canonical basis provenance { line raw source { id title } } } } }`;
  return [
    crumbs(u),
    h('h2', { id: 'series-title' }, `${name(state.lang, i)} · ${name(state.lang, u)}`),
    i.definition ? h('p', { class: 'muted' }, i.definition) : null,
    h('div', { class: 'toolbar' }, h('span', { class: 'muted' }, i.unitLabel), link({ view: 'compare' }, L('compare') + ' →'), download(exportQ)),
    obs.length ? chart : h('p', { class: 'muted' }, L('noSeries')),
    h('div', { class: 'legend-line' }, h('span', { class: 'k' }, '● ' + L('actual')), h('span', { class: 'k' }, '◇ ' + L('target')), breaks.length ? h('span', { class: 'k' }, '┆ ' + L('breakAt')) : null),
    h('table', { id: 'observations' },
      h('thead', {}, h('tr', {}, [L('period'), L('kind'), L('value'), L('raw'), L('methodology'), L('flags'), L('canonical'), L('source')].map((x) => h('th', {}, x)))),
      h('tbody', {}, obs.map((o) => h('tr', { 'data-period': o.periodLabel, 'data-kind': o.kind },
        h('td', {}, o.periodLabel), h('td', {}, L(o.kind)), h('td', { class: 'num' }, fmt(o.value)),
        h('td', {}, o.provenance.raw || ''), h('td', {}, o.methodology || ''), h('td', {}, o.flags.join(', ')),
        h('td', {}, o.canonical ? '✓' : ''),
        h('td', { title: o.provenance.source.title }, `${o.provenance.source.id}${o.provenance.line ? ':' + o.provenance.line : ''}`))))),
  ];
}

// ---- comparison across a unit's children (and the map, its districts)

function periodInput() {
  const p = state.period;
  if (p === 'common') return { mode: 'COMMON', minCoverage: 0.1 };
  if (/^\d{4}$/.test(p)) return { mode: 'EXACT', label: p };
  return { mode: 'LATEST' };
}

// compared runs the comparison of ind over the units under code at the
// next level, choosing an indicator some of them have when none is given.
async function compared(code) {
  const ud = await gql('query($c: ID!) { unit(code: $c) { code nameVi nameEn level ancestors { code nameVi nameEn level } } }', { c: code });
  const u = ud.unit;
  if (!u) throw new Error(`unit ${code}?`);
  const level = NEXT_LEVEL[u.level] || 'VILLAGE';
  const kd = await gql('query($c: ID!, $l: Level, $d: Date) { unit(code: $c, asOf: $d) { descendants(level: $l) { code indicators { code nameVi nameEn } } } }', { c: code, l: level, d: state.asOf });
  const counts = new Map(), inds = new Map();
  for (const k of kd.unit.descendants) for (const i of k.indicators) { counts.set(i.code, (counts.get(i.code) || 0) + 1); inds.set(i.code, i); }
  let ind = state.ind;
  if (!ind) ind = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
  if (!ind) return { u, level, inds, ind: null };
  const period = periodInput();
  const d = await gql(`query($i: ID!, $u: ID!, $l: Level, $p: PeriodChoiceInput, $d: Date) {
    indicator(code: $i) { code nameVi nameEn unitLabel }
    compare(indicators: [$i], units: { under: $u, level: $l, asOf: $d }, period: $p) {
      unitsInSet mixedPeriods mixedMethodology commonPeriod { label }
      rows { unit { code nameVi nameEn } value period { label } missing rank rankTies observation { methodology provenance { line raw source { id } } } } } }`,
  { i: ind, u: code, l: level, p: period, d: state.asOf });
  if (!inds.has(ind)) inds.set(ind, d.indicator);
  const lit = period.mode === 'EXACT' ? `{ mode: EXACT, label: ${str(period.label)} }` : period.mode === 'COMMON' ? '{ mode: COMMON, minCoverage: 0.1 }' : '{ mode: LATEST }';
  const exportQ = `{ compare(indicators: [${str(ind)}], units: { under: ${str(code)}, level: ${level}, asOf: ${str(state.asOf)} }, period: ${lit}) { rows { unit { code nameVi } indicator { code } value period { label } missing rank rankTies observation { methodology provenance { line raw source { id } } } } } }`;
  return { u, level, inds, ind, indicator: d.indicator, cmp: d.compare, exportQ };
}

// modal is the period most rows with a value use: other periods are marked.
function modal(rows) {
  const c = new Map();
  for (const r of rows) if (r.period) c.set(r.period.label, (c.get(r.period.label) || 0) + 1);
  return [...c.entries()].sort((a, b) => b[1] - a[1] || b[0].localeCompare(a[0]))[0]?.[0];
}

function controls(r) {
  const inds = [...r.inds.values()].sort((a, b) => name(state.lang, a).localeCompare(name(state.lang, b), state.lang));
  return h('div', { class: 'toolbar' },
    h('label', {}, L('pickIndicator') + ' ', h('select', { id: 'indicator', onchange: (e) => go({ ind: e.target.value }) },
      inds.map((i) => h('option', { value: i.code, selected: i.code === r.ind }, name(state.lang, i))))),
    h('label', {}, L('periodMode') + ' ', h('select', { id: 'period', onchange: (e) => go({ period: e.target.value }) },
      h('option', { value: 'latest', selected: state.period === 'latest' }, L('LATEST')),
      h('option', { value: 'common', selected: state.period === 'common' }, L('COMMON')),
      [2025, 2024, 2023, 2022, 2021, 2020, 2019, 2018, 2017, 2016, 2015].map((y) => h('option', { value: String(y), selected: state.period === String(y) }, `${L('EXACT')} ${y}`)))),
    r.exportQ ? download(r.exportQ) : null);
}

function notes(cmp) {
  return [
    cmp.mixedPeriods ? h('div', { class: 'note', id: 'mixed-periods' }, L('mixedPeriods')) : null,
    cmp.mixedMethodology ? h('div', { class: 'note', id: 'mixed-methodology' }, L('mixedMethodology')) : null,
  ];
}

function missingList(rows) {
  const missing = rows.filter((r) => r.value === null);
  if (!missing.length) return null;
  return h('div', { id: 'missing' }, h('h3', {}, `${L('missing')} (${missing.length})`),
    h('ul', {}, missing.map((r) => h('li', { 'data-unit': r.unit.code }, link({ view: 'unit', unit: r.unit.code, ind: '' }, name(state.lang, r.unit)), ` — ${L(r.missing)}`))));
}

async function compareView() {
  const code = await defaultUnit();
  const r = await compared(code);
  const head = [crumbs(r.u), h('h2', {}, `${L('compare')}: ${name(state.lang, r.u)} → ${L(r.level)}`)];
  if (!r.ind) return [...head, h('p', { class: 'muted' }, L('noSeries'))];
  const { cmp, indicator: i } = r;
  const ranked = cmp.rows.filter((x) => x.value !== null);
  const mode = modal(ranked);
  const fmt = (v) => value(state.lang, v, i.unitLabel);
  return [
    ...head, controls(r),
    h('p', { id: 'compare-summary' }, `${name(state.lang, i)}: ${ranked.length} ${L('of')} ${cmp.unitsInSet} ${L('unitsInSet')}`),
    ...notes(cmp),
    ranked.length ? bars(ranked.map((x) => ({ code: x.unit.code, label: name(state.lang, x.unit), value: x.value, text: `${fmt(x.value)} (${x.period.label})`, mark: cmp.mixedPeriods && x.period.label !== mode }))) : null,
    h('table', { id: 'ranking' },
      h('thead', {}, h('tr', {}, [L('rank'), L('unit'), L('value'), L('period'), L('methodology'), L('source')].map((x) => h('th', {}, x)))),
      h('tbody', {}, ranked.map((x) => h('tr', { 'data-unit': x.unit.code, 'data-rank': x.rank },
        h('td', { class: 'num' }, String(x.rank) + (x.rankTies > 1 ? '=' : '')),
        h('td', {}, link({ view: 'series', unit: x.unit.code }, name(state.lang, x.unit))),
        h('td', { class: 'num' }, fmt(x.value)),
        h('td', {}, x.period.label + (cmp.mixedPeriods && x.period.label !== mode ? ` * (${L('otherPeriod')})` : '')),
        h('td', {}, x.observation?.methodology || ''),
        h('td', {}, x.observation ? `${x.observation.provenance.source.id}${x.observation.provenance.line ? ':' + x.observation.provenance.line : ''}` : ''))))),
    missingList(cmp.rows),
  ];
}

// ---- the map of Lai Châu's districts

let geo = null;
async function loadGeo() {
  if (!geo) geo = await (await fetch('/assets/lai-chau-districts.geo.json')).json();
  return geo;
}

const COLOURS = ['#deebf7', '#9ecae1', '#6baed6', '#3182bd', '#08519c'];

async function mapView() {
  const [g, r] = await Promise.all([loadGeo(), compared(MAP_UNIT).catch(() => null)]);
  if (!r) return h('p', { class: 'muted' }, L('noMap'));
  const head = [crumbs(r.u), h('h2', {}, `${L('map')}: ${name(state.lang, r.u)}`)];
  if (!r.ind) return [...head, h('p', { class: 'muted' }, L('noSeries'))];
  const { cmp, indicator: i } = r;
  const fmt = (v) => value(state.lang, v, i.unitLabel);
  const byCode = new Map(cmp.rows.map((x) => [x.unit.code, x]));
  const vals = cmp.rows.filter((x) => x.value !== null).map((x) => x.value);
  const lo = Math.min(...vals), hi = Math.max(...vals);
  const colour = (v) => (hi === lo ? COLOURS[3] : COLOURS[Math.min(4, Math.floor(((v - lo) / (hi - lo)) * 5))]);
  // An equirectangular projection, x scaled by cos(latitude) at the centre.
  const [x0, y0, x1, y1] = g.bbox;
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
  const W = 720, H = Math.round(W * (y1 - y0) / ((x1 - x0) * k));
  const P = ([lon, lat]) => `${(((lon - x0) * k) / ((x1 - x0) * k) * (W - 20) + 10).toFixed(1)},${(((y1 - lat) / (y1 - y0)) * (H - 20) + 10).toFixed(1)}`;
  const s = svg('svg', { width: W, height: H, class: 'chart map', viewBox: `0 0 ${W} ${H}`, id: 'map' },
    svg('defs', {}, svg('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      svg('rect', { width: 6, height: 6, fill: '#eef1f4' }), svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#c5ced8', 'stroke-width': 2 }))));
  const labels = svg('g', {});
  for (const f of g.features) {
    const row = byCode.get(f.properties.code);
    const d = f.geometry.coordinates.map((poly) => poly.map((ring) => 'M' + ring.map(P).join('L') + 'Z').join('')).join('');
    const has = row && row.value !== null;
    const path = svg('path', { d, class: 'district' + (has ? '' : ' missing'), fill: has ? colour(row.value) : null, 'data-code': f.properties.code, 'data-value': has ? row.value : null });
    const uname = row ? name(state.lang, row.unit) : f.properties.name;
    hoverTip(path, () => [uname, has ? `${fmt(row.value)} (${row.period.label}) · ${L('rank')} ${row.rank}` : `${L('missing')}${row ? ': ' + L(row.missing) : ''}`,
      has && row.observation ? `${L('source')}: ${row.observation.provenance.source.id}${row.observation.provenance.line ? `, ${L('line')} ${row.observation.provenance.line}` : ''}` : null].filter(Boolean));
    path.addEventListener('click', () => go({ view: 'series', unit: f.properties.code }));
    s.append(path);
    const [cx, cy] = P(f.properties.centre).split(',');
    labels.append(svg('text', { x: cx, y: cy, class: 'label' }, uname));
  }
  s.append(labels);
  const steps = COLOURS.map((c, n) => [c, lo + ((hi - lo) * n) / 5]);
  return [
    ...head, controls(r),
    h('p', { id: 'compare-summary' }, `${name(state.lang, i)}: ${vals.length} ${L('of')} ${cmp.unitsInSet} ${L('unitsInSet')}`),
    ...notes(cmp),
    s,
    h('div', { class: 'legend' }, vals.length ? (hi === lo ? [h('span', {}, h('span', { class: 'sw', style: `background:${COLOURS[3]}` }), fmt(lo))] : steps.map(([c, v]) => h('span', {}, h('span', { class: 'sw', style: `background:${c}` }), '≥ ' + fmt(v)))) : null,
      h('span', {}, h('span', { class: 'sw', style: 'background:#eef1f4;border:1px solid #c5ced8' }), L('legendMissing'))),
    missingList(cmp.rows),
    h('p', { class: 'muted' }, `${L('source')}: ${g.provenance.source} (${g.provenance.asOf})`),
  ];
}

const VIEW_FNS = { unit: unitView, series: seriesView, compare: compareView, map: mapView };

readURL();
render();
