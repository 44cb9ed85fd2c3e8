// The app's pictures as plain SVG strings: bars of what each layer keeps, a heat map of head
// importance, a per-layer summary of neuron importance, the sweep's dev metric and KL against
// MACs kept, and the forward latency. Each has a title, axes with units, and a <title> on
// every mark for the exact value.
import type { Latency, Pictures, SweepPoint } from './protocol.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const FONT = 'font-family="system-ui, sans-serif"';
const INK = '#1f2933', GRID = '#d5dbe1', MUTED = '#616e7c';
const KEPT = '#2f6fb3', PRUNED = '#e4e7eb', ACCENT = '#d9822b';

function svg(width: number, height: number, body: string, label: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(label)}" ${FONT} font-size="12" fill="${INK}">${body}</svg>`;
}

const text = (x: number, y: number, s: string, attrs = '') => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
const rect = (x: number, y: number, w: number, h: number, fill: string, tip?: string, attrs = '') =>
  `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${fill}" ${attrs}>${tip ? `<title>${esc(tip)}</title>` : ''}</rect>`;
const line = (x1: number, y1: number, x2: number, y2: number, stroke: string, attrs = '') =>
  `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${stroke}" ${attrs}/>`;

/** Round, readable tick values over [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Number as people read it: 3 significant digits, exponent form when very small or large. */
export function fmt(v: number, digits = 3): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return Number(v.toPrecision(digits)).toExponential().replace('e+', 'e');
  return Number(v.toPrecision(digits)).toLocaleString('en-US');
}

/** Sequential colour scale (light yellow → green → dark blue), t in [0, 1]. */
export function colour(t: number): string {
  const stops = [[255, 247, 188], [161, 218, 180], [65, 182, 196], [44, 127, 184], [37, 52, 148]];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  const c = stops[i]!.map((v, k) => Math.round(v + (stops[i + 1]![k]! - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Per-layer horizontal bars: heads kept of H, and neurons kept of I. */
export function keptBars(p: Pictures): string {
  const width = 520, rowH = 22, top = 34, left = 64, right = 150, panelGap = 44;
  const panel = (y0: number, title: string, kept: number[], of: number, unit: string) => {
    const w = width - left - right;
    let body = text(0, y0 + 14, title, 'font-weight="600" font-size="13"');
    const yAxis = y0 + top + kept.length * rowH + 4;
    for (const t of [0, 25, 50, 75, 100]) {
      const x = left + (w * t) / 100;
      body += line(x, y0 + top - 4, x, yAxis, GRID) + text(x, yAxis + 14, `${t}%`, `text-anchor="middle" fill="${MUTED}"`);
    }
    kept.forEach((k, l) => {
      const y = y0 + top + l * rowH;
      const tip = `layer ${l}: ${k} of ${of} ${unit} kept (${((100 * k) / of).toFixed(1)}%)`;
      body += text(left - 8, y + 14, `layer ${l}`, 'text-anchor="end"');
      body += rect(left, y + 2, w, rowH - 6, PRUNED, tip);
      body += rect(left, y + 2, (w * k) / of, rowH - 6, KEPT, tip);
      body += text(left + w + 8, y + 14, `${k.toLocaleString('en-US')} / ${of.toLocaleString('en-US')} (${((100 * k) / of).toFixed(0)}%)`);
    });
    body += text(left + w / 2, yAxis + 30, `share of the layer's ${unit} kept`, `text-anchor="middle" fill="${MUTED}"`);
    return { body, height: yAxis + 36 - y0 };
  };
  const a = panel(0, `Attention heads kept per layer (of ${p.heads})`, p.headsKept, p.heads, 'heads');
  const b = panel(a.height + panelGap - 20, `FFN neurons kept per layer (of ${p.intermediate.toLocaleString('en-US')})`, p.neuronsKept, p.intermediate, 'neurons');
  const h = a.height + panelGap - 20 + b.height;
  return svg(width, h, a.body + b.body, 'heads and neurons kept per layer');
}

/** Layers × heads, coloured by log10 of the head's Fisher information; pruned heads crossed out. */
export function headHeatmap(p: Pictures): string {
  const cell = Math.max(18, Math.min(40, Math.floor(380 / p.heads))), left = 64, top = 40;
  const gridW = cell * p.heads, gridH = cell * p.layers, legendW = 16;
  const width = Math.max(left + gridW + 110, 360), height = top + gridH + 44;
  const values = p.headFisher.flat().filter((v) => v > 0);
  const lo = Math.log10(values.length ? Math.min(...values) : 1e-30), hi = Math.log10(values.length ? Math.max(...values) : 1e-30);
  const t = (v: number) => (v > 0 && hi > lo ? (Math.log10(v) - lo) / (hi - lo) : 0);
  let body = text(0, 14, 'Head importance (Fisher information, log scale)', 'font-weight="600" font-size="13"');
  body += text(left + gridW / 2, top - 8, 'head', `text-anchor="middle" fill="${MUTED}"`);
  for (let h = 0; h < p.heads; h++) body += text(left + h * cell + cell / 2, top + gridH + 14, String(h), `text-anchor="middle" fill="${MUTED}"`);
  p.headFisher.forEach((row, l) => {
    const y = top + l * cell;
    body += text(left - 8, y + cell / 2 + 4, `layer ${l}`, 'text-anchor="end"');
    row.forEach((v, h) => {
      const x = left + h * cell, kept = p.headKeptMask[l]![h]!;
      body += rect(x, y, cell - 1, cell - 1, colour(t(v)), `layer ${l}, head ${h}: Fisher ${v.toExponential(3)} (${kept ? 'kept' : 'pruned'})`);
      if (!kept) body += line(x + 3, y + 3, x + cell - 4, y + cell - 4, '#c0392b', 'stroke-width="2"') + line(x + cell - 4, y + 3, x + 3, y + cell - 4, '#c0392b', 'stroke-width="2"');
    });
  });
  body += text(left, top + gridH + 32, '✕ pruned head', `fill="#c0392b"`);
  // Legend: a colour bar with the log range's ends and middle.
  const lx = left + gridW + 24;
  for (let i = 0; i < 32; i++) body += rect(lx, top + gridH - ((i + 1) * gridH) / 32, legendW, gridH / 32 + 0.5, colour(i / 31));
  for (const f of [0, 0.5, 1]) body += text(lx + legendW + 4, top + gridH - f * gridH + 4, (10 ** (lo + f * (hi - lo))).toExponential(1), `fill="${MUTED}" font-size="11"`);
  return svg(width, height, body, 'heat map of head importance');
}

/** Per layer, the spread of the neurons' Fisher information on a log axis, and the share of it kept. */
export function neuronSummary(p: Pictures): string {
  const width = 520, left = 64, right = 120, top = 40, rowH = 30;
  const w = width - left - right, height = top + p.layers * rowH + 48;
  const all = p.neuronQuantiles.flat().filter((v) => v > 0);
  let lo = Math.floor(Math.log10(all.length ? Math.min(...all) : 1e-12)), hi = Math.ceil(Math.log10(all.length ? Math.max(...all) : 1));
  if (hi <= lo) hi = lo + 1;
  const x = (v: number) => left + (w * (Math.log10(Math.max(v, 10 ** lo)) - lo)) / (hi - lo);
  let body = text(0, 14, 'Neuron importance per layer (Fisher information, log scale)', 'font-weight="600" font-size="13"');
  body += text(left + w + 8, top - 8, 'importance kept', `fill="${MUTED}"`);
  const step = Math.max(1, Math.ceil((hi - lo) / 6));
  for (let e = lo; e <= hi; e += step) {
    body += line(x(10 ** e), top - 4, x(10 ** e), top + p.layers * rowH, GRID) + text(x(10 ** e), top + p.layers * rowH + 14, `1e${e}`, `text-anchor="middle" fill="${MUTED}"`);
  }
  p.neuronQuantiles.forEach((q, l) => {
    const [min, p10, p25, med, p75, p90, max] = q as [number, number, number, number, number, number, number];
    const y = top + l * rowH + rowH / 2;
    const tip = `layer ${l}: min ${min.toExponential(2)}, 10% ${p10.toExponential(2)}, 25% ${p25.toExponential(2)}, median ${med.toExponential(2)}, 75% ${p75.toExponential(2)}, 90% ${p90.toExponential(2)}, max ${max.toExponential(2)}; ${p.neuronsKept[l]} kept`;
    body += text(left - 8, y + 4, `layer ${l}`, 'text-anchor="end"');
    body += line(x(p10), y, x(p90), y, INK);
    body += line(x(p10), y - 5, x(p10), y + 5, INK) + line(x(p90), y - 5, x(p90), y + 5, INK);
    body += rect(x(p25), y - 8, x(p75) - x(p25), 16, '#a6c8ea', tip, `stroke="${KEPT}"`);
    body += line(x(med), y - 8, x(med), y + 8, INK, 'stroke-width="2"');
    body += `<circle cx="${x(min).toFixed(1)}" cy="${y}" r="2.5" fill="${MUTED}"/><circle cx="${x(max).toFixed(1)}" cy="${y}" r="2.5" fill="${MUTED}"/>`;
    body += text(left + w + 8, y + 4, `${(100 * p.neuronShareKept[l]!).toFixed(1)}% (${p.neuronsKept[l]} kept)`);
  });
  body += text(left + w / 2, top + p.layers * rowH + 32, 'box: 25-75%, line: median, whiskers: 10-90%, dots: min and max', `text-anchor="middle" fill="${MUTED}"`);
  return svg(width, height, body, 'neuron importance per layer');
}

interface Series { points: { x: number; y: number; tip: string }[]; colour: string; label: string; marker?: 'circle' | 'diamond'; joined?: boolean }

/** A small x-y chart: x as % of MACs kept (0-100), y as given, with optional reference line. */
function xyChart(title: string, yLabel: string, series: Series[], ref?: { y: number; label: string }, yFloor?: number): string {
  const width = 420, height = 290, left = 70, right = 16, top = 46, bottom = 48;
  const w = width - left - right, h = height - top - bottom;
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).concat(ref ? [ref.y] : []);
  let ylo = Math.min(...ys), yhi = Math.max(...ys);
  if (yFloor !== undefined) ylo = Math.min(ylo, yFloor);
  if (!(yhi > ylo)) { yhi = ylo + (Math.abs(ylo) || 1) * 0.1; ylo -= (Math.abs(ylo) || 1) * 0.1; }
  const pad = (yhi - ylo) * 0.08;
  ylo = yFloor !== undefined && ylo >= yFloor ? Math.max(yFloor, ylo - pad) : ylo - pad;
  yhi += pad;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const xlo = Math.max(0, Math.floor((Math.min(...xs, 100) - 5) / 10) * 10), xhi = Math.min(100, Math.ceil((Math.max(...xs, 0) + 5) / 10) * 10);
  const X = (v: number) => left + (w * (v - xlo)) / Math.max(1e-9, xhi - xlo), Y = (v: number) => top + h - (h * (v - ylo)) / (yhi - ylo);
  let body = text(0, 14, title, 'font-weight="600" font-size="13"');
  for (const t of niceTicks(ylo, yhi, 5)) body += line(left, Y(t), left + w, Y(t), GRID) + text(left - 6, Y(t) + 4, fmt(t), `text-anchor="end" fill="${MUTED}"`);
  for (const t of niceTicks(xlo, xhi, 5)) body += line(X(t), top, X(t), top + h, GRID) + text(X(t), top + h + 16, `${fmt(t)}%`, `text-anchor="middle" fill="${MUTED}"`);
  body += line(left, top + h, left + w, top + h, INK) + line(left, top, left, top + h, INK);
  body += text(left + w / 2, height - 10, 'MACs kept (% of the encoder\'s)', `text-anchor="middle" fill="${MUTED}"`);
  body += `<text transform="translate(14 ${top + h / 2}) rotate(-90)" text-anchor="middle" fill="${MUTED}">${esc(yLabel)}</text>`;
  if (ref) body += line(left, Y(ref.y), left + w, Y(ref.y), MUTED, 'stroke-dasharray="5 4"') + text(left + w - 4, Y(ref.y) - 5, ref.label, `text-anchor="end" fill="${MUTED}"`);
  let legendX = left + 4;
  for (const s of series) {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (s.joined !== false && pts.length > 1) body += `<polyline fill="none" stroke="${s.colour}" stroke-width="2" points="${pts.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"/>`;
    for (const p of pts) {
      body += s.marker === 'diamond'
        ? `<path d="M${X(p.x).toFixed(1)} ${(Y(p.y) - 7).toFixed(1)} l7 7 l-7 7 l-7 -7 z" fill="${s.colour}" stroke="white"><title>${esc(p.tip)}</title></path>`
        : `<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="4" fill="${s.colour}" stroke="white"><title>${esc(p.tip)}</title></circle>`;
    }
    body += rect(legendX, 24, 10, 10, s.colour) + text(legendX + 14, 33, s.label, 'font-size="11"');
    legendX += 24 + s.label.length * 6;
  }
  return svg(width, height, body, title);
}

/** The sweep: the dev metric, and the KL to the unpruned model (or the other fidelity measure), against MACs kept. */
export function sweepCharts(points: SweepPoint[], metric: string, full: number | undefined, main?: { fraction: number; metric: number; fidelity?: number }): string[] {
  const ok = points.filter((p) => p.metrics && !p.error);
  if (!ok.length) return [];
  const fidKey: 'meanKL' | 'meanSquaredDifference' | 'agreement' = ok[0]!.meanKL !== undefined ? 'meanKL' : ok[0]!.meanSquaredDifference !== undefined ? 'meanSquaredDifference' : 'agreement';
  const fidLabel = { meanKL: 'mean KL(unpruned ‖ pruned), nats', meanSquaredDifference: 'mean squared difference', agreement: 'agreement with the unpruned model' }[fidKey];
  const m = (p: SweepPoint) => p.metrics![metric]!;
  const sweepSeries: Series = {
    colour: KEPT, label: 'search + rearrangement', marker: 'circle',
    points: ok.map((p) => ({ x: 100 * p.fraction, y: m(p), tip: `constraint ${p.constraint}: ${(100 * p.fraction).toFixed(1)}% of MACs, ${p.heads} heads, ${p.neurons} neurons; ${metric} ${m(p).toFixed(4)}` })),
  };
  const a: Series[] = [sweepSeries], b: Series[] = [{
    ...sweepSeries,
    points: ok.map((p) => ({ x: 100 * p.fraction, y: p[fidKey]!, tip: `constraint ${p.constraint}: ${fidLabel} ${p[fidKey]!.toPrecision(4)}` })),
  }];
  if (main) {
    a.push({ colour: ACCENT, label: 'this run, tuned', marker: 'diamond', joined: false, points: [{ x: 100 * main.fraction, y: main.metric, tip: `this run (tuned): ${metric} ${main.metric.toFixed(4)}` }] });
    if (main.fidelity !== undefined) b.push({ colour: ACCENT, label: 'this run, tuned', marker: 'diamond', joined: false, points: [{ x: 100 * main.fraction, y: main.fidelity, tip: `this run (tuned): ${main.fidelity.toPrecision(4)}` }] });
  }
  return [
    xyChart(`Dev ${metric} against MACs kept`, `${metric} (dev set)`, a, full !== undefined ? { y: full, label: `unpruned ${full.toFixed(4)}` } : undefined),
    xyChart(`Fidelity to the unpruned model against MACs kept`, fidLabel, b, undefined, fidKey === 'agreement' ? undefined : 0),
  ];
}

/** Unpruned and pruned forward time (report.json's latency): median bars, min-max whiskers, in ms. */
export function latencyChart(l: Latency): string {
  const width = 520, left = 90, right = 90, top = 40, rowH = 34;
  const w = width - left - right, max = Math.max(l.unpruned.maxMs, l.pruned.maxMs) * 1.05, height = top + 2 * rowH + 50;
  const X = (ms: number) => left + (w * ms) / max;
  let body = text(0, 14, `Forward latency in this tab (${l.batch} × ${l.seq} tokens): pruned ${(l.unprunedMs / l.prunedMs).toFixed(2)}× faster`, 'font-weight="600" font-size="13"');
  for (const t of niceTicks(0, max, 5)) body += line(X(t), top - 4, X(t), top + 2 * rowH, GRID) + text(X(t), top + 2 * rowH + 14, fmt(t), `text-anchor="middle" fill="${MUTED}"`);
  ([['unpruned', l.unpruned, MUTED], ['pruned', l.pruned, KEPT]] as const).forEach(([name, t, c], i) => {
    const y = top + i * rowH, mid = y + 4 + (rowH - 10) / 2;
    body += text(left - 8, y + 18, name, 'text-anchor="end"');
    body += rect(left, y + 4, X(t.medianMs) - left, rowH - 10, c, `${name}: median ${t.medianMs.toFixed(2)} ms, min ${t.minMs.toFixed(2)}, max ${t.maxMs.toFixed(2)}, ${t.runs} runs`);
    body += line(X(t.minMs), mid, X(t.maxMs), mid, INK) + line(X(t.minMs), mid - 4, X(t.minMs), mid + 4, INK) + line(X(t.maxMs), mid - 4, X(t.maxMs), mid + 4, INK);
    body += text(X(t.maxMs) + 6, y + 18, `${t.medianMs.toFixed(1)} ms`);
  });
  body += text(left + w / 2, top + 2 * rowH + 32, 'ms per forward, random tokens: median (bar), min to max (line)', `text-anchor="middle" fill="${MUTED}"`);
  return svg(width, height, body, 'forward latency');
}
