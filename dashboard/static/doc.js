/* innosim model documentation page: the model's variables (units, zh/en documentation, sources,
   ranges, all read from the model file by the server) and its causal loop diagram. Model text is
   only ever set as textContent. */
"use strict";

const C = Common;
const D = { doc: null, meta: null };
const $ = id => document.getElementById(id);

function kindText(v) {
  const kind = C.t("k_" + v.kind);
  const role = v.role ? C.t("r_" + v.role) : "";
  return role && role !== "r_" + v.role ? `${kind} (${role})` : kind;
}

function rowText(v) {
  return [v.name, v.zh, v.en, v.units, v.kind, v.role, v.source].join(" ").toLowerCase();
}

/** The variables a row uses or is used by, as links to their rows (the structure of the model). */
function links(key, names) {
  if (!names.length) return null;
  return C.el("div", { class: "var-links " + key }, C.t(key) + ": ",
    ...names.flatMap((n, i) => [i ? ", " : "", C.el("a", { href: "#", text: n, onclick: ev => { ev.preventDefault(); show(n); } })]));
}

function show(name) {
  $("doc-filter").value = "";
  renderRows();
  const row = document.querySelector(`#var-rows tr[data-name="${CSS.escape(name)}"]`);
  if (row) { row.scrollIntoView({ block: "center" }); row.classList.add("flash"); setTimeout(() => row.classList.remove("flash"), 1500); }
}

function renderRows() {
  const q = $("doc-filter").value.trim().toLowerCase();
  const vars = D.doc.variables;
  const shown = q ? vars.filter(v => rowText(v).includes(q)) : vars;
  const other = C.lang === "zh" ? "en" : "zh";
  $("var-rows").replaceChildren(...shown.map(v => C.el("tr", { dataset: { name: v.name } },
    C.el("td", { class: "text var-name" }, C.el("code", { text: v.name }),
         v.label[C.lang] && v.label[C.lang] !== v.name ? C.el("div", { class: "label", text: v.label[C.lang] }) : null),
    C.el("td", { class: "text var-doc" }, C.el("span", { class: "desc", text: v[C.lang] || v[other] }),
         links("uses", v.uses), links("used_by", v.used_by)),
    C.el("td", { class: "text", text: C.unit(v.units) || v.units }),
    C.el("td", { class: "text", text: kindText(v) + (v.dims.length ? ` [${v.dims.join(", ")}]` : "") }),
    C.el("td", { class: "text", text: v.range.replace("..", " … ") }),
    C.el("td", { class: "text var-source", text: v.source }))));
  $("doc-count").textContent = C.t("n_variables").replace("{n}", shown.length).replace("{m}", vars.length);
}

function render() {
  C.applyStatic();
  C.modelHeader(D.meta);
  document.title = C.t("doc_title") + " · " + C.L(D.meta.model.title);
  $("btn-lang").textContent = C.lang === "zh" ? "English" : "中文";
  $("model-version").textContent = "model " + D.doc.model.version.slice(0, 8);
  $("link-page").href = "./?lang=" + C.lang;
  const sel = $("model-switch");
  sel.onchange = () => { location.href = new URL(sel.value + "doc?lang=" + C.lang, location.href).href; };
  $("model-description").textContent = C.L(D.doc.model.description);
  const hasCld = D.doc.features.cld;
  $("cld-figure").hidden = !hasCld;
  $("cld-missing").hidden = hasCld;
  if (hasCld) $("cld").src = "api/doc/cld?lang=" + C.lang;
  $("cld").alt = C.t("cld") + " · " + C.L(D.meta.model.title);
  renderRows();
  history.replaceState(null, "", location.pathname + "?lang=" + C.lang);
  document.body.dataset.loaded = String((+document.body.dataset.loaded || 0) + 1);
}

async function init() {
  const lang = new URLSearchParams(location.search).get("lang");
  if (lang === "zh" || lang === "en") C.lang = lang;
  [D.doc, D.meta] = await Promise.all([C.json("api/doc"), C.json("api/meta")]);
  $("doc-filter").addEventListener("input", renderRows);
  $("btn-lang").onclick = () => { C.lang = C.lang === "zh" ? "en" : "zh"; render(); };
  render();
}

document.addEventListener("DOMContentLoaded", () => {
  init().catch(err => { const b = $("banner"); b.textContent = "innosim: " + err.message; b.hidden = false; });
});
