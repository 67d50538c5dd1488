// otpsim's page: one more client of the admin API (/__otpsim/*), live through its event stream.
"use strict";

const API = "/__otpsim";
const SHOWN = 500;                 // newest messages, requests and deliveries kept on the page
const REPORT_SETTLE_MS = 1000;     // the report is worked out again once events have paused this long

const state = {
  messages: [], entries: [], deliveries: new Map(), clock: null, clockReadAt: 0,
  products: [], scenarioName: "", recipes: [], catalogue: new Map(), view: "outbox", report: null,
};

// ---- small DOM helpers: data always goes in as text, never as markup ----

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "style") node.style.cssText = value;   // through the CSSOM: the page's policy refuses style attributes
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
const $ = (id) => document.getElementById(id);

function say(id, text, kind) {
  const node = $(id);
  node.textContent = text || "";
  node.className = "message" + (kind ? " " + kind : "");
}

function pretty(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

// ---- time: the server writes ISO 8601 in UTC; the page shows UTC too (the virtual clock has no zone) ----

function epochOf(iso) {
  if (!iso) return NaN;
  return Date.parse(String(iso).replace(/(\.\d{3})\d+/, "$1")) / 1000;
}
function showTime(epoch) {
  if (!Number.isFinite(epoch)) return "";
  return new Date(epoch * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}
function seconds(value) {
  const abs = Math.abs(value);
  if (abs < 60) return `${+value.toFixed(abs < 10 ? 1 : 0)} s`;
  if (abs < 3600) return `${+(value / 60).toFixed(1)} min`;
  if (abs < 86400) return `${+(value / 3600).toFixed(1)} h`;
  return `${+(value / 86400).toFixed(1)} d`;
}

// ---- the admin token (otpsim serve --admin-token): the browser sends the cookie the token form set ----

async function api(path, options = {}) {
  const response = await fetch(API + path, { ...options, credentials: "same-origin" });
  // refused (otpsim restarted with another token, or the browser session ended): otpsim answers
  // the page itself with its token form
  if (response.status === 401) location.assign(`${API}/`);
  return response;
}

async function json(path, options) {
  const response = await api(path, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error((body && (body.error || body.otpsim)) || `${response.status} ${response.statusText}`);
    error.body = body;
    throw error;
  }
  return body;
}

// ---- views and navigation (#outbox, #calls, ...) ----

const VIEWS = ["outbox", "calls", "journal", "clock", "scenario", "catalogue", "report"];

function showView() {
  const wanted = location.hash.slice(1);
  state.view = VIEWS.includes(wanted) ? wanted : "outbox";
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== state.view;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === state.view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `otpsim · ${document.querySelector(`nav a[data-view="${state.view}"]`).firstChild.textContent.trim()}`;
  if (state.view === "catalogue") loadCatalogue();
  if (state.view === "report") loadReport();
  render();
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderCounts();
    if (state.view === "outbox") renderOutbox();
    else if (state.view === "calls") renderCalls();
    else if (state.view === "journal") renderJournal();
  });
}

function renderCounts() {
  $("count-outbox").textContent = state.messages.length ? `(${state.messages.length})` : "";
  $("count-journal").textContent = state.entries.length ? `(${state.entries.length})` : "";
  $("count-calls").textContent = state.deliveries.size ? `(${state.deliveries.size})` : "";
}

function fillSelect(select, values, keep = true) {
  const current = select.value;
  const first = select.options[0];
  select.replaceChildren(first, ...[...new Set(values)].sort().map((v) => el("option", { value: v, text: v })));
  if (keep && [...select.options].some((o) => o.value === current)) select.value = current;
}

// ---- outbox ----

let freshIds = new Set();

function renderOutbox() {
  const form = $("outbox-filters");
  fillSelect(form.product, state.messages.map((m) => m.product).concat(state.products.map((p) => p.name)));
  fillSelect(form.channel, state.messages.map((m) => m.channel));
  const to = form.to.value.trim(), product = form.product.value, channel = form.channel.value;
  const shown = state.messages.filter((m) =>
    (!to || m.to.includes(to)) && (!product || m.product === product) && (!channel || m.channel === channel));
  const list = $("outbox-list");
  list.replaceChildren(...shown.slice().reverse().map(messageItem));
  $("outbox-empty").hidden = shown.length > 0;
  $("outbox-empty").textContent = state.messages.length
    ? "No message matches these filters."
    : "No message yet. Send a code through any product and it shows here.";
  freshIds = new Set();
}

function messageItem(m) {
  const copy = el("button", { type: "button", class: "copy", "aria-label": `Copy code ${m.code}`, onclick: () => copyCode(m.code, copy) }, "Copy");
  return el("li", { class: "msg" + (freshIds.has(m.id) ? " fresh" : ""), "data-id": m.id },
    el("div", { class: "code-box" }, el("output", { class: "code", "aria-label": `code ${m.code}` }, m.code), copy),
    el("p", { class: "meta" },
      el("span", {}, "to ", el("strong", {}, m.to)),
      el("span", { class: "tag" }, m.channel),
      el("span", {}, m.product, " · ", m.operation.slice(m.product.length + 1)),   // operation: "<product>.<name>"
      el("span", {}, "virtual ", el("time", { datetime: m.sent_at }, showTime(epochOf(m.sent_at)))),
      m.sent_at_wall ? el("span", {}, "wall ", el("time", { datetime: m.sent_at_wall }, showTime(epochOf(m.sent_at_wall)))) : null,
      el("span", {}, `#${m.id}`)),
    el("p", { class: "text" }, m.text));
}

async function copyCode(code, button) {
  try {
    await navigator.clipboard.writeText(code);
  } catch {
    // no clipboard API (a page served over plain HTTP to another host): the old way
    const area = el("textarea", { class: "visually-hidden" }, code);
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = "Copied";
  button.setAttribute("aria-label", `Copied code ${code}`);
  setTimeout(() => { button.textContent = "Copy"; button.setAttribute("aria-label", `Copy code ${code}`); }, 2000);
}

function addMessage(message) {
  if (state.messages.some((m) => m.id === message.id)) return;   // already read by a reload
  state.messages.push(message);
  if (state.messages.length > SHOWN) state.messages.shift();
  freshIds.add(message.id);
  render();
}

// ---- calls and receipts: deliveries grouped by what they are about, on the virtual clock ----

function deliveryTimes(d) {
  const times = [epochOf(d.created)];
  for (const a of d.attempts) times.push(epochOf(a.at));
  if (d.due) times.push(epochOf(d.due));
  return times.filter(Number.isFinite);
}

function groupsOfDeliveries() {
  const kind = $("calls-filters").kind.value;
  const groups = new Map();
  for (const d of state.deliveries.values()) {
    if (kind && d.kind !== kind) continue;
    const keys = d.subjects && d.subjects.length ? d.subjects : [`delivery #${d.id}`];
    for (const key of keys) {
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(d);
    }
  }
  return [...groups.entries()].map(([subject, deliveries]) => {
    const times = deliveries.flatMap(deliveryTimes);
    return { subject, deliveries, start: Math.min(...times), end: Math.max(...times) };
  }).sort((a, b) => b.start - a.start);
}

function renderCalls() {
  fillSelect($("calls-filters").kind, [...state.deliveries.values()].map((d) => d.kind));
  const groups = groupsOfDeliveries();
  $("calls-list").replaceChildren(...groups.slice(0, 100).map(timeline));
  $("calls-empty").hidden = groups.length > 0;
}

function timeline(group) {
  const span = Math.max(group.end - group.start, 1);
  const at = (epoch) => `${((epoch - group.start) / span) * 100}%`;
  const axis = el("div", { class: "axis", role: "img", "aria-label": `timeline from ${showTime(group.start)} to ${showTime(group.end)}` });
  for (const d of group.deliveries) {
    for (const a of d.attempts) {
      const outcome = a.dropped ? "dropped" : a.error || a.refused !== undefined || a.status !== 200 ? "failed" : "ok";
      axis.append(el("span", { class: `dot ${outcome}`, style: `left:${at(epochOf(a.at))}`, title: `${d.kind} ${a.at} ${a.status || a.error || a.dropped}` }));
    }
    if (d.due) axis.append(el("span", { class: "dot due", style: `left:${at(epochOf(d.due))}`, title: `${d.kind} due ${d.due}` }));
  }
  axis.append(el("span", { class: "tick start", style: "left:0" }, showTime(group.start)));
  if (group.end > group.start) axis.append(el("span", { class: "tick end", style: "left:100%" }, `+${seconds(group.end - group.start)}`));
  const ordered = group.deliveries.slice().sort((a, b) => Math.min(...deliveryTimes(a)) - Math.min(...deliveryTimes(b)) || a.id - b.id);
  return el("article", { class: "timeline", "aria-label": group.subject },
    el("h3", {}, group.subject),
    axis,
    el("ol", { class: "deliveries" }, ordered.map((d) => deliveryItem(d, group.start))));
}

function eventName(d) {
  const body = d.body || {};
  return body.eventType || body.event || body.type || "";
}

const openDeliveries = new Set();

function deliveryItem(d, start) {
  const last = d.attempts[d.attempts.length - 1];
  const when = last ? epochOf(last.at) : epochOf(d.due || d.created);
  const details = el("details", { class: "delivery", open: openDeliveries.has(d.id) },
      el("summary", {},
        el("span", { class: "mono" }, `+${seconds(when - start)}`),
        el("strong", {}, d.kind), eventName(d) ? el("span", {}, eventName(d)) : null,
        el("span", { class: `state-${d.state}` }, d.state),
        el("span", {}, `${d.attempts.length}/${d.max_attempts} attempt${d.max_attempts === 1 ? "" : "s"}`),
        d.due ? el("span", { class: "state-pending" }, `next attempt due ${showTime(epochOf(d.due))}`) : null,
        d.duplicate_of ? el("span", {}, `duplicate of #${d.duplicate_of}`) : null),
      el("dl", { class: "kv" }, el("dt", {}, "URL"), el("dd", {}, d.url),
        Object.entries(d.headers || {}).map(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])),
      el("ol", { class: "attempts", "aria-label": "attempts" }, d.attempts.map((a) => el("li", {},
        `${showTime(epochOf(a.at))} (+${seconds(epochOf(a.at) - start)}): `,
        a.dropped ? `not sent (${a.dropped})`
          : a.error ? `no answer: ${a.error}`
            : a.refused !== undefined ? `HTTP ${a.status}, refused: ${a.refused}` : `HTTP ${a.status}`,
        a.latency_ms !== undefined ? ` in ${a.latency_ms} ms` : ""))),
      el("pre", { class: "body", "aria-label": "body" }, pretty(d.body)));
  details.addEventListener("toggle", () => {
    if (details.open) openDeliveries.add(d.id); else openDeliveries.delete(d.id);
  });
  return el("li", { "data-delivery": d.id }, details);
}

function addDelivery(delivery) {
  state.deliveries.set(delivery.id, delivery);
  if (state.deliveries.size > SHOWN) state.deliveries.delete(state.deliveries.keys().next().value);
  render();
}

// ---- journal ----

const openEntries = new Set();

function statusClass(status) {
  return status ? `status-${String(status)[0]}` : "status-none";
}

function renderJournal() {
  const form = $("journal-filters");
  fillSelect(form.product, state.entries.map((e) => e.product).concat(state.products.map((p) => p.name)));
  const product = form.product.value, status = form.status.value;
  fillSelect(form.operation, state.entries.filter((e) => !product || e.product === product)
    .map((e) => e.operation).filter(Boolean));
  const operation = form.operation.value;
  const shown = state.entries.filter((e) =>
    (!product || e.product === product) && (!operation || e.operation === operation)
    && (!status || (status === "none" ? !e.status : String(e.status || "").startsWith(status))));
  $("journal-list").replaceChildren(...shown.slice().reverse().map(entryItem));
  $("journal-empty").hidden = shown.length > 0;
  $("journal-empty").textContent = state.entries.length ? "No request matches these filters." : "No request yet.";
}

function entryItem(e) {
  const details = el("details", { class: "entry", open: openEntries.has(e.id), "data-id": e.id },
    el("summary", {},
      el("span", { class: "mono" }, showTime(epochOf(e.at))),
      el("span", {}, e.operation || `${e.method} ${e.path}`),
      el("span", { class: statusClass(e.status) }, e.status || "—"),
      el("span", { class: "mono wide" }, e.code || ""),
      el("span", { class: "wide" }, e.rule || ""),
      el("span", { class: "wide" }, e.delay_ms ? `${e.delay_ms} ms` : ""),
      el("span", { class: "wide" }, e.fault || ""),
      el("span", { class: "sm" }, [e.code, e.rule && `rule ${e.rule}`, e.fault].filter(Boolean).join(" · "))));
  details.addEventListener("toggle", () => {
    if (details.open) {
      openEntries.add(e.id);
      if (!details.querySelector(".detail")) details.append(entryDetail(e));
    } else openEntries.delete(e.id);
  });
  if (details.open) details.append(entryDetail(e));
  return el("li", {}, details);
}

function entryDetail(e) {
  return el("div", { class: "detail" },
    el("dl", { class: "kv" },
      el("dt", {}, "request"), el("dd", {}, `${e.method} ${e.path}${e.query ? "?" + e.query : ""}`),
      el("dt", {}, "request id"), el("dd", {}, e.request_id || ""),
      el("dt", {}, "answered in"), el("dd", {}, e.duration_ms !== null ? `${e.duration_ms} ms` : "")),
    el("h4", {}, "Request headers"),
    el("dl", { class: "kv" }, Object.entries(e.headers || {}).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    el("h4", {}, "Request body"), el("pre", { class: "body" }, pretty(e.request_body) || "(none)"),
    el("h4", {}, "Response body"), el("pre", { class: "body" }, pretty(e.response_body) || "(none)"));
}

function addEntry(entry) {
  if (state.entries.some((e) => e.id === entry.id)) return;
  state.entries.push(entry);
  if (state.entries.length > SHOWN) state.entries.shift();
  render();
}

// ---- clock ----

function clockNow() {
  const c = state.clock;
  if (!c) return NaN;
  return c.mode === "manual" ? c.epoch : c.epoch + (Date.now() / 1000 - state.clockReadAt);
}

function setClock(clock) {
  state.clock = clock;
  state.clockReadAt = Date.now() / 1000;
  tick();
}

function tick() {
  const c = state.clock;
  if (!c) return;
  const text = showTime(clockNow());
  $("clock-now").textContent = text;
  $("clock-big").textContent = text;
  $("clock-mode").textContent = c.mode === "manual" ? "frozen" : "running";
  $("clock-mode-text").textContent = c.mode === "manual"
    ? "manual: frozen; it moves only when you advance or set it"
    : "real: runs with the wall clock";
  $("clock-offset").textContent = Math.abs(c.offset_s) < 1 ? "none" : `${c.offset_s > 0 ? "+" : "−"}${seconds(Math.abs(c.offset_s))}`;
}

async function moveClock(command) {
  try {
    setClock(await json("/clock", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(command) }));
    say("clock-message", `Clock now ${showTime(state.clock.epoch)} (${state.clock.mode}).`, "ok");
  } catch (error) {
    say("clock-message", error.message, "bad");
  }
}

// ---- scenario ----

let scenarioProblems = [];

function renderGutter() {
  const text = $("scenario-text").value;
  const lines = text.split("\n").length;
  const bad = new Set(scenarioProblems.map((p) => p.line));
  const gutter = $("scenario-gutter");
  const nodes = [];
  for (let n = 1; n <= lines; n++) {
    nodes.push(bad.has(n) ? el("span", { class: "bad" }, String(n)) : String(n), "\n");
  }
  gutter.replaceChildren(...nodes);
  gutter.scrollTop = $("scenario-text").scrollTop;
}

function goTo(line, column) {
  const area = $("scenario-text");
  const lines = area.value.split("\n");
  let offset = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i].length + 1;
  offset += Math.min(column - 1, (lines[line - 1] || "").length);
  area.focus();
  area.setSelectionRange(offset, offset);
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
  area.scrollTop = Math.max(0, (line - 4) * lineHeight);
  showCursor();
}

function showCursor() {
  const area = $("scenario-text");
  const before = area.value.slice(0, area.selectionStart).split("\n");
  $("scenario-cursor").textContent = `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

function showProblems(problems) {
  scenarioProblems = problems;
  $("scenario-problems-heading").hidden = problems.length === 0;
  $("scenario-problems").replaceChildren(...problems.map((p) => el("li", {},
    el("button", { type: "button", onclick: () => goTo(p.line, p.column) },
      el("span", { class: "where" }, `Line ${p.line}, column ${p.column}`), ": ",
      p.path ? `${p.path}: ` : "", p.message))));
  renderGutter();
}

async function loadScenario() {
  const response = await api("/scenario?format=yaml");
  $("scenario-text").value = await response.text();
  showProblems([]);
  say("scenario-message", "");
  renderGutter();
}

async function saveScenario(event) {
  event.preventDefault();
  const response = await api("/scenario", {
    method: "PUT", headers: { "Content-Type": "application/yaml" }, body: $("scenario-text").value,
  });
  const body = await response.json().catch(() => ({}));
  if (response.ok) {
    showProblems([]);
    say("scenario-message", `Saved: scenario “${body.name || ""}” is in force.`, "ok");
    state.scenarioName = body.name || "";
    $("scenario-name").textContent = state.scenarioName;
  } else {
    const located = body.located || [];
    showProblems(located);
    say("scenario-message", `${body.error || "refused"} — ${located.length || (body.problems || []).length} problem(s).`, "bad");
    if (!located.length && body.problems) {
      $("scenario-problems").replaceChildren(...body.problems.map((p) => el("li", {}, p)));
      $("scenario-problems-heading").hidden = false;
    }
  }
}

async function loadRecipes() {
  state.recipes = await json("/recipes");
  const select = $("recipe-select");
  select.replaceChildren(...state.recipes.map((r) => el("option", { value: r.name, text: r.name })));
  describeRecipe();
}

function describeRecipe() {
  const recipe = state.recipes.find((r) => r.name === $("recipe-select").value);
  $("recipe-description").textContent = recipe ? recipe.description : "";
}

// ---- catalogue ----

async function loadCatalogue() {
  const product = $("catalogue-product").value;
  if (!product) return;
  if (!state.catalogue.has(product)) state.catalogue.set(product, await json(`/catalogue/${encodeURIComponent(product)}`));
  renderCatalogue();
}

function renderCatalogueOperations() {
  const product = state.products.find((p) => p.name === $("catalogue-product").value);
  const select = $("catalogue-operation");
  select.replaceChildren(el("option", { value: "", text: `any ${product ? product.name : ""} operation` }),
    ...(product ? product.operations : []).map((op) => el("option", { value: op, text: op })));
}

function renderCatalogue() {
  const product = $("catalogue-product").value;
  const entries = state.catalogue.get(product) || [];
  const find = $("catalogue-filters").find.value.trim().toLowerCase();
  const shown = entries.filter((e) => !find || `${e.key} ${e.code} ${e.message}`.toLowerCase().includes(find));
  const title = (state.products.find((p) => p.name === product) || {}).title || product;
  $("catalogue-caption").textContent = `${title}: ${shown.length} of ${entries.length} codes`;
  $("catalogue-rows").replaceChildren(...shown.map((e) => el("tr", {},
    el("td", {}, e.key), el("td", {}, e.status), el("td", {}, e.message), el("td", { class: "source" }, e.source),
    el("td", {}, e.synthetic ? "synthetic" : "documented"),
    el("td", {}, el("button", { type: "button", "aria-label": `Answer the next request with ${e.key}`, onclick: () => answerNext(e.key) }, "Answer next")))));
}

async function answerNext(code) {
  const product = $("catalogue-product").value;
  const operation = $("catalogue-operation").value;
  const target = operation || `any ${product} operation`;
  const rule = {
    name: `answer next ${operation || product} with ${code}`,
    match: operation ? { operation } : { product },
    times: 1, error: code,
  };
  try {
    await json("/scenario/rules", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(rule) });
    say("catalogue-message", `The next request to ${target} is answered with ${code}.`, "ok");
  } catch (error) {
    say("catalogue-message", `${error.message}${error.body && error.body.problems ? ": " + error.body.problems.join("; ") : ""}`, "bad");
  }
}

// ---- report: worked out by otpsim in a thread from a snapshot; asked again once events settle ----

let reportLoading = false, reportWanted = false, reportTimer = null, reportUnread = false;

function reportChanged() {   // an event the report may count: ask again when the events pause, and only if shown
  reportWanted = true;
  if (state.view !== "report") return;
  clearTimeout(reportTimer);
  reportTimer = setTimeout(loadReport, REPORT_SETTLE_MS);
}

async function loadReport() {
  clearTimeout(reportTimer);
  if (reportLoading) { reportWanted = true; return; }   // one report at a time; the latest events get the next
  reportLoading = true;
  reportWanted = false;
  $("report-refresh").disabled = true;
  try {
    state.report = await json("/report");
    if (reportUnread) say("report-message", "");   // only its own failure: a rule's confirmation stays
    reportUnread = false;
    renderReport();
  } catch (error) {
    say("report-message", `cannot read the report: ${error.message}`, "bad");
    reportUnread = true;
  } finally {
    reportLoading = false;
    $("report-refresh").disabled = false;
    if (reportWanted && state.view === "report") reportTimer = setTimeout(loadReport, REPORT_SETTLE_MS);
  }
}

function showEntry(id) {   // a journal id in the report opens that request in the journal
  openEntries.add(id);
  for (const name of ["product", "operation", "status"]) $("journal-filters")[name].value = "";
  location.hash = "#journal";
}

function evidence(finding) {
  const entries = finding.entries.map((id) => el("a", { href: "#journal", class: "mono", "aria-label": `journal entry ${id}`,
    onclick: (event) => { event.preventDefault(); showEntry(id); } }, `#${id}`));
  const deliveries = finding.deliveries.map((id) => el("a", { href: "#calls", class: "mono", "aria-label": `delivery ${id}` }, id));
  return el("dl", { class: "kv" },
    entries.length ? [el("dt", {}, "journal entries"), el("dd", { class: "ids" }, entries)] : null,
    deliveries.length ? [el("dt", {}, "deliveries"), el("dd", { class: "ids" }, deliveries)] : null,
    el("dt", {}, "rule"), el("dd", {}, finding.rule.text),
    el("dt", {}, "source"), el("dd", { class: "source" }, finding.rule.source));
}

function renderReport() {
  const report = state.report;
  if (!report) return;
  const summary = report.summary;
  $("report-summary").textContent = `${summary.requests} requests, ${summary.deliveries} pushes, `
    + `${summary.codes_met} of ${summary.codes_documented} documented codes met, ${summary.findings} finding(s) `
    + `· as of ${showTime(epochOf(report.generated_at))}`;
  $("count-report").textContent = summary.findings ? `(${summary.findings})` : "";
  $("report-findings").replaceChildren(...report.findings.map((f) => el("li", { class: "finding" },
    el("h4", {}, f.title), el("p", { class: "detail-text" }, f.detail),
    el("p", { class: "meta" }, el("span", { class: "tag" }, f.kind), f.operation || f.product || ""),
    evidence(f))));
  $("report-findings-empty").hidden = report.findings.length > 0;
  $("report-coverage").replaceChildren(...report.products.map(productCoverage));
  $("report-coverage-empty").hidden = report.products.length > 0;
  $("report-pushes").replaceChildren(...report.pushes.map(pushCoverage));
  $("report-pushes-empty").hidden = report.pushes.length > 0;
}

function productCoverage(p) {
  const title = (state.products.find((known) => known.name === p.product) || {}).title || p.product;
  const heading = `h-coverage-${p.product}`;
  return el("article", { class: "product-coverage", "aria-labelledby": heading },
    el("h4", { id: heading }, `${title} · ${p.codes.met} of ${p.codes.documented} codes met`),
    el("meter", { min: 0, max: 1, value: p.codes.coverage, "aria-label": `${p.product} coverage` }),
    el("p", { class: "meta" }, p.operations.map((op) => el("span", {}, `${op.operation}: ${op.requests} request(s)`))),
    p.met.length ? el("div", { class: "table-wrap" }, el("table", { class: "catalogue report-met" },
      el("caption", {}, "Met"),
      el("thead", {}, el("tr", {}, ["Code", "HTTP", "Times", "Via", "Journal"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, p.met.map((m) => el("tr", {},
        el("td", {}, m.key), el("td", {}, m.status), el("td", {}, m.times), el("td", {}, m.via.join(", ")),
        el("td", { class: "ids" }, m.entries.map((id) => el("a", { href: "#journal", class: "mono", "aria-label": `journal entry ${id}`,
          onclick: (event) => { event.preventDefault(); showEntry(id); } }, `#${id}`)))))))) : null,
    p.limits.length ? el("p", { class: "meta" }, "Limits: ", p.limits.map((l) =>
      el("span", { class: l.met ? "state-delivered" : "" }, `${l.key} (${l.kind}, ${seconds(l.window_s)}) ${l.met ? "hit" : "not hit"}`))) : null,
    p.unmet.length ? el("details", { class: "unmet" },
      el("summary", {}, `${p.unmet.length} not met yet, with the shortest way to meet each`),
      el("div", { class: "table-wrap" }, el("table", { class: "catalogue report-unmet" },
        el("thead", {}, el("tr", {}, ["Code", "HTTP", "Message", "Shortest way"].map((h) => el("th", { scope: "col" }, h)),
          el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "Action")))),
        el("tbody", {}, p.unmet.map((u) => unmetRow(u)))))) : null);
}

function unmetRow(u) {
  const rule = u.ways.find((way) => way.way === "scenario-rule");
  return el("tr", {},
    el("td", {}, u.key), el("td", {}, u.status), el("td", {}, u.message),
    el("td", { class: "way" }, u.ways.length ? u.ways[0].text : "—"),
    el("td", {}, rule ? el("button", { type: "button", "aria-label": `Add a rule that answers ${u.key} once`,
      onclick: () => addReportRule(rule.rule, `the next ${rule.rule.match.operation} request is answered with ${rule.rule.error}`) }, "Add rule") : ""));
}

function tally(counts) {   // {"delivered": 2, "failed": 1} as "delivered ×2, failed ×1"
  return Object.entries(counts).map(([value, times]) => `${value} ×${times}`).join(", ") || "none";
}

function pushCoverage(p) {
  const heading = `h-push-${p.kind}`;
  return el("article", { class: "push-coverage", "aria-labelledby": heading },
    el("h4", { id: heading }, p.operation ? `${p.kind} · after ${p.operation}` : p.kind),
    el("dl", { class: "kv" },
      el("dt", {}, "deliveries"), el("dd", {}, `${p.deliveries}, ${p.retried} retried`),
      el("dt", {}, "states"), el("dd", {}, tally(p.states)),
      el("dt", {}, "your answers"), el("dd", {}, tally(p.answers)),
      el("dt", {}, "outcomes"), el("dd", {}, tally(p.outcomes)),
      el("dt", {}, "push faults met"), el("dd", {}, p.faults.met.join(", ") || "none")),
    p.faults.unmet.length ? el("div", { class: "table-wrap" }, el("table", { class: "catalogue report-push-faults" },
      el("caption", {}, "Push faults not met yet"),
      el("thead", {}, el("tr", {}, ["Fault", "Scenario rule"].map((h) => el("th", { scope: "col" }, h)),
        el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "Action")))),
      el("tbody", {}, p.faults.unmet.map((u) => unmetPushFaultRow(p, u))))) : null);
}

function unmetPushFaultRow(p, u) {
  return el("tr", {},
    el("td", {}, u.fault),
    el("td", { class: "way" }, `callbacks: ${JSON.stringify(u.rule.callbacks)}`),
    el("td", {}, el("button", { type: "button", "aria-label": `Add a rule that makes ${p.kind} pushes meet ${u.fault}`,
      onclick: () => addReportRule(u.rule, `the ${p.kind} pushes of the next ${p.operation} request meet ${u.fault}`) }, "Add rule")));
}

async function addReportRule(rule, effect) {   // effect: what the rule makes happen, in words
  try {
    await json("/scenario/rules", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(rule) });
    say("report-message", `Rule “${rule.name}” added: ${effect}.`, "ok");
    reportUnread = false;
  } catch (error) {
    say("report-message", `${error.message}${error.body && error.body.problems ? ": " + error.body.problems.join("; ") : ""}`, "bad");
  }
}

// ---- live: the admin API's event stream ----

let stream = null;
// the events that arrive while reloadAll reads the lists: applied again once the lists are in, so a
// reload that began before them cannot undo them (the add functions ignore what they already hold)
let arrivedDuringReload = null;

function onLive(apply) {
  return (event) => {
    const data = JSON.parse(event.data);
    apply(data);
    if (arrivedDuringReload) arrivedDuringReload.push(() => apply(data));
  };
}

function connect() {
  if (stream) stream.close();
  stream = new EventSource(`${API}/events`);
  const live = $("live");
  stream.addEventListener("hello", (event) => {
    live.textContent = "live";
    live.className = "live on";
    const hello = JSON.parse(event.data);
    setClock(hello.clock);
    reloadAll();   // catch up on what happened while the stream was away
  });
  stream.addEventListener("outbox", onLive(addMessage));
  stream.addEventListener("journal", onLive((entry) => { addEntry(entry); reportChanged(); }));
  stream.addEventListener("delivery", onLive((delivery) => { addDelivery(delivery); reportChanged(); }));
  stream.addEventListener("clock", (event) => setClock(JSON.parse(event.data)));
  stream.addEventListener("scenario", (event) => {
    state.scenarioName = JSON.parse(event.data).name;
    $("scenario-name").textContent = state.scenarioName;
    reportChanged();   // a new rule can change the shortest ways
  });
  stream.addEventListener("reset", () => { reloadAll(); reportChanged(); });
  stream.addEventListener("missed", () => { reloadAll(); reportChanged(); });
  stream.onerror = async () => {
    live.textContent = "reconnecting…";
    live.className = "live off";
    if (stream.readyState === EventSource.CLOSED) {
      // refused outright (a 401: the token form then; or otpsim restarted): a plain call finds out which
      try { await api("/health"); } catch { /* otpsim is away; try again shortly */ }
      setTimeout(connect, 1000);
    }
  };
}

async function reloadAll() {
  const arrived = arrivedDuringReload = [];
  try {
    const [messages, entries, deliveries] = await Promise.all([
      json(`/outbox?limit=${SHOWN}`), json(`/journal?limit=${SHOWN}`), json("/callbacks?masked=true")]);
    state.messages = messages;
    state.entries = entries;
    state.deliveries = new Map(deliveries.slice(-SHOWN).map((d) => [d.id, d]));
    if (arrivedDuringReload === arrived) arrivedDuringReload = null;
    arrived.forEach((apply) => apply());
    const scenario = await json("/health");
    state.scenarioName = scenario.scenario;
    $("scenario-name").textContent = state.scenarioName;
    render();
  } catch (error) {
    if (arrivedDuringReload === arrived) arrivedDuringReload = null;
    $("live").textContent = `cannot read otpsim: ${error.message}`;
    $("live").className = "live off";
  }
}

// ---- start ----

async function start() {
  for (const id of ["outbox-filters", "journal-filters", "calls-filters"]) {
    $(id).addEventListener("input", render);
    $(id).addEventListener("submit", (event) => event.preventDefault());
  }
  $("journal-filters").product.addEventListener("change", () => { $("journal-filters").operation.value = ""; });
  $("clock-advance").addEventListener("submit", (event) => {
    event.preventDefault();
    moveClock({ advance: Number(event.target.seconds.value) });
  });
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => moveClock({ advance: Number(button.dataset.advance) }));
  }
  $("clock-set").addEventListener("submit", (event) => {
    event.preventDefault();
    moveClock({ set: event.target.when.value.trim() });
  });
  $("clock-freeze").addEventListener("click", () => moveClock({ mode: "manual" }));
  $("clock-real").addEventListener("click", () => moveClock({ mode: "real", set: "now" }));
  $("scenario-form").addEventListener("submit", saveScenario);
  $("scenario-revert").addEventListener("click", loadScenario);
  const area = $("scenario-text");
  area.addEventListener("input", renderGutter);
  area.addEventListener("scroll", () => { $("scenario-gutter").scrollTop = area.scrollTop; });
  for (const kind of ["keyup", "click", "select"]) area.addEventListener(kind, showCursor);
  area.addEventListener("keydown", (event) => {   // Tab indents; Escape then Tab leaves the editor
    if (event.key === "Tab" && !event.shiftKey && !area.dataset.escaped) {
      event.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      renderGutter();
    }
    area.dataset.escaped = event.key === "Escape" ? "1" : "";
  });
  $("recipe-select").addEventListener("change", describeRecipe);
  $("recipe-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const recipe = state.recipes.find((r) => r.name === $("recipe-select").value);
    if (!recipe) return;
    area.value = recipe.text;
    showProblems([]);
    say("scenario-message", `Recipe “${recipe.name}” loaded into the editor; Save puts it in force.`);
  });
  $("catalogue-product").addEventListener("change", () => { renderCatalogueOperations(); loadCatalogue(); say("catalogue-message", ""); });
  $("catalogue-filters").find.addEventListener("input", renderCatalogue);
  $("catalogue-filters").addEventListener("submit", (event) => event.preventDefault());
  $("report-refresh").addEventListener("click", loadReport);
  window.addEventListener("hashchange", showView);
  setInterval(tick, 1000);

  try {
    state.products = await json("/products");
  } catch (error) {
    $("live").textContent = `cannot read otpsim: ${error.message}`;
    return;
  }
  $("catalogue-product").replaceChildren(...state.products.map((p) => el("option", { value: p.name, text: p.name })));
  renderCatalogueOperations();
  setClock(await json("/clock"));
  showView();
  connect();
  await Promise.all([loadScenario(), loadRecipes()]);
}

start();
