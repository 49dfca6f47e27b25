/* innosim facilitator view: team submissions side by side (KPI table and charts), CSV and PNG export.
   Team and scenario names are user input: they are only ever set as text, never as HTML.
   The view needs the facilitator token (an HttpOnly cookie set by /facilitator?token=... or by the
   login form); it loads the list page by page once, then polls only for what changed. */
"use strict";

const C = Common;
const F = { meta: null, base: null, subs: new Map(), cursor: 0, page: 0, year: 2035, filter: "", charts: [] };
const $ = id => document.getElementById(id);
const el = (...a) => C.el(...a);
const PAGE = 100;      // table rows (and chart lines) shown at once
const FETCH = 200;     // rows per request (the server's largest page)

function filtered() { return [...F.subs.values()].filter(s => !F.filter || s.exercise === F.filter).sort((a, b) => a.id - b.id); }
function visible() {
  const all = filtered();
  F.page = Math.max(0, Math.min(F.page, Math.ceil(all.length / PAGE) - 1));
  return all.slice(F.page * PAGE, (F.page + 1) * PAGE);
}
function color(i) { return C.palette[i % C.palette.length]; }

function kpiCell(s, v) {
  const def = F.meta.kpis.find(k => k.variable === v);
  const value = s.kpis ? s.kpis[v] : null;
  if (value == null) return el("td", { text: "–" });
  const base = F.base.kpis[v][F.base.years.indexOf(F.year)];
  const pct = base ? 100 * (value / base - 1) : 0;
  const good = Math.abs(pct) < 0.05 ? "" : (pct > 0) === (def.direction === "maximise") ? "good" : "bad";
  return el("td", {}, C.fmt(value), el("span", { class: "delta " + good, text: C.signed(pct, 1) + " %" }));
}

function settingsText(state) {
  const parts = [];
  for (const section of ["levers", "shocks"]) {
    for (const [id, e] of Object.entries(state[section] || {})) {
      const def = F.meta.levers.concat(F.meta.shocks).find(d => d.id === id);
      let t = `${def ? C.L(def.name) : id} = ${e.value ?? ""}`;
      if (e.cities) t += ` [${e.cities.map(c => C.city(c)).join(", ")}]`;
      if (e.allocation) t += ` {${Object.entries(e.allocation).map(([c, v]) => C.city(c) + ": " + v).join(", ")}}`;
      if (e.start != null) t += ` @${e.start}`;
      if (e.ramp) t += ` ramp ${e.ramp}`;
      parts.push(t);
    }
  }
  for (const [id, v] of Object.entries(state.assumptions || {})) {
    const a = F.meta.assumptions.find(x => x.id === id);
    parts.push(`${a ? C.L(a.name) : id} = ${v}`);
  }
  return parts.join("; ") || C.t("baseline");
}

function renderTable() {
  const table = $("fac-table");
  const kpis = F.charts;
  const head = el("tr", {}, el("th", { class: "text", text: "#" }), el("th", { class: "text", text: C.t("team") }),
    el("th", { class: "text", text: C.t("scenario_name") }), el("th", { class: "text", text: C.t("exercise") }),
    el("th", { text: C.t("goal_met") }),
    ...kpis.map(v => el("th", { text: `${C.L(F.meta.kpis.find(k => k.variable === v).name)} ${F.year}` })),
    el("th", { text: `${C.t("extra_cost")} (亿元)` }), el("th", { class: "text", text: C.t("settings") }), el("th", { text: "" }));
  const k = F.base.years.indexOf(F.year);
  const baseRow = el("tr", { class: "baseline" }, el("td", { class: "text", text: "" }), el("td", { class: "text", text: C.t("baseline") }),
    el("td", { class: "text", text: "" }), el("td", { class: "text", text: "" }), el("td", { text: "" }),
    ...kpis.map(v => el("td", { text: C.fmt(F.base.kpis[v][k]) })), el("td", { text: "0" }), el("td", { class: "text", text: "" }), el("td", {}));
  const rows = visible().map((s, i) => {
    const ex = F.meta.exercises.find(e => e.id === s.exercise);
    return el("tr", { dataset: { id: s.id } },
      el("td", { class: "text" }, el("span", { class: "swatch", style: `background:${color(i)}` }), String(s.id)),
      el("td", { class: "text team", text: s.team }), el("td", { class: "text", text: s.name }),
      el("td", { class: "text", text: ex ? C.L(ex.title) : "" }),
      el("td", { text: s.goal ? (s.goal.met ? "✓" : "✗") : "" }),
      ...kpis.map(v => kpiCell(s, v)),
      el("td", { text: s.extra_cost == null ? "–" : C.fmt(s.extra_cost) }),
      el("td", { class: "text settings", text: s.error ? "⚠ " + s.error : settingsText(s.state) }),
      el("td", {}, el("button", { type: "button", class: "del", text: "×", title: C.t("remove"), onclick: () => remove(s.id) })));
  });
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, baseRow, ...rows));
  if (!rows.length) table.append(el("tbody", {}, el("tr", {}, el("td", { class: "text", colspan: 6 + kpis.length, text: C.t("none_yet") }))));
}

function renderCharts() {
  const box = $("fac-charts");
  if (box.children.length !== F.charts.length) {
    box.replaceChildren(...F.charts.map((v, i) => el("div", { class: "chart-cell" }, el("div", { class: "chart", id: "fac-chart-" + i }))));
  }
  const x = F.base.years;
  F.charts.forEach((v, i) => {
    const def = F.meta.kpis.find(k => k.variable === v);
    const traces = [{ x, y: F.base.kpis[v], name: C.t("baseline"), mode: "lines", line: { color: "#777", dash: "dash", width: 1.6 } }];
    visible().forEach((s, j) => {
      if (s.series) traces.push({ x, y: s.series[v], name: C.plotText(`${s.team}: ${s.name}`), mode: "lines", line: { color: color(j), width: 2.2 } });
    });
    Plotly.react("fac-chart-" + i, traces, {
      title: { text: C.L(def.name) + (C.unit(def.unit) ? ` <span style="font-size:11px;color:#666">(${C.unit(def.unit)})</span>` : ""),
               font: { size: 13 }, x: 0.01, xanchor: "left" },
      margin: { l: 58, r: 12, t: 30, b: 26 }, font: { family: C.fontFamily, size: 11 }, hovermode: "x unified",
      hoverlabel: { bgcolor: "#fff", namelength: -1 },
      legend: { orientation: "h", y: -0.12 }, showlegend: i === 0,
      xaxis: { range: [x[0], x[x.length - 1]] }, yaxis: { gridcolor: "#eee", tickformat: C.tickformat(F.base.kpis[v]), hoverformat: ",.4~g" },
      shapes: [{ type: "line", x0: F.year, x1: F.year, yref: "paper", y0: 0, y1: 1, line: { color: "#aaa", width: 1, dash: "dot" } }],
    }, C.plotConfig);
  });
}

function renderPager() {
  const n = filtered().length, a = n ? F.page * PAGE + 1 : 0, b = Math.min(n, (F.page + 1) * PAGE);
  $("pager-text").textContent = C.t("rows_of").replace("{a}", a).replace("{b}", b).replace("{n}", n);
  $("btn-prev").disabled = F.page === 0;
  $("btn-next").disabled = b >= n;
}
function render() { renderTable(); renderCharts(); renderPager(); }

function listUrl(extra) {
  return `api/submissions?year=${F.year}&limit=${FETCH}&series=${encodeURIComponent(F.charts.join("|"))}&${extra}`;
}

function showLogin(failed) {
  $("login").hidden = false; $("fac-main").hidden = true;
  $("login-error").hidden = !failed;
  $("token-input").focus();
}

function failed(err) {
  if (err.status === 401 || err.status === 403) { showLogin(err.status === 403); return; }
  $("banner").textContent = C.t("error") + ": " + err.message; $("banner").hidden = false;
}

function loaded() {
  document.body.dataset.loaded = String((+document.body.dataset.loaded || 0) + 1);
  $("banner").hidden = true;
}

/** Every submission, page by page; changes made meanwhile come with the next poll. */
async function load() {
  try {
    const subs = new Map();
    let offset = 0, cursor = null;
    for (;;) {
      const d = await C.json(listUrl(`offset=${offset}`));
      if (cursor === null) cursor = d.cursor;
      d.submissions.forEach(s => subs.set(s.id, s));
      offset += d.submissions.length;
      if (!d.more || !d.submissions.length) break;
    }
    F.subs = subs; F.cursor = cursor;
    render(); loaded();
  } catch (err) { failed(err); }
}

/** What changed since the last answer: new submissions and deleted ids only. */
async function poll() {
  try {
    let changed = false;
    for (;;) {
      const d = await C.json(listUrl(`since=${F.cursor}`));
      d.deleted.forEach(id => { changed = F.subs.delete(id) || changed; });
      d.submissions.forEach(s => { F.subs.set(s.id, s); changed = true; });
      F.cursor = d.cursor;
      if (!d.more) break;
    }
    if (changed) render();
    loaded();
  } catch (err) { failed(err); }
}

async function login(ev) {
  ev.preventDefault();
  try {
    await C.post("api/facilitator/login", { token: $("token-input").value.trim() });
    $("token-input").value = "";
    $("login").hidden = true; $("fac-main").hidden = false;
    await load();
  } catch (err) { if (err.status === 403 || err.status === 422) showLogin(true); else failed(err); }
}

async function remove(id) {
  if (!confirm(C.t("delete_q"))) return;
  try { await C.json(`api/submissions/${id}`, { method: "DELETE" }); } catch (err) { failed(err); }
  poll();
}

async function showSolution() {
  const box = $("solution");
  const id = F.filter || (F.meta.exercises[0] && F.meta.exercises[0].id);
  if (!id) return;
  let sol;
  try { sol = await C.json(`api/exercises/${encodeURIComponent(id)}/solution`); } catch (err) { failed(err); return; }
  const ex = F.meta.exercises.find(e => e.id === id);
  box.replaceChildren(el("strong", { text: `${C.t("solution")} · ${C.L(ex.title)}: ` }), settingsText(sol.state),
    el("span", { text: `  (${sol.goal.met ? "✓" : "✗"} ${C.fmt(sol.goal.result)}, ${C.t("extra_cost")} ${C.fmt(sol.goal.cost)} 亿元)` }));
  box.hidden = false;
}

async function exportPng() {
  for (let i = 0; i < F.charts.length; i++) {
    await Plotly.downloadImage("fac-chart-" + i, { format: "png", width: 1000, height: 560, filename: `innosim_${F.charts[i].replace(/\W+/g, "_")}_${F.year}` });
  }
}

function applyLang() {
  C.applyStatic();
  C.modelHeader(F.meta);
  $("btn-lang").textContent = C.lang === "zh" ? "English" : "中文";
  const exSel = $("fac-exercise");
  exSel.replaceChildren(el("option", { value: "", text: "—" }), ...F.meta.exercises.map(e => el("option", { value: e.id, text: C.L(e.title) })));
  exSel.value = F.filter;
  const url = new URL(location.href); url.searchParams.set("lang", C.lang); url.searchParams.delete("login");
  history.replaceState(null, "", url);
  render();
}

async function init() {
  const p = new URLSearchParams(location.search);
  if (p.get("lang") === "zh") C.lang = "zh";
  [F.meta, F.base] = await Promise.all([C.json("api/meta"), C.json("api/baseline")]);
  F.year = F.meta.defaults.year;
  F.charts = F.meta.defaults.charts.slice(0, 4);
  $("model-version").textContent = `${F.meta.model.file} · ${F.meta.model.version.slice(0, 8)}`;
  const ysel = $("fac-year");
  ysel.replaceChildren(...F.base.years.filter(y => y >= F.meta.defaults.start).map(y => el("option", { value: y, text: y })));
  ysel.value = F.year;
  ysel.onchange = () => { F.year = +ysel.value; $("btn-csv").href = `api/submissions.csv?year=${F.year}`; load(); };
  $("fac-exercise").onchange = ev => { F.filter = ev.target.value; F.page = 0; render(); };
  $("btn-prev").onclick = () => { F.page--; render(); };
  $("btn-next").onclick = () => { F.page++; render(); };
  $("login").onsubmit = login;
  $("btn-refresh").onclick = load;
  $("btn-png").onclick = exportPng;
  $("btn-solution").onclick = showSolution;
  $("btn-lang").onclick = () => { C.lang = C.lang === "zh" ? "en" : "zh"; applyLang(); };
  const loginFailed = p.get("login") === "failed";
  applyLang();
  if (loginFailed) showLogin(true); else await load();
  // teams keep submitting during a session; the poll asks only for what changed
  setInterval(() => { if (!document.hidden && $("login").hidden) poll(); }, 10000);
}

document.addEventListener("DOMContentLoaded", () => init().catch(err => { $("banner").textContent = err.message; $("banner").hidden = false; }));
