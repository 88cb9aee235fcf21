"""Board -> one self-contained HTML page (inline CSS, JS and SVG; no network).

The board JSON is embedded in the page and drawn by a small script: a
sortable table (reference rows marked and kept below measured rows unless
asked), a per-category bar chart with 95% error bars, and accuracy-vs-step
curves for training runs. Rows exist only after the script ran, which is
what the headless-browser test checks. The JSON block holds no '<', '>' or
'&' (`escape.json_for_html`), so no name can end or comment out the block,
and a non-finite number is refused rather than written as `NaN`, which
`JSON.parse` rejects (either way the page used to stay blank).
"""

from __future__ import annotations

import html
from typing import Any

from harness.leaderboard.escape import json_for_html

CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta,.notes{color:#555;font-size:12.5px}.notes{margin:6px 0 12px;padding-left:18px}
.controls{margin:8px 0;font-size:13px}.controls label{margin-right:16px}
table{border-collapse:collapse;font-size:12.5px;margin-top:6px}
th,td{border:1px solid #d9dde5;padding:3px 6px;text-align:right;white-space:nowrap}
th{background:#eef1f6;cursor:pointer;user-select:none}th.grp{background:#dfe5ef;cursor:default;text-align:center}
td.txt,th.txt{text-align:left}tr.ref td{background:#fbf6e6;font-style:italic;color:#6b5a2a}
.badge{display:inline-block;font-size:10px;font-style:normal;background:#c9a227;color:#fff;border-radius:3px;padding:0 4px;margin-right:4px}
.incomplete{color:#8a8f99}.ci{color:#777;font-size:11px;margin-left:3px}th.sorted{background:#cfd9ea}
.chart{margin:6px 0 18px;overflow-x:auto}.legend{font-size:12px}.legend span{margin-right:12px;white-space:nowrap}
.delta{display:block;font-size:11px;color:#4a5568}.delta.unpaired{color:#999}
table.taxonomy td:first-child,table.taxonomy th:first-child{text-align:left}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
"""

JS = r"""
(function(){
const data = JSON.parse(document.getElementById('board-data').textContent);
const PAL = ['#4e79a7','#f28e2b','#e15759','#76b7b2','#59a14f','#edc948','#b07aa1','#ff9da7','#9c755f','#bab0ac'];
const NS = 'http://www.w3.org/2000/svg';
const state = {key: data.primary, dir: -1, showRefs: true, mixRefs: false};
// deep links: #sort=<column>[&asc][&mix][&norefs] (also lets a headless browser check sorting)
for (const part of decodeURIComponent(location.hash.slice(1)).split('&')){
  if (part.startsWith('sort=')) state.key = part.slice(5);
  else if (part === 'asc') state.dir = 1;
  else if (part === 'mix') state.mixRefs = true;
  else if (part === 'norefs') state.showRefs = false;
}
const pct = x => (x === null || x === undefined) ? '' : (100 * x).toFixed(2);
const acc = (r, k) => { const c = r.cells[k]; return c && c.accuracy !== null && c.accuracy !== undefined ? c.accuracy : null; };
const LEAD = [['label', 'run'], ['model', 'model'], ['step', 'step'], ['coverage', 'items'], ['failed', 'failed'], ['vs', 'Δ vs']];
const hasStep = data.rows.some(r => r.step !== null && r.step !== undefined);
const hasCov = data.rows.some(r => r.coverage);
const hasVs = data.rows.some(r => r.baseline);
const lead = LEAD.filter(l => (l[0] !== 'step' || hasStep) && (l[0] !== 'coverage' || hasCov) && (l[0] !== 'vs' || hasVs));
const NUMERIC_LEAD = {step: 'step', coverage: 'items', failed: 'failed'};  // lead columns sorted by a number, not their text
const sgn = x => (x >= 0 ? '+' : '') + (100 * x).toFixed(1);
// the paired difference against the row's baseline, as render_md.paired_text writes it
function pairedText(cell){
  const e = cell.paired; if (!e) return '';
  if (e.unpaired !== undefined) return 'Δ unpaired';
  const p = e.p < 0.001 ? 'p<0.001' : 'p=' + Number(e.p.toPrecision(2));
  return 'Δ ' + sgn(e.delta) + ' [' + sgn(e.ci95[0]) + ', ' + sgn(e.ci95[1]) + '] ' + p + (cell.total && e.n_items < cell.total ? ' on ' + e.n_items + ' common' : '');
}
const leadText = (r, key) => key === 'vs' ? (r.baseline ? 'baseline' : (r.vs || '')) : (r[key] === null || r[key] === undefined ? '' : String(r[key]));

function el(tag, attrs, text){ const e = document.createElement(tag); for (const k in (attrs||{})) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; }
function sv(tag, attrs, text){ const e = document.createElementNS(NS, tag); for (const k in (attrs||{})) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; }

function sortedRows(){
  const rows = data.rows.filter(r => state.showRefs || !r.reference);
  const val = r => { if (state.key in NUMERIC_LEAD) return r[NUMERIC_LEAD[state.key]]; if (lead.some(l => l[0] === state.key)) return r[state.key]; return acc(r, state.key); };
  return rows.slice().sort((a, b) => {
    if (!state.mixRefs && !!a.reference !== !!b.reference) return a.reference ? 1 : -1;
    const va = val(a), vb = val(b);
    if (va === null || va === undefined) return (vb === null || vb === undefined) ? 0 : 1;
    if (vb === null || vb === undefined) return -1;
    if (typeof va === 'string') return state.dir * va.localeCompare(vb);
    return state.dir * (va - vb);
  });
}

function renderTable(){
  const thead = document.querySelector('#board thead'), tbody = document.querySelector('#board tbody');
  thead.innerHTML = ''; tbody.innerHTML = '';
  const g = el('tr'); g.appendChild(el('th', {'class': 'grp', colspan: String(lead.length + 1)}, ''));
  let last = null, span = null;
  for (const c of data.columns){ if (c.group !== last){ span = el('th', {'class': 'grp', colspan: '0'}, c.group); g.appendChild(span); last = c.group; } span.setAttribute('colspan', String(+span.getAttribute('colspan') + 1)); }
  thead.appendChild(g);
  const h = el('tr'); h.appendChild(el('th', {'class': 'txt'}, '#'));
  const head = (key, label, cls) => { const th = el('th', {'class': cls + (state.key === key ? ' sorted' : ''), 'data-key': key, title: 'sort by ' + key}, label + (state.key === key ? (state.dir < 0 ? ' ▼' : ' ▲') : ''));
    th.addEventListener('click', () => { if (state.key === key) state.dir = -state.dir; else { state.key = key; state.dir = lead.some(l => l[0] === key) && !(key in NUMERIC_LEAD) ? 1 : -1; } renderTable(); }); h.appendChild(th); };
  for (const l of lead) head(l[0], l[1], 'txt');
  for (const c of data.columns) head(c.key, c.label, '');
  thead.appendChild(h);
  let rank = 0;
  for (const r of sortedRows()){
    const tr = el('tr', {'data-row-id': r.id, 'class': r.reference ? 'ref' : 'measured'});
    tr.appendChild(el('td', {'class': 'txt'}, r.reference ? '' : String(++rank)));
    for (const l of lead){
      const td = el('td', {'class': 'txt'});
      if (l[0] === 'label' && r.reference){ td.appendChild(el('span', {'class': 'badge', title: r.source || ''}, 'REF')); td.title = (r.source || '') + (r.note ? ' — ' + r.note : ''); }
      td.appendChild(document.createTextNode(leadText(r, l[0])));
      tr.appendChild(td);
    }
    for (const c of data.columns){
      const cell = r.cells[c.key], td = el('td');
      if (cell && cell.accuracy !== null && cell.accuracy !== undefined){
        td.appendChild(document.createTextNode(pct(cell.accuracy) + (cell.complete === false ? '*' : '')));
        if (cell.complete === false) td.classList.add('incomplete');
        if (cell.ci95) td.appendChild(el('span', {'class': 'ci'}, '[' + (100*cell.ci95[0]).toFixed(1) + '–' + (100*cell.ci95[1]).toFixed(1) + ']'));
        td.title = (cell.total ? 'n=' + cell.total + ', ' : '') + (cell.ci95 ? '95% CI ' + pct(cell.ci95[0]) + '–' + pct(cell.ci95[1]) + ' (' + cell.method + ')' : cell.method || '') + (cell.complete === false ? '; incomplete: categories not run count 0' : '') + (cell.failed ? '; ' + cell.failed + ' failed generations' : '');
        if (cell.paired){ const e = cell.paired; td.appendChild(el('span', {'class': 'delta' + (e.unpaired !== undefined ? ' unpaired' : '')}, pairedText(cell)));
          td.title += '; vs ' + e.vs + ': ' + (e.unpaired !== undefined ? 'unpaired (' + e.unpaired + ')' : pairedText(cell) + ' (' + e.test + ', ' + e.n_items + ' common items)'); }
      } else td.textContent = '–';
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
}

function axis(svg, x0, y0, w, h){
  for (let v = 0; v <= 100; v += 20){
    const y = y0 + h - h * v / 100;
    svg.appendChild(sv('line', {x1: x0, x2: x0 + w, y1: y, y2: y, stroke: '#e3e6ec'}));
    svg.appendChild(sv('text', {x: x0 - 6, y: y + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#555'}, String(v)));
  }
  svg.appendChild(sv('line', {x1: x0, x2: x0, y1: y0, y2: y0 + h, stroke: '#888'}));
}
function errbar(svg, x, ylo, yhi, color){
  svg.appendChild(sv('line', {x1: x, x2: x, y1: ylo, y2: yhi, stroke: color || '#222', 'stroke-width': 1.2, 'class': 'errbar'}));
  for (const y of [ylo, yhi]) svg.appendChild(sv('line', {x1: x - 3, x2: x + 3, y1: y, y2: y, stroke: color || '#222', 'stroke-width': 1.2}));
}
function legend(box, names){ const lg = el('div', {'class': 'legend'}); names.forEach((n, i) => { const s = el('span'); const sw = el('span', {'class': 'sw'}); sw.style.background = PAL[i % PAL.length]; s.appendChild(sw); s.appendChild(document.createTextNode(n)); lg.appendChild(s); }); box.appendChild(lg); }

function renderBars(){
  const box = document.getElementById('bars'); box.innerHTML = '';
  const group = document.getElementById('chart-group').value;
  const measured = data.rows.filter(r => !r.reference);
  const cols = data.columns.filter(c => c.group === group && measured.some(r => acc(r, c.key) !== null));
  const rows = measured.slice(0, 8);
  if (!cols.length || !rows.length){ box.appendChild(el('p', {}, 'No measured values in this group.')); return; }
  const bw = Math.max(6, Math.min(22, 120 / rows.length)), gap = 18, x0 = 46, y0 = 12, h = 220;
  const gw = rows.length * bw + gap, w = Math.max(300, cols.length * gw);
  const svg = sv('svg', {width: x0 + w + 10, height: y0 + h + 110, id: 'bar-svg', role: 'img'});
  svg.appendChild(sv('rect', {x: 0, y: 0, width: x0 + w + 10, height: y0 + h + 110, fill: '#fff'}));
  axis(svg, x0, y0, w, h);
  cols.forEach((c, ci) => {
    const gx = x0 + ci * gw + gap / 2;
    rows.forEach((r, ri) => {
      const cell = r.cells[c.key]; if (!cell || cell.accuracy === null || cell.accuracy === undefined) return;
      const x = gx + ri * bw, bh = h * cell.accuracy;
      const rect = sv('rect', {x: x, y: y0 + h - bh, width: bw - 1, height: Math.max(bh, 0.5), fill: PAL[ri % PAL.length], 'class': 'bar'});
      rect.appendChild(sv('title', {}, r.label + ' — ' + c.key + ': ' + pct(cell.accuracy) + '%' + (cell.ci95 ? ' [' + pct(cell.ci95[0]) + '–' + pct(cell.ci95[1]) + '] n=' + cell.total : '')));
      svg.appendChild(rect);
      if (cell.ci95) errbar(svg, x + (bw - 1) / 2, y0 + h - h * cell.ci95[0], y0 + h - h * cell.ci95[1]);
    });
    const tx = gx + rows.length * bw / 2;
    svg.appendChild(sv('text', {x: tx, y: y0 + h + 12, 'font-size': 11, 'text-anchor': 'end', transform: 'rotate(-35 ' + tx + ' ' + (y0 + h + 12) + ')'}, c.label));
  });
  box.appendChild(svg);
  legend(box, rows.map(r => r.label));
  if (measured.length > rows.length) box.appendChild(el('p', {'class': 'meta'}, 'Showing the top ' + rows.length + ' of ' + measured.length + ' measured rows.'));
}

function renderCurves(){
  const box = document.getElementById('curves'); box.innerHTML = '';
  const groups = {};
  for (const r of data.rows) if (!r.reference && r.step !== null && r.step !== undefined) (groups[r.run_group] = groups[r.run_group] || []).push(r);
  const names = Object.keys(groups);
  if (!names.length){ box.appendChild(el('p', {'class': 'meta'}, 'No training runs on this board.')); return; }
  for (const g of names){
    const rows = groups[g].slice().sort((a, b) => a.step - b.step);
    const keys = data.columns.map(c => c.key).filter(k => rows.some(r => acc(r, k) !== null)).slice(0, 10);
    box.appendChild(el('h3', {}, g));
    const x0 = 46, y0 = 12, w = 560, h = 220;
    const svg = sv('svg', {width: x0 + w + 20, height: y0 + h + 40, 'class': 'curve-svg', 'data-run-group': g});
    svg.appendChild(sv('rect', {x: 0, y: 0, width: x0 + w + 20, height: y0 + h + 40, fill: '#fff'}));
    axis(svg, x0, y0, w, h);
    const s0 = rows[0].step, s1 = rows[rows.length - 1].step;
    const X = s => x0 + 10 + (s1 === s0 ? (w - 20) / 2 : (w - 20) * (s - s0) / (s1 - s0));
    for (const r of rows) svg.appendChild(sv('text', {x: X(r.step), y: y0 + h + 16, 'font-size': 11, 'text-anchor': 'middle'}, String(r.step)));
    svg.appendChild(sv('text', {x: x0 + w / 2, y: y0 + h + 34, 'font-size': 11, 'text-anchor': 'middle', fill: '#555'}, 'global step'));
    keys.forEach((k, i) => {
      const color = PAL[i % PAL.length], pts = rows.filter(r => acc(r, k) !== null);
      const Y = v => y0 + h - h * v;
      if (pts.length > 1) svg.appendChild(sv('polyline', {points: pts.map(r => X(r.step) + ',' + Y(acc(r, k))).join(' '), fill: 'none', stroke: color, 'stroke-width': 2}));
      for (const r of pts){ const c = r.cells[k];
        if (c.ci95) errbar(svg, X(r.step), Y(c.ci95[0]), Y(c.ci95[1]), color);
        const dot = sv('circle', {cx: X(r.step), cy: Y(c.accuracy), r: 3.5, fill: color, 'class': 'point'});
        dot.appendChild(sv('title', {}, k + ' @ step ' + r.step + ': ' + pct(c.accuracy) + '%' + (c.ci95 ? ' [' + pct(c.ci95[0]) + '–' + pct(c.ci95[1]) + '] n=' + c.total : '')));
        svg.appendChild(dot); }
    });
    const wrap = el('div', {'class': 'chart'}); wrap.appendChild(svg); box.appendChild(wrap); legend(box, keys);
  }
}

const sel = document.getElementById('chart-group');
const groups = [...new Set(data.columns.map(c => c.group))].filter(gn => data.columns.some(c => c.group === gn && data.rows.some(r => !r.reference && acc(r, c.key) !== null)));
for (const gn of groups) sel.appendChild(el('option', {value: gn}, gn));
const pc = data.columns.find(c => c.key === data.primary); if (pc) sel.value = pc.group;
sel.addEventListener('change', renderBars);
document.getElementById('show-refs').addEventListener('change', e => { state.showRefs = e.target.checked; renderTable(); });
document.getElementById('mix-refs').addEventListener('change', e => { state.mixRefs = e.target.checked; renderTable(); });
document.getElementById('show-refs').checked = state.showRefs;
document.getElementById('mix-refs').checked = state.mixRefs;
if (!data.rows.some(r => r.reference)) document.getElementById('ref-controls').style.display = 'none';
renderTable(); renderBars(); renderCurves();
document.body.setAttribute('data-rendered', String(data.rows.length));
})();
"""


def taxonomy_html(board: dict[str, Any]) -> str:
    """Static tables (no script needed): per benchmark, each measured row's wrong answers by cause (percent)."""
    rows = [r for r in board["rows"] if not r.get("reference") and r.get("taxonomy")]
    cats = board.get("taxonomy_categories") or []
    parts = []
    for bench in sorted({b for r in rows for b in r["taxonomy"]}):
        head = "".join(f"<th>{html.escape(label)}</th>" for _, label in cats)
        body = "".join(
            f"<tr><td>{html.escape(r['label'])}</td><td>{r['taxonomy'][bench]['wrong']}</td>"
            + "".join(f"<td>{100 * r['taxonomy'][bench]['shares'][k]:.1f}</td>" for k, _ in cats) + "</tr>"
            for r in rows if bench in r["taxonomy"])
        parts.append(f"<h3>{html.escape(bench)}</h3><table class=\"taxonomy\" data-benchmark=\"{html.escape(bench)}\">"
                     f"<thead><tr><th>run</th><th>wrong</th>{head}</tr></thead><tbody>{body}</tbody></table>")
    if not parts:
        return ""
    return "<h2>Failure taxonomy (% of wrong answers)</h2>" + "".join(parts)


def render_html(board: dict[str, Any]) -> str:
    name = html.escape(board["name"]) + (" (failed generations EXCLUDED)" if board.get("exclude_failed") else "")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in board.get("notes", []))
    meta = f"Sorted by <code>{html.escape(str(board.get('primary')))}</code>"
    if board.get("generated_at"):
        meta = f"Generated {html.escape(board['generated_at'])}. " + meta
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Leaderboard: {name}</title><style>{CSS}</style></head>
<body>
<h1>Leaderboard: {name}</h1>
<p class="meta">{meta}. Click a column header to sort; hover a cell for n and its 95% interval.</p>
<ul class="notes">{notes}</ul>
<noscript><p>This page draws its table with JavaScript; the same figures are in board.md / board.csv.</p></noscript>
<div class="controls" id="ref-controls"><label><input type="checkbox" id="show-refs" checked> show reference rows
(reported elsewhere, not measured)</label><label><input type="checkbox" id="mix-refs"> rank references with measured
rows</label></div>
<table id="board"><thead></thead><tbody></tbody></table>
<h2>Per-category accuracy (95% error bars)</h2>
<div class="controls">column group: <select id="chart-group"></select></div>
<div id="bars" class="chart"></div>
<h2>Accuracy vs training step</h2>
<div id="curves"></div>
{taxonomy_html(board)}
<script type="application/json" id="board-data">{json_for_html(board)}</script>
<script>{JS}</script>
</body></html>
"""
