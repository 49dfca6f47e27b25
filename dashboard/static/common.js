/* innosim dashboard: strings and helpers shared by the workshop page and the facilitator view.
   Names of levers, KPIs, assumptions and exercises come from the server (catalogue and model
   documentation); this file holds only the words of the interface itself. */
"use strict";

const I18N = {
  en: {
    title: "innosim", model: "Model",
    undo: "Undo", reset: "Reset", replay: "Replay last change", share: "Copy link",
    save: "Save scenario", submit: "Submit to facilitator", facilitator: "Facilitator view",
    workshop: "Workshop page",
    advanced: "Advanced: start year and ramp", start: "start", ramp: "ramp (years)",
    levers: "Policy levers", shocks: "Shocks", assumptions: "Assumptions (uncertain)",
    assumptions_hint: "Uncertain model constants, within the ranges documented in the model. They change the world, not the policy.",
    exercises: "Exercises", saved: "Saved scenarios", no_saved: "Nothing saved yet.",
    overlay: "overlay", load: "load", remove: "delete",
    baseline: "baseline", scenario: "current scenario",
    year_of_interest: "Year", extra_cost: "Extra fiscal cost", extra_cost_note: "cumulative, levers vs. no policy change",
    vs_baseline: "vs. baseline", city_view: "Regions", city_title: "by region",
    start_exercise: "Start", leave_exercise: "Leave exercise", goal: "Goal", met: "Goal met", not_met: "Not met yet",
    now: "now", need: "need", budget: "budget", within_budget: "within budget", over_budget: "over budget",
    locked: "fixed by the exercise", locked_broken: "Put these back as the exercise set them:",
    predict_first: "Make your prediction first — the charts are hidden until you reveal.",
    your_prediction: "Your prediction", reveal: "Reveal", model_answer: "Model", close: "close enough!", off: "off by",
    ranking: "{kpi} per 亿元 of extra cost, each lever alone", per_yuan: "per 亿元", gain: "gain", cost: "cost",
    lesson: "What this shows", all_cities: "all", lagging: "lagging regions", cities_hint: "Regions that receive the fund",
    change: "change vs. baseline", pct_change: "% change vs. baseline", value: "",
    team: "Team name", scenario_name: "Scenario name", cancel: "Cancel", ok: "OK",
    submitted: "Submitted to the facilitator as #", saved_ok: "Saved", link_copied: "Link copied",
    copy_this: "Copy this link:", model_mismatch: "This link was made with model version {a}; the server runs {b}. Results may differ.",
    error: "Error", restore: "back to baseline", description: "", source: "Sources",
    submissions: "Team submissions", refresh: "Refresh", export_csv: "Export CSV", export_png: "Export PNG (charts)",
    created: "submitted", exercise: "exercise", goal_met: "goal", delete_q: "Delete this submission?", none_yet: "No submissions yet.",
    solution: "Example solution", show_solution: "Show example solution", settings: "settings",
    loading: "Loading…", running: "running…", server_time: "model run", funded: "funded regions",
    token_label: "Facilitator token", sign_in: "Open",
    login_hint: "This view needs the facilitator token. Open the facilitator link printed when the server started, or paste the token here.",
    login_failed: "That token is not right.", rows_of: "{a}–{b} of {n}", prev: "‹ earlier", next: "later ›",
    data: "recorded data", runs: "runs", bands: "Uncertainty band", bands_running: "computing the band…",
    bands_done: "{n} runs over the model's uncertainties, p5–p95 and p25–p75", bands_fixed: "{k} set on this page kept fixed",
    model_doc: "Model documentation", url_ignored: "Ignored in the address (unknown setting or not a number):",
    why: "Why? Dominant feedback loops", why_none: "No loop dominates in this run.",
    why_hint: "Loops that Matter: the loop with the largest share of the change of the model's stocks, period by period (loop ids: R reinforcing, B balancing).",
    why_year: "Leading loops in {y} (relative loop score)", reinforcing: "reinforcing", balancing: "balancing", why_running: "analysing the loops of this run…",
    doc_title: "Model documentation", doc_description: "Description", variables: "Variables", filter: "Filter", cld: "Causal loop diagram",
    name: "Name", units: "Units", kind: "Kind", range: "Range", n_variables: "{n} of {m} variables",
    k_stock: "stock", k_flow: "flow", k_auxiliary: "auxiliary", k_constant: "constant", k_lookup: "lookup", k_data: "data",
    r_lever: "lever", r_shock: "shock", back_to_page: "Workshop page", uses: "uses", used_by: "used by", cld_missing: "This model has no causal loop diagram yet.",
  },
  zh: {
    title: "innosim", model: "模型",
    undo: "撤销", reset: "重置", replay: "重放上一步", share: "复制链接",
    save: "保存情景", submit: "提交给主持人", facilitator: "主持人视图",
    workshop: "研讨页面",
    advanced: "高级: 起始年份与过渡期", start: "起始年", ramp: "过渡期 (年)",
    levers: "政策杠杆", shocks: "外部冲击", assumptions: "假设 (不确定参数)",
    assumptions_hint: "模型中不确定的常数, 取值限于模型文档给出的范围。它们改变的是外部世界, 而不是政策。",
    exercises: "练习", saved: "已保存的情景", no_saved: "尚未保存情景。",
    overlay: "叠加", load: "载入", remove: "删除",
    baseline: "基准", scenario: "当前情景",
    year_of_interest: "年份", extra_cost: "新增财政成本", extra_cost_note: "累计, 杠杆相对于不调整政策",
    vs_baseline: "相对基准", city_view: "地区", city_title: "分地区",
    start_exercise: "开始", leave_exercise: "退出练习", goal: "目标", met: "目标达成", not_met: "尚未达成",
    now: "当前", need: "要求", budget: "预算", within_budget: "未超预算", over_budget: "超出预算",
    locked: "由练习设定", locked_broken: "请将以下设置恢复为练习给定的值:",
    predict_first: "请先预测 —— 揭晓之前图表被隐藏。",
    your_prediction: "你的预测", reveal: "揭晓", model_answer: "模型结果", close: "预测很接近!", off: "相差",
    ranking: "各杠杆单独实施时每亿元新增成本带来的{kpi}", per_yuan: "每亿元", gain: "增量", cost: "成本",
    lesson: "启示", all_cities: "全部", lagging: "相对落后地区", cities_hint: "获得资金的地区",
    change: "相对基准的变化", pct_change: "相对基准的变化 (%)", value: "",
    team: "小组名称", scenario_name: "情景名称", cancel: "取消", ok: "确定",
    submitted: "已提交给主持人, 编号 #", saved_ok: "已保存", link_copied: "链接已复制",
    copy_this: "请复制此链接:", model_mismatch: "此链接基于模型版本 {a}; 服务器运行的是 {b}。结果可能不同。",
    error: "错误", restore: "恢复基准", description: "", source: "来源",
    submissions: "各组提交", refresh: "刷新", export_csv: "导出 CSV", export_png: "导出 PNG (图表)",
    created: "提交时间", exercise: "练习", goal_met: "目标", delete_q: "删除这条提交?", none_yet: "尚无提交。",
    solution: "参考答案", show_solution: "显示参考答案", settings: "设置",
    loading: "加载中…", running: "计算中…", server_time: "模型运行", funded: "获资助地区",
    token_label: "主持人令牌", sign_in: "进入",
    login_hint: "此视图需要主持人令牌。请打开服务器启动时打印的主持人链接, 或在此粘贴令牌。",
    login_failed: "令牌不正确。", rows_of: "第 {a}–{b} 条, 共 {n} 条", prev: "‹ 较早", next: "较新 ›",
    data: "历史数据", runs: "次运行", bands: "不确定性区间", bands_running: "正在计算区间…",
    bands_done: "模型不确定参数的 {n} 次运行, p5–p95 与 p25–p75", bands_fixed: "本页设定的 {k} 个参数保持不变",
    model_doc: "模型文档", url_ignored: "地址中以下设置被忽略 (未知设置或不是数字):",
    why: "为什么? 主导反馈回路", why_none: "本次运行中没有主导回路。",
    why_hint: "Loops that Matter 方法: 各时段对存量变化贡献最大的回路 (回路编号: R 增强, B 调节)。",
    why_year: "{y} 年的主要回路 (相对回路得分)", reinforcing: "增强回路", balancing: "调节回路", why_running: "正在分析本次运行的回路…",
    doc_title: "模型文档", doc_description: "说明", variables: "变量", filter: "筛选", cld: "因果回路图",
    name: "名称", units: "单位", kind: "类型", range: "范围", n_variables: "{m} 个变量中的 {n} 个",
    k_stock: "存量", k_flow: "流量", k_auxiliary: "辅助变量", k_constant: "常数", k_lookup: "表函数", k_data: "数据",
    r_lever: "政策杠杆", r_shock: "外部冲击", back_to_page: "研讨页面", uses: "依赖", used_by: "被引用于", cld_missing: "该模型尚无因果回路图。",
  },
};

const UNITS = {
  "亿元/Year": { en: "亿元/yr", zh: "亿元/年" }, "亿元": { en: "亿元", zh: "亿元" },
  clusters: { en: "clusters", zh: "个" }, enterprises: { en: "firms", zh: "家" },
  FTE: { en: "FTE", zh: "人年" }, Dmnl: { en: "", zh: "" }, "1/Year": { en: "/yr", zh: "/年" },
  Year: { en: "yr", zh: "年" },
};

const Common = {
  lang: "en",
  regions: {},      // region element -> {zh, en}: the model's own names (from /api/meta)
  t(key) { return (I18N[this.lang] && I18N[this.lang][key]) ?? I18N.en[key] ?? key; },
  /** A {zh, en} object (or a string) in the current language. */
  L(obj) { if (obj == null) return ""; if (typeof obj === "string") return obj; return obj[this.lang] || obj.en || ""; },
  city(name) { const r = this.regions[name]; return r ? (r[this.lang] || name) : name; },
  /** The model's title and, for an uncalibrated model, its notice in the page's top bar; the
      model switch when the server serves several models. */
  modelHeader(meta) {
    this.regions = meta.model.regions || {};
    const title = document.getElementById("model-title");
    if (title) title.textContent = this.L(meta.model.title);
    document.title = this.t("title") + " · " + this.L(meta.model.title);
    const notice = document.getElementById("model-notice");
    if (notice) { notice.hidden = !meta.model.notice; notice.textContent = meta.model.notice ? this.L(meta.model.notice) : ""; }
    const sel = document.getElementById("model-switch");
    if (sel) {
      sel.replaceChildren(...(meta.models || []).map(m => this.el("option", { value: m.url, selected: m.current, text: this.L(m.title) })));
      sel.hidden = (meta.models || []).length < 2;
      if (title) title.hidden = !sel.hidden;   // the switch shows the model's title itself
      sel.onchange = () => { location.href = new URL(sel.value, location.href).href; };
    }
  },
  unit(u) { const m = UNITS[u]; return m ? m[this.lang] : (u || ""); },
  /** Numbers for people: thousands separators, about three significant digits. */
  fmt(v, digits) {
    if (v == null || !isFinite(v)) return "–";
    const a = Math.abs(v);
    const d = digits ?? (a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
    return v.toLocaleString(this.lang === "zh" ? "zh-CN" : "en-US", { minimumFractionDigits: 0, maximumFractionDigits: d });
  },
  signed(v, digits) { if (v == null || !isFinite(v)) return "–"; return (v > 0 ? "+" : v < 0 ? "−" : "±") + this.fmt(Math.abs(v), digits); },
  async json(url, options) {
    const res = await fetch(url, options);
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const err = new Error((body && body.error) || `${res.status} ${res.statusText}`);
      err.status = res.status;
      throw err;
    }
    return body;
  },
  post(url, data) {
    return this.json(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
  },
  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) { if (c != null) node.append(c instanceof Node ? c : document.createTextNode(String(c))); }
    return node;
  },
  applyStatic(root) {
    for (const node of (root || document).querySelectorAll("[data-i18n]")) node.textContent = this.t(node.dataset.i18n);
    for (const node of (root || document).querySelectorAll("[data-i18n-title]")) node.title = this.t(node.dataset.i18nTitle);
    document.documentElement.lang = this.lang === "zh" ? "zh-CN" : "en";
  },
  /** Text typed by people, made safe for plotly labels (which read a few HTML tags). */
  plotText(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); },
  /** SI suffixes (k, M) only for large numbers: 0.9 must not read "900m". */
  tickformat(values) { return Math.max(...values.map(Math.abs)) >= 1e4 ? "~s" : ""; },
  palette: ["#d1495b", "#00798c", "#edae49", "#66a182", "#8d6a9f", "#2e4057", "#e07a5f", "#3d405b"],
  plotConfig: { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"] },
  fontFamily: '"Noto Sans CJK SC", "Noto Sans SC", "Noto Sans", system-ui, -apple-system, "Segoe UI", sans-serif',
};
