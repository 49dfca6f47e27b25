/* innosim workshop page: the four KPI charts and the regional bar chart, drawn as ONE plotly
   figure with five subplots. One figure redraws in about half the time of five separate ones,
   which is what keeps slider-to-redraw latency low. Titles, chart selectors, the shaded history
   and the year marker are HTML placed over the figure, so a live redraw touches only traces and
   axes. */
"use strict";

const Charts = (() => {
  const el = (...a) => C.el(...a);
  const $ = id => document.getElementById(id);
  const G = { head: 30, plot: 190, xt: 24, gap: 12, left: 58, right: 14, cityHead: 34, city: 200 };
  let geo = null;

  /** Pixel boxes of the five cells and their plot areas for a container of width W. */
  function geometry(W) {
    const rowH = G.head + G.plot + G.xt;
    const colW = (W - G.gap) / 2;
    const cells = [0, 1, 2, 3].map(i => {
      const left = (i & 1) * (colW + G.gap), top = (i >> 1) * (rowH + G.gap);
      return { left, top, width: colW, height: rowH,
               plot: { l: left + G.left, r: left + colW - G.right, t: top + G.head, b: top + G.head + G.plot } };
    });
    const top = 2 * (rowH + G.gap);
    const city = { left: 0, top, width: W, height: G.cityHead + G.city + G.xt + 30,
                   plot: { l: G.left, r: W - G.right, t: top + G.cityHead, b: top + G.cityHead + G.city } };
    // a model without per-region outputs has no region view
    return { W, H: S.meta.per_city.length ? top + city.height : top - G.gap, cells, city };
  }

  function place(node, box) {
    Object.assign(node.style, { left: box.left + "px", top: box.top + "px", width: box.width + "px", height: box.height + "px" });
  }

  function kpiTitle(v) {
    const k = S.kpiDef[v];
    const u = C.unit(k.unit);
    return [C.L(k.name), u ? el("span", { class: "unit", text: ` (${u})` }) : null];
  }

  /** The HTML around the figure: cell frames, headers with selectors, shading, year lines. */
  function build() {
    const wrap = $("charts");
    const plot = el("div", { id: "plots", class: "plots" });
    const kids = [];
    S.charts.forEach((v, i) => {
      const select = el("select", { "aria-label": "chart " + (i + 1), class: "chart-select", dataset: { slot: i } });
      for (const k of S.meta.kpis) select.append(el("option", { value: k.variable, text: C.L(k.name) }));
      select.value = v;
      select.addEventListener("change", () => { S.charts[i] = select.value; build(); writeUrl(); requestRun(); });
      kids.push(el("div", { class: "cell", id: "cell-" + i }),
                el("div", { class: "shade", id: "shade-" + i }),
                el("div", { class: "cell-head", id: "head-" + i }, el("h4", { class: "chart-title", id: "chart-title-" + i }, ...kpiTitle(v)), select),
                el("div", { class: "year-line", id: "year-line-" + i }));
    });
    const citySel = el("select", { id: "city-kpi", "aria-label": "regional variable" },
      ...S.meta.per_city.map(p => el("option", { value: p.variable, text: C.L(p.doc.label) })));
    citySel.value = S.cityKpi;
    citySel.onchange = () => { S.cityKpi = citySel.value; writeUrl(); requestRun(); };
    kids.push(el("div", { class: "cell", id: "cell-city" }),
              el("div", { class: "cell-head", id: "head-city" }, el("h3", { text: C.t("city_view") }), citySel,
                 el("h4", { class: "chart-title", id: "city-title" }),
                 el("span", { class: "legend city-legend" }, el("span", { class: "key bar-base", text: C.t("baseline") }),
                    el("span", { class: "key bar-scen", text: C.t("scenario") }), el("span", { class: "key bar-fund", text: C.t("funded") }))));
    wrap.replaceChildren(...kids, plot);
    if (!S.meta.per_city.length) { $("cell-city").hidden = true; $("head-city").hidden = true; }
    geo = null;
    layoutHtml();
  }

  /** Position the HTML parts; returns the geometry for the plotly layout. */
  function layoutHtml() {
    const wrap = $("charts");
    const W = Math.max(600, wrap.clientWidth);
    if (!geo || geo.W !== W) {
      geo = geometry(W);
      wrap.style.height = geo.H + "px";
      geo.cells.forEach((c, i) => {
        place($("cell-" + i), c);
        place($("head-" + i), { left: c.left, top: c.top, width: c.width, height: G.head });
      });
      place($("cell-city"), geo.city);
      place($("head-city"), { left: 0, top: geo.city.top, width: W, height: G.cityHead });
    }
    placeMarks();
    return geo;
  }

  function placeMarks() {
    if (!geo) return;
    const x = S.years, x0 = x[0], x1 = x[x.length - 1];
    geo.cells.forEach((c, i) => {
      const at = t => c.plot.l + (t - x0) / (x1 - x0) * (c.plot.r - c.plot.l);
      place($("shade-" + i), { left: at(x0), top: c.plot.t, width: at(S.meta.defaults.start) - at(x0), height: c.plot.b - c.plot.t });
      place($("year-line-" + i), { left: at(S.year), top: c.plot.t, width: 0, height: c.plot.b - c.plot.t });
    });
  }

  function axes(geo, box) {
    return { x: [box.plot.l / geo.W, box.plot.r / geo.W], y: [1 - box.plot.b / geo.H, 1 - box.plot.t / geo.H] };
  }

  function figure(res, overlays) {
    const g = layoutHtml();
    const x = S.years;
    const traces = [];
    const layout = {
      width: g.W, height: g.H, margin: { l: 0, r: 0, t: 0, b: 0 }, showlegend: false, hovermode: "x unified",
      font: { family: C.fontFamily, size: 11, color: "#222" }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      barmode: "group", bargap: 0.25,
      hoverlabel: { bgcolor: "#fff", bordercolor: "#bbb", namelength: -1, font: { family: C.fontFamily, size: 12 } },
    };
    S.charts.forEach((v, i) => {
      const n = i + 1, xa = "x" + n, ya = "y" + n;
      const d = axes(g, g.cells[i]);
      layout["xaxis" + n] = { domain: d.x, anchor: ya, range: [x[0], x[x.length - 1]], fixedrange: true, showgrid: false, ticks: "outside" };
      layout["yaxis" + n] = { domain: d.y, anchor: xa, fixedrange: true, gridcolor: "#eee", zeroline: false, hoverformat: ",.4~g",
                             tickformat: C.tickformat(S.base.kpis[v]),
                             rangemode: S.kpiDef[v].unit === "Dmnl" ? "normal" : "tozero" };
      bandTraces(v, i, xa, ya, traces);
      traces.push({ x, y: S.base.kpis[v], xaxis: xa, yaxis: ya, name: C.t("baseline"), uid: "base-" + i, mode: "lines",
                    line: { color: "#777", dash: "dash", width: 1.6 } });
      overlays.forEach(({ name, run }, j) => {
        if (run && run.kpis[v]) traces.push({ x, y: run.kpis[v], xaxis: xa, yaxis: ya, name: C.plotText(name), uid: `saved-${i}-${j}`, mode: "lines",
                                              line: { color: C.palette[j % C.palette.length], dash: "dot", width: 2 } });
      });
      traces.push({ x, y: res.kpis[v], xaxis: xa, yaxis: ya, name: C.t("scenario"), uid: "scenario-" + i, mode: "lines",
                    line: { color: "#1f5fbf", width: 2.6 } });
      dataTrace(v, i, xa, ya, traces);
    });
    if (res.city) cityTraces(res, g, traces, layout);
    return { traces, layout };
  }

  /** The uncertainty band of the current scenario: p5–p95 light, p25–p75 darker (only when the
      band was computed for the state the charts show). */
  function bandTraces(v, i, xa, ya, traces) {
    const b = S.showBands && S.bands && S.bands.key === S.drawnKey ? S.bands.res.bands[v] : null;
    if (!b) return;
    const x = S.years;
    const pair = (lo, hi, name, color, tag) => {
      traces.push({ x, y: b[lo], xaxis: xa, yaxis: ya, uid: `band-${tag}-lo-${i}`, mode: "lines", line: { width: 0 },
                    hoverinfo: "skip", showlegend: false },
                  { x, y: b[hi], xaxis: xa, yaxis: ya, uid: `band-${tag}-${i}`, name, mode: "lines", line: { width: 0 },
                    fill: "tonexty", fillcolor: color, hoverinfo: "skip" });
    };
    pair("p5", "p95", "p5–p95", "rgba(31,95,191,0.12)", "outer");
    pair("p25", "p75", "p25–p75", "rgba(31,95,191,0.22)", "inner");
  }

  /** The model's recorded data of this variable, as points (hover: value, year, source). */
  function dataTrace(v, i, xa, ya, traces) {
    const h = S.history && S.history[v];
    if (!h || !h.years.length) return;
    traces.push({ x: h.years, y: h.values, xaxis: xa, yaxis: ya, uid: "data-" + i, name: C.t("data"), mode: "markers",
                  marker: { color: "#111", size: 6, symbol: "circle-open", line: { width: 1.6 } },
                  customdata: h.sources.map(s => C.plotText(s)),
                  hovertemplate: "%{y:,.4~g} (%{customdata})" });
  }

  function cityTraces(res, g, traces, layout) {
    const v = res.city.variable;
    const k = S.years.indexOf(res.city.year);
    const cities = S.meta.model.cities;
    const base = S.base.cities[v][k];
    const fund = Object.values(S.items).filter(i => i.def.subscript).map(i => S.state.levers[i.def.id]).filter(Boolean);
    const targeted = new Set(fund.flatMap(e => e.cities || Object.keys(e.allocation || {})));
    const allFunded = fund.some(e => !e.cities && !e.allocation);
    const names = cities.map(c => C.city(c));
    const pct = res.city.values.map((val, i) => base[i] ? 100 * (val / base[i] - 1) : 0);
    const doc = S.meta.per_city.find(p => p.variable === v);
    $("city-title").replaceChildren(C.L(doc.doc.label), el("span", { class: "unit", text: ` (${C.unit(doc.unit)}, ${res.city.year})` }));
    const d = axes(g, g.city);
    layout.xaxis5 = { domain: d.x, anchor: "y5", fixedrange: true, type: "category" };
    layout.yaxis5 = { domain: d.y, anchor: "x5", fixedrange: true, gridcolor: "#eee", tickformat: C.tickformat(base) };
    traces.push({ type: "bar", x: names, y: base, xaxis: "x5", yaxis: "y5", name: C.t("baseline"), uid: "city-base", marker: { color: "#c9c9c9" },
                  hovertemplate: "%{y:,.4~g}<extra></extra>" },
                { type: "bar", x: names, y: res.city.values, xaxis: "x5", yaxis: "y5", name: C.t("scenario"), uid: "city-scenario",
                  marker: { color: cities.map(c => allFunded || targeted.has(c) ? "#e07a1f" : "#1f5fbf") },
                  // the change is in the hover label, not printed on the bars: text labels cost a
                  // fifth of every redraw
                  customdata: pct.map(p => C.signed(p, Math.abs(p) < 1 ? 2 : 1) + " %"),
                  hovertemplate: "%{y:,.4~g} (%{customdata})<extra></extra>" });
  }

  // ---------------------------------------------------------------- fixed axis ranges and the fast redraw
  // A slider move changes only the scenario lines and the regional scenario bars. The y ranges
  // are computed here (and rounded outward to a nice step) instead of by plotly's autorange, so a
  // small move keeps every axis as it is; then only those traces are redrawn (Plotly.animate
  // without redraw: no axes, ticks or layout pass), which takes about half of a full redraw.
  // Anything else (axes, other traces, colours, size, language) goes through Plotly.react.
  const LIVE = /^(scenario-\d+|city-scenario)$/;

  /** [lo, hi] covering ``values`` (and 0 when ``toZero``), padded and rounded outward. */
  function niceRange(values, toZero) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) if (v != null && isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (lo > hi) return null;
    if (toZero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    let span = hi - lo;
    if (!(span > 0)) span = Math.abs(hi) || 1;
    const pad = 0.05 * span;
    const step = Math.pow(10, Math.floor(Math.log10(span))) / 5;
    const down = x => Math.floor(x / step) * step, up = x => Math.ceil(x / step) * step;
    const r0 = toZero && lo === 0 ? 0 : down(lo - pad), r1 = toZero && hi === 0 ? 0 : up(hi + pad);
    return [+r0.toPrecision(12), +r1.toPrecision(12)];
  }

  function fixRanges(traces, layout) {
    for (const name of Object.keys(layout)) {
      const m = /^yaxis(\d+)$/.exec(name);
      if (!m) continue;
      const ya = "y" + m[1], ax = layout[name];
      const values = [];
      for (const t of traces) if (t.yaxis === ya) for (const v of t.y) values.push(v);
      const toZero = ax.rangemode === "tozero" || (!ax.rangemode && traces.some(t => t.yaxis === ya && t.type === "bar"));
      const r = niceRange(values, toZero);
      if (r) { ax.range = r; ax.autorange = false; }
    }
  }

  /** Everything about the figure except the live traces' values: equal keys allow the fast redraw. */
  function frameKey(traces, layout) {
    const still = traces.map(t => LIVE.test(t.uid) ? { ...t, y: null, customdata: null } : t);
    return JSON.stringify([still, layout]);
  }

  let shown = null;   // {gd, key, live: [trace indices]} of the figure on screen

  function draw(res, overlays) {
    const { traces, layout } = figure(res, overlays);
    fixRanges(traces, layout);
    const gd = $("plots");
    const key = frameKey(traces, layout);
    if (shown && shown.gd === gd && shown.key === key) {
      const live = shown.live;
      return Plotly.animate(gd, { data: live.map(i => ({ y: traces[i].y, customdata: traces[i].customdata })), traces: live },
                            { transition: { duration: 0 }, frame: { duration: 0, redraw: false }, mode: "immediate" });
    }
    // no mode bar: the figure spans five charts, and the facilitator view exports PNGs
    return Plotly.react(gd, traces, layout, { ...C.plotConfig, responsive: false, displayModeBar: false }).then(r => {
      shown = { gd, key, live: traces.map((t, i) => LIVE.test(t.uid) ? i : -1).filter(i => i >= 0) };
      return r;
    });
  }

  /** The plotted y values of one chart's scenario line (used by the tests and the benchmark). */
  function scenarioY(i) { return traceY("scenario-" + i); }

  /** The plotted y values of the trace ``uid`` (data-i, band-outer-i, ...), or null when it is not drawn. */
  function traceY(uid) {
    const gd = $("plots");
    const t = gd && gd.data ? gd.data.find(d => d.uid === uid) : null;
    return t ? Array.from(t.y) : null;
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (S.lastRun) View.draw(S.lastRun); }, 120);
  });

  return { build, draw, placeMarks, scenarioY, traceY };
})();
