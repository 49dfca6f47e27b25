/* innosim workshop page: state, URL, runs, undo/replay, exercises, saving and submitting.
   Drawing (controls, cards, charts, regions) is in view.js. Every model run happens on the server;
   this file only decides when to ask and what to draw. */
"use strict";

const C = Common;
const S = {
  meta: null, base: null, years: [], items: {}, kpiDef: {},
  state: emptyState(), profile: {}, cityPick: {},
  charts: [], cityKpi: null, year: 2035,
  exercise: null, revealed: true, reveal: null, goal: null,
  undo: [], lastChange: null, dragSnapshot: null, replaying: false,
  saved: [], overlays: new Set(), overlayRuns: new Map(),
  lastRun: null, advanced: false,
  history: null, showBands: false, bands: null, drawnKey: null, drawnState: null, why: null,
};
window.innosimPerf = [];
const runCache = new Map();
let SAVED_KEY = "innosim.saved.v1";   // one list per model (set in init)
const TEAM_KEY = "innosim.team";

function emptyState() { return { levers: {}, shocks: {}, assumptions: {} }; }
function clone(x) { return JSON.parse(JSON.stringify(x)); }
function stableStringify(x) {
  if (Array.isArray(x)) return "[" + x.map(stableStringify).join(",") + "]";
  if (x && typeof x === "object") return "{" + Object.keys(x).sort().map(k => JSON.stringify(k) + ":" + stableStringify(x[k])).join(",") + "}";
  return JSON.stringify(x);
}
const sleep = ms => new Promise(r => setTimeout(r, ms));

// ------------------------------------------------------------------ state edits
function entryFor(def, value) {
  const e = { value };
  const prof = S.profile[def.id] || {};
  if (prof.start != null && prof.start !== S.meta.defaults.start) e.start = prof.start;
  if (prof.ramp) e.ramp = prof.ramp;
  if (def.subscript) {
    const pick = S.cityPick[def.id];
    if (pick && pick.length && pick.length < S.meta.model.cities.length) e.cities = pick.slice();
  }
  return e;
}

function setItem(id, value) {
  const { def, section } = S.items[id];
  const end = S.state[section][id] && S.state[section][id].end;   // an end year from a link is kept
  if (value === def.baseline) delete S.state[section][id];
  else S.state[section][id] = { ...entryFor(def, value), ...(end != null ? { end } : {}) };
}

function refreshEntry(id) {   // profile or regions changed: rewrite the entry if the item is set
  const { section } = S.items[id];
  const e = S.state[section][id];
  if (e) S.state[section][id] = entryFor(S.items[id].def, e.value);
}

function setAssumption(id, value) {
  const a = S.meta.assumptions.find(x => x.id === id);
  if (value === a.baseline) delete S.state.assumptions[id];
  else S.state.assumptions[id] = value;
}

function syncProfileFromState() {
  for (const section of ["levers", "shocks"]) {
    for (const [id, e] of Object.entries(S.state[section])) {
      if (!S.items[id]) continue;
      S.profile[id] = { start: e.start ?? S.meta.defaults.start, ramp: e.ramp ?? 0 };
      if (e.cities) S.cityPick[id] = e.cities.slice();
    }
  }
}

function beginChange() { if (!S.dragSnapshot) S.dragSnapshot = clone(S.state); }
function commitChange() {
  if (!S.dragSnapshot) return;
  if (stableStringify(S.dragSnapshot) !== stableStringify(S.state)) {
    S.undo.push(S.dragSnapshot);
    if (S.undo.length > 200) S.undo.shift();
    S.lastChange = { before: S.dragSnapshot, after: clone(S.state) };
  }
  S.dragSnapshot = null;
  updateButtons();
  writeUrl();
}

/** Replace the whole state (reset, undo, exercise start, load): one undo step. */
function applyState(next, { record = true } = {}) {
  if (record) { beginChange(); }
  S.state = clone(next);
  S.state.levers ??= {}; S.state.shocks ??= {}; S.state.assumptions ??= {};
  syncProfileFromState();
  if (record) commitChange(); else writeUrl();
  View.syncControls();
  requestRun();
}

function undo() {
  const prev = S.undo.pop();
  if (!prev) return;
  S.lastChange = { before: clone(S.state), after: clone(prev) };
  applyState(prev, { record: false });
  updateButtons();
}

function reset() {
  applyState(S.exercise ? S.exercise.preset : emptyState());
}

function interpolate(a, b, f) {
  const out = clone(f >= 1 ? b : a);
  for (const section of ["levers", "shocks"]) {
    const ids = new Set([...Object.keys(a[section]), ...Object.keys(b[section])]);
    for (const id of ids) {
      const def = S.items[id] && S.items[id].def;
      if (!def) continue;
      const va = a[section][id] ? a[section][id].value : def.baseline;
      const vb = b[section][id] ? b[section][id].value : def.baseline;
      const v = +(va + (vb - va) * f).toFixed(10);
      const template = b[section][id] || a[section][id];
      if (v === def.baseline && f >= 1 && !b[section][id]) delete out[section][id];
      else out[section][id] = { ...template, value: v };
    }
  }
  const ids = new Set([...Object.keys(a.assumptions), ...Object.keys(b.assumptions)]);
  for (const id of ids) {
    const def = S.meta.assumptions.find(x => x.id === id);
    const va = a.assumptions[id] ?? def.baseline, vb = b.assumptions[id] ?? def.baseline;
    out.assumptions[id] = +(va + (vb - va) * f).toFixed(10);
    if (out.assumptions[id] === def.baseline) delete out.assumptions[id];
  }
  return out;
}

/** Show the last change again: jump back, then move to the new setting while the charts follow. */
async function replay() {
  const ch = S.lastChange;
  if (!ch || S.replaying) return;
  S.replaying = true; updateButtons();
  try {
    S.state = clone(ch.before); View.syncControls(); requestRun();
    await sleep(700);
    const steps = 12;
    for (let i = 1; i <= steps; i++) {
      S.state = interpolate(ch.before, ch.after, i / steps);
      View.syncControls(); requestRun();
      await sleep(90);
    }
    S.state = clone(ch.after); syncProfileFromState(); View.syncControls(); requestRun();
  } finally { S.replaying = false; updateButtons(); }
}

function updateButtons() {
  document.getElementById("btn-undo").disabled = !S.undo.length || S.replaying;
  document.getElementById("btn-replay").disabled = !S.lastChange || S.replaying;
}

// ------------------------------------------------------------------ URL
const URL_RESERVED = new Set(["lang", "m", "charts", "city", "year", "ex", "bands"]);

function writeUrl() {
  if (!S.meta) return;
  const p = new URLSearchParams();
  p.set("lang", C.lang);
  p.set("m", S.meta.model.version.slice(0, 8));
  for (const section of ["levers", "shocks"]) {
    for (const [id, e] of Object.entries(S.state[section])) {
      if (e.value != null) p.set(id, String(e.value));
      if (e.start != null) p.set(id + ".start", String(e.start));
      if (e.ramp) p.set(id + ".ramp", String(e.ramp));
      if (e.end != null) p.set(id + ".end", String(e.end));
      if (e.cities) p.set(id + ".cities", e.cities.join(","));
      if (e.allocation) p.set(id + ".alloc", Object.entries(e.allocation).map(([c, v]) => c + ":" + v).join(","));
    }
  }
  for (const [id, v] of Object.entries(S.state.assumptions)) p.set("a." + id, String(v));
  if (S.charts.join("|") !== defaultCharts().join("|")) p.set("charts", S.charts.join("|"));
  if (S.cityKpi !== defaultCityKpi()) p.set("city", S.cityKpi);
  if (S.year !== S.meta.defaults.year) p.set("year", String(S.year));
  if (S.exercise) p.set("ex", S.exercise.id);
  if (S.showBands) p.set("bands", "1");
  history.replaceState(null, "", location.pathname + "?" + p.toString());
}

function readUrl() {
  const p = new URLSearchParams(location.search);
  if (p.get("lang") === "zh" || p.get("lang") === "en") C.lang = p.get("lang");
  const st = emptyState();
  // values are read as decimal numbers only (Number of a plain numeral), never evaluated; what
  // cannot be read is named in a banner, and the server checks ranges as for any run
  const num = s => { const v = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(s ?? "") ? Number(s) : NaN; return isFinite(v) ? v : null; };
  const ignored = [];
  let any = false;
  for (const [key, raw] of p.entries()) {
    if (URL_RESERVED.has(key)) continue;
    any = true;
    if (key.startsWith("a.")) {
      const v = num(raw);
      if (v != null && S.meta.assumptions.some(a => a.id === key.slice(2))) st.assumptions[key.slice(2)] = v;
      else ignored.push(key);
      continue;
    }
    const [id, field] = key.split(".");
    const item = S.items[id];
    if (!item || (!field && num(raw) == null)) { ignored.push(key); continue; }
    const e = (st[item.section][id] ??= {});
    if (!field) e.value = num(raw);
    else if (field === "start" || field === "ramp" || field === "end") e[field] = num(raw);
    else if (field === "cities") e.cities = raw.split(",").filter(Boolean);
    else if (field === "alloc") {
      e.allocation = {};
      for (const part of raw.split(",")) { const [c, v] = part.split(":"); if (c && num(v) != null) e.allocation[c] = num(v); }
    }
  }
  for (const section of ["levers", "shocks"]) {
    for (const [id, e] of Object.entries(st[section])) {
      if (e.value == null && !e.allocation) e.value = S.items[id].def.baseline;
      if (e.value === S.items[id].def.baseline && !e.allocation && Object.keys(e).length === 1) { delete st[section][id]; continue; }
      if (e.allocation && !Object.keys(e.allocation).length) delete e.allocation;
      for (const k of Object.keys(e)) if (e[k] == null) delete e[k];
    }
  }
  if (ignored.length) View.banner(C.t("url_ignored") + " " + ignored.map(k => k.slice(0, 40)).join(", "), "warn");
  if (!any && S.meta.initial) Object.assign(st, clone(S.meta.initial));   // innosim serve --set
  S.showBands = p.get("bands") === "1" && !!S.meta.features.bands;
  const kpis = Object.keys(S.kpiDef);
  const charts = (p.get("charts") || "").split("|").filter(v => kpis.includes(v));
  S.charts = charts.length ? charts.slice(0, 4) : defaultCharts();
  while (S.charts.length < 4) S.charts.push(kpis.find(k => !S.charts.includes(k)));
  const city = p.get("city");
  S.cityKpi = S.meta.per_city.some(c => c.variable === city) ? city : defaultCityKpi();
  const year = num(p.get("year"));
  S.year = year != null && S.years.includes(year) && year >= 2025 ? year : S.meta.defaults.year;
  const ex = S.meta.exercises.find(e => e.id === p.get("ex"));
  S.exercise = ex || null;
  S.state = st;
  syncProfileFromState();
  S.revealed = !(ex && ex.predict && stableStringify(st) === stableStringify(fullState(ex.preset)));
  const m = p.get("m");
  if (m && !S.meta.model.version.startsWith(m)) {
    View.banner(C.t("model_mismatch").replace("{a}", m).replace("{b}", S.meta.model.version.slice(0, 8)), "warn");
  }
}

function fullState(st) { return { levers: {}, shocks: {}, assumptions: {}, ...clone(st || {}) }; }
function defaultCharts() {
  const d = S.meta.defaults.charts.slice(0, 4);
  for (const k of Object.keys(S.kpiDef)) if (d.length < 4 && !d.includes(k)) d.push(k);
  return d;
}
function defaultCityKpi() { return S.meta.defaults.city_kpi; }

// ------------------------------------------------------------------ runs (one request in flight, latest state wins)
// While a request is in flight, input only marks the state dirty; when the response is drawn the
// latest state is sent. So slider events coalesce by themselves and are never queued; a run
// starts at once (in a microtask, so that several changes made in one handler make one request).
const runner = { inflight: false, dirty: false, tInput: null, raf: false };

function requestRun(tInput) {
  if (tInput != null && runner.tInput == null) runner.tInput = tInput;
  runner.dirty = true;
  if (!runner.raf) {
    runner.raf = true;
    queueMicrotask(() => { runner.raf = false; pump(); });
  }
}

function runRequest(state) {
  return { state: state || S.state, kpis: Array.from(new Set(S.charts)), city_kpi: S.cityKpi, city_year: S.year,
           exercise: S.exercise ? S.exercise.id : null };
}

async function fetchRun(req) {
  const key = stableStringify(req);
  const hit = runCache.get(key);
  if (hit) return { res: hit, hit: true };
  const res = await C.post("api/run", req);
  runCache.set(key, res);
  if (runCache.size > 300) runCache.delete(runCache.keys().next().value);
  return { res, hit: false };
}

async function pump() {
  if (runner.inflight || !runner.dirty) return;
  runner.dirty = false; runner.inflight = true;
  const tInput = runner.tInput; runner.tInput = null;
  const req = runRequest(clone(S.state));
  try {
    const t0 = performance.now();
    const { res, hit } = await fetchRun(req);
    const t1 = performance.now();
    S.drawnState = req.state; S.drawnKey = stableStringify(req.state);
    await View.draw(res);
    wantBands();
    wantWhy();
    const t2 = performance.now();
    if (tInput != null) {
      window.innosimPerf.push({ latency: t2 - tInput, fetch: t1 - t0, draw: t2 - t1, t_input: tInput, t_drawn: t2,
                                server_ms: res.run_ms, cached: hit || res.cached, backend: res.backend });
    }
    View.timing(res, t1 - t0, t2 - t1, hit);
    View.banner(null);
  } catch (err) {
    View.banner(C.t("error") + ": " + err.message, "error");
  } finally {
    runner.inflight = false;
    if (runner.dirty) pump();
  }
}

async function overlayRun(name) {
  const saved = S.saved.find(s => s.name === name);
  if (!saved) return null;
  const req = { state: saved.state, kpis: Array.from(new Set(S.charts)), city_kpi: null };
  try { return (await fetchRun(req)).res; } catch (err) { View.banner(`${name}: ${err.message}`, "error"); return null; }
}

// ------------------------------------------------------------------ exercises
function startExercise(id) {
  const ex = S.meta.exercises.find(e => e.id === id);
  if (!ex) return;
  S.exercise = ex;
  S.revealed = !ex.predict; S.reveal = null; S.goal = null;
  if (ex.charts.length) { S.charts = ex.charts.slice(0, 4); while (S.charts.length < 4) S.charts.push(defaultCharts().find(k => !S.charts.includes(k))); }
  if (ex.city_kpi) S.cityKpi = ex.city_kpi;
  Charts.build();
  applyState(fullState(ex.preset));
  View.renderExercises();
}

function leaveExercise() {
  S.exercise = null; S.revealed = true; S.reveal = null; S.goal = null;
  View.renderExercises(); View.syncControls(); writeUrl(); requestRun();
}

async function revealAnswer(prediction) {
  const ex = S.exercise;
  try {
    S.reveal = await C.post(`api/exercises/${encodeURIComponent(ex.id)}/reveal`, { prediction });
    S.revealed = true;
    View.renderExercises();
  } catch (err) { View.banner(C.t("error") + ": " + err.message, "error"); }
}

// ------------------------------------------------------------------ saved scenarios (this browser) and submissions (server)
function loadSaved() {
  try { S.saved = JSON.parse(localStorage.getItem(SAVED_KEY) || "[]").filter(s => s && s.name && s.state); }
  catch (e) { S.saved = []; }
}
function storeSaved() { localStorage.setItem(SAVED_KEY, JSON.stringify(S.saved)); }

function saveScenario(name) {
  name = name.trim();
  if (!name) return;
  S.saved = S.saved.filter(s => s.name !== name);
  S.saved.push({ name, state: clone(S.state), created: new Date().toISOString() });
  storeSaved(); View.renderSaved(); View.toast(C.t("saved_ok") + ": " + name);
}

async function toggleOverlay(name, on) {
  if (on) S.overlays.add(name); else S.overlays.delete(name);
  if (S.lastRun) await View.draw(S.lastRun);
}

// A team's token proves to the server that this browser made the team's first submission; it is
// kept per team name (normalised as the server does) in this browser only.
const TEAM_TOKENS_KEY = "innosim.teamTokens.v1";
function teamKey(team) { return team.normalize("NFKC").toLowerCase().split(/\s+/).filter(Boolean).join(" "); }
function teamTokens() {
  try { const t = JSON.parse(localStorage.getItem(TEAM_TOKENS_KEY) || "{}"); return t && typeof t === "object" ? t : {}; }
  catch (e) { return {}; }
}
/** A random (version 4) UUID; crypto.randomUUID needs https, getRandomValues does not (workshop LANs are http). */
function newUuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, x => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function submitScenario(team, name) {
  // one id per submission: a retry after a lost answer returns the stored row, never a duplicate
  const body = JSON.stringify({ team, name, state: S.state, exercise: S.exercise ? S.exercise.id : null, submission_id: newUuid() });
  const tokens = teamTokens();
  const headers = { "Content-Type": "application/json" };
  if (tokens[teamKey(team)]) headers["X-Team-Token"] = tokens[teamKey(team)];
  let res = null;
  for (let attempt = 0; res === null; attempt++) {
    try { res = await C.json("api/submissions", { method: "POST", headers, body }); }
    catch (err) {
      if (attempt < 3 && (err.status == null || err.status >= 500)) { await sleep(800 * (attempt + 1)); continue; }
      View.banner(C.t("error") + ": " + err.message, "error");
      return;
    }
  }
  if (res.team_token) { tokens[teamKey(team)] = res.team_token; localStorage.setItem(TEAM_TOKENS_KEY, JSON.stringify(tokens)); }
  localStorage.setItem(TEAM_KEY, team);
  View.toast(C.t("submitted") + res.id);
}

async function copyLink() {
  writeUrl();
  const url = location.href;
  try { await navigator.clipboard.writeText(url); View.toast(C.t("link_copied")); }
  catch (e) { View.toast(C.t("copy_this") + " " + url, 8000); }
}

function setLang(lang) {
  C.lang = lang;
  View.applyLang();
  writeUrl();
  if (S.lastRun) View.draw(S.lastRun);
}

// ------------------------------------------------------------------ start
async function init() {
  const [meta, base] = await Promise.all([C.json("api/meta"), C.json("api/baseline")]);
  S.meta = meta; S.base = base; S.years = base.years;
  S.history = meta.features.history ? (await C.json("api/history")).series : {};
  SAVED_KEY = "innosim.saved.v1." + meta.model.name;
  for (const def of meta.levers) S.items[def.id] = { def, section: "levers" };
  for (const def of meta.shocks) S.items[def.id] = { def, section: "shocks" };
  for (const k of meta.kpis) S.kpiDef[k.variable] = k;
  for (const def of Object.values(S.items).map(i => i.def)) {
    if (def.subscript) S.cityPick[def.id] = meta.model.cities.slice();
  }
  loadSaved();
  readUrl();
  View.build();
  View.applyLang();
  writeUrl();
  document.getElementById("btn-undo").onclick = undo;
  document.getElementById("btn-reset").onclick = reset;
  document.getElementById("btn-replay").onclick = replay;
  document.getElementById("btn-share").onclick = copyLink;
  document.getElementById("btn-lang").onclick = () => setLang(C.lang === "zh" ? "en" : "zh");
  document.getElementById("advanced").onchange = ev => { S.advanced = ev.target.checked; document.body.classList.toggle("show-advanced", S.advanced); };
  View.wireDialogs();
  document.getElementById("why-panel").addEventListener("toggle", wantWhy);
  const bands = document.getElementById("bands");
  bands.checked = S.showBands;
  bands.onchange = ev => setBands(ev.target.checked);
  updateButtons();
  requestRun();
}

/** True when no run is queued or in flight: the charts show the current state (tests, benchmark). */
function settled() { return !runner.inflight && !runner.dirty && !runner.raf && !S.dragSnapshot; }

window.innosim = { S, requestRun, applyState, startExercise, setLang, settled, setBands };
document.addEventListener("DOMContentLoaded", () => {
  init().catch(err => View.banner("innosim: " + err.message, "error"));
});
