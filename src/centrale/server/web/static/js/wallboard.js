// The supervisor's wallboard: queue tiles with alerts, campaigns, charts and the agent grid, live
// from the `wallboard` event stream (a full snapshot per event); actions on agents for users with
// agent.control: change state, edit skills (which moves an agent between queues).

import { api, session, subscribe, can, homeFor } from "./api.js";
import { t, num, pct, clock, time, list, has, plural } from "./i18n.js";
import {
  h, $, fill, header, start, syncClock, serverNow, tickNow, notify, fail, modal, field, busy,
  stateBadge, reasonText, AGENT_STATES, noAccess, showErrors, clearErrors,
} from "./ui.js";
import { tilesGrid } from "./tiles.js";
import { volumeChart, serviceLevelChart, volumeLegend, slLegend } from "./charts.js";
import { eligible } from "./skills.js";

let me = null;
let snap = null;
let queueConfig = null; // [{id, name, requires}] when the configuration API gives it
const rows = new Map(); // agent id → {tr, cells}
const filters = { text: "", state: "", team: "" };
let lastAlerts = "";

// --- rendering --------------------------------------------------------------------------------------
function render() {
  if (!snap) return;
  $("#updated").textContent = t("wallboard.updated", { time: time(snap.at, { seconds: true }) });
  renderAlerts();
  renderSummary();
  fill($("#tiles"), tilesGrid(snap));
  renderCampaigns();
  renderCharts();
  renderAgents();
  tickNow();
}

function renderAlerts() {
  const alerts = snap.alerts || [];
  const key = JSON.stringify(alerts.map((a) => [a.queue, a.service_level, Math.floor(a.longest_wait / 10)]));
  if (key === lastAlerts) return;
  lastAlerts = key;
  const box = $("#alerts");
  box.hidden = !alerts.length;
  fill(
    box,
    alerts.length
      ? h(
          "div",
          { class: "alert-banner" },
          h("strong", {}, plural("wallboard.alert_title", alerts.length)),
          h(
            "ul",
            {},
            alerts.map((a) => {
              const tile = snap.queues.find((q) => q.id === a.queue) || {};
              return h(
                "li",
                { dataset: { alert: a.queue } },
                t("wallboard.alert_line", {
                  name: a.name,
                  sl: pct(a.service_level),
                  target: pct(tile.sl_target),
                  wait: clock(a.longest_wait),
                }),
              );
            }),
          ),
        )
      : null,
  );
}

function renderSummary() {
  const waiting = snap.queues.reduce((n, q) => n + q.waiting, 0);
  const offered = snap.queues.reduce((n, q) => n + q.offered, 0);
  const answered = snap.queues.reduce((n, q) => n + q.answered, 0);
  const abandoned = snap.queues.reduce((n, q) => n + q.abandoned, 0);
  const by = snap.agents_by_state || {};
  fill(
    $("#summary"),
    h(
      "div",
      { class: "summary-kpis" },
      [
        ["wallboard.waiting_total", num(waiting), "waiting-total"],
        ["wallboard.offered_today", num(offered), "offered"],
        ["wallboard.answered_today", num(answered), "answered"],
        ["wallboard.abandoned_today", num(abandoned), "abandoned"],
      ].map(([k, v, f]) => h("div", { class: "kpi-card" }, h("span", { class: "big", dataset: { field: f } }, v), h("span", { class: "label" }, t(k)))),
    ),
    h(
      "div",
      { class: "state-counts", "aria-label": t("wallboard.agents_by_state") },
      AGENT_STATES.map((st) =>
        h(
          "button",
          {
            type: "button",
            class: `chip state-${st}${filters.state === st ? " active" : ""}`,
            "aria-pressed": String(filters.state === st),
            title: t("wallboard.filter_state", { state: t(`state.${st}`) }),
            onclick: () => {
              filters.state = filters.state === st ? "" : st;
              syncFilterControls();
              renderSummary();
              renderAgents();
            },
          },
          h("span", { class: "dot", "aria-hidden": "true" }),
          h("strong", {}, num(by[st] || 0)),
          " ",
          t(`state.${st}`),
        ),
      ),
    ),
  );
}

function renderCampaigns() {
  const campaigns = snap.campaigns || [];
  $("#campaigns").hidden = !campaigns.length;
  if (!campaigns.length) return;
  fill(
    $("#campaign-list"),
    campaigns.map((c) => {
      const known = ["id", "name", "account", "state", "status", "dial_level", "abandon_rate"];
      const extra = Object.entries(c).filter(([k, v]) => !known.includes(k) && (typeof v === "number" || typeof v === "string"));
      const over = c.abandon_limit !== undefined && c.abandon_rate > c.abandon_limit;
      return h(
        "article",
        { class: `tile campaign${over ? " breach" : ""}`, dataset: { campaign: c.id } },
        h(
          "header",
          { class: "tile-head" },
          h("div", {}, h("h3", {}, c.name || c.id), h("p", { class: "tile-sub" }, c.account || "")),
          c.status ? h("span", { class: `pill campaign-${c.status}` }, has(`campaign.status_${c.status}`) ? t(`campaign.status_${c.status}`) : c.status) : null,
        ),
        h(
          "div",
          { class: "tile-main" },
          h("div", { class: "kpi" }, h("span", { class: "big" }, num(c.dial_level, 2)), h("span", { class: "label" }, t("campaign.dial_level"))),
          h("div", { class: "kpi" }, h("span", { class: "big" }, pct(c.abandon_rate, 1)), h("span", { class: "label" }, t("campaign.abandon_rate"))),
        ),
        extra.length
          ? h("dl", { class: "tile-stats" }, extra.map(([k, v]) => h("div", {}, h("dt", {}, has(`campaign.${k}`) ? t(`campaign.${k}`) : k.replace(/_/g, " ")), h("dd", {}, typeof v === "number" ? num(v, 2) : v))))
          : null,
      );
    }),
  );
}

function renderCharts() {
  const intervals = snap.intervals || [];
  fill($("#chart-volume"), volumeChart(intervals));
  const targets = [...new Set(snap.queues.map((q) => q.sl_target))];
  const target = targets.length === 1 ? targets[0] : null;
  fill($("#chart-sl"), serviceLevelChart(intervals, target));
  fill($("#volume-legend"), volumeLegend());
  fill($("#sl-legend"), slLegend(target));
}

// --- the agent grid -------------------------------------------------------------------------------
const COLUMNS = ["agent", "team", "state", "reason", "in_state", "interactions", "contacts_today", "skills"];

function renderHead() {
  fill(
    $("#agents-head"),
    COLUMNS.map((c) => h("th", { scope: "col" }, t(`wallboard.col_${c}`))),
    can(me, "agent.control") ? h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("wallboard.col_actions"))) : null,
  );
}

function buildFilters() {
  const text = h("input", {
    type: "search",
    id: "agent-search",
    placeholder: t("wallboard.search"),
    "aria-label": t("wallboard.search"),
    value: filters.text,
    oninput: (e) => {
      filters.text = e.target.value.trim().toLowerCase();
      renderAgents();
    },
  });
  const state = h(
    "select",
    {
      id: "agent-state-filter",
      "aria-label": t("wallboard.col_state"),
      onchange: (e) => {
        filters.state = e.target.value;
        renderSummary();
        renderAgents();
      },
    },
    h("option", { value: "" }, t("wallboard.all_states")),
    AGENT_STATES.map((st) => h("option", { value: st }, t(`state.${st}`))),
  );
  state.value = filters.state;
  const team = h("select", {
    id: "agent-team-filter",
    "aria-label": t("wallboard.col_team"),
    onchange: (e) => {
      filters.team = e.target.value;
      renderAgents();
    },
  });
  fill($("#agent-filters"), text, state, team);
}

function syncFilterControls() {
  const sel = $("#agent-state-filter");
  if (sel) sel.value = filters.state;
}

function skillChips(skills) {
  const entries = Object.entries(skills || {}).filter(([, v]) => v > 0);
  if (!entries.length) return h("span", { class: "muted" }, "–");
  return entries.map(([k, v]) => h("span", { class: "skill" }, k, h("b", {}, String(v))));
}

function buildRow(a) {
  const cells = Object.fromEntries(COLUMNS.map((c) => [c, h("td", { dataset: { col: c } })]));
  const tr = h("tr", { dataset: { agent: a.id } }, COLUMNS.map((c) => cells[c]));
  if (can(me, "agent.control")) {
    tr.append(
      h(
        "td",
        { class: "actions" },
        h("button", { type: "button", class: "btn btn-sm", dataset: { action: "manage" }, onclick: () => manage(a.id) }, t("wallboard.manage"), h("span", { class: "sr-only" }, ` ${a.name}`)),
        " ",
        h("button", { type: "button", class: "btn btn-sm", hidden: true, dataset: { action: "monitor" }, onclick: () => monitorCall(a.id) }, t("wallboard.monitor"), h("span", { class: "sr-only" }, ` ${a.name}`)),
      ),
    );
  }
  return { tr, cells, key: "" };
}

function updateRow(r, a) {
  r.tr.dataset.state = a.state;
  const key = JSON.stringify([a.name, a.team, a.state, a.reason, a.since, a.interactions, a.contacts_today, a.skills, a.calls]);
  if (key === r.key) return;
  r.key = key;
  const monitorButton = r.tr.querySelector('[data-action="monitor"]');
  if (monitorButton) monitorButton.hidden = !(a.calls && a.calls.length);
  fill(r.cells.agent, h("span", { class: "agent-name" }, a.name), h("span", { class: "muted small" }, ` ${a.id}`));
  r.cells.team.textContent = a.team || "–";
  fill(r.cells.state, stateBadge(a.state));
  r.cells.reason.textContent = a.state === "not_ready" || a.state === "logged_out" ? reasonText(a.reason) : "";
  r.cells.in_state.dataset.since = String(a.since);
  r.cells.in_state.className = "timer";
  r.cells.in_state.textContent = clock(serverNow() - a.since);
  r.cells.interactions.textContent = num(a.interactions);
  r.cells.contacts_today.textContent = num(a.contacts_today);
  fill(r.cells.skills, skillChips(a.skills));
}

function renderAgents() {
  const body = $("#agents-body");
  const teams = [...new Set(snap.agents.map((a) => a.team).filter(Boolean))].sort();
  const teamSel = $("#agent-team-filter");
  if (teamSel && teamSel.options.length !== teams.length + 1) {
    fill(teamSel, h("option", { value: "" }, t("wallboard.all_teams")), teams.map((tm) => h("option", { value: tm }, tm)));
    teamSel.value = filters.team;
  }
  const wanted = [];
  const seen = new Set();
  for (const a of snap.agents) {
    seen.add(a.id);
    let r = rows.get(a.id);
    if (!r) {
      r = buildRow(a);
      rows.set(a.id, r);
    }
    updateRow(r, a);
    const match =
      (!filters.state || a.state === filters.state) &&
      (!filters.team || a.team === filters.team) &&
      (!filters.text || `${a.name} ${a.id} ${a.team}`.toLowerCase().includes(filters.text));
    r.tr.hidden = !match;
    wanted.push(r.tr);
  }
  for (const [id, r] of rows) {
    if (!seen.has(id)) {
      r.tr.remove();
      rows.delete(id);
    }
  }
  const current = [...body.children];
  if (current.length !== wanted.length || current.some((el, i) => el !== wanted[i])) body.replaceChildren(...wanted);
  $("#agents-empty").hidden = wanted.some((tr) => !tr.hidden);
}

// --- actions on an agent --------------------------------------------------------------------------
const REASONS = ["break", "lunch", "training", "meeting", "coaching", "other", "supervisor"];

function servedQueues(skills) {
  if (!queueConfig) return null;
  const out = [];
  for (const q of queueConfig) {
    const ok = eligible(q.requires, skills);
    if (ok === null) return null;
    if (ok) out.push(q.name || q.id);
  }
  return out;
}

function manage(id) {
  const a = snap.agents.find((x) => x.id === id);
  if (!a) return;

  // State.
  const stateForm = h("form", { class: "stack", novalidate: true });
  const choice = h(
    "select",
    { name: "state", id: "manage-state" },
    ["ready", "not_ready", "logged_out"].map((st) => h("option", { value: st }, t(`state.${st}`))),
  );
  choice.value = a.state === "logged_out" ? "ready" : a.state === "not_ready" ? "ready" : "not_ready";
  const reason = h("select", { name: "reason", id: "manage-reason" }, REASONS.map((r) => h("option", { value: r }, reasonText(r))));
  reason.value = "supervisor";
  const reasonField = field(t("agent.reason"), reason);
  const syncReason = () => (reasonField.hidden = choice.value !== "not_ready");
  choice.addEventListener("change", syncReason);
  syncReason();
  const applyState = h("button", { class: "btn btn-primary", type: "submit", dataset: { action: "apply-state" } }, t("wallboard.apply_state"));
  stateForm.append(
    h("div", { class: "form-error", role: "alert", hidden: true, tabindex: "-1" }),
    h("p", {}, t("wallboard.current_state"), " ", stateBadge(a.state)),
    h("div", { class: "form-grid" }, field(t("wallboard.new_state"), choice), reasonField),
    h("p", { class: "hint" }, t("wallboard.state_hint")),
    h("div", { class: "btn-row" }, applyState),
  );
  stateForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(stateForm);
    applyState.disabled = true;
    try {
      const body = { state: choice.value };
      if (choice.value === "not_ready") body.reason = reason.value;
      const r = await api(`/api/agents/${encodeURIComponent(id)}/state`, { method: "POST", body });
      notify(t("wallboard.state_changed", { name: a.name, state: t(`state.${r.state}`) }), "success");
      dlg.close();
    } catch (err) {
      showErrors(stateForm, err);
    } finally {
      applyState.disabled = false;
    }
  });

  // Skills.
  const known = new Set(snap.agents.flatMap((x) => Object.keys(x.skills || {})));
  const datalist = h("datalist", { id: "known-skills" }, [...known].sort().map((k) => h("option", { value: k })));
  const skillRows = h("tbody", {});
  const served = h("p", { class: "served", role: "status" });
  const current = () => {
    const out = {};
    for (const tr of skillRows.children) {
      const name = tr.querySelector("[name=skill]").value.trim();
      const level = Number(tr.querySelector("[name=level]").value);
      if (name) out[name] = level;
    }
    return out;
  };
  const updateServed = () => {
    const q = servedQueues(current());
    if (q === null) served.textContent = "";
    else served.textContent = q.length ? t("wallboard.serves", { queues: list(q) }) : t("wallboard.serves_none");
  };
  const addRow = (name = "", level = 5) => {
    const tr = h(
      "tr",
      {},
      h("td", {}, h("input", { name: "skill", value: name, list: "known-skills", required: true, "aria-label": t("wallboard.skill"), oninput: updateServed })),
      h("td", {}, h("input", { name: "level", type: "number", min: 0, max: 10, step: 1, value: String(level), "aria-label": t("wallboard.level"), oninput: updateServed })),
      h("td", {}, h("button", { type: "button", class: "icon-btn", "aria-label": t("wallboard.remove_skill"), onclick: () => { tr.remove(); updateServed(); } }, "×")),
    );
    skillRows.append(tr);
    return tr;
  };
  for (const [k, v] of Object.entries(a.skills || {})) addRow(k, v);
  const saveSkills = h("button", { class: "btn btn-primary", type: "submit", dataset: { action: "save-skills" } }, t("wallboard.save_skills"));
  const skillsForm = h(
    "form",
    { class: "stack", novalidate: true },
    h("div", { class: "form-error", role: "alert", hidden: true, tabindex: "-1" }),
    h("p", { class: "hint" }, t("wallboard.skills_hint")),
    datalist,
    h("table", { class: "table compact skills-table" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("wallboard.skill")), h("th", { scope: "col" }, t("wallboard.level")), h("th", {}))), skillRows),
    served,
    h("div", { class: "btn-row" }, h("button", { type: "button", class: "btn btn-ghost", dataset: { action: "add-skill" }, onclick: () => addRow("", 5).querySelector("input").focus() }, t("wallboard.add_skill")), saveSkills),
  );
  skillsForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(skillsForm);
    const skills = current();
    const bad = Object.entries(skills).find(([, v]) => !Number.isInteger(v) || v < 0 || v > 10);
    if (bad) {
      showErrors(skillsForm, { message: t("wallboard.level_invalid", { skill: bad[0] }) });
      return;
    }
    await busy(saveSkills, async () => {
      try {
        await api(`/api/agents/${encodeURIComponent(id)}/skills`, { method: "PUT", body: { skills } });
        notify(t("wallboard.skills_saved", { name: a.name }), "success");
        dlg.close();
      } catch (err) {
        showErrors(skillsForm, err);
      }
    });
  });
  updateServed();

  const dlg = modal(
    t("wallboard.manage_title", { name: a.name }),
    [
      h("section", { class: "modal-section" }, h("h3", {}, t("wallboard.state_section")), stateForm),
      h("section", { class: "modal-section" }, h("h3", {}, t("wallboard.skills_section")), skillsForm),
    ],
    { wide: true },
  );
}

// --- supervisor monitoring of an agent's call -------------------------------------------------------
const MONITOR_MODES = ["listen", "whisper", "barge"];

async function monitorCall(id) {
  const a = snap.agents.find((x) => x.id === id);
  if (!a || !a.calls || !a.calls.length) return;
  const call = a.calls[0];
  const url = `/api/interactions/${encodeURIComponent(call)}/monitor`;
  let current = null;
  try {
    current = await api(url);
  } catch (err) {
    if (err.status !== 404) return fail(err);
  }
  const box = h("form", { class: "stack", novalidate: true });
  const status = h("p", { role: "status" });
  const showStatus = () =>
    (status.textContent = current && current.state !== "stopped"
      ? t("wallboard.monitor_now", { mode: t(`wallboard.monitor_${current.mode}`), supervisor: current.supervisor })
      : t("wallboard.monitor_off"));
  showStatus();
  const act = (method, body) => async (ev) => {
    clearErrors(box);
    await busy(ev.currentTarget, async () => {
      try {
        current = await api(url, { method, body });
        showStatus();
        notify(method === "DELETE" ? t("wallboard.monitor_stopped") : t("wallboard.monitor_ringing"), "success");
        if (method === "DELETE") dlg.close();
      } catch (err) {
        showErrors(box, err);
      }
    });
  };
  box.append(
    h("div", { class: "form-error", role: "alert", hidden: true, tabindex: "-1" }),
    h("p", {}, t("wallboard.monitor_call", { call, name: a.name })),
    status,
    h("p", { class: "hint" }, t("wallboard.monitor_hint")),
    h(
      "div",
      { class: "btn-row" },
      MONITOR_MODES.map((mode) =>
        h("button", { type: "button", class: "btn", dataset: { action: `monitor-${mode}` }, onclick: act("POST", { mode }) }, t(`wallboard.monitor_${mode}`)),
      ),
      h("button", { type: "button", class: "btn btn-ghost", dataset: { action: "monitor-stop" }, onclick: act("DELETE") }, t("wallboard.monitor_stop")),
    ),
  );
  box.addEventListener("submit", (ev) => ev.preventDefault());
  const dlg = modal(t("wallboard.monitor_title", { name: a.name }), [box]);
}

// --- start ------------------------------------------------------------------------------------------
async function main() {
  await start();
  me = await session();
  const setLive = header(me, "wallboard");
  if (!can(me, "reports.read") || me.role === "viewer") {
    noAccess($("#main"), me, homeFor(me));
    return;
  }
  const tools = $("#board-tools");
  const fullBtn = () =>
    h("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => (document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen()) }, t("wallboard.fullscreen"));
  fill(tools, fullBtn());
  renderHead();
  buildFilters();
  if (can(me, "config.read")) {
    api("/api/queues", { login: false })
      .then((qs) => {
        const items = Array.isArray(qs) ? qs : qs && qs.items;
        if (Array.isArray(items)) queueConfig = items.filter((q) => typeof q.requires === "string");
      })
      .catch(() => {});
  }
  setLive("connecting");
  subscribe(
    "/api/wallboard/events",
    {
      wallboard: (data) => {
        snap = data;
        syncClock(data.at);
        render();
      },
    },
    setLive,
  );
  document.addEventListener("langchange", () => {
    fill(tools, fullBtn());
    renderHead();
    buildFilters();
    for (const r of rows.values()) r.tr.remove();
    rows.clear();
    lastAlerts = "";
    render();
  });
}

main().catch(fail);
