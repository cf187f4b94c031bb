// The buildmock dashboard: reads and steers the mock through its control API (/__buildmock/).
"use strict";

const CONTROL = "/__buildmock";
const PAGE_SIZE = 20;
const POLL_MS = 1000;

const state = { apis: [], vendor: null, kind: null, offset: 0, selected: null, journal: false, scenarios: false };

const $ = (id) => document.getElementById(id);

const TOKEN_KEY = "buildmock-control-token";

async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) init.headers["X-Buildmock-Token"] = token;
  if (options.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(CONTROL + path, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401) askForToken();
  else if (response.ok) $("token-form").hidden = true;
  if (!response.ok) {
    const error = new Error((data && data.error) || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function askForToken() {
  if (!$("token-form").hidden) return;
  $("token-form").hidden = false;
  $("token").focus();
}

function say(text) {
  $("message").textContent = text;
  if (text) setTimeout(() => { if ($("message").textContent === text) $("message").textContent = ""; }, 4000);
}

function query(params) {
  return new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== "")).toString();
}

function current() {
  return state.apis.find((a) => a.name === state.vendor);
}

function renderTabs() {
  const tabs = $("vendors");
  tabs.replaceChildren();
  for (const item of state.apis) {
    const tab = document.createElement("button");
    tab.type = "button";
    tab.role = "tab";
    tab.id = `tab-${item.name}`;
    tab.textContent = item.title;
    tab.setAttribute("aria-selected", String(item.name === state.vendor));
    tab.setAttribute("aria-controls", "vendor-panel");
    tab.tabIndex = item.name === state.vendor ? 0 : -1;
    tab.addEventListener("click", () => selectVendor(item.name));
    tab.addEventListener("keydown", (event) => {
      const names = state.apis.map((a) => a.name);
      const at = names.indexOf(item.name);
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) {
        const next = names[(at + step + names.length) % names.length];
        selectVendor(next);
        $(`tab-${next}`).focus();
      }
    });
    tabs.append(tab);
  }
}

function selectVendor(name) {
  state.vendor = name;
  state.offset = 0;
  state.selected = null;
  const item = current();
  state.kind = item.kinds.length ? item.kinds[0].kind : null;
  $("vendor-title").textContent = item.title;
  $("vendor-panel").setAttribute("aria-labelledby", `tab-${name}`);
  $("ui-link").href = item.ui;
  $("spec-link").href = item.spec;
  const kinds = $("kind");
  kinds.replaceChildren(...item.kinds.map((k) => new Option(k.label, k.kind)));
  $("pin-outcome").value = item.next_outcome || "";
  $("pin-state").textContent = item.next_outcome ? `pinned: ${item.next_outcome}` : "";
  $("detail").hidden = true;
  renderTabs();
  refresh();
}

async function refreshClock() {
  const info = await api("/state");
  const clock = info.clock;
  $("clock").textContent = `clock ${clock.mode}: ${clock.iso}`;
  const pins = await api("/next-outcome");
  const pinned = pins[state.vendor];
  if (current()) current().next_outcome = pinned;
  $("pin-state").textContent = pinned ? `pinned: ${pinned}` : "";
}

async function refreshRecords() {
  if (!state.vendor || !state.kind) return;
  const page = await api(`/records?${query({ vendor: state.vendor, kind: state.kind, limit: PAGE_SIZE, offset: state.offset })}`);
  const body = $("records").tBodies[0];
  body.replaceChildren();
  for (const item of page.items) {
    const row = body.insertRow();
    row.dataset.id = item.id;
    if (item.id === state.selected) row.setAttribute("aria-current", "true");
    const open = document.createElement("button");
    open.type = "button";
    open.textContent = item.id;
    open.setAttribute("aria-label", `show ${item.id}`);
    open.addEventListener("click", () => { state.selected = item.id; refreshDetail(); refreshRecords(); });
    row.insertCell().append(open);
    const status = row.insertCell();
    status.className = "status";
    status.textContent = item.status;
    row.insertCell().textContent = item.created || "";
  }
  const last = Math.min(page.offset + page.items.length, page.total);
  $("page-info").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "no records yet";
  $("records-caption").textContent = `${current().title} ${$("kind").selectedOptions[0]?.text || ""}, newest first`;
  $("newer").disabled = page.offset === 0;
  $("older").disabled = last >= page.total;
}

async function refreshDetail() {
  if (!state.selected) return;
  let record;
  try {
    record = await api(`/record?${query({ vendor: state.vendor, kind: state.kind, id: state.selected })}`);
  } catch (error) {
    if (error.status === 404) { state.selected = null; $("detail").hidden = true; return; }
    throw error;
  }
  $("detail").hidden = false;
  $("detail-title").textContent = `${record.kind} ${record.id}`;
  $("detail-status").textContent = record.status;
  const list = $("timeline");
  list.replaceChildren();
  for (const mark of record.timeline) {
    const item = document.createElement("li");
    item.className = mark.passed ? "passed" : "coming";
    const due = mark.passed ? "" : ` (in ${Math.max(0, Math.round(mark.at - record.now))} s)`;
    item.textContent = `${mark.passed ? "✓" : "…"} ${mark.state} — ${mark.iso}${due}`;
    list.append(item);
  }
  $("detail-json").textContent = JSON.stringify(record.body, null, 2);
}

async function refreshJournal() {
  if (!state.journal) return;
  const filters = {
    vendor: state.vendor,
    method: $("journal-method").value,
    path: $("journal-path").value,
    status: $("journal-status").value,
    limit: 50,
  };
  const page = await api(`/requests?${query(filters)}`);
  const body = $("journal-table").tBodies[0];
  body.replaceChildren();
  for (const entry of [...page.requests].reverse()) {
    const row = body.insertRow();
    row.insertCell().textContent = entry.clock;
    const request = row.insertCell();
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    const search = new URLSearchParams(entry.query).toString();
    summary.textContent = `${entry.method} ${entry.path}${search ? "?" + search : ""}`;
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify(entry, null, 2);
    details.append(summary, pre);
    request.append(details);
    row.insertCell().textContent = entry.status || "broken";
    row.insertCell().textContent = entry.applied.join(", ");
  }
}

function describeRule(rule) {
  const parts = [];
  if (rule.fault) parts.push(`fault ${rule.fault}`);
  if (rule.latency) parts.push(`latency ${rule.latency}`);
  if (rule.code) parts.push(`code ${rule.code}`);
  if (rule.outcome) parts.push(`outcome ${rule.outcome}`);
  if (rule.rate_limit) parts.push(`rate limit ${rule.rate_limit.requests}/${rule.rate_limit.window || "60s"}`);
  const where = [rule.vendor || "every vendor", rule.method, rule.path, rule.operation].filter(Boolean).join(" ");
  return `${parts.join(", ") || "nothing"} on ${where}`;
}

async function refreshScenarios() {
  if (!state.scenarios) return;
  const listed = await api("/scenarios");
  const body = $("scenario-table").tBodies[0];
  body.replaceChildren();
  for (const item of listed.rules) {
    const row = body.insertRow();
    row.insertCell().textContent = item.id;
    row.insertCell().textContent = describeRule(item.rule);
    const left = item.remaining === undefined ? "" : `, ${item.remaining} left`;
    row.insertCell().textContent = `${item.applied}${left}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `remove rule ${item.id}`);
    remove.addEventListener("click", async () => {
      try { await api(`/scenarios/${encodeURIComponent(item.id)}`, { method: "DELETE" }); await refreshScenarios(); }
      catch (error) { say(`could not remove: ${error.message}`); }
    });
    row.insertCell().append(remove);
  }
}

async function refresh() {
  try {
    await Promise.all([refreshClock(), refreshRecords(), refreshDetail(), refreshJournal(), refreshScenarios()]);
  } catch (error) {
    say(`could not refresh: ${error.message}`);
  }
}

async function start() {
  $("advance-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const seconds = Number($("advance-seconds").value);
    try {
      const clock = await api("/clock/advance", { method: "POST", body: { seconds } });
      say(`clock advanced by ${seconds} s to ${clock.iso}`);
      await refresh();
    } catch (error) { say(`advance refused: ${error.message}`); }
  });
  $("reset").addEventListener("click", async () => {
    try {
      await api("/reset", { method: "POST", body: {} });
      state.selected = null;
      state.offset = 0;
      $("detail").hidden = true;
      await loadApis();
      say("reset to the seeded state");
    } catch (error) { say(`reset refused: ${error.message}`); }
  });
  $("kind").addEventListener("change", () => { state.kind = $("kind").value; state.offset = 0; state.selected = null; $("detail").hidden = true; refresh(); });
  $("newer").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); refresh(); });
  $("older").addEventListener("click", () => { state.offset += PAGE_SIZE; refresh(); });
  $("pin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const outcome = $("pin-outcome").value || null;
    try {
      const pins = await api("/next-outcome", { method: "PUT", body: { vendor: state.vendor, outcome } });
      current().next_outcome = pins[state.vendor];
      $("pin-state").textContent = outcome ? `pinned: ${outcome}` : "";
      say(outcome ? `the next ${state.vendor} create ends in ${outcome}` : "pin cleared");
    } catch (error) { say(`pin refused: ${error.message}`); }
  });
  $("token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token-form").hidden = true;
    await loadApis();
  });
  $("journal-filter").addEventListener("submit", (event) => { event.preventDefault(); refreshJournal(); });
  $("scenario-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const rule = { vendor: state.vendor };
    if ($("scenario-fault").value) rule.fault = $("scenario-fault").value;
    if ($("scenario-latency").value) rule.latency = $("scenario-latency").value.trim();
    if ($("scenario-times").value) rule.times = Number($("scenario-times").value);
    if (!rule.fault && !rule.latency) { say("choose a fault or a latency"); return; }
    try {
      const made = await api("/scenarios", { method: "POST", body: rule });
      say(`rule ${made.id} pinned on ${state.vendor}`);
      await refreshScenarios();
    } catch (error) { say(`rule refused: ${error.message}`); }
  });
  await loadApis();
  setInterval(refresh, POLL_MS);
}

async function available(path) {
  try {
    await api(path);
    return true;
  } catch (error) {
    return false;
  }
}

async function loadApis() {
  try {
    state.apis = await api("/apis");
  } catch (error) {
    say(`the control API refused: ${error.message}`);
    return;
  }
  state.journal = await available("/requests?limit=1");
  state.scenarios = await available("/scenarios");
  $("journal").hidden = !state.journal;
  $("scenarios").hidden = !state.scenarios;
  const keep = state.apis.some((a) => a.name === state.vendor) ? state.vendor : state.apis[0]?.name;
  if (keep) selectVendor(keep);
}

start();
