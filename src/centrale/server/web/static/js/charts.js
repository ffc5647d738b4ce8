// Charts as inline SVG (no library): today's volume per interval and service level per interval.

import { h, s } from "./ui.js";
import { t, num, pct, time } from "./i18n.js";

const W = 640;
const H = 220;
const PAD = { left: 40, right: 12, top: 12, bottom: 26 };

function niceMax(value) {
  if (value <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= value) return m * p;
  return 10 * p;
}

function frame(label) {
  return s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": label, preserveAspectRatio: "xMidYMid meet" }, s("title", {}, label));
}

function xLabels(svg, intervals, x, step) {
  const every = Math.max(1, Math.ceil(intervals.length / 8));
  intervals.forEach((iv, i) => {
    if (i % every) return;
    svg.append(s("text", { x: x(i) + step / 2, y: H - 8, "text-anchor": "middle", class: "axis-label" }, time(iv.start)));
  });
}

/** Stacked bars per interval: answered, abandoned and the rest of offered (still open). */
export function volumeChart(intervals) {
  const total = intervals.reduce((a, iv) => a + (iv.offered || 0), 0);
  const svg = frame(t("chart.volume_label", { offered: num(total) }));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(0, ...intervals.map((iv) => iv.offered || 0)));
  const step = innerW / Math.max(1, intervals.length);
  const x = (i) => PAD.left + i * step;
  const y = (v) => PAD.top + innerH - (v / max) * innerH;
  for (let g = 0; g <= 4; g++) {
    const v = (max / 4) * g;
    svg.append(s("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(s("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis-label" }, num(v)));
  }
  const bw = Math.max(1, step * 0.72);
  intervals.forEach((iv, i) => {
    const answered = iv.answered || 0;
    const abandoned = iv.abandoned || 0;
    const open = Math.max(0, (iv.offered || 0) - answered - abandoned);
    let base = 0;
    for (const [value, cls] of [[answered, "bar-answered"], [abandoned, "bar-abandoned"], [open, "bar-open"]]) {
      if (!value) continue;
      const rect = s("rect", { x: x(i) + (step - bw) / 2, y: y(base + value), width: bw, height: Math.max(0.5, y(base) - y(base + value)), class: cls, rx: "1.5" });
      rect.append(s("title", {}, `${time(iv.start)} · ${t(`chart.${cls.slice(4)}`)}: ${num(value)}`));
      svg.append(rect);
      base += value;
    }
  });
  xLabels(svg, intervals, x, step);
  return svg;
}

/** Service level per interval (a line with points), and the target as a dashed line. */
export function serviceLevelChart(intervals, target) {
  const points = intervals.map((iv, i) => [i, iv.service_level]).filter(([, v]) => v !== null && v !== undefined);
  const last = points.length ? points[points.length - 1][1] : null;
  const svg = frame(t("chart.sl_label", { last: pct(last) }));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const step = innerW / Math.max(1, intervals.length);
  const x = (i) => PAD.left + i * step + step / 2;
  const y = (v) => PAD.top + innerH - v * innerH;
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(s("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis-label" }, pct(v)));
  }
  if (target !== null && target !== undefined) {
    svg.append(s("line", { x1: PAD.left, x2: W - PAD.right, y1: y(target), y2: y(target), class: "target-line" }, s("title", {}, t("chart.target", { target: pct(target) }))));
  }
  if (points.length) {
    const d = points.map(([i, v], k) => `${k ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    svg.append(s("path", { d, class: "sl-line" }));
    for (const [i, v] of points) {
      const below = target !== null && target !== undefined && v < target;
      svg.append(s("circle", { cx: x(i), cy: y(v), r: 3.2, class: below ? "sl-point below" : "sl-point" }, s("title", {}, `${time(intervals[i].start)}: ${pct(v)}`)));
    }
  } else {
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" }, t("chart.no_data")));
  }
  xLabels(svg, intervals, (i) => PAD.left + i * step, step);
  return svg;
}

export function volumeLegend() {
  return ["answered", "abandoned", "open"].map((k) => h("span", { class: `key key-${k}` }, t(`chart.${k}`)));
}

export function slLegend(target) {
  return target !== null && target !== undefined ? h("span", { class: "key key-target" }, t("chart.target", { target: pct(target) })) : "";
}
