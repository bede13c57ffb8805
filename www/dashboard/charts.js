// Charts as inline SVG strings. Each chart is drawn from the same numbers that the caller shows
// as text beside it; the SVG itself is hidden from screen readers (`aria-hidden`), the text is
// what they read. Marks carry `data-value` so tests can compare them with the API's numbers.

export const VERDICTS = ["valid", "risky", "invalid", "unknown"];

const esc = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/** A donut of `counts` (verdict → rows), the total in its middle. */
export function donut(counts, totalLabel) {
  const total = VERDICTS.reduce((s, v) => s + (counts[v] || 0), 0);
  let at = 0;
  const arcs = VERDICTS.map((v) => {
    const n = counts[v] || 0;
    const share = total ? (n / total) * 100 : 0;
    // r = 100/2π: the circumference is 100, so dash lengths are percentages.
    const arc = `<circle class="arc v-${v}" data-verdict="${v}" data-value="${n}" r="15.9155" cx="21" cy="21"
      stroke-dasharray="${share} ${100 - share}" stroke-dashoffset="${25 - at}"/>`;
    at += share;
    return arc;
  }).join("");
  return `<svg class="donut" viewBox="0 0 42 42" aria-hidden="true">
<circle class="arc-bg" r="15.9155" cx="21" cy="21"/>${arcs}
<text x="21" y="21" class="donut-total">${esc(totalLabel)}</text></svg>`;
}

/** A horizontal bar, `value` of `max`, for a table cell. */
export function bar(value, max, cls = "") {
  const w = max ? Math.max(value ? 1 : 0, (value / max) * 100) : 0;
  return `<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
<rect class="${cls}" data-value="${value}" width="${w.toFixed(2)}" height="10"/></svg>`;
}

/** One bar split by verdict (`counts`), for a table cell. */
export function stacked(counts) {
  const total = VERDICTS.reduce((s, v) => s + (counts[v] || 0), 0) || 1;
  let x = 0;
  const rects = VERDICTS.map((v) => {
    const w = ((counts[v] || 0) / total) * 100;
    const r = `<rect class="v-${v}" data-verdict="${v}" data-value="${counts[v] || 0}" x="${x.toFixed(2)}" width="${w.toFixed(2)}" height="10"/>`;
    x += w;
    return r;
  }).join("");
  return `<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">${rects}</svg>`;
}

/**
 * A line chart: `labels` along x, each of `series` (`{ name, cls, values }`) a line with a dot
 * per value; y from 0 to `max`, with `ticks` (`[{ value, label }]`), reversed when `down`.
 */
export function lines({ labels, series, max, ticks, down = false }) {
  const W = 320;
  const H = 160;
  const left = 34;
  const right = 10;
  const top = 10;
  const bottom = 24;
  const n = labels.length;
  const x = (i) => left + (n > 1 ? (i / (n - 1)) * (W - left - right) : (W - left - right) / 2);
  const y = (v) => {
    const f = max ? v / max : 0;
    return top + (down ? f : 1 - f) * (H - top - bottom);
  };
  const grid = ticks
    .map(
      (t) => `<line class="gridline" x1="${left}" x2="${W - right}" y1="${y(t.value)}" y2="${y(t.value)}"/>
<text class="tick" x="${left - 4}" y="${y(t.value) + 3}" text-anchor="end">${esc(t.label)}</text>`,
    )
    .join("");
  const xs = labels
    .map((l, i) => `<text class="tick" x="${x(i)}" y="${H - 8}" text-anchor="middle">${esc(l)}</text>`)
    .join("");
  const paths = series
    .map((s) => {
      const pts = s.values.map((v, i) => (v === null ? null : [x(i), y(v)])).filter(Boolean);
      const d = pts.map((p, i) => `${i ? "L" : "M"}${p[0].toFixed(1)} ${p[1].toFixed(1)}`).join(" ");
      const dots = s.values
        .map((v, i) =>
          v === null ? "" : `<circle class="dot ${s.cls}" data-series="${esc(s.name)}" data-value="${v}" cx="${x(i)}" cy="${y(v)}" r="3"/>`,
        )
        .join("");
      return `<path class="line ${s.cls}" data-series="${esc(s.name)}" d="${d}"/>${dots}`;
    })
    .join("");
  return `<svg class="lines" viewBox="0 0 ${W} ${H}" aria-hidden="true">${grid}${xs}${paths}</svg>`;
}
