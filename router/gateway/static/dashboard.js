// Farebox spend dashboard: fetches /spend (same origin, the key in an HttpOnly cookie) and draws SVG charts.
// No library, no CDN: every chart below is a few dozen lines of SVG. Each bar carries data-label and
// data-value (the exact decimal text from /spend), so what is drawn can be checked against the ledger.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#3b6fd8", "#e0803a", "#2c9a6b", "#c44e73", "#8a63c9", "#c9a227", "#4aa3b8", "#7d8596"];

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function text(parent, x, y, content, attrs) {
  const node = el("text", Object.assign({ x, y }, attrs || {}), parent);
  node.textContent = content;
  return node;
}

function money(value) {
  const n = Number(value);
  if (n === 0) return "$0";
  if (n < 0.01) return "$" + n.toPrecision(3);
  return "$" + n.toFixed(n < 100 ? 4 : 2);
}

function esc(value) {
  return String(value).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function empty(box) {
  box.innerHTML = '<p class="empty">no calls in this period</p>';
}

async function spend(by, since) {
  const resp = await fetch(`/spend?by=${encodeURIComponent(by)}&since=${encodeURIComponent(since)}`,
                           { credentials: "same-origin" });
  if (!resp.ok) throw new Error(`/spend?by=${by}: HTTP ${resp.status}`);
  return resp.json();
}

// Stacked bars: one bar per x value, one segment per series.
function stacked(box, rows, xKey, seriesKey) {
  box.innerHTML = "";
  if (!rows.length) return empty(box);
  const xs = [...new Set(rows.map(r => r[xKey]))].sort();
  const series = [...new Set(rows.map(r => String(r[seriesKey])))].sort();
  const totals = xs.map(x => rows.filter(r => r[xKey] === x).reduce((a, r) => a + Number(r.cost), 0));
  const max = Math.max(...totals) || 1;
  const W = 860, H = 220, left = 60, bottom = 24, top = 16;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img" }, box);
  const band = (W - left) / xs.length, barW = Math.min(48, band * 0.7);
  for (let i = 0; i <= 4; i++) {
    const y = top + (H - top - bottom) * (1 - i / 4);
    el("line", { x1: left, x2: W, y1: y, y2: y, stroke: "#eceef2" }, svg);
    text(svg, left - 6, y + 4, money(max * i / 4), { "text-anchor": "end" });
  }
  xs.forEach((x, i) => {
    let y = H - bottom;
    const cx = left + band * i + (band - barW) / 2;
    series.forEach((s, j) => {
      const row = rows.find(r => r[xKey] === x && String(r[seriesKey]) === s);
      if (!row) return;
      const h = (H - top - bottom) * Number(row.cost) / max;
      y -= h;
      const rect = el("rect", { x: cx, y, width: barW, height: Math.max(h, 0), fill: COLORS[j % COLORS.length],
                                "data-x": x, "data-label": s, "data-value": row.cost, "data-calls": row.calls }, svg);
      el("title", {}, rect).textContent = `${x} ${s}: ${money(row.cost)} (${row.calls} calls)`;
    });
    text(svg, cx + barW / 2, H - 8, String(x).slice(5), { "text-anchor": "middle" });
  });
  const legend = document.createElement("div");
  legend.className = "legend";
  legend.innerHTML = series.map((s, j) => `<i style="background:${COLORS[j % COLORS.length]}"></i>${esc(s)}`).join("");
  box.appendChild(legend);
}

// Horizontal bars: one per group, the cost and call count written beside it.
function bars(box, rows, key, names) {
  box.innerHTML = "";
  if (!rows.length) return empty(box);
  rows = rows.slice().sort((a, b) => Number(b.cost) - Number(a.cost));
  const max = Math.max(...rows.map(r => Number(r.cost))) || 1;
  const W = 420, rowH = 26, left = 130, right = 120;
  const svg = el("svg", { viewBox: `0 0 ${W} ${rows.length * rowH + 8}`, width: "100%", role: "img" }, box);
  rows.forEach((r, i) => {
    const label = r[key] === null || r[key] === undefined ? "(none)" : String(r[key]);
    const shown = (names && names[label]) || label;
    const w = (W - left - right) * Number(r.cost) / max;
    const y = 4 + i * rowH;
    text(svg, left - 8, y + 15, shown.length > 20 ? shown.slice(0, 19) + "…" : shown, { "text-anchor": "end" });
    el("rect", { x: left, y: y + 3, width: Math.max(w, 1), height: rowH - 8, rx: 3, fill: COLORS[i % COLORS.length],
                 "data-label": label, "data-value": r.cost, "data-calls": r.calls }, svg);
    text(svg, left + Math.max(w, 1) + 6, y + 15, `${money(r.cost)} · ${r.calls} calls`, { class: "value" });
  });
}

// Grouped bars per day: calls, failures, fallbacks.
function health(box, rows) {
  box.innerHTML = "";
  if (!rows.length) return empty(box);
  const kinds = [["calls", "#3b6fd8"], ["failures", "#c44e73"], ["fallbacks", "#e0803a"]];
  const max = Math.max(...rows.map(r => r.calls)) || 1;
  const W = 420, H = 200, left = 36, bottom = 24, top = 10;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img" }, box);
  const band = (W - left) / rows.length, barW = Math.min(16, band / 4);
  rows.forEach((r, i) => {
    kinds.forEach(([kind, color], j) => {
      const h = (H - top - bottom) * r[kind] / max;
      const x = left + band * i + (band - barW * 3) / 2 + j * barW;
      const rect = el("rect", { x, y: H - bottom - h, width: barW - 1, height: h, fill: color,
                                "data-x": r.day, "data-label": kind, "data-value": r[kind] }, svg);
      el("title", {}, rect).textContent = `${r.day} ${kind}: ${r[kind]}`;
    });
    text(svg, left + band * i + band / 2, H - 8, String(r.day).slice(5), { "text-anchor": "middle" });
  });
  text(svg, left - 6, top + 8, String(max), { "text-anchor": "end" });
  const legend = document.createElement("div");
  legend.className = "legend";
  legend.innerHTML = kinds.map(([k, c]) => `<i style="background:${c}"></i>${k}`).join("");
  box.appendChild(legend);
}

function table(box, rows) {
  if (!rows.length) return empty(box);
  const body = rows.slice().sort((a, b) => Number(b.cost) - Number(a.cost)).map(r =>
    `<tr data-label="${esc(r.model)}" data-value="${r.cost}"><td>${esc(r.model)}</td><td>${r.calls}</td><td>${r.failures}</td>` +
    `<td>${r.tokens}</td><td>${money(r.cost)}</td><td>${money(r.cost_per_call)}</td></tr>`).join("");
  box.innerHTML = "<table><thead><tr><th>model</th><th>calls</th><th>failures</th><th>tokens</th><th>cost</th>" +
                  `<th>cost per call</th></tr></thead><tbody>${body}</tbody></table>`;
}

async function draw() {
  document.body.dataset.ready = "0";
  const since = document.getElementById("since").value;
  const tag = document.getElementById("tag").value.trim() || "team";
  document.getElementById("tag-name").textContent = tag;
  const status = document.getElementById("status");
  try {
    const [dayModel, vendor, key, byTag, day, model] = await Promise.all([
      spend("day,model", since), spend("vendor", since), spend("key", since), spend(`tag:${tag}`, since),
      spend("day", since), spend("model", since)]);
    const t = dayModel.total;
    document.getElementById("total-cost").textContent = money(t.cost);
    document.getElementById("total-cost").dataset.value = t.cost;
    document.getElementById("total-calls").textContent = t.calls;
    document.getElementById("total-failures").textContent = t.failures;
    document.getElementById("total-fallbacks").textContent = t.fallbacks;
    document.getElementById("total-per-call").textContent = t.calls ? money(Number(t.cost) / t.calls) : "-";
    stacked(document.getElementById("chart-day-model"), dayModel.rows, "day", "model");
    bars(document.getElementById("chart-vendor"), vendor.rows, "vendor");
    bars(document.getElementById("chart-key"), key.rows, "key", key.key_names);
    bars(document.getElementById("chart-tag"), byTag.rows, `tag:${tag}`);
    health(document.getElementById("chart-health"), day.rows);
    table(document.getElementById("table-model"), model.rows);
    status.textContent = `from the ledger at ${new Date().toISOString()}`;
  } catch (err) {
    status.textContent = String(err);
  }
  document.body.dataset.ready = "1";
}

document.getElementById("since").addEventListener("change", draw);
document.getElementById("tag").addEventListener("change", draw);
draw();
