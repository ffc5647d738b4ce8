// The agent desktop: ACD login and state, offers with a ring, the connected customer, wrap-up.
//
// The desktop's truth is GET /api/desktop; the event stream only nudges ("something changed"),
// after which the state is read again. Cards are kept per interaction and updated in place, so
// what the agent is typing survives every refresh.

import { api, session, subscribe, can, homeFor, ApiError } from "./api.js";
import { softphone, startSoftphone, agentStateIs } from "./softphone.js";
import { t, num, time, clock, has } from "./i18n.js";
import {
  h, $, fill, header, start, syncClock, serverNow, tickNow, notify, fail, busy, errorText,
  stateBadge, reasonText, field, clearErrors, showErrors, noAccess, announce,
} from "./ui.js";

const AUTO = "centrale.autoAnswer";
const SOUND = "centrale.ringSound";

let desk = null;
let reason = null; // the not-ready reason picked in the select
const cards = new Map(); // interaction id → card
const drafts = new Map(); // interaction id → {disposition, notes, callback}
const accepting = new Set(); // offers auto-answer already tried

// --- refreshing -----------------------------------------------------------------------------------
let loading = false;
let again = false;

async function refresh() {
  if (loading) {
    again = true;
    return;
  }
  loading = true;
  try {
    do {
      again = false;
      desk = await api("/api/desktop");
      syncClock(desk.at);
      render();
    } while (again);
  } catch (err) {
    if (err.status === 403 || err.status === 404) {
      fill($("#main"), h("section", { class: "card empty-state" }, h("h1", {}, t("agent.unavailable")), h("p", {}, errorText(err))));
    } else {
      fail(err);
    }
  } finally {
    loading = false;
  }
}

async function act(button, path, body) {
  const done = await busy(button, () => api(path, { method: "POST", body: body ?? {} }));
  await refresh();
  return done;
}

// --- the state panel ------------------------------------------------------------------------------
const panel = {};

function buildStatePanel() {
  const root = $("#state-panel");
  panel.badge = h("div", { class: "state-big", id: "agent-state", "aria-live": "polite" });
  panel.timer = h("span", { class: "timer", id: "state-timer", "aria-label": t("agent.time_in_state") });
  panel.reason = h("p", { class: "state-reason" });
  panel.pending = h("p", { class: "state-pending", role: "status" });
  panel.reasonSelect = h("select", { id: "reason", onchange: (e) => (reason = e.target.value) });
  panel.out = h(
    "div",
    { class: "btn-row" },
    h("button", { class: "btn btn-primary", id: "btn-login-ready", type: "button", onclick: (e) => act(e.currentTarget, "/api/desktop/login", { ready: true }) }, t("agent.login_ready")),
    h("button", { class: "btn", id: "btn-login", type: "button", onclick: (e) => act(e.currentTarget, "/api/desktop/login", { ready: false }) }, t("agent.login_not_ready")),
  );
  panel.readyBtn = h("button", { class: "btn btn-success", id: "btn-ready", type: "button", onclick: (e) => act(e.currentTarget, "/api/desktop/ready") }, t("agent.ready"));
  panel.notReadyBtn = h(
    "button",
    { class: "btn btn-warning", id: "btn-not-ready", type: "button", onclick: (e) => act(e.currentTarget, "/api/desktop/not-ready", { reason: panel.reasonSelect.value }) },
    t("agent.not_ready"),
  );
  panel.in = h(
    "div",
    { class: "state-actions" },
    h("div", { class: "btn-row" }, panel.readyBtn),
    h("div", { class: "inline-form" }, field(t("agent.reason"), panel.reasonSelect), panel.notReadyBtn),
    h(
      "div",
      { class: "btn-row" },
      h("button", { class: "btn btn-ghost", id: "btn-logout-acd", type: "button", onclick: (e) => act(e.currentTarget, "/api/desktop/logout") }, t("agent.logout_acd")),
    ),
  );
  panel.today = h("p", { class: "muted small" });
  const auto = h("input", {
    type: "checkbox",
    id: "auto-answer",
    role: "switch",
    checked: localStorage.getItem(AUTO) === "1",
    onchange: (e) => {
      localStorage.setItem(AUTO, e.target.checked ? "1" : "0");
      autoAnswer();
    },
  });
  const sound = h("input", {
    type: "checkbox",
    id: "ring-sound",
    role: "switch",
    checked: localStorage.getItem(SOUND) !== "0",
    onchange: (e) => {
      localStorage.setItem(SOUND, e.target.checked ? "1" : "0");
      ring(Boolean(desk && desk.interactions.some((i) => i.role === "offered")));
    },
  });
  fill(
    root,
    h("h2", { id: "state-title" }, t("agent.status")),
    h("div", { class: "state-line" }, panel.badge, panel.timer),
    panel.reason,
    panel.pending,
    panel.out,
    panel.in,
    panel.today,
    h(
      "div",
      { class: "toggles" },
      h("label", { class: "switch", for: "auto-answer" }, auto, h("span", { class: "track", "aria-hidden": "true" }), t("agent.auto_answer")),
      h("label", { class: "switch", for: "ring-sound" }, sound, h("span", { class: "track", "aria-hidden": "true" }), t("agent.ring_sound")),
    ),
  );
}

function renderState() {
  const a = desk.agent;
  const loggedOut = a.state === "logged_out";
  fill(panel.badge, stateBadge(a.state));
  panel.badge.dataset.state = a.state;
  panel.timer.dataset.since = a.since;
  panel.timer.textContent = clock(serverNow() - a.since);
  panel.reason.textContent = a.state === "not_ready" && a.reason ? t("agent.reason_is", { reason: reasonText(a.reason) }) : "";
  panel.reason.hidden = !panel.reason.textContent;
  const pending = [];
  if (a.pending_reason) pending.push(t("agent.pending_break", { reason: reasonText(a.pending_reason) }));
  if (a.pending_logout) pending.push(t("agent.pending_logout"));
  panel.pending.textContent = pending.join(" ");
  panel.pending.hidden = !pending.length;
  panel.out.hidden = !loggedOut;
  panel.in.hidden = loggedOut;
  panel.readyBtn.disabled = a.state === "ready";
  // Ready is the main action only when the agent is not ready; during work it only cancels a pending break.
  panel.readyBtn.className = a.state === "not_ready" ? "btn btn-success" : "btn";
  const reasons = desk.reasons || [];
  if (!reason || !reasons.includes(reason)) reason = reasons[0] || "break";
  if (panel.reasonSelect.options.length !== reasons.length) {
    fill(panel.reasonSelect, reasons.map((r) => h("option", { value: r }, reasonText(r))));
  }
  panel.reasonSelect.value = reason;
  panel.today.textContent = t("agent.contacts_today", { n: num(a.contacts_today) });
}

// --- targets --------------------------------------------------------------------------------------
function renderTargets() {
  const box = $("#targets");
  const targets = desk.targets || [];
  box.hidden = !targets.length;
  if (!targets.length) return;
  fill(
    box,
    h("h2", { id: "targets-title" }, t("agent.targets")),
    targets.map((g) => {
      const label = has(`target.${g.label}`) ? t(`target.${g.label}`) : g.label;
      const ratio = g.target ? Math.min(1, g.done / g.target) : 0;
      const bar = h("div", { class: "bar-fill" });
      bar.style.width = `${Math.round(ratio * 100)}%`;
      return h(
        "div",
        { class: `target${g.done >= g.target ? " met" : ""}` },
        h("div", { class: "target-head" }, h("span", {}, label), h("strong", {}, `${num(g.done)} / ${num(g.target)}`)),
        h(
          "div",
          { class: "bar", role: "progressbar", "aria-label": label, "aria-valuemin": "0", "aria-valuemax": String(g.target), "aria-valuenow": String(g.done) },
          bar,
        ),
      );
    }),
  );
}

// --- interactions ---------------------------------------------------------------------------------
const CHANNEL_ICON = { voice: "☎", chat: "💬", email: "✉", sms: "✉", whatsapp: "💬" };

function draft(id) {
  if (!drafts.has(id)) drafts.set(id, { disposition: "", notes: "", callback: "", form: {} });
  return drafts.get(id);
}

function attributes(ix) {
  const entries = Object.entries(ix.attributes || {});
  if (!entries.length) return h("p", { class: "muted" }, t("agent.no_attributes"));
  return h("dl", { class: "facts" }, entries.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v === null ? "–" : String(v))]));
}

function history(ix) {
  const items = ix.history || [];
  if (!items.length) return h("p", { class: "muted" }, t("agent.no_history"));
  const labels = Object.fromEntries((ix.dispositions || []).map((d) => [d.code, d.label]));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table compact" },
      h("thead", {}, h("tr", {}, ["col.arrived", "col.queue", "col.agent", "col.disposition", "col.notes"].map((k) => h("th", { scope: "col" }, t(k))))),
      h(
        "tbody",
        {},
        items.map((r) =>
          h(
            "tr",
            {},
            h("td", {}, time(r.arrived, { date: true })),
            h("td", {}, r.queue),
            h("td", {}, r.agent || "–"),
            h("td", {}, r.disposition ? labels[r.disposition] || r.disposition : "–"),
            h("td", { class: "notes" }, r.notes || ""),
          ),
        ),
      ),
    ),
  );
}

function buildCard(ix) {
  const id = ix.id;
  const c = { id, role: null, data: "" };
  const titleId = `ix-title-${id.replace(/[^\w-]/g, "_")}`;
  c.title = h("h2", { id: titleId, class: "ix-title" });
  c.meta = h("p", { class: "ix-meta" });
  c.timer = h("span", { class: "timer big" });
  c.head = h(
    "div",
    { class: "ix-head" },
    h("span", { class: "channel-icon", "aria-hidden": "true" }, CHANNEL_ICON[ix.channel] || "●"),
    h("div", { class: "ix-head-text" }, c.title, c.meta),
    c.timer,
  );

  // Offer: countdown and the two answers.
  c.countdown = h("span", { class: "countdown" });
  c.countBar = h("div", { class: "bar-fill" });
  c.accept = h("button", { class: "btn btn-success btn-lg", type: "button", dataset: { action: "accept" }, onclick: (e) => accept(id, e.currentTarget) }, t("agent.accept"));
  c.reject = h(
    "button",
    { class: "btn btn-danger btn-lg", type: "button", dataset: { action: "reject" }, onclick: (e) => act(e.currentTarget, `/api/desktop/interactions/${encodeURIComponent(id)}/reject`) },
    t("agent.reject"),
  );
  c.offer = h(
    "div",
    { class: "ix-offer" },
    h("div", { class: "offer-count" }, h("span", {}, t("agent.answer_within")), c.countdown),
    h("div", { class: "bar countdown-bar", "aria-hidden": "true" }, c.countBar),
    h("div", { class: "btn-row" }, c.accept, c.reject),
  );

  // Customer and history.
  c.customer = h("div", { class: "ix-customer" });
  c.history = h("div", { class: "ix-history" });
  c.body = h(
    "div",
    { class: "ix-body" },
    h("section", { class: "panel" }, h("h3", {}, t("agent.customer")), c.customer),
    h("section", { class: "panel" }, h("h3", {}, t("agent.history")), c.history),
  );
  // A campaign call: the script for this customer (shown above the rest).
  c.scriptText = h("p", { class: "script-text" });
  c.script = h("section", { class: "panel campaign-script", hidden: true }, h("h3", {}, t("agent.script")), c.scriptText);
  c.body.prepend(c.script);

  // Conversation controls.
  c.hold = h("button", { class: "btn", type: "button", dataset: { action: "hold" }, onclick: (e) => holdOrResume(id, e.currentTarget) }, t("agent.hold"));
  c.end = h(
    "button",
    { class: "btn btn-danger", type: "button", dataset: { action: "end" }, onclick: (e) => act(e.currentTarget, `/api/desktop/interactions/${encodeURIComponent(id)}/end`) },
    t("agent.end"),
  );
  c.target = h("select", { class: "transfer-target", "aria-label": t("agent.transfer_to") });
  c.transfer = h("button", { class: "btn", type: "button", dataset: { action: "transfer" }, onclick: (e) => transfer(id, c.target.value, e.currentTarget) }, t("agent.transfer"));
  c.controls = h(
    "div",
    { class: "ix-controls" },
    h("div", { class: "btn-row" }, c.hold, c.end),
    h("div", { class: "inline-form transfer" }, c.target, c.transfer),
  );

  // Registration: disposition, notes, callback.
  const d = draft(id);
  c.disposition = h("select", { name: "disposition", id: `disp-${titleId}`, onchange: (e) => (d.disposition = e.target.value) });
  c.notes = h("textarea", { name: "notes", id: `notes-${titleId}`, rows: 3, maxlength: 10000, value: d.notes, oninput: (e) => (d.notes = e.target.value) });
  c.callback = h("input", { name: "callback_at", id: `cb-${titleId}`, type: "datetime-local", value: d.callback, oninput: (e) => (d.callback = e.target.value) });
  c.save = h("button", { class: "btn", type: "submit", value: "save", dataset: { action: "save" } }, t("agent.save"));
  c.finish = h("button", { class: "btn btn-primary", type: "submit", value: "finish", dataset: { action: "finish" } }, t("agent.finish"));
  c.wrapLeft = h("p", { class: "wrap-left muted" });
  c.dispField = field(t("agent.disposition"), c.disposition);
  c.form = h(
    "form",
    { class: "ix-form", novalidate: true, onsubmit: (e) => register(e, c) },
    h("h3", {}, t("agent.registration")),
    h("div", { class: "form-error", role: "alert", hidden: true, tabindex: "-1" }),
    h("div", { class: "form-grid" }, c.dispField, field(t("agent.callback"), c.callback, t("agent.callback_hint"))),
    (c.campaignForm = h("fieldset", { class: "form-grid campaign-form", hidden: true })),
    field(t("agent.notes"), c.notes),
    h("div", { class: "btn-row" }, c.finish, c.save, c.wrapLeft),
  );

  c.el = h(
    "article",
    { class: "card ix-card", dataset: { ix: id }, "aria-labelledby": titleId },
    c.head,
    c.offer,
    c.controls,
    c.body,
    c.form,
  );
  return c;
}

function updateCard(c, ix) {
  const role = ix.role === "connected" && ix.state === "held" ? "held" : ix.role;
  c.el.dataset.role = role;
  c.el.className = `card ix-card role-${role}`;
  const channel = t(`channel.${ix.channel}`, { fallback: ix.channel });
  c.title.textContent = role === "offered" ? t(`agent.offered_${ix.channel}`, { fallback: t("agent.title_offered", { channel }) }) : t(`agent.title_${role}`, { channel });
  fill(
    c.meta,
    h("strong", { class: "contact" }, ix.contact || t("agent.unknown_contact")),
    " · ",
    ix.queue_name,
    ix.direction === "outbound" ? ` · ${t("agent.outbound")}` : "",
  );
  // The offer.
  c.offer.hidden = role !== "offered";
  c.controls.hidden = !(role === "connected" || role === "held");
  c.form.hidden = role === "offered";
  if (role === "offered") {
    const until = ix.offered_at + ix.offer_timeout;
    c.countdown.dataset.until = until;
    c.countdown.textContent = clock(Math.ceil(until - serverNow()));
    c.offerEnds = until;
    c.offerLength = ix.offer_timeout;
    delete c.timer.dataset.since;
    c.timer.textContent = "";
  } else {
    delete c.countdown.dataset.until;
    const since = role === "wrap_up" ? ix.wrap_started : ix.answered_at;
    if (since) c.timer.dataset.since = since;
    c.timer.textContent = since ? clock(serverNow() - since) : "";
  }
  // Customer data changes rarely: rebuild only when it did.
  const data = JSON.stringify([ix.contact, ix.attributes, ix.history, ix.dispositions, ix.campaign]);
  if (data !== c.data) {
    c.data = data;
    renderCampaign(c, ix);
    fill(
      c.customer,
      h("dl", { class: "facts" }, h("dt", {}, t("agent.contact")), h("dd", {}, ix.contact || "–"), h("dt", {}, t("col.queue")), h("dd", {}, ix.queue_name)),
      attributes(ix),
    );
    fill(c.history, history(ix));
    const d = draft(ix.id);
    if (!d.disposition && ix.disposition) d.disposition = ix.disposition;
    if (!d.notes && ix.notes) {
      d.notes = ix.notes;
      c.notes.value = ix.notes;
    }
    fill(
      c.disposition,
      h("option", { value: "" }, t("agent.choose_disposition")),
      (ix.dispositions || []).map((o) => h("option", { value: o.code }, o.label)),
    );
    c.disposition.value = d.disposition;
  }
  c.disposition.required = Boolean(ix.require_disposition);
  c.dispField.querySelector("label").textContent = t("agent.disposition") + (ix.require_disposition ? " *" : "");
  // Hold / resume and transfer targets.
  c.hold.textContent = role === "held" ? t("agent.resume") : t("agent.hold");
  c.hold.dataset.action = role === "held" ? "resume" : "hold";
  c.hold.setAttribute("aria-pressed", String(role === "held"));
  const targets = JSON.stringify([desk.queues, desk.agents]);
  if (c.targets !== targets) {
    c.targets = targets;
    const keep = c.target.value;
    fill(
      c.target,
      h("option", { value: "" }, t("agent.transfer_to")),
      h("optgroup", { label: t("agent.queues") }, desk.queues.filter((q) => q.id !== ix.queue).map((q) => h("option", { value: `queue:${q.id}` }, q.name))),
      desk.agents.length
        ? h("optgroup", { label: t("agent.colleagues") }, desk.agents.map((a) => h("option", { value: `agent:${a.id}` }, `${a.name} (${t(`state.${a.state}`)})`)))
        : null,
    );
    c.target.value = keep;
  }
  // Wrap-up: finishing is the main action; during the conversation only saving.
  c.finish.hidden = role !== "wrap_up";
  c.save.hidden = role === "wrap_up";
  c.save.className = role === "wrap_up" ? "btn" : "btn btn-primary";
  if (role === "wrap_up" && ix.wrap_up_seconds) {
    const until = ix.wrap_started + ix.wrap_up_seconds;
    fill(c.wrapLeft, t("agent.wrap_left"), " ", h("span", { class: "countdown", dataset: { until } }, clock(until - serverNow())));
  } else {
    c.wrapLeft.replaceChildren();
  }
  c.role = role;
}

function renderWork() {
  const work = $("#work");
  const items = desk.interactions || [];
  const seen = new Set();
  for (const ix of items) {
    seen.add(ix.id);
    let c = cards.get(ix.id);
    if (!c) {
      c = buildCard(ix);
      cards.set(ix.id, c);
      if (ix.role === "offered") {
        announce(t("agent.announce_offer", { channel: t(`channel.${ix.channel}`, { fallback: ix.channel }), contact: ix.contact || t("agent.unknown_contact"), queue: ix.queue_name }));
      }
    }
    updateCard(c, ix);
  }
  for (const [id, c] of cards) {
    if (!seen.has(id)) {
      c.el.remove();
      cards.delete(id);
      drafts.delete(id);
      accepting.delete(id);
    }
  }
  // Offers first, then conversations, then wrap-ups.
  const order = { offered: 0, held: 1, connected: 1, wrap_up: 2 };
  const sorted = [...cards.values()].sort((a, b) => order[a.role] - order[b.role]);
  const empty = !sorted.length
    ? h(
        "div",
        { class: "card empty-state idle", id: "idle" },
        h("div", { class: "idle-icon", "aria-hidden": "true" }),
        h("h2", {}, desk.agent.state === "logged_out" ? t("agent.idle_logged_out") : desk.agent.state === "ready" ? t("agent.idle_ready") : t("agent.idle_not_ready")),
        h("p", { class: "muted" }, desk.agent.state === "logged_out" ? t("agent.idle_logged_out_text") : t("agent.idle_text")),
      )
    : null;
  const current = [...work.children];
  const wanted = empty ? [empty] : sorted.map((c) => c.el);
  if (empty || current.length !== wanted.length || current.some((el, i) => el !== wanted[i])) {
    const focused = document.activeElement;
    work.replaceChildren(...wanted);
    if (focused && focused.isConnected && focused !== document.activeElement) focused.focus();
  }
  const offered = sorted.some((c) => c.role === "offered");
  document.title = `${offered ? `🔔 ${t("agent.title_offered_short")} · ` : ""}${t("nav.agent")} · centrale`;
  ring(offered);
  autoAnswer();
}

async function accept(id, button) {
  accepting.add(id);
  // A call ringing in this browser is accepted by answering it: the SIP service tells the engine.
  const ix = desk && desk.interactions.find((i) => i.id === id);
  if (ix && ix.channel === "voice" && softphone.ringing()) {
    softphone.answer();
    return;
  }
  await act(button, `/api/desktop/interactions/${encodeURIComponent(id)}/accept`);
}

function autoAnswer() {
  if (localStorage.getItem(AUTO) !== "1" || !desk) return;
  for (const ix of desk.interactions) {
    if (ix.role === "offered" && !accepting.has(ix.id)) {
      // A call for the browser softphone is answered once it rings here (the SIP INVITE may come
      // a moment after the desktop shows the offer); softphone.onChange calls back.
      if (ix.channel === "voice" && softphone.inBrowser() && !softphone.ringing()) continue;
      notify(t("agent.auto_answered", { contact: ix.contact || ix.id }));
      accept(ix.id, null);
    }
  }
}

function holdOrResume(id, button) {
  const c = cards.get(id);
  const what = c && c.role === "held" ? "resume" : "hold";
  return act(button, `/api/desktop/interactions/${encodeURIComponent(id)}/${what}`);
}

async function transfer(id, value, button) {
  if (!value) {
    notify(t("agent.transfer_pick"), "warning");
    return;
  }
  const [kind, target] = [value.slice(0, value.indexOf(":")), value.slice(value.indexOf(":") + 1)];
  const ok = await act(button, `/api/desktop/interactions/${encodeURIComponent(id)}/transfer`, { [kind]: target });
  if (ok) notify(t("agent.transferred"), "success");
}

// The campaign's script and form, for a campaign call (ix.campaign); hidden otherwise.
function renderCampaign(c, ix) {
  const material = ix.campaign;
  c.script.hidden = !(material && material.script);
  c.scriptText.textContent = material ? material.script : "";
  const fields = (material && material.form) || [];
  c.campaignForm.hidden = !fields.length;
  const d = draft(ix.id);
  fill(
    c.campaignForm,
    fields.length ? h("legend", {}, t("agent.campaign_form"), " — ", material.name) : null,
    fields.map((f) => {
      const value = d.form[f.name] || "";
      const attrs = { name: f.name, id: `cf-${ix.id}-${f.name}`, value, required: f.required, oninput: (e) => (d.form[f.name] = e.target.value) };
      let control;
      if (f.type === "choice") {
        control = h("select", { ...attrs, onchange: attrs.oninput }, h("option", { value: "" }, "–"), f.choices.map((o) => h("option", { value: o }, o)));
        control.value = value;
      } else {
        const type = { number: "number", date: "date", email: "email", phone: "tel" }[f.type] || "text";
        control = h("input", { ...attrs, type, min: f.min ?? undefined, max: f.max ?? undefined });
      }
      return field(f.label + (f.required ? " *" : ""), control);
    }),
  );
}

async function register(ev, c) {
  ev.preventDefault();
  const form = c.form;
  clearErrors(form);
  const finishing = (ev.submitter && ev.submitter.value) === "finish";
  const d = draft(c.id);
  const ix = desk.interactions.find((i) => i.id === c.id);
  const problems = [];
  if (finishing && ix && ix.require_disposition && !c.disposition.value) problems.push({ where: "disposition", problem: t("agent.disposition_required") });
  let callback = null;
  if (c.callback.value) {
    const when = new Date(c.callback.value);
    if (Number.isNaN(when.getTime())) problems.push({ where: "callback_at", problem: t("agent.callback_invalid") });
    else if (when.getTime() / 1000 < serverNow()) problems.push({ where: "callback_at", problem: t("agent.callback_past") });
    else callback = when.toISOString();
  }
  if (problems.length) {
    showErrors(form, new ApiError(422, "request.invalid", t("form.fix"), problems));
    return;
  }
  const body = { disposition: c.disposition.value || null, notes: c.notes.value };
  const fields = {};
  for (const [name, value] of Object.entries(d.form || {})) if (String(value).trim()) fields[name] = value;
  if (callback) fields.callback_at = callback;
  if (Object.keys(fields).length) body.fields = fields;
  const path = `/api/desktop/interactions/${encodeURIComponent(c.id)}/${finishing ? "wrap-up" : "register"}`;
  const button = finishing ? c.finish : c.save;
  button.disabled = true;
  try {
    await api(path, { method: "POST", body });
    if (finishing) drafts.delete(c.id);
    else {
      d.disposition = body.disposition || "";
      notify(t("agent.saved"), "success");
    }
  } catch (err) {
    showErrors(form, err);
  } finally {
    button.disabled = false;
  }
  await refresh();
}

// --- the ring ---------------------------------------------------------------------------------------
// A short two-tone pattern from WebAudio, repeated while an offer is open. Browsers allow sound
// after the first user gesture on the page; until then the ring is only visual.
let audio = null;
let ringTimer = null;

function audioContext() {
  if (!audio) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    audio = new Ctx();
  }
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}
document.addEventListener("pointerdown", () => audioContext(), { once: true });
document.addEventListener("keydown", () => audioContext(), { once: true });

function beep(ctx, at, freq, length) {
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = "sine";
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
  osc.connect(gain).connect(ctx.destination);
  osc.start(at);
  osc.stop(at + length + 0.02);
}

function ringOnce() {
  const ctx = audioContext();
  if (!ctx || ctx.state !== "running") return;
  const t0 = ctx.currentTime + 0.02;
  beep(ctx, t0, 880, 0.16);
  beep(ctx, t0 + 0.2, 660, 0.16);
  beep(ctx, t0 + 0.6, 880, 0.16);
  beep(ctx, t0 + 0.8, 660, 0.16);
}

function ring(on) {
  const wanted = on && localStorage.getItem(SOUND) !== "0";
  if (wanted && !ringTimer) {
    ringOnce();
    ringTimer = setInterval(ringOnce, 3000);
  } else if (!wanted && ringTimer) {
    clearInterval(ringTimer);
    ringTimer = null;
  }
}

// Offer countdown bars shrink every second.
document.addEventListener("tick", (ev) => {
  for (const c of cards.values()) {
    if (c.role === "offered" && c.offerLength) {
      const left = Math.max(0, c.offerEnds - ev.detail);
      c.countBar.style.width = `${(left / c.offerLength) * 100}%`;
    }
  }
});

// --- start ------------------------------------------------------------------------------------------
async function main() {
  await start();
  const me = await session();
  const setLive = header(me, "agent");
  if (!me.agent || !can(me, "desktop")) {
    noAccess($("#main"), me, homeFor(me) === "/agent" ? "/" : homeFor(me));
    setLive("offline");
    return;
  }
  buildStatePanel();
  await refresh();
  if (!desk) return;
  softphone.onChange = () => autoAnswer();
  await startSoftphone($("#softphone"));
  setLive("connecting");
  subscribe("/api/desktop/events", { desktop: () => refresh() }, (status) => {
    setLive(status);
    if (status === "live") refresh();
  });
  // A safety net: nudges are tiny and a missed one loses nothing, but re-read now and then.
  setInterval(() => document.visibilityState === "visible" && refresh(), 30000);
  document.addEventListener("langchange", () => {
    buildStatePanel();
    softphone.mount($("#softphone"));
    for (const c of cards.values()) c.el.remove();
    cards.clear();
    render();
  });
  tickNow();
}

function render() {
  agentStateIs(desk.agent.state);
  renderState();
  renderTargets();
  renderWork();
}

main().catch(fail);
