// The client portal: a client's own queues live (read-only tiles), its interactions with their
// timelines, daily reports and CSV exports. Everything comes from the API, which scopes every
// answer to the user's accounts; the page only shows what it is given.

import { api, session, subscribe, can, homeFor } from "./api.js";
import { t, num, pct, secs, time, clock, has, list } from "./i18n.js";
import { h, $, fill, header, start, syncClock, tickNow, fail, modal, field, tabs, table, today, noAccess, errorText } from "./ui.js";
import { tilesGrid } from "./tiles.js";
import { volumeChart, serviceLevelChart, volumeLegend, slLegend } from "./charts.js";

let me = null;
let snap = null;
let queues = []; // [{id, name}] of the user's accounts
const STATES = ["queued", "offered", "connected", "held", "wrap_up", "done", "abandoned", "expired", "overflowed", "transferred", "callback_requested"];
const PAGE = 50;
const search = { since: today(), until: today(), queue: "", state: "", contact: "", agent: "", offset: 0 };
let report = { day: today(), queue: "" };
let tabCtl = null;

const queueName = (id) => (queues.find((q) => q.id === id) || {}).name || id;
const stateLabel = (st) => (has(`ix.${st}`) ? t(`ix.${st}`) : st);

// --- live ---------------------------------------------------------------------------------------
function renderLive() {
  const panel = $("#panel-live");
  if (!snap) {
    fill(panel, h("p", { class: "loading" }, t("common.loading")));
    return;
  }
  const targets = [...new Set(snap.queues.map((q) => q.sl_target))];
  const target = targets.length === 1 ? targets[0] : null;
  fill(
    panel,
    h("p", { class: "muted", id: "live-updated" }, t("wallboard.updated", { time: time(snap.at, { seconds: true }) })),
    tilesGrid(snap),
    h(
      "div",
      { class: "charts" },
      h(
        "figure",
        { class: "card chart-card" },
        h("figcaption", {}, h("h2", {}, t("chart.volume")), h("span", { class: "legend" }, volumeLegend())),
        h("div", { class: "chart-box" }, volumeChart(snap.intervals || [])),
      ),
      h(
        "figure",
        { class: "card chart-card" },
        h("figcaption", {}, h("h2", {}, t("chart.sl")), h("span", { class: "legend" }, slLegend(target))),
        h("div", { class: "chart-box" }, serviceLevelChart(snap.intervals || [], target)),
      ),
    ),
  );
  tickNow();
}

// --- interactions -------------------------------------------------------------------------------
function epochOf(dateText, endOfDay = false) {
  if (!dateText) return null;
  const [y, m, d] = dateText.split("-").map(Number);
  return new Date(y, m - 1, d + (endOfDay ? 1 : 0)).getTime() / 1000;
}

function query(extra = {}) {
  const p = new URLSearchParams();
  const since = epochOf(search.since);
  const until = epochOf(search.until, true);
  if (since !== null) p.set("since", String(since));
  if (until !== null) p.set("until", String(until));
  for (const k of ["queue", "state", "contact", "agent"]) if (search[k]) p.set(k, search[k]);
  for (const [k, v] of Object.entries(extra)) p.set(k, String(v));
  return p;
}

function exportLink() {
  const p = query();
  p.delete("state");
  p.delete("contact");
  return `/api/interactions.csv?${p}`;
}

function buildInteractions() {
  const panel = $("#panel-interactions");
  const input = (name, attrs = {}) =>
    h("input", { name, id: `s-${name}`, value: search[name], oninput: (e) => (search[name] = e.target.value.trim()), ...attrs });
  const queueSel = h(
    "select",
    { name: "queue", id: "s-queue", onchange: (e) => (search.queue = e.target.value) },
    h("option", { value: "" }, t("portal.all_queues")),
    queues.map((q) => h("option", { value: q.id }, q.name)),
  );
  queueSel.value = search.queue;
  const stateSel = h(
    "select",
    { name: "state", id: "s-state", onchange: (e) => (search.state = e.target.value) },
    h("option", { value: "" }, t("portal.all_states")),
    STATES.map((st) => h("option", { value: st }, stateLabel(st))),
  );
  stateSel.value = search.state;
  const form = h(
    "form",
    {
      class: "card filters-card",
      role: "search",
      onsubmit: (e) => {
        e.preventDefault();
        search.offset = 0;
        runSearch();
      },
    },
    h(
      "div",
      { class: "form-grid wide" },
      field(t("portal.from"), input("since", { type: "date" })),
      field(t("portal.to"), input("until", { type: "date" })),
      field(t("col.queue"), queueSel),
      field(t("col.state"), stateSel),
      field(t("col.contact"), input("contact", { type: "search", placeholder: "+31…" })),
      field(t("col.agent"), input("agent", { type: "search" })),
    ),
    h(
      "div",
      { class: "btn-row" },
      h("button", { class: "btn btn-primary", type: "submit" }, t("portal.search")),
      can(me, "export") ? h("a", { class: "btn btn-ghost", id: "export-interactions", href: exportLink(), download: "interactions.csv" }, t("portal.export_csv")) : null,
    ),
  );
  form.addEventListener("change", () => {
    const link = $("#export-interactions");
    if (link) link.href = exportLink();
  });
  fill(panel, form, h("div", { id: "results", "aria-live": "polite" }));
  runSearch();
}

async function runSearch() {
  const box = $("#results");
  if (!box) return;
  fill(box, h("p", { class: "loading" }, t("common.loading")));
  const link = $("#export-interactions");
  if (link) link.href = exportLink();
  try {
    const data = await api(`/api/interactions?${query({ limit: PAGE, offset: search.offset })}`);
    const items = data.items || [];
    fill(
      box,
      h("p", { class: "muted", role: "status" }, items.length ? t("portal.showing", { from: num(search.offset + 1), to: num(search.offset + items.length) }) : ""),
      table(
        [
          { key: "arrived", label: t("col.arrived"), format: (v) => time(v, { date: true }) },
          { key: "id", label: t("col.id"), format: (v) => h("button", { type: "button", class: "link", dataset: { open: v }, onclick: () => openDetail(v) }, v) },
          { key: "queue", label: t("col.queue"), format: (v) => queueName(v) },
          { key: "channel", label: t("col.channel"), format: (v) => t(`channel.${v}`, { fallback: v }) },
          { key: "contact", label: t("col.contact") },
          { key: "state", label: t("col.state"), format: (v) => h("span", { class: `pill ix-${v}` }, stateLabel(v)) },
          { key: "agent", label: t("col.agent") },
          { key: "disposition", label: t("col.disposition") },
          { key: "answered", label: t("col.handle_time"), format: (v, r) => (v && r.ended ? clock(r.ended - v) : null), class: "num" },
        ],
        items,
        { caption: t("portal.interactions"), rowAttrs: (r) => ({ dataset: { interaction: r.id } }), empty: t("portal.no_results") },
      ),
      h(
        "div",
        { class: "btn-row pager" },
        h("button", { class: "btn btn-sm", type: "button", disabled: search.offset === 0, onclick: () => { search.offset = Math.max(0, search.offset - PAGE); runSearch(); } }, t("portal.previous")),
        h("button", { class: "btn btn-sm", type: "button", disabled: items.length < PAGE, onclick: () => { search.offset += PAGE; runSearch(); } }, t("portal.next")),
      ),
    );
  } catch (err) {
    fill(box, h("p", { class: "form-error", role: "alert" }, errorText(err)));
  }
}

function timelineText(line) {
  const d = line.detail || {};
  const parts = [];
  if (d.agent) parts.push(t("timeline.agent", { agent: d.agent }));
  if (d.queue) parts.push(t("timeline.queue", { queue: queueName(d.queue) }));
  if (d.disposition) parts.push(t("timeline.disposition", { disposition: d.disposition }));
  if (d.outcome) parts.push(t("timeline.outcome", { outcome: stateLabel(d.outcome) }));
  if (d.reason) parts.push(String(d.reason));
  if (d.notes) parts.push(`“${d.notes}”`);
  if (d.fields && d.fields.callback_at) parts.push(t("timeline.callback", { at: time(Date.parse(d.fields.callback_at) / 1000, { date: true }) }));
  return parts.join(" · ");
}

async function openDetail(id) {
  let ix;
  try {
    ix = await api(`/api/interactions/${encodeURIComponent(id)}`);
  } catch (err) {
    fail(err);
    return;
  }
  const facts = [
    ["col.id", ix.id],
    ["col.queue", queueName(ix.queue)],
    ["col.channel", t(`channel.${ix.channel}`, { fallback: ix.channel })],
    ["col.direction", t(`direction.${ix.direction}`, { fallback: ix.direction })],
    ["col.contact", ix.contact || "–"],
    ["col.state", stateLabel(ix.state)],
    ["col.arrived", time(ix.arrived, { date: true, seconds: true })],
    ["col.answered", ix.answered ? time(ix.answered, { seconds: true }) : "–"],
    ["col.ended", ix.ended ? time(ix.ended, { seconds: true }) : "–"],
    ["col.agent", ix.agent || "–"],
    ["col.disposition", ix.disposition || "–"],
    ["col.notes", ix.notes || "–"],
  ];
  if (ix.parent) facts.push(["col.parent", ix.parent]);
  const attrs = Object.entries(ix.attributes || {});
  modal(
    t("portal.detail_title", { id: ix.id }),
    h(
      "div",
      { class: "detail", dataset: { detail: ix.id } },
      h("dl", { class: "facts two-col" }, facts.map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)])),
      attrs.length ? [h("h3", {}, t("agent.attributes")), h("dl", { class: "facts" }, attrs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]))] : null,
      h("h3", {}, t("portal.timeline")),
      h(
        "ol",
        { class: "timeline" },
        (ix.timeline || []).map((line) =>
          h(
            "li",
            { dataset: { kind: line.kind } },
            h("time", { datetime: new Date(line.at * 1000).toISOString() }, time(line.at, { seconds: true })),
            h("strong", {}, has(`timeline.${line.kind}`) ? t(`timeline.${line.kind}`) : line.kind),
            h("span", { class: "muted" }, timelineText(line)),
          ),
        ),
      ),
    ),
    { wide: true },
  );
}

// --- reports ----------------------------------------------------------------------------------------
function buildReports() {
  const panel = $("#panel-reports");
  const day = h("input", { type: "date", id: "r-day", name: "day", value: report.day, onchange: (e) => { report.day = e.target.value; loadReports(); } });
  const queueSel = h(
    "select",
    { id: "r-queue", name: "queue", onchange: (e) => { report.queue = e.target.value; loadReports(); } },
    h("option", { value: "" }, t("portal.all_queues")),
    queues.map((q) => h("option", { value: q.id }, q.name)),
  );
  queueSel.value = report.queue;
  fill(
    panel,
    h("form", { class: "card filters-card", onsubmit: (e) => e.preventDefault() }, h("div", { class: "form-grid" }, field(t("portal.day"), day), field(t("col.queue"), queueSel)), h("div", { class: "btn-row", id: "report-links" })),
    h("section", { "aria-labelledby": "r-int-title" }, h("h2", { id: "r-int-title" }, t("portal.intervals")), h("div", { id: "r-intervals" })),
    h("section", { "aria-labelledby": "r-ag-title" }, h("h2", { id: "r-ag-title" }, t("portal.agents")), h("div", { id: "r-agents" })),
  );
  loadReports();
}

async function loadReports() {
  const p = new URLSearchParams();
  if (report.day) p.set("day", report.day);
  const qp = new URLSearchParams(p);
  if (report.queue) qp.set("queue", report.queue);
  if (can(me, "export")) {
    fill(
      $("#report-links"),
      h("a", { class: "btn btn-ghost", id: "export-intervals", href: `/api/reports/intervals?${qp}&format=csv`, download: "intervals.csv" }, t("portal.export_intervals")),
      h("a", { class: "btn btn-ghost", id: "export-agents", href: `/api/reports/agents?${p}&format=csv`, download: "agents.csv" }, t("portal.export_agents")),
    );
  }
  fill($("#r-intervals"), h("p", { class: "loading" }, t("common.loading")));
  fill($("#r-agents"), h("p", { class: "loading" }, t("common.loading")));
  try {
    const [iv, ag] = await Promise.all([api(`/api/reports/intervals?${qp}`), api(`/api/reports/agents?${p}`)]);
    const total = iv.total || {};
    const rows = [...(iv.intervals || [])];
    const cols = [
      { key: "interval", label: t("col.interval"), format: (v) => (v ? time(Date.parse(v) / 1000) : t("portal.total")) },
      { key: "queue", label: t("col.queue"), format: (v) => (v ? queueName(v) : "") },
      { key: "offered", label: t("tile.offered"), format: (v) => num(v), class: "num" },
      { key: "answered", label: t("tile.answered"), format: (v) => num(v), class: "num" },
      { key: "abandoned", label: t("tile.abandoned"), format: (v) => num(v), class: "num" },
      { key: "service_level", label: t("tile.sl"), format: (v) => pct(v), class: "num" },
      { key: "abandon_rate", label: t("tile.abandon"), format: (v) => pct(v, 1), class: "num" },
      { key: "asa_seconds", label: t("tile.asa"), format: (v) => secs(v), class: "num" },
      { key: "aht_seconds", label: t("tile.aht"), format: (v) => secs(v), class: "num" },
    ];
    const totalRow = { interval: null, queue: "", ...total };
    fill(
      $("#r-intervals"),
      rows.length
        ? [
            table(cols, [...rows, totalRow], { caption: t("portal.intervals"), rowAttrs: (r) => (r.interval ? {} : { class: "total" }) }),
          ]
        : h("p", { class: "muted empty" }, t("portal.no_figures")),
    );
    fill(
      $("#r-agents"),
      table(
        [
          { key: "name", label: t("col.agent") },
          { key: "handled", label: t("report.handled"), format: (v) => num(v), class: "num" },
          { key: "average_seconds", label: t("report.average"), format: (v) => secs(v), class: "num" },
          { key: "sales", label: t("report.sales"), format: (v) => num(v), class: "num" },
        ],
        ag.agents || [],
        { caption: t("portal.agents"), empty: t("portal.no_figures") },
      ),
    );
  } catch (err) {
    fill($("#r-intervals"), h("p", { class: "form-error", role: "alert" }, errorText(err)));
    $("#r-agents").replaceChildren();
  }
}

// --- start ----------------------------------------------------------------------------------------
function renderScope() {
  const accounts = [...new Set(queues.map((q) => q.account))];
  $("#scope").textContent = accounts.length ? t("portal.scope", { accounts: list(accounts.map((a) => (snap && snap.accounts && snap.accounts[a]) || a)) }) : "";
}

async function main() {
  await start();
  me = await session();
  const setLive = header(me, "portal");
  if (!can(me, "interactions.read") || !can(me, "reports.read")) {
    noAccess($("#main"), me, homeFor(me));
    return;
  }
  const first = await api("/api/wallboard");
  snap = first;
  syncClock(first.at);
  queues = first.queues.map((q) => ({ id: q.id, name: q.name, account: q.account }));
  renderScope();
  const shown = new Set();
  const onSelect = (name) => {
    if (name === "live") renderLive();
    else if (name === "interactions" && !shown.has(name)) buildInteractions();
    else if (name === "reports" && !shown.has(name)) buildReports();
    shown.add(name);
  };
  tabCtl = tabs($("#tabs"), ["live", "interactions", "reports"], onSelect, (n) => `portal.tab_${n}`);
  $("#tabs").setAttribute("aria-label", t("nav.portal"));
  tabCtl.select(tabCtl.current());
  setLive("connecting");
  subscribe(
    "/api/wallboard/events",
    {
      wallboard: (data) => {
        snap = data;
        syncClock(data.at);
        if (tabCtl.current() === "live") renderLive();
      },
    },
    setLive,
  );
  document.addEventListener("langchange", () => {
    tabCtl.render();
    renderScope();
    shown.clear();
    shown.add(tabCtl.current());
    const cur = tabCtl.current();
    if (cur === "live") renderLive();
    else if (cur === "interactions") buildInteractions();
    else buildReports();
  });
}

main().catch(fail);
