/* innosim workshop page: drawing. Controls are generated from the lever catalogue, the
   assumptions list and the exercises that /api/meta returns; charts use Plotly.react. */
"use strict";

const View = (() => {
  const el = (...a) => C.el(...a);
  const $ = id => document.getElementById(id);
  const openPanels = {};

  // ---------------------------------------------------------------- slider positions
  /** Slider positions: the step grid of [lo, hi], plus the baseline if it falls between steps. */
  function ticks(lo, hi, step, base) {
    const vals = [];
    const n = Math.round((hi - lo) / step);
    if (Math.abs(lo + n * step - hi) <= 1e-9 * Math.max(1, Math.abs(hi))) {
      for (let i = 0; i <= n; i++) vals.push(+(lo + i * step).toFixed(10));
    } else {
      vals.push(lo, hi);
      for (let k = Math.ceil(lo / step); k * step < hi; k++) if (k * step > lo) vals.push(+(k * step).toFixed(10));
    }
    if (!vals.some(v => Math.abs(v - base) < 1e-12)) vals.push(base);
    return Array.from(new Set(vals)).sort((a, b) => a - b);
  }
  function nearest(arr, v) {
    let best = 0;
    for (let i = 1; i < arr.length; i++) if (Math.abs(arr[i] - v) < Math.abs(arr[best] - v)) best = i;
    return best;
  }
  function decimals(step) { return Math.max(0, Math.min(4, -Math.floor(Math.log10(step) + 1e-9))); }

  function settingText(def, v) {
    if (def.unit === "Dmnl") return C.fmt(v * 100, Math.max(0, decimals(def.step) - 2) + (Math.round(v * 1000) % 10 ? 1 : 0)) + " %";
    return C.fmt(v, decimals(def.step)) + " " + C.unit(def.unit);
  }
  function assumptionText(a, v) { return C.fmt(v, Math.max(decimals(a.step), 2)) + (C.unit(a.unit) ? " " + C.unit(a.unit) : ""); }
  function locked(id) { return !!(S.exercise && S.exercise.locked.includes(id)); }

  // ---------------------------------------------------------------- controls
  function itemRow(def, section) {
    const tk = ticks(def.low, def.high, def.step, def.baseline);
    const row = el("div", { class: "item", id: "item-" + def.id, dataset: { id: def.id, section } });
    const name = el("span", { class: "name", text: C.L(def.name) });
    const info = [C.L(def.description), def.cost_rule ? "💰 " + C.L(def.cost_rule) : null, C.t("source") + ": " + def.source]
      .filter(Boolean).join("\n\n");
    name.title = info;
    const out = el("output", { class: "value" });
    const back = el("button", { type: "button", class: "back", title: C.t("restore"), text: "↺", "aria-label": C.t("restore") });
    const slider = el("input", { type: "range", min: 0, max: tk.length - 1, step: 1, "aria-label": C.L(def.name), dataset: { id: def.id } });
    slider._ticks = tk;
    slider.addEventListener("input", ev => {
      const t = performance.now();
      beginChange();
      setItem(def.id, tk[+slider.value]);
      syncItem(def.id);
      requestRun(t);
    });
    slider.addEventListener("change", commitChange);
    back.addEventListener("click", () => { beginChange(); setItem(def.id, def.baseline); commitChange(); syncItem(def.id); requestRun(); });
    row.append(el("div", { class: "label" }, name, out, back), slider);
    if (def.subscript) row.append(cityChips(def));
    row.append(advancedInputs(def));
    return row;
  }

  function cityChips(def) {
    const cities = S.meta.model.cities;
    const box = el("div", { class: "chips", title: C.t("cities_hint") });
    const apply = pick => {
      S.cityPick[def.id] = cities.filter(c => pick.includes(c));
      beginChange(); refreshEntry(def.id); commitChange(); syncItem(def.id); requestRun();
    };
    box.append(el("button", { type: "button", class: "chip preset", text: C.t("all_cities"), onclick: () => apply(cities) }));
    if (def.alone_cities.length) box.append(el("button", { type: "button", class: "chip preset", text: C.t("lagging"), onclick: () => apply(def.alone_cities) }));
    for (const c of cities) {
      box.append(el("button", { type: "button", class: "chip city", dataset: { city: c }, text: C.city(c),
        onclick: () => {
          const pick = new Set(S.cityPick[def.id]);
          if (pick.has(c)) { if (pick.size > 1) pick.delete(c); } else pick.add(c);
          apply([...pick]);
        } }));
    }
    return box;
  }

  function advancedInputs(def) {
    const years = S.years;
    const start = el("input", { type: "number", class: "start", min: years[1], max: years[years.length - 1], step: 1, "aria-label": C.t("start") });
    const ramp = el("input", { type: "number", class: "ramp", min: 0, max: 20, step: 1, "aria-label": C.t("ramp") });
    const onChange = () => {
      const s = Number(start.value), r = Number(ramp.value);
      S.profile[def.id] = { start: isFinite(s) && s >= years[0] ? s : S.meta.defaults.start, ramp: isFinite(r) && r >= 0 ? r : 0 };
      beginChange(); refreshEntry(def.id); commitChange(); requestRun();
    };
    start.addEventListener("change", onChange);
    ramp.addEventListener("change", onChange);
    return el("div", { class: "adv" }, el("label", {}, C.t("start"), start), el("label", {}, C.t("ramp"), ramp));
  }

  function assumptionRow(a) {
    const tk = ticks(a.low, a.high, a.step, a.baseline);
    const row = el("div", { class: "item", id: "assumption-" + a.id, dataset: { id: a.id, section: "assumptions" } });
    const name = el("span", { class: "name", text: C.L(a.name) });
    name.title = `${C.L(a.doc)}\n\n${a.constant}: ${C.fmt(a.low, 4)} … ${C.fmt(a.high, 4)}\n${C.t("source")}: ${a.doc.source}`;
    const out = el("output", { class: "value" });
    const back = el("button", { type: "button", class: "back", title: C.t("restore"), text: "↺" });
    const slider = el("input", { type: "range", min: 0, max: tk.length - 1, step: 1, "aria-label": C.L(a.name), dataset: { id: a.id } });
    slider._ticks = tk;
    slider.addEventListener("input", () => {
      const t = performance.now();
      beginChange(); setAssumption(a.id, tk[+slider.value]); syncAssumption(a.id); requestRun(t);
    });
    slider.addEventListener("change", commitChange);
    back.addEventListener("click", () => { beginChange(); setAssumption(a.id, a.baseline); commitChange(); syncAssumption(a.id); requestRun(); });
    row.append(el("div", { class: "label" }, name, out, back), slider,
               el("div", { class: "range-ends" }, el("span", { text: assumptionText(a, a.low) }), el("span", { text: assumptionText(a, a.high) })));
    return row;
  }

  function syncItem(id) {
    const row = $("item-" + id);
    if (!row) return;
    const { def, section } = S.items[id];
    const e = S.state[section][id];
    const v = e ? (e.value ?? Math.max(...Object.values(e.allocation || { x: def.baseline }))) : def.baseline;
    const slider = row.querySelector("input[type=range]");
    slider.value = nearest(slider._ticks, v);
    row.querySelector("output").textContent = settingText(def, v) + (e && e.allocation ? " (max)" : "");
    row.classList.toggle("changed", !!e);
    const lock = locked(id);
    row.classList.toggle("locked", lock);
    for (const input of row.querySelectorAll("input, button")) input.disabled = lock;
    row.title = lock ? C.t("locked") : "";
    const prof = S.profile[id] || {};
    row.querySelector(".start").value = prof.start ?? S.meta.defaults.start;
    row.querySelector(".ramp").value = prof.ramp ?? 0;
    if (def.subscript) {
      const pick = new Set(e && e.cities ? e.cities : S.cityPick[id]);
      for (const chip of row.querySelectorAll(".chip.city")) chip.setAttribute("aria-pressed", pick.has(chip.dataset.city) ? "true" : "false");
    }
  }

  function syncAssumption(id) {
    const row = $("assumption-" + id);
    if (!row) return;
    const a = S.meta.assumptions.find(x => x.id === id);
    const v = S.state.assumptions[id] ?? a.baseline;
    const slider = row.querySelector("input[type=range]");
    slider.value = nearest(slider._ticks, v);
    row.querySelector("output").textContent = assumptionText(a, v);
    row.classList.toggle("changed", id in S.state.assumptions);
    const lock = locked(id);
    row.classList.toggle("locked", lock);
    for (const input of row.querySelectorAll("input, button")) input.disabled = lock;
  }

  function syncControls() {
    for (const id of Object.keys(S.items)) syncItem(id);
    for (const a of S.meta.assumptions) syncAssumption(a.id);
    const n = Object.keys(S.state.shocks).length, m = Object.keys(S.state.assumptions).length;
    $("shocks-panel").classList.toggle("changed", n > 0);
    $("assumptions-panel").classList.toggle("changed", m > 0);
    if (n) $("shocks-panel").open = true;
    if (m) $("assumptions-panel").open = true;
  }

  function buildControls() {
    for (const d of document.querySelectorAll("details[data-area]")) openPanels[d.dataset.area] = d.open;
    const groups = $("lever-groups");
    groups.replaceChildren();
    for (const area of S.meta.areas) {
      if (area.id === "shocks") continue;
      const levers = S.meta.levers.filter(l => l.area === area.id);
      if (!levers.length) continue;
      const det = el("details", { class: "panel group", open: openPanels[area.id] ?? true, dataset: { area: area.id } },
                     el("summary", { text: C.L(area.name) }), ...levers.map(l => itemRow(l, "levers")));
      groups.append(det);
    }
    $("shock-list").replaceChildren(...S.meta.shocks.map(s => itemRow(s, "shocks")));
    $("assumption-list").replaceChildren(...S.meta.assumptions.map(assumptionRow));
    syncControls();
  }

  // ---------------------------------------------------------------- cards and charts
  function drawCards(res) {
    const k = S.years.indexOf(S.year);
    const box = $("cards");
    box.replaceChildren();
    Array.from(new Set(S.charts)).forEach((v, i) => {
      const def = S.kpiDef[v];
      const val = res.kpis[v][k], base = S.base.kpis[v][k];
      const diff = val - base, pct = base ? 100 * diff / base : 0;
      const good = Math.abs(pct) < 0.05 ? "flat" : (diff > 0) === (def.direction === "maximise") ? "good" : "bad";
      box.append(el("div", { class: "card " + (i === 0 ? "headline " : "") + good, dataset: { kpi: v } },
        el("div", { class: "card-name", text: C.L(def.name) }),
        el("div", { class: "card-value", text: C.fmt(val) + " " + C.unit(def.unit) }),
        el("div", { class: "card-delta", text: (def.change === "difference" ? C.signed(diff)   // codes, counts of years
          : `${C.signed(diff)} (${C.signed(pct, Math.abs(pct) < 1 ? 2 : 1)} %)`) + " " + C.t("vs_baseline") })));
    });
    const cost = res.extra_cost ? res.extra_cost[k] : 0;
    box.append(el("div", { class: "card cost " + (cost > 0.5 ? "spend" : "flat"), id: "card-cost" },
      el("div", { class: "card-name", text: `${C.t("extra_cost")} ${S.meta.defaults.start}–${S.year}` }),
      el("div", { class: "card-value", text: C.signed(cost) + " 亿元" }),
      el("div", { class: "card-delta", text: C.t("extra_cost_note") })));
  }

  async function draw(res) {
    S.lastRun = res;
    S.goal = res.goal;
    drawCards(res);
    const overlays = await Promise.all(Array.from(S.overlays).map(async name => ({ name, run: await overlayRun(name) })));
    legend(overlays);
    await Charts.draw(res, overlays);
    renderGoal();
    document.body.dataset.drawn = String((+document.body.dataset.drawn || 0) + 1);
  }

  function legend(overlays) {
    const box = $("legend");
    const hasData = S.charts.some(v => S.history && S.history[v]);
    const hasBands = S.showBands && S.bands && S.bands.key === S.drawnKey;
    box.replaceChildren(...[
      el("span", { class: "key base", text: C.t("baseline") }), el("span", { class: "key scen", text: C.t("scenario") }),
      hasData ? el("span", { class: "key data", id: "legend-data", text: C.t("data") }) : null,
      hasBands ? el("span", { class: "key band", id: "legend-band", text: "p5–p95 / p25–p75" }) : null,
      ...overlays.map(({ name }, i) => el("span", { class: "key saved", style: `--c:${C.palette[i % C.palette.length]}`, text: name }))
    ].filter(Boolean));
  }

  /** The line beside the band toggle: computing, what the band is, or why it failed. */
  let lastBands = [null];
  function bandsStatus(kind, info) {
    lastBands = [kind, info];
    const box = $("bands-status");
    box.dataset.kind = kind || "";
    if (!kind) { box.textContent = ""; return; }
    if (kind === "running") { box.textContent = C.t("bands_running"); return; }
    if (kind === "error") { box.textContent = C.t("error") + ": " + info.message; return; }
    let text = C.t("bands_done").replace("{n}", info.members);
    if (info.fixed.length) text += "; " + C.t("bands_fixed").replace("{k}", info.fixed.length);
    box.title = text;
    box.textContent = `${info.members} ${C.t("runs")}${info.cached ? "" : ` · ${C.fmt(info.seconds, 1)} s`}`;
  }

  /** The why panel: periods in which one loop dominates, and the leading loops in the chosen year. */
  function renderWhy(kind, err) {
    const box = $("why-body");
    if (!box) return;
    if (kind === "running") { box.replaceChildren(el("p", { class: "hint", text: C.t("why_running") })); return; }
    if (kind === "error") { box.replaceChildren(el("p", { class: "hint bad", text: C.t("error") + ": " + err.message })); return; }
    const w = S.why;
    if (!w) { box.replaceChildren(); return; }
    const pol = p => p === "+" ? C.t("reinforcing") : p === "-" ? C.t("balancing") : p;
    const name = id => w.loops[id] ? `${id} ${w.loops[id].name}` : id;
    const periods = w.periods.filter(p => p.loop);
    if (!periods.length) { box.replaceChildren(el("p", { class: "hint", text: C.t("why_none") })); return; }
    const list = el("ol", { class: "why-periods", id: "why-periods" }, ...periods.map(p => el("li", { dataset: { loop: p.loop } },
      el("span", { class: "years", text: p.from === p.to ? `${p.from}` : `${p.from}–${p.to}` }), " ",
      el("strong", { text: name(p.loop) }), " ",
      el("span", { class: "pol pol-" + (w.loops[p.loop] || {}).polarity, text: `(${pol((w.loops[p.loop] || {}).polarity)})` }))));
    const year = w.top[String(S.year)] || [];
    const table = el("table", { class: "why-top", id: "why-top" },
      el("caption", { text: C.t("why_year").replace("{y}", S.year) }),
      ...year.map(x => el("tr", { title: (w.loops[x.loop] || {}).path || "" },
        el("td", { text: name(x.loop) }), el("td", { class: "num", text: C.signed(100 * x.relative, 0) + " %" }))));
    box.replaceChildren(el("p", { class: "hint", text: C.t("why_hint") }), list, table);
  }

  function timing(res, fetchMs, drawMs, hit) {
    $("timing").textContent = `${C.t("server_time")} ${res.cached || hit ? "≈0" : C.fmt(res.run_ms, 0)} ms · ${C.fmt(fetchMs + drawMs, 0)} ms`;
  }

  // ---------------------------------------------------------------- exercises
  function goalText(g) {
    const perCity = S.meta.per_city.find(p => p.variable === g.kpi);
    const name = perCity ? C.L(perCity.doc.label) : C.L(S.kpiDef[g.kpi].name);
    const cities = g.cities.length ? ` (${g.cities.map(c => C.city(c)).join(", ")})` : "";
    const unit = g.measure === "pct_change" ? " %" : g.measure === "change" ? "" : " " + C.unit((S.kpiDef[g.kpi] || perCity).unit);
    const sign = g.measure === "value" ? C.fmt(g.threshold) : C.signed(g.threshold);
    const cmp = g.comparator === ">=" ? "≥" : "≤";
    let text = `${name}${cities}, ${g.year}: ${C.t(g.measure)} ${cmp} ${sign}${unit}`;
    if (g.budget != null) text += ` · ${C.t("extra_cost")} ≤ ${C.fmt(g.budget)} 亿元`;
    return text;
  }

  function renderGoal() {
    const box = $("goal-status");
    if (!box || !S.exercise) return;
    const g = S.goal;
    if (!g) { box.replaceChildren(); return; }
    const fmtRes = g.measure === "value" ? C.fmt(g.result) : C.signed(g.result, g.measure === "pct_change" ? 1 : undefined) + (g.measure === "pct_change" ? " %" : "");
    const parts = [
      el("span", { class: "badge " + (g.met ? "met" : "unmet"), id: "goal-badge", dataset: { met: g.met ? "1" : "0" }, text: g.met ? "✓ " + C.t("met") : "✗ " + C.t("not_met") }),
      el("span", { class: g.goal_ok ? "ok" : "no", text: `${C.t("now")}: ${fmtRes}` }),
    ];
    if (g.budget != null) parts.push(el("span", { class: g.within_budget ? "ok" : "no", text: `${C.t("extra_cost")}: ${C.fmt(g.cost)} / ${C.fmt(g.budget)} 亿元` }));
    if (g.locked_broken.length) parts.push(el("span", { class: "no", text: C.t("locked_broken") + " " + g.locked_broken.map(id => S.items[id] ? C.L(S.items[id].def.name) : id).join(", ") }));
    box.replaceChildren(...parts);
    $("lesson").hidden = !(g.met || (S.reveal && S.exercise.predict));
  }

  function renderExercises() {
    const list = $("exercise-list");
    list.replaceChildren(...S.meta.exercises.map(ex => el("div", { class: "exercise-item" + (S.exercise && S.exercise.id === ex.id ? " active" : "") },
      el("span", { text: C.L(ex.title) }),
      el("button", { type: "button", class: "start-ex", dataset: { id: ex.id }, text: C.t("start_exercise"), onclick: () => startExercise(ex.id) }))));
    const box = $("exercise-box");
    const ex = S.exercise;
    box.hidden = !ex;
    $("veil").hidden = !ex || S.revealed;
    $("veil-wrap").classList.toggle("veiled", !!ex && !S.revealed);
    if (!ex) { syncControls(); return; }
    const kids = [
      el("div", { class: "ex-head" }, el("h2", { text: C.L(ex.title) }),
         el("button", { type: "button", id: "btn-leave", text: C.t("leave_exercise"), onclick: leaveExercise })),
      el("p", { class: "brief", text: C.L(ex.brief) }),
      el("p", { class: "goal" }, el("strong", { text: C.t("goal") + ": " }), goalText(ex.goal)),
      el("div", { class: "goal-status", id: "goal-status" }),
    ];
    if (ex.predict) kids.push(predictBox(ex));
    kids.push(el("p", { class: "lesson", id: "lesson", hidden: true }, el("strong", { text: C.t("lesson") + ": " }), C.L(ex.lesson)));
    box.replaceChildren(...kids);
    renderGoal();
    syncControls();
  }

  function predictBox(ex) {
    const p = ex.predict;
    const box = el("div", { class: "predict" }, el("p", { class: "question", text: C.L(p.question) }));
    if (!S.revealed) {
      let input;
      if (p.kind === "number") {
        input = el("input", { type: "number", id: "prediction", step: "any", "aria-label": C.t("your_prediction") });
      } else {
        input = el("select", { id: "prediction", "aria-label": C.t("your_prediction") },
          ...p.options.map(id => el("option", { value: id, text: C.L(S.items[id].def.name) })));
      }
      box.append(el("label", {}, C.t("your_prediction") + " ", input, p.kind === "number" && p.measure === "pct_change" ? " %" : ""),
                 el("button", { type: "button", id: "btn-reveal", text: C.t("reveal"),
                   onclick: () => { const v = p.kind === "number" ? Number(input.value) : input.value;
                                    if (p.kind === "number" && (input.value === "" || !isFinite(v))) { input.focus(); return; }
                                    revealAnswer(v); } }));
    } else if (S.reveal) {
      const r = S.reveal;
      if (r.kind === "number") {
        box.append(el("p", { class: "answer" }, `${C.t("your_prediction")}: ${C.signed(r.prediction, 1)} % · ${C.t("model_answer")}: ${C.signed(r.answer, 2)} % — `,
          el("strong", { text: r.close ? C.t("close") : `${C.t("off")} ${C.fmt(Math.abs(r.error), 1)} %` })));
      } else {
        const name = id => C.L(S.items[id].def.name);
        box.append(el("p", { class: "answer" }, `${C.t("your_prediction")}: ${name(r.prediction)} · ${C.t("model_answer")}: `, el("strong", { text: name(r.answer) })));
        const kpi = S.kpiDef[ex.predict.kpi];
        const table = el("table", { class: "ranking" }, el("caption", { text: C.t("ranking").replace("{kpi}", C.L(kpi.name)) }),
          el("tr", {}, el("th", { text: "" }), el("th", { text: C.t("gain") + (C.unit(kpi.unit) ? ` (${C.unit(kpi.unit)})` : "") }), el("th", { text: C.t("cost") + " (亿元)" }), el("th", { text: C.t("per_yuan") })),
          ...r.ranking.map(row => el("tr", { class: row.lever === r.answer ? "top" : "" },
            el("td", { text: name(row.lever) }), el("td", { text: C.signed(row.gain) }), el("td", { text: C.fmt(row.cost) }), el("td", { text: C.fmt(row.per_yuan, 3) }))));
        box.append(table);
      }
    }
    return box;
  }

  // ---------------------------------------------------------------- saved scenarios, dialogs, messages
  function renderSaved() {
    const list = $("saved-list");
    if (!S.saved.length) { list.replaceChildren(el("p", { class: "hint", text: C.t("no_saved") })); return; }
    list.replaceChildren(...S.saved.map(s => el("div", { class: "saved-item" },
      el("label", {}, el("input", { type: "checkbox", class: "overlay", checked: S.overlays.has(s.name), dataset: { name: s.name },
        onchange: ev => toggleOverlay(s.name, ev.target.checked) }), " ", s.name),
      el("button", { type: "button", class: "load", text: C.t("load"), onclick: () => applyState(s.state) }),
      el("button", { type: "button", class: "del", text: "×", title: C.t("remove"),
        onclick: () => { S.saved = S.saved.filter(x => x.name !== s.name); S.overlays.delete(s.name); storeSaved(); renderSaved(); if (S.lastRun) draw(S.lastRun); } }))));
  }

  function wireDialogs() {
    const dSave = $("dlg-save"), dSubmit = $("dlg-submit");
    $("btn-save").onclick = () => { $("save-name").value = ""; dSave.showModal(); };
    dSave.addEventListener("close", () => { if (dSave.returnValue === "ok") saveScenario($("save-name").value); });
    $("btn-submit").onclick = () => {
      $("submit-team").value = localStorage.getItem(TEAM_KEY) || "";
      $("submit-name").value = S.exercise ? C.L(S.exercise.title) : "";
      dSubmit.showModal();
    };
    dSubmit.addEventListener("close", () => {
      const team = $("submit-team").value.trim(), name = $("submit-name").value.trim();
      if (dSubmit.returnValue === "ok" && team && name) submitScenario(team, name);
    });
    $("year").addEventListener("input", ev => { S.year = +ev.target.value; $("year-out").textContent = S.year; Charts.placeMarks(); requestRun(); });
    $("year").addEventListener("change", writeUrl);
  }

  let toastTimer = null;
  function toast(text, ms = 2500) {
    const t = $("toast");
    t.textContent = text; t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, ms);
  }

  function banner(text, kind) {
    const b = $("banner");
    if (!text) { if (b.dataset.kind !== "warn") b.hidden = true; return; }
    b.textContent = text; b.dataset.kind = kind || "error"; b.hidden = false;
  }

  function applyLang() {
    C.applyStatic();
    $("btn-lang").textContent = C.lang === "zh" ? "English" : "中文";
    $("model-version").textContent = "model " + S.meta.model.version.slice(0, 8);
    $("model-version").title = `${S.meta.model.file}\nsha256 ${S.meta.model.sha256}`;
    C.modelHeader(S.meta);
    $("link-doc").href = "doc?lang=" + C.lang;
    $("bands-toggle").hidden = !S.meta.features.bands;
    $("bands-toggle").title = S.meta.features.bands ? C.t("bands_done").replace("{n}", S.meta.features.bands.members) : "";
    $("why-panel").hidden = !S.meta.features.why;
    bandsStatus(...lastBands);
    renderWhy();
    buildControls();
    Charts.build();
    renderExercises();
    renderSaved();
  }

  function build() {
    const yr = $("year");
    yr.min = S.meta.defaults.start; yr.max = S.years[S.years.length - 1]; yr.value = S.year;
    $("year-out").textContent = S.year;
    $("advanced").checked = S.advanced;
  }

  return { build, applyLang, syncControls, draw, renderExercises, renderSaved, wireDialogs, toast, banner, timing, ticks,
           bandsStatus, renderWhy };
})();
