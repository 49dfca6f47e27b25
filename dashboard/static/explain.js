/* innosim workshop page: the views that explain a run — the uncertainty band (one ensemble on the
   server) and the why panel (dominant feedback loops). Both cost seconds on the server, so they are
   asked for only once the charts have settled on a state, one request at a time, and drawn only on
   the state they were computed for. Loaded before app.js, whose state (S) and runner they use. */
"use strict";

// ------------------------------------------------------------------ uncertainty bands (one ensemble on the server)
// An ensemble takes seconds, so it is asked for only once the charts have settled on a state,
// one at a time; a band is drawn only on the state it was computed for.
const bandsRunner = { inflight: false, timer: null, cache: new Map() };

function wantBands() {
  if (!S.showBands || !S.drawnKey) return;
  const hit = bandsRunner.cache.get(S.drawnKey);
  if (hit) { if (!S.bands || S.bands.key !== S.drawnKey) { S.bands = { key: S.drawnKey, res: hit }; View.draw(S.lastRun); } return; }
  View.bandsStatus("running");
  clearTimeout(bandsRunner.timer);
  bandsRunner.timer = setTimeout(fetchBands, 350);
}

async function fetchBands() {
  if (bandsRunner.inflight || !S.showBands || !settled()) { if (S.showBands) bandsRunner.timer = setTimeout(fetchBands, 350); return; }
  const key = S.drawnKey, state = clone(S.drawnState);
  if (bandsRunner.cache.has(key)) { wantBands(); return; }
  bandsRunner.inflight = true;
  try {
    const res = await C.post("api/bands", { state });
    bandsRunner.cache.set(key, res);
    if (bandsRunner.cache.size > 50) bandsRunner.cache.delete(bandsRunner.cache.keys().next().value);
    View.bandsStatus("done", res);
    if (key === S.drawnKey && S.showBands) {
      S.bands = { key, res };
      await View.draw(S.lastRun);
      document.body.dataset.bands = String((+document.body.dataset.bands || 0) + 1);
    }
  } catch (err) {
    View.bandsStatus("error", err);
  } finally {
    bandsRunner.inflight = false;
    if (S.showBands && S.drawnKey !== key) wantBands();
  }
}

function setBands(on) {
  S.showBands = on;
  writeUrl();
  if (on) wantBands(); else { View.bandsStatus(null); if (S.lastRun) View.draw(S.lastRun); }
}

// ------------------------------------------------------------------ why: dominant loops of the current run
const whyRunner = { inflight: false, timer: null, cache: new Map() };

function whyOpen() { const d = document.getElementById("why-panel"); return !!(S.meta.features.why && d && d.open); }

function wantWhy() {
  if (!whyOpen() || !S.drawnKey) return;
  const hit = whyRunner.cache.get(S.drawnKey);
  if (hit) { S.why = hit; View.renderWhy(); return; }
  View.renderWhy("running");
  clearTimeout(whyRunner.timer);
  whyRunner.timer = setTimeout(fetchWhy, 350);
}

async function fetchWhy() {
  if (whyRunner.inflight || !settled()) { whyRunner.timer = setTimeout(fetchWhy, 350); return; }
  const key = S.drawnKey, state = clone(S.drawnState);
  whyRunner.inflight = true;
  try {
    const res = await C.post("api/why", { state });
    whyRunner.cache.set(key, res);
    if (whyRunner.cache.size > 50) whyRunner.cache.delete(whyRunner.cache.keys().next().value);
    if (key === S.drawnKey) { S.why = res; View.renderWhy(); document.body.dataset.why = String((+document.body.dataset.why || 0) + 1); }
  } catch (err) {
    View.renderWhy("error", err);
  } finally {
    whyRunner.inflight = false;
    if (whyOpen() && S.drawnKey !== key) wantWhy();
  }
}
