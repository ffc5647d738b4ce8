// Administration: accounts, queues, dispositions, agents, users, webhooks, the audit log and list
// upload. Each configuration tab is a table with a form in a dialog; the API validates and its
// problems are shown next to the fields they concern. A tab whose API is not there (404) says so.

import { api, session, can, homeFor, ApiError } from "./api.js";
import { t, num, pct, time, has } from "./i18n.js";
import { h, $, fill, header, start, notify, fail, modal, field, tabs, noAccess, showErrors, clearErrors, errorText, busy } from "./ui.js";

let me = null;
const ctx = { accounts: [], dispositions: [], queues: [], agents: [] };

const CHANNELS = ["voice", "chat", "email", "social"];
const CATEGORIES = ["sale", "no_sale", "callback", "wrong_number", "do_not_call", "resolved", "other"];
const SELECTIONS = ["longest_idle", "most_skilled", "round_robin", "fewest_contacts", "least_occupied"];
const ROLES = ["administrator", "supervisor", "agent", "viewer"];
// Replaced by GET /api/webhooks/kinds when the server has it.
let WEBHOOK_KINDS = ["interaction.queued", "interaction.offered", "interaction.connected", "interaction.finished", "interaction.registered", "agent.state_changed"];

// --- values by dotted path -----------------------------------------------------------------------
const getPath = (obj, path) => path.split(".").reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);
function setPath(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] ?? (o[k] = {});
  o[keys[keys.length - 1]] = value;
}

// --- form controls ---------------------------------------------------------------------------------
// A field definition: {name, label, type, required, options, hint, min, max, step, create (only
// when creating), scale (shown value = stored × scale), empty (value when blank)}.

function control(def, value) {
  const id = `fld-${def.name.replace(/\W/g, "-")}`;
  const common = { id, name: def.name, required: Boolean(def.required) };
  switch (def.type) {
    case "select": {
      const sel = h(
        "select",
        common,
        def.blank !== undefined ? h("option", { value: "" }, def.blank) : null,
        def.options.map((o) => (typeof o === "string" ? h("option", { value: o }, o) : h("option", { value: o.value }, o.label))),
      );
      sel.value = value ?? "";
      return sel;
    }
    case "checkbox":
      return h("input", { ...common, type: "checkbox", checked: Boolean(value) });
    case "textarea":
      return h("textarea", { ...common, rows: def.rows || 3, value: value ?? "" });
    case "json":
      return h("textarea", { ...common, rows: def.rows || 4, class: "mono", value: value === undefined || value === null ? "" : JSON.stringify(value, null, 2) });
    case "number":
      return h("input", {
        ...common,
        type: "number",
        inputmode: "decimal",
        min: def.min,
        max: def.max,
        step: def.step ?? "any",
        value: value === undefined || value === null ? "" : String(def.scale ? Math.round(value * def.scale * 1000) / 1000 : value),
      });
    case "checks": {
      const chosen = new Set(value || []);
      return h(
        "fieldset",
        { class: "checks", id, name: def.name, dataset: { checks: def.name } },
        h("legend", { class: "sr-only" }, def.label),
        def.options.length
          ? def.options.map((o) => {
              const v = typeof o === "string" ? o : o.value;
              return h("label", { class: "check", title: o.title }, h("input", { type: "checkbox", value: v, checked: chosen.has(v) }), typeof o === "string" ? o : o.label);
            })
          : h("span", { class: "muted" }, t("admin.none_yet")),
      );
    }
    case "levels":
      return levelsEditor(def, value || {});
    default:
      return h("input", {
        ...common,
        type: def.type || "text",
        pattern: def.pattern,
        maxlength: def.maxlength,
        autocomplete: def.type === "password" ? "new-password" : "off",
        value: value ?? "",
        list: def.list,
      });
  }
}

function levelsEditor(def, value) {
  const rows = h("tbody", {});
  const add = (k = "", v = def.default ?? 1) => {
    const tr = h(
      "tr",
      {},
      h("td", {}, h("input", { class: "lvl-key", value: k, "aria-label": def.keyLabel, list: def.list })),
      h("td", {}, h("input", { class: "lvl-val", type: "number", min: def.min ?? 0, max: def.max ?? 10, step: 1, value: String(v), "aria-label": def.valueLabel })),
      h("td", {}, h("button", { type: "button", class: "icon-btn", "aria-label": t("common.remove"), onclick: () => tr.remove() }, "×")),
    );
    rows.append(tr);
    return tr;
  };
  for (const [k, v] of Object.entries(value)) add(k, v);
  return h(
    "div",
    { class: "levels", id: `fld-${def.name}`, dataset: { levels: def.name } },
    h("table", { class: "table compact" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, def.keyLabel), h("th", { scope: "col" }, def.valueLabel), h("th", {}))), rows),
    h("button", { type: "button", class: "btn btn-ghost btn-sm", onclick: () => add().querySelector("input").focus() }, t("common.add_row")),
  );
}

function readValue(def, form) {
  if (def.type === "checks") {
    return [...form.querySelectorAll(`[data-checks="${def.name}"] input:checked`)].map((i) => i.value);
  }
  if (def.type === "levels") {
    const out = {};
    for (const tr of form.querySelectorAll(`[data-levels="${def.name}"] tbody tr`)) {
      const k = tr.querySelector(".lvl-key").value.trim();
      if (k) out[k] = Number(tr.querySelector(".lvl-val").value);
    }
    return out;
  }
  const el = form.elements.namedItem(def.name);
  if (!el) return undefined;
  if (def.type === "checkbox") return el.checked;
  const raw = el.value.trim();
  if (def.type === "number") {
    if (raw === "") return def.empty ?? null;
    const n = Number(raw);
    if (Number.isNaN(n)) throw new ApiError(422, "request.invalid", t("form.number"), [{ where: def.name, problem: t("form.number") }]);
    return def.scale ? n / def.scale : n;
  }
  if (def.type === "json") {
    if (!raw) return def.empty ?? null;
    try {
      return JSON.parse(raw);
    } catch {
      throw new ApiError(422, "request.invalid", t("form.json"), [{ where: def.name, problem: t("form.json") }]);
    }
  }
  if (raw === "") return def.empty !== undefined ? def.empty : "";
  return raw;
}

/** Open a dialog with a form for `defs`; `submit(values)` sends it (errors are shown in the form). */
function formDialog(title, defs, item, submit, { submitLabel } = {}) {
  const editing = item !== null;
  const form = h("form", { class: "stack admin-form", novalidate: true });
  form.append(h("div", { class: "form-error", role: "alert", hidden: true, tabindex: "-1" }));
  const grid = h("div", { class: "form-grid" });
  for (const def of defs) {
    if (def.create && editing) continue;
    const value = editing ? getPath(item, def.name) : def.default;
    const c = control(def, value);
    if (editing && def.key) {
      c.readOnly = true;
      c.setAttribute("aria-readonly", "true");
    }
    const label = def.label + (def.required ? " *" : "");
    let f;
    if (def.type === "checkbox") {
      f = h("div", { class: "field field-check" }, h("label", { class: "check" }, c, label), def.hint ? h("p", { class: "hint" }, def.hint) : null);
    } else if (def.type === "checks" || def.type === "levels") {
      f = h("div", { class: "field" }, h("span", { class: "label" }, label), c, def.hint ? h("p", { class: "hint" }, def.hint) : null);
    } else {
      f = field(label, c, def.hint);
    }
    if (def.wide || def.type === "textarea" || def.type === "json" || def.type === "levels" || def.type === "checks") f.classList.add("span-2");
    grid.append(f);
  }
  const save = h("button", { class: "btn btn-primary", type: "submit", dataset: { action: "save" } }, submitLabel || (editing ? t("common.save") : t("common.create")));
  form.append(grid, h("div", { class: "btn-row end" }, h("button", { type: "button", class: "btn btn-ghost", onclick: () => dlg.close() }, t("common.cancel")), save));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const missing = [];
    const values = {};
    try {
      for (const def of defs) {
        if (def.create && editing) continue;
        const v = readValue(def, form);
        if (def.required && (v === "" || v === null || v === undefined)) missing.push({ where: def.name, problem: t("form.required") });
        if (v !== undefined) setPath(values, def.name, v);
      }
    } catch (err) {
      showErrors(form, err);
      return;
    }
    if (missing.length) {
      showErrors(form, new ApiError(422, "request.invalid", t("form.fix"), missing));
      return;
    }
    save.disabled = true;
    try {
      await submit(values);
      dlg.close();
    } catch (err) {
      showErrors(form, onField(err, defs));
    } finally {
      save.disabled = false;
    }
  });
  const dlg = modal(title, form, { wide: true });
  form.querySelector("input:not([readonly]):not([type=checkbox]), select, textarea")?.focus();
  return dlg;
}

// Error codes that concern one field (the API says so in the code, not with a "where").
const CODE_FIELDS = {
  "user.weak_password": "password",
  "user.invalid_name": "username",
  "user.exists": "username",
  "user.invalid_role": "role",
  "user.invalid_accounts": "accounts",
  "user.invalid_agent": "agent",
  "webhook.invalid": null, // "url: …" / "events: …" in the message
};

/** An API error about one field, as a problem of that field (so it is shown next to it). */
function onField(err, defs) {
  if (!(err instanceof ApiError) || (err.problems && err.problems.length)) return err;
  let name = CODE_FIELDS[err.code];
  if (name === undefined && err.code.endsWith(".exists")) name = (defs.find((d) => d.key) || {}).name;
  if (!name) return err;
  return new ApiError(err.status, err.code, err.message, [{ where: name, problem: err.message }]);
}

function confirmDialog(text, action) {
  const yes = h("button", { class: "btn btn-danger", type: "button", dataset: { action: "confirm" } }, t("common.delete"));
  const dlg = modal(t("common.confirm"), [h("p", {}, text), h("div", { class: "btn-row end" }, h("button", { class: "btn btn-ghost", type: "button", onclick: () => dlg.close() }, t("common.cancel")), yes)]);
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    try {
      await action();
      dlg.close();
    } catch (err) {
      fail(err);
      yes.disabled = false;
    }
  });
}

// --- a configuration resource tab ---------------------------------------------------------------------
function notAvailable(panel, what) {
  fill(panel, h("div", { class: "card empty-state not-available", dataset: { unavailable: what } }, h("h2", {}, t("admin.not_available")), h("p", { class: "muted" }, t("admin.not_available_text", { what: t(`admin.tab_${what}`) }))));
}

function resourceTab(res) {
  return async (panel) => {
    fill(panel, h("p", { class: "loading" }, t("common.loading")));
    let items;
    try {
      const data = await api(res.path);
      items = Array.isArray(data) ? data : data.items || [];
    } catch (err) {
      if (err.status === 404 || err.status === 405) {
        notAvailable(panel, res.name);
        return;
      }
      fill(panel, h("p", { class: "form-error", role: "alert" }, errorText(err)));
      return;
    }
    if (res.after) res.after(items);
    let filter = "";
    const body = h("div", {});
    const draw = () => {
      const shown = items.filter((it) => !filter || JSON.stringify(it).toLowerCase().includes(filter));
      if (!shown.length) {
        fill(body, h("p", { class: "muted empty" }, items.length ? t("admin.no_match") : t("admin.empty")));
        return;
      }
      fill(
        body,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "table", dataset: { resource: res.name } },
            h("thead", {}, h("tr", {}, res.columns().map((c) => h("th", { scope: "col" }, c.label)), h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("admin.actions"))))),
            h(
              "tbody",
              {},
              shown.map((it) =>
                h(
                  "tr",
                  { dataset: { key: it[res.key] } },
                  res.columns().map((c) => {
                    const v = c.format ? c.format(getPath(it, c.key), it) : getPath(it, c.key);
                    return h("td", { class: c.class || "" }, v === null || v === undefined || v === "" ? "–" : v);
                  }),
                  h(
                    "td",
                    { class: "actions" },
                    res.update !== false
                      ? h("button", { type: "button", class: "btn btn-sm", dataset: { action: "edit" }, onclick: () => edit(it) }, t("common.edit"), h("span", { class: "sr-only" }, ` ${it[res.key]}`))
                      : null,
                    res.remove !== false
                      ? h("button", { type: "button", class: "btn btn-sm btn-ghost danger", dataset: { action: "delete" }, onclick: () => remove(it) }, t("common.delete"), h("span", { class: "sr-only" }, ` ${it[res.key]}`))
                      : null,
                    res.extraActions ? res.extraActions(it, reload) : null,
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    };
    const reload = () => resourceTab(res)(panel);
    const edit = (it) =>
      formDialog(t(`admin.edit_${res.single}`, { id: it[res.key] }), res.fields(it), it, async (values) => {
        const bodyOut = res.toBody ? res.toBody(values, it) : values;
        await api(`${res.path}/${encodeURIComponent(it[res.key])}`, { method: res.updateMethod || "PUT", body: bodyOut });
        notify(t("admin.saved", { id: it[res.key] }), "success");
        await refreshContext();
        reload();
      });
    const create = () =>
      formDialog(t(`admin.new_${res.single}`), res.fields(null), null, async (values) => {
        const bodyOut = res.toBody ? res.toBody(values, null) : values;
        const made = await api(res.path, { method: "POST", body: bodyOut });
        if (res.created) res.created(made);
        notify(t("admin.created", { id: (made && made[res.key]) || bodyOut[res.key] || "" }), "success");
        await refreshContext();
        reload();
      });
    const remove = (it) =>
      confirmDialog(t("admin.confirm_delete", { id: it[res.key] }), async () => {
        await api(`${res.path}/${encodeURIComponent(it[res.key])}`, { method: "DELETE" });
        notify(t("admin.deleted", { id: it[res.key] }), "success");
        await refreshContext();
        reload();
      });
    fill(
      panel,
      h(
        "div",
        { class: "toolbar" },
        h("input", { type: "search", class: "search", placeholder: t("admin.filter"), "aria-label": t("admin.filter"), oninput: (e) => { filter = e.target.value.trim().toLowerCase(); draw(); } }),
        res.create !== false ? h("button", { type: "button", class: "btn btn-primary", dataset: { action: "new" }, onclick: create }, `+ ${t(`admin.new_${res.single}`)}`) : null,
      ),
      res.intro ? h("p", { class: "muted" }, res.intro()) : null,
      body,
    );
    draw();
  };
}

const accountOptions = () => ctx.accounts.map((a) => ({ value: a.id, label: a.name ? `${a.name} (${a.id})` : a.id }));

const RESOURCES = {
  accounts: {
    name: "accounts",
    single: "account",
    path: "/api/accounts",
    key: "id",
    remove: false,
    columns: () => [
      { key: "id", label: t("admin.f_id") },
      { key: "name", label: t("admin.f_name") },
      { key: "retention_days", label: t("admin.f_retention"), class: "num" },
    ],
    fields: () => [
      { name: "id", label: t("admin.f_id"), required: true, key: true, pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}", hint: t("admin.id_hint") },
      { name: "name", label: t("admin.f_name") },
      { name: "retention_days", label: t("admin.f_retention"), type: "number", min: 1, max: 3650, step: 1, hint: t("admin.retention_hint") },
    ],
  },
  dispositions: {
    name: "dispositions",
    single: "disposition",
    path: "/api/dispositions",
    key: "code",
    columns: () => [
      { key: "code", label: t("admin.f_code") },
      { key: "label", label: t("admin.f_label") },
      { key: "category", label: t("admin.f_category"), format: (v) => (has(`category.${v}`) ? t(`category.${v}`) : v) },
      { key: "account", label: t("admin.f_account"), format: (v) => v || t("admin.all_accounts") },
    ],
    fields: () => [
      { name: "code", label: t("admin.f_code"), required: true, key: true, hint: t("admin.id_hint") },
      { name: "label", label: t("admin.f_label"), required: true },
      { name: "category", label: t("admin.f_category"), type: "select", options: CATEGORIES.map((c) => ({ value: c, label: t(`category.${c}`) })), default: "resolved" },
      { name: "account", label: t("admin.f_account"), type: "select", blank: t("admin.all_accounts"), options: accountOptions(), empty: null },
    ],
    toBody: (v) => ({ ...v, account: v.account || null }),
  },
  queues: {
    name: "queues",
    single: "queue",
    path: "/api/queues",
    key: "id",
    columns: () => [
      { key: "id", label: t("admin.f_id") },
      { key: "name", label: t("admin.f_name") },
      { key: "account", label: t("admin.f_account") },
      { key: "channel", label: t("admin.f_channel"), format: (v) => t(`channel.${v}`, { fallback: v }) },
      { key: "requires", label: t("admin.f_requires"), format: (v) => h("code", {}, v) },
      { key: "service_level", label: t("admin.f_sl"), format: (v) => (v ? `${pct(v.target)} / ${num(v.threshold)} s` : null) },
      { key: "wrap_up", label: t("admin.f_wrap_up"), format: (v) => (v ? t(`wrap.${v.mode}`) + (v.max || v.duration ? ` ${num(v.max || v.duration)} s` : "") : null) },
    ],
    fields: () => [
      { name: "id", label: t("admin.f_id"), required: true, key: true, hint: t("admin.id_hint") },
      { name: "name", label: t("admin.f_name") },
      { name: "account", label: t("admin.f_account"), type: "select", required: true, options: accountOptions() },
      { name: "channel", label: t("admin.f_channel"), type: "select", options: CHANNELS.map((c) => ({ value: c, label: t(`channel.${c}`) })), default: "voice" },
      { name: "requires", label: t("admin.f_requires"), required: true, wide: true, hint: t("admin.requires_hint") },
      { name: "priority", label: t("admin.f_priority"), type: "number", step: 1, default: 0 },
      { name: "service_level.target", label: t("admin.f_sl_target"), type: "number", min: 0, max: 100, step: 1, scale: 100, default: 0.8 },
      { name: "service_level.threshold", label: t("admin.f_sl_threshold"), type: "number", min: 0, step: 1, default: 20 },
      { name: "offer_timeout", label: t("admin.f_offer_timeout"), type: "number", min: 1, step: 1, default: 15 },
      { name: "wrap_up.mode", label: t("admin.f_wrap_mode"), type: "select", options: ["none", "agent", "fixed"].map((m) => ({ value: m, label: t(`wrap.${m}`) })), default: "agent" },
      { name: "wrap_up.seconds", label: t("admin.f_wrap_seconds"), type: "number", min: 0, step: 1, default: 60 },
      { name: "agent_selection", label: t("admin.f_selection"), type: "select", options: SELECTIONS.map((s) => ({ value: s, label: t(`selection.${s}`) })), default: "longest_idle" },
      { name: "max_wait", label: t("admin.f_max_wait"), type: "number", min: 0, step: 1 },
      { name: "max_length", label: t("admin.f_max_length"), type: "number", min: 0, step: 1 },
      { name: "overflow_to", label: t("admin.f_overflow"), type: "select", blank: t("admin.none"), options: ctx.queues.map((q) => q.id) },
      { name: "require_disposition", label: t("admin.f_require_disposition"), type: "checkbox" },
      { name: "dispositions", label: t("admin.f_dispositions"), type: "checks", options: ctx.dispositions.map((d) => ({ value: d.code, label: d.label || d.code })), hint: t("admin.dispositions_hint") },
      { name: "hours", label: t("admin.f_hours"), type: "json", hint: t("admin.hours_hint") },
      { name: "escalation", label: t("admin.f_escalation"), type: "json", hint: t("admin.escalation_hint") },
    ],
    toBody: (v, item) => {
      // Keep what the form does not show (e.g. short_abandon); PUT replaces the whole queue.
      const body = { ...(item || {}), ...v };
      const mode = v.wrap_up.mode;
      const secs = v.wrap_up.seconds;
      body.wrap_up = mode === "none" ? { mode } : mode === "fixed" ? { mode, duration: secs ?? 0 } : secs ? { mode, max: secs } : { mode };
      if (!v.dispositions || !v.dispositions.length) delete body.dispositions;
      for (const k of ["max_wait", "max_length", "hours", "overflow_to"]) if (body[k] === null || body[k] === "") delete body[k];
      if (!body.escalation) body.escalation = [];
      return body;
    },
    after: (items) => {
      for (const q of items) if (q.wrap_up) q.wrap_up.seconds = q.wrap_up.max ?? q.wrap_up.duration ?? null;
    },
  },
  agents: {
    name: "agents",
    single: "agent",
    path: "/api/agents",
    key: "id",
    columns: () => [
      { key: "id", label: t("admin.f_id") },
      { key: "name", label: t("admin.f_name") },
      { key: "account", label: t("admin.f_account") },
      { key: "team", label: t("admin.f_team") },
      { key: "skills", label: t("admin.f_skills"), format: (v) => Object.entries(v || {}).map(([k, l]) => h("span", { class: "skill" }, k, h("b", {}, String(l)))) },
      { key: "state", label: t("admin.f_state"), format: (v) => (v ? t(`state.${v}`) : null) },
    ],
    fields: () => [
      { name: "id", label: t("admin.f_id"), required: true, key: true, hint: t("admin.id_hint") },
      { name: "name", label: t("admin.f_name") },
      { name: "account", label: t("admin.f_account"), type: "select", required: true, options: accountOptions() },
      { name: "team", label: t("admin.f_team") },
      { name: "site", label: t("admin.f_site") },
      { name: "skills", label: t("admin.f_skills"), type: "levels", keyLabel: t("wallboard.skill"), valueLabel: t("wallboard.level"), min: 0, max: 10, default: 5, list: "admin-skills", hint: t("admin.skills_hint") },
      { name: "capacity", label: t("admin.f_capacity"), type: "levels", keyLabel: t("admin.f_channel"), valueLabel: t("admin.f_capacity_n"), min: 0, max: 20, default: 1, list: "admin-channels", hint: t("admin.capacity_hint") },
    ],
    toBody: (v) => ({ ...v, capacity: Object.keys(v.capacity || {}).length ? v.capacity : { voice: 1 } }),
  },
  users: {
    name: "users",
    single: "user",
    path: "/api/users",
    key: "username",
    updateMethod: "PATCH",
    columns: () => [
      { key: "username", label: t("admin.f_username") },
      { key: "role", label: t("admin.f_role"), format: (v) => t(`role.${v}`) },
      { key: "accounts", label: t("admin.f_accounts"), format: (v, u) => (u.role === "administrator" || (v || []).includes("*") ? t("admin.all_accounts") : (v || []).join(", ") || t("admin.no_accounts")) },
      { key: "agent", label: t("admin.f_agent") },
      { key: "disabled", label: t("admin.f_status"), format: (v) => h("span", { class: `pill ${v ? "pill-muted" : "pill-ok"}` }, v ? t("admin.disabled") : t("admin.active")) },
    ],
    fields: (item) => [
      { name: "username", label: t("admin.f_username"), required: true, key: true },
      { name: "password", label: t("admin.f_password"), type: "password", required: item === null, hint: item === null ? t("admin.password_rule") : t("admin.password_hint") },
      { name: "role", label: t("admin.f_role"), type: "select", required: true, options: ROLES.map((r) => ({ value: r, label: t(`role.${r}`) })), default: "agent" },
      { name: "accounts", label: t("admin.f_accounts"), type: "checks", options: [{ value: "*", label: t("admin.all_accounts") }, ...accountOptions()], hint: t("admin.accounts_hint") },
      { name: "agent", label: t("admin.f_agent"), type: "select", blank: t("admin.none"), options: ctx.agents.map((a) => ({ value: a.id, label: a.name ? `${a.name} (${a.id})` : a.id })), hint: t("admin.agent_hint") },
      { name: "disabled", label: t("admin.f_disabled"), type: "checkbox" },
    ],
    toBody: (v, item) => {
      if (item === null) {
        return { username: v.username, password: v.password, role: v.role, accounts: v.accounts, agent: v.agent || null };
      }
      const out = { role: v.role, accounts: v.accounts, agent: v.agent || "", disabled: v.disabled };
      if (v.password) out.password = v.password;
      return out;
    },
  },
};

// --- webhooks -------------------------------------------------------------------------------------
function showSecret(secret) {
  if (!secret) return;
  const code = h("code", { class: "secret", id: "webhook-secret" }, secret);
  const copy = h("button", { type: "button", class: "btn btn-sm", onclick: () => navigator.clipboard?.writeText(secret).then(() => notify(t("admin.copied"), "success")) }, t("admin.copy"));
  modal(t("admin.webhook_secret"), [h("p", {}, t("admin.webhook_secret_text")), h("div", { class: "secret-row" }, code, copy)]);
}

const webhooks = {
  name: "webhooks",
  single: "webhook",
  path: "/api/webhooks",
  key: "id",
  updateMethod: "PATCH",
  intro: () => t("admin.webhooks_intro"),
  columns: () => [
    { key: "url", label: t("admin.f_url"), format: (v) => h("code", {}, v) },
    { key: "events", label: t("admin.f_events"), format: (v) => (v || []).join(", ") },
    { key: "account", label: t("admin.f_account"), format: (v) => v || t("admin.all_accounts") },
    { key: "active", label: t("admin.f_status"), format: (v) => h("span", { class: `pill ${v ? "pill-ok" : "pill-muted"}` }, v ? t("admin.active") : t("admin.inactive")) },
    { key: "created", label: t("admin.f_created"), format: (v) => time(v, { date: true }) },
  ],
  fields: () => [
    { name: "url", label: t("admin.f_url"), type: "url", required: true, wide: true, hint: t("admin.url_hint") },
    { name: "events", label: t("admin.f_events"), type: "checks", options: [{ value: "*", label: t("admin.all_events") }, ...WEBHOOK_KINDS] },
    { name: "account", label: t("admin.f_account"), type: "select", blank: t("admin.all_accounts"), options: accountOptions(), create: true },
    { name: "active", label: t("admin.f_active"), type: "checkbox", default: true },
  ],
  toBody: (v, item) => {
    const out = { url: v.url, events: v.events.length ? v.events : ["*"], active: v.active };
    if (item === null && v.account) out.account = v.account;
    return out;
  },
  created: (made) => showSecret(made && made.secret),
  extraActions: (it) => [
    h("button", { type: "button", class: "btn btn-sm btn-ghost", dataset: { action: "deliveries" }, onclick: () => deliveries(it) }, t("admin.deliveries")),
    h(
      "button",
      {
        type: "button",
        class: "btn btn-sm btn-ghost",
        dataset: { action: "rotate" },
        onclick: async () => {
          try {
            const r = await api(`/api/webhooks/${encodeURIComponent(it.id)}/rotate-secret`, { method: "POST" });
            showSecret(r && r.secret);
          } catch (err) {
            fail(err);
          }
        },
      },
      t("admin.rotate"),
    ),
  ],
};

async function deliveries(hook) {
  const body = h("div", {}, h("p", { class: "loading" }, t("common.loading")));
  modal(t("admin.deliveries_title", { url: hook.url }), body, { wide: true });
  const load = async () => {
    try {
      const items = await api(`/api/webhooks/${encodeURIComponent(hook.id)}/deliveries?limit=50`);
      fill(
        body,
        items.length
          ? h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                { class: "table compact" },
                h("thead", {}, h("tr", {}, ["created", "kind", "status", "attempts", "last_error"].map((k) => h("th", { scope: "col" }, t(`delivery.${k}`))), h("th", {}))),
                h(
                  "tbody",
                  {},
                  items.map((d) =>
                    h(
                      "tr",
                      {},
                      h("td", {}, time(d.created, { date: true, seconds: true })),
                      h("td", {}, h("code", {}, d.kind)),
                      h("td", {}, h("span", { class: `pill ${d.status === "delivered" ? "pill-ok" : d.status === "failed" ? "pill-danger" : "pill-muted"}` }, t(`delivery.${d.status}`, { fallback: d.status }))),
                      h("td", { class: "num" }, num(d.attempts)),
                      h("td", {}, d.last_error || "–"),
                      h(
                        "td",
                        { class: "actions" },
                        d.status === "failed"
                          ? h("button", { type: "button", class: "btn btn-sm", onclick: async () => {
                              try {
                                await api(`/api/webhooks/${encodeURIComponent(hook.id)}/deliveries/${d.id}/retry`, { method: "POST" });
                                notify(t("admin.retry_queued"), "success");
                                load();
                              } catch (err) {
                                fail(err);
                              }
                            } }, t("admin.retry"))
                          : null,
                      ),
                    ),
                  ),
                ),
              ),
            )
          : h("p", { class: "muted" }, t("admin.no_deliveries")),
      );
    } catch (err) {
      fill(body, h("p", { class: "form-error", role: "alert" }, errorText(err)));
    }
  };
  load();
}

// --- audit log -----------------------------------------------------------------------------------------
async function auditTab(panel) {
  let before = null;
  let action = "";
  const rows = h("tbody", {});
  const more = h("button", { type: "button", class: "btn", onclick: () => load(false) }, t("admin.load_more"));
  const load = async (reset) => {
    if (reset) {
      before = null;
      rows.replaceChildren();
    }
    const p = new URLSearchParams({ limit: "50" });
    if (before) p.set("before", String(before));
    if (action) p.set("action", action);
    try {
      const data = await api(`/api/audit?${p}`);
      const items = data.items || [];
      for (const e of items) {
        rows.append(
          h(
            "tr",
            { dataset: { audit: String(e.id) } },
            h("td", {}, time(e.at, { date: true, seconds: true })),
            h("td", {}, e.username),
            h("td", {}, h("code", {}, e.action)),
            h("td", {}, e.target || "–"),
            h("td", {}, e.account || "–"),
            h("td", {}, e.ip || "–"),
            h("td", { class: "detail-cell" }, Object.keys(e.detail || {}).length ? h("code", {}, JSON.stringify(e.detail)) : "–"),
          ),
        );
      }
      if (items.length) before = items[items.length - 1].id;
      more.hidden = items.length < 50;
      if (!rows.children.length) rows.append(h("tr", {}, h("td", { colspan: "7", class: "muted" }, t("admin.empty"))));
    } catch (err) {
      if (err.status === 404) notAvailable(panel, "audit");
      else fail(err);
    }
  };
  fill(
    panel,
    h(
      "form",
      { class: "toolbar start", role: "search", onsubmit: (e) => { e.preventDefault(); action = e.target.elements.action.value.trim(); load(true); } },
      h("input", { type: "search", name: "action", class: "search", placeholder: t("admin.audit_action"), "aria-label": t("admin.audit_action"), list: "audit-actions" }),
      h("datalist", { id: "audit-actions" }, ["auth.login", "user.create", "user.update", "queue.create", "queue.update", "agent.state", "agent.skills", "export.interactions", "gdpr.erase"].map((a) => h("option", { value: a }))),
      h("button", { type: "submit", class: "btn" }, t("admin.audit_filter")),
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table audit" },
        h("thead", {}, h("tr", {}, ["at", "user", "action", "target", "account", "ip", "detail"].map((k) => h("th", { scope: "col" }, t(`audit.${k}`))))),
        rows,
      ),
    ),
    h("div", { class: "btn-row" }, more),
  );
  await load(true);
}

// --- list upload ---------------------------------------------------------------------------------------
// Contact lists for outbound campaigns: POST /api/campaigns/{id}/lists (multipart: file, name,
// mapping, region, strict); the answer is the import report with every rejected row.
async function listsTab(panel) {
  fill(panel, h("p", { class: "loading" }, t("common.loading")));
  let campaigns;
  try {
    const data = await api("/api/campaigns");
    campaigns = Array.isArray(data) ? data : data.items || [];
  } catch (err) {
    if ([404, 405, 503].includes(err.status)) notAvailable(panel, "lists");
    else fill(panel, h("p", { class: "form-error", role: "alert" }, errorText(err)));
    return;
  }
  if (!campaigns.length) {
    fill(panel, h("div", { class: "card empty-state" }, h("h2", {}, t("admin.no_campaigns")), h("p", { class: "muted" }, t("admin.no_campaigns_text"))));
    return;
  }
  const campaignSel = h("select", { name: "campaign", id: "up-campaign", required: true }, campaigns.map((c) => h("option", { value: c.id }, `${c.name || c.id} (${c.account})`)));
  const names = h("datalist", { id: "up-names" });
  const name = h("input", { name: "name", id: "up-name", required: true, list: "up-names", autocomplete: "off" });
  const file = h("input", { type: "file", name: "file", id: "up-file", accept: ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", required: true });
  const mapping = h("textarea", { name: "mapping", id: "up-mapping", rows: 2, class: "mono", placeholder: "phone=Telefoon, first_name=Voornaam" });
  const region = h("input", { name: "region", id: "up-region", placeholder: "NL", maxlength: 2, pattern: "[A-Za-z]{2}", autocomplete: "off" });
  const strict = h("input", { type: "checkbox", name: "strict", id: "up-strict" });
  const result = h("div", { id: "upload-result", "aria-live": "polite" });
  const declared = async () => {
    fill(names);
    try {
      const c = await api(`/api/campaigns/${encodeURIComponent(campaignSel.value)}`);
      const lists = (c.lists || []).map((l) => l.name);
      fill(names, lists.map((n) => h("option", { value: n })));
      if (!name.value && lists.length) name.value = lists[0];
    } catch {
      /* the names are only a help */
    }
  };
  campaignSel.addEventListener("change", () => {
    name.value = "";
    declared();
  });
  const submit = h("button", { type: "submit", class: "btn btn-primary", dataset: { action: "upload" } }, t("admin.upload"));
  const form = h(
    "form",
    { class: "card stack", novalidate: true },
    h("div", { class: "form-error", role: "alert", hidden: true, tabindex: "-1" }),
    h("p", { class: "muted" }, t("admin.lists_intro")),
    h(
      "div",
      { class: "form-grid" },
      field(t("admin.f_campaign"), campaignSel),
      field(t("admin.f_list_name"), name, t("admin.list_name_hint")),
      names,
      field(t("admin.f_file"), file, t("admin.file_hint")),
      field(t("admin.f_region"), region, t("admin.region_hint")),
      h("div", { class: "field span-2" }, h("label", { for: "up-mapping" }, t("admin.f_mapping")), mapping, h("p", { class: "hint" }, t("admin.mapping_hint"))),
      h("div", { class: "field field-check" }, h("label", { class: "check" }, strict, t("admin.f_strict"))),
    ),
    h("div", { class: "btn-row" }, submit),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const missing = [];
    if (!name.value.trim()) missing.push({ where: "name", problem: t("form.required") });
    if (!file.files[0]) missing.push({ where: "file", problem: t("form.required") });
    if (missing.length) {
      showErrors(form, new ApiError(422, "request.invalid", t("form.fix"), missing));
      return;
    }
    const body = new FormData();
    body.append("file", file.files[0]);
    body.append("name", name.value.trim());
    if (mapping.value.trim()) body.append("mapping", mapping.value.trim());
    if (region.value.trim()) body.append("region", region.value.trim().toUpperCase());
    body.append("strict", strict.checked ? "true" : "false");
    submit.disabled = true;
    try {
      const report = await api(`/api/campaigns/${encodeURIComponent(campaignSel.value)}/lists`, { method: "POST", body });
      fill(result, importReport(campaignSel.value, report));
      notify(t("admin.uploaded"), "success");
    } catch (err) {
      showErrors(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  fill(panel, form, result);
  declared();
}

function importReport(campaign, r) {
  const rows = r.rejected_rows || [];
  return h(
    "section",
    { class: "card stack import-report", dataset: { report: r.name } },
    h("h2", {}, t("admin.report_title", { name: r.name, file: r.file || "" })),
    h(
      "div",
      { class: "summary-kpis" },
      [
        ["admin.report_rows", r.rows],
        ["admin.report_accepted", r.accepted],
        ["admin.report_rejected", r.rejected],
        ["admin.report_dropped", r.values_dropped],
      ].map(([k, v]) => h("div", { class: "kpi-card" }, h("span", { class: "big" }, num(v)), h("span", { class: "label" }, t(k)))),
    ),
    rows.length
      ? [
          h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "table compact" },
              h("thead", {}, h("tr", {}, ["row", "field", "raw_value", "code", "message"].map((k) => h("th", { scope: "col" }, t(`issue.${k}`))))),
              h(
                "tbody",
                {},
                rows.slice(0, 100).map((i) => h("tr", {}, h("td", { class: "num" }, num(i.row)), h("td", {}, i.field || "–"), h("td", {}, h("code", {}, i.raw_value ?? "")), h("td", {}, h("code", {}, i.code)), h("td", {}, i.message))),
              ),
            ),
          ),
          rows.length > 100 ? h("p", { class: "muted" }, t("admin.report_more", { n: num(rows.length - 100) })) : null,
          h("a", { class: "btn btn-ghost", href: `/api/campaigns/${encodeURIComponent(campaign)}/lists/${encodeURIComponent(r.name)}/rejected.csv`, download: "" }, t("admin.report_csv")),
        ]
      : h("p", { class: "muted" }, t("admin.report_clean")),
  );
}

// --- campaigns, do-not-call list, callbacks ------------------------------------------------------------
// Outbound campaigns (GET/POST /api/campaigns, …/start|pause|stop, DELETE when stopped), the
// do-not-call list (/api/dnc, per account or "*" for the whole center) and scheduled callbacks
// (/api/callbacks). A server without them (404/403/503) shows the "not available" notice.
const UNAVAILABLE = [403, 404, 405, 503];
const LEAD_STATUSES = ["ready", "previewing", "in_progress", "done", "exhausted"];

/** GET `path` as a list; on a missing API shows "not available" in `panel` and answers null. */
async function loadList(panel, path, what) {
  try {
    const data = await api(path);
    return Array.isArray(data) ? data : data.items || [];
  } catch (err) {
    if (UNAVAILABLE.includes(err.status)) notAvailable(panel, what);
    else fill(panel, h("p", { class: "form-error", role: "alert" }, errorText(err)));
    return null;
  }
}

function dataTable(name, heads, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table", dataset: { resource: name } },
      h("thead", {}, h("tr", {}, heads.map((k) => h("th", { scope: "col" }, k)), h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("admin.actions"))))),
      h("tbody", {}, rows),
    ),
  );
}

const dash = (v) => (v === null || v === undefined || v === "" ? "–" : v);

/** A minimal valid campaign document for the first account and its outbound queue. */
function exampleCampaign() {
  const account = (ctx.accounts[0] || {}).id || "acme";
  const own = ctx.queues.filter((q) => q.account === account);
  const queue = own.find((q) => q.direction === "outbound") || ctx.queues.find((q) => q.direction === "outbound") || own.find((q) => q.channel === "voice") || own[0] || {};
  return {
    account: queue.account || account,
    queue: queue.id || "",
    campaign: { id: "new-campaign", name: "New campaign" },
    mode: "progressive",
    caller_id: "+31201234567",
    lists: [{ name: "customers", region: "NL", map: { phone: "phone" } }],
    compliance: { preset: "nl", purpose: "telemarketing" },
    dispositions: [
      { code: "sale", category: "sale" },
      { code: "not_interested", category: "not_interested" },
      { code: "do_not_call", category: "do_not_call" },
    ],
  };
}

function newCampaign(reload) {
  const text = h("textarea", { id: "campaign-document", name: "document", rows: 18, class: "mono", spellcheck: false, value: JSON.stringify(exampleCampaign(), null, 2) });
  const save = h("button", { class: "btn btn-primary", type: "submit", dataset: { action: "save" } }, t("common.create"));
  const form = h(
    "form",
    { class: "stack admin-form", novalidate: true, id: "campaign-form" },
    h("div", { class: "form-error", role: "alert", hidden: true, tabindex: "-1" }),
    h("div", { class: "field" }, h("label", { for: text.id }, t("admin.f_document")), text, h("p", { class: "hint", id: "campaign-document-hint" }, t("admin.document_hint"))),
    h("div", { class: "btn-row end" }, h("button", { type: "button", class: "btn btn-ghost", onclick: () => dlg.close() }, t("common.cancel")), save),
  );
  // Every problem belongs to the document: shown next to the text area, with its "where".
  const atText = (err) => {
    if (!(err instanceof ApiError)) return err;
    const problems = err.problems && err.problems.length ? err.problems : [{ where: "", problem: errorText(err) }];
    return new ApiError(err.status, err.code, err.message, problems.map((p) => ({ where: "document", problem: p.where ? `${p.where}: ${p.problem}` : p.problem })));
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    let doc;
    try {
      doc = JSON.parse(text.value);
    } catch {
      showErrors(form, new ApiError(422, "request.invalid", t("form.json"), [{ where: "document", problem: t("form.json") }]));
      return;
    }
    save.disabled = true;
    try {
      const made = await api("/api/campaigns", { method: "POST", body: doc });
      dlg.close();
      notify(t("admin.created", { id: made.id }), "success");
      reload();
    } catch (err) {
      showErrors(form, atText(err));
    } finally {
      save.disabled = false;
    }
  });
  const dlg = modal(t("admin.new_campaign"), form, { wide: true });
  text.focus();
}

async function campaignsTab(panel) {
  fill(panel, h("p", { class: "loading" }, t("common.loading")));
  const items = await loadList(panel, "/api/campaigns", "campaigns");
  if (items === null) return;
  const reload = () => campaignsTab(panel);
  const act = (c, action) => async (ev) => {
    const done = await busy(ev.currentTarget, () => api(`/api/campaigns/${encodeURIComponent(c.id)}/${action}`, { method: "POST" }).then(() => true));
    if (done) {
      notify(t(`admin.campaign_${action}_done`, { id: c.name || c.id }), "success");
      reload();
    }
  };
  const remove = (c) =>
    confirmDialog(t("admin.confirm_delete", { id: c.id }), async () => {
      await api(`/api/campaigns/${encodeURIComponent(c.id)}`, { method: "DELETE" });
      notify(t("admin.deleted", { id: c.id }), "success");
      reload();
    });
  const btn = (label, action, onclick, extra = "") => h("button", { type: "button", class: `btn btn-sm ${extra}`.trim(), dataset: { action }, onclick }, label);
  const rows = items.map((c) => {
    const p = c.progress || {};
    const leads = p.leads || {};
    return h(
      "tr",
      { dataset: { key: c.id, campaign: c.id, status: c.status } },
      h("td", {}, c.name || c.id, h("div", { class: "muted small" }, h("code", {}, c.id))),
      h("td", {}, c.account),
      h("td", {}, c.queue),
      h("td", {}, t(`admin.mode_${c.mode}`, { fallback: c.mode })),
      h("td", {}, h("span", { class: `pill ${c.status === "running" ? "pill-ok" : "pill-muted"}`, dataset: { field: "status" } }, t(`campaign.status_${c.status}`, { fallback: c.status }))),
      h("td", { class: "num" }, num(p.dialed ?? 0)),
      h("td", { class: "num" }, num(p.answered ?? 0)),
      h("td", { class: "num" }, pct(p.abandon_rate ?? 0, 1)),
      h(
        "td",
        { class: "lead-counts" },
        LEAD_STATUSES.filter((s) => leads[s]).map((s) => h("span", { class: "pill pill-muted", dataset: { lead: s } }, `${t(`lead.${s}`)} ${num(leads[s])}`)),
        p.leads_total ? null : "–",
      ),
      h(
        "td",
        { class: "actions" },
        c.status !== "running" ? btn(t("admin.campaign_start"), "start", act(c, "start")) : null,
        c.status === "running" ? btn(t("admin.campaign_pause"), "pause", act(c, "pause")) : null,
        c.status !== "stopped" ? btn(t("admin.campaign_stop"), "stop", act(c, "stop"), "btn-ghost") : null,
        c.status === "stopped" ? btn([t("common.delete"), h("span", { class: "sr-only" }, ` ${c.id}`)], "delete", () => remove(c), "btn-ghost danger") : null,
      ),
    );
  });
  fill(
    panel,
    h("div", { class: "toolbar" }, h("p", { class: "muted" }, t("admin.campaigns_intro")), h("button", { type: "button", class: "btn btn-primary", dataset: { action: "new" }, onclick: () => newCampaign(reload) }, `+ ${t("admin.new_campaign")}`)),
    items.length
      ? dataTable(
          "campaigns",
          ["f_name", "f_account", "f_queue", "f_mode", "f_status", "f_dialed", "f_answered", "f_abandon_rate", "f_leads"].map((k) => t(`admin.${k}`)),
          rows,
        )
      : h("p", { class: "muted empty" }, t("admin.empty")),
  );
}

async function dncTab(panel) {
  fill(panel, h("p", { class: "loading" }, t("common.loading")));
  const items = await loadList(panel, "/api/dnc", "dnc");
  if (items === null) return;
  const reload = () => dncTab(panel);
  const scopes = [...(me.role === "administrator" ? [{ value: "*", label: t("admin.dnc_everywhere") }] : []), ...accountOptions()];
  const number = h("input", { id: "dnc-number", name: "number", type: "tel", required: true, autocomplete: "off", placeholder: "+31612345678" });
  const scope = h("select", { id: "dnc-scope", name: "scope", required: true }, scopes.map((o) => h("option", { value: o.value }, o.label)));
  const source = h("input", { id: "dnc-source", name: "source", maxlength: 200, autocomplete: "off" });
  const add = h("button", { type: "submit", class: "btn btn-primary", dataset: { action: "add" } }, t("admin.dnc_add"));
  const form = h(
    "form",
    { class: "card stack", novalidate: true, id: "dnc-form" },
    h("div", { class: "form-error", role: "alert", hidden: true, tabindex: "-1" }),
    h("p", { class: "muted" }, t("admin.dnc_intro")),
    h("div", { class: "inline-form" }, field(t("admin.f_number"), number, t("admin.number_hint")), field(t("admin.f_scope"), scope), field(t("admin.f_source"), source), add),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    if (!number.value.trim()) {
      showErrors(form, new ApiError(422, "request.invalid", t("form.fix"), [{ where: "number", problem: t("form.required") }]));
      return;
    }
    add.disabled = true;
    try {
      const body = { number: number.value.trim(), scope: scope.value };
      if (source.value.trim()) body.source = source.value.trim();
      const row = await api("/api/dnc", { method: "POST", body });
      notify(t("admin.created", { id: row.number }), "success");
      reload();
    } catch (err) {
      showErrors(form, err);
    } finally {
      add.disabled = false;
    }
  });
  const scopeText = (s) => (s === "*" ? t("admin.dnc_everywhere") : s);
  const remove = (e) =>
    confirmDialog(t("admin.confirm_delete", { id: `${e.number} (${scopeText(e.scope)})` }), async () => {
      await api(`/api/dnc/${encodeURIComponent(e.number)}?${new URLSearchParams({ scope: e.scope })}`, { method: "DELETE" });
      notify(t("admin.deleted", { id: e.number }), "success");
      reload();
    });
  const rows = items.map((e) =>
    h(
      "tr",
      { dataset: { key: `${e.scope}/${e.number}`, number: e.number, scope: e.scope } },
      h("td", {}, h("code", {}, e.number)),
      h("td", {}, scopeText(e.scope)),
      h("td", {}, dash(e.source)),
      h("td", {}, time(e.created, { date: true })),
      h("td", { class: "actions" }, h("button", { type: "button", class: "btn btn-sm btn-ghost danger", dataset: { action: "delete" }, onclick: () => remove(e) }, t("common.delete"), h("span", { class: "sr-only" }, ` ${e.number}`))),
    ),
  );
  fill(panel, form, items.length ? dataTable("dnc", ["f_number", "f_scope", "f_source", "f_created"].map((k) => t(`admin.${k}`)), rows) : h("p", { class: "muted empty" }, t("admin.empty")));
}

async function callbacksTab(panel) {
  fill(panel, h("p", { class: "loading" }, t("common.loading")));
  const items = await loadList(panel, "/api/callbacks", "callbacks");
  if (items === null) return;
  const reload = () => callbacksTab(panel);
  const cancel = (c) => async (ev) => {
    const done = await busy(ev.currentTarget, () => api(`/api/callbacks/${encodeURIComponent(c.id)}`, { method: "DELETE" }).then(() => true));
    if (done) {
      notify(t("admin.callback_cancel_done"), "success");
      reload();
    }
  };
  const pill = { scheduled: "pill-ok", queued: "pill-muted", cancelled: "pill-muted" };
  const rows = items.map((c) =>
    h(
      "tr",
      { dataset: { key: c.id, callback: c.id, status: c.status } },
      h("td", {}, time(c.due, { date: true })),
      h("td", {}, dash(c.contact)),
      h("td", {}, c.queue),
      h("td", {}, dash(c.agent)),
      h("td", {}, h("span", { class: `pill ${pill[c.status] || "pill-muted"}` }, t(`admin.callback_${c.status}`, { fallback: c.status }))),
      h("td", { class: "actions" }, c.status === "scheduled" ? h("button", { type: "button", class: "btn btn-sm btn-ghost danger", dataset: { action: "cancel" }, onclick: cancel(c) }, t("admin.callback_cancel"), h("span", { class: "sr-only" }, ` ${c.contact || c.id}`)) : null),
    ),
  );
  fill(
    panel,
    h("p", { class: "muted" }, t("admin.callbacks_intro")),
    items.length ? dataTable("callbacks", ["f_due", "f_contact", "f_queue", "f_cb_agent", "f_status"].map((k) => t(`admin.${k}`)), rows) : h("p", { class: "muted empty" }, t("admin.empty")),
  );
}

// --- start ----------------------------------------------------------------------------------------
async function refreshContext() {
  const get = (path) => api(path).then((d) => (Array.isArray(d) ? d : d.items || [])).catch(() => []);
  [ctx.accounts, ctx.dispositions, ctx.queues, ctx.agents] = await Promise.all([get("/api/accounts"), get("/api/dispositions"), get("/api/queues"), get("/api/agents")]);
  const skills = new Set(ctx.agents.flatMap((a) => Object.keys(a.skills || {})));
  let dl = $("#admin-skills");
  if (!dl) {
    dl = h("datalist", { id: "admin-skills" });
    document.body.append(dl, h("datalist", { id: "admin-channels" }, CHANNELS.map((c) => h("option", { value: c }))));
  }
  fill(dl, [...skills].sort().map((s) => h("option", { value: s })));
}

const TABS = ["accounts", "queues", "dispositions", "agents", "users", "webhooks", "campaigns", "lists", "dnc", "callbacks", "audit"];

async function main() {
  await start();
  me = await session();
  header(me, "admin");
  if (!can(me, "config.write")) {
    noAccess($("#main"), me, homeFor(me));
    return;
  }
  api("/api/webhooks/kinds", { login: false })
    .then((kinds) => {
      if (Array.isArray(kinds) && kinds.length) WEBHOOK_KINDS = kinds.map((k) => ({ value: k.kind, label: k.kind, title: k.description }));
    })
    .catch(() => {});
  await refreshContext();
  const panels = $("#panels");
  fill(panels, TABS.map((n) => h("section", { id: `panel-${n}`, role: "tabpanel", class: "tab-panel", "aria-labelledby": `tab-${n}`, hidden: true })));
  const builders = () => ({
    ...Object.fromEntries(Object.entries(RESOURCES).map(([k, r]) => [k, resourceTab(r)])),
    webhooks: resourceTab(webhooks),
    audit: auditTab,
    lists: listsTab,
    campaigns: campaignsTab,
    dnc: dncTab,
    callbacks: callbacksTab,
  });
  let build = builders();
  const ctl = tabs($("#tabs"), TABS, (name) => build[name]($(`#panel-${name}`)), (n) => `admin.tab_${n}`);
  $("#tabs").setAttribute("aria-label", t("nav.admin"));
  ctl.select(ctl.current());
  document.addEventListener("langchange", () => {
    build = builders();
    ctl.render();
    ctl.select(ctl.current());
  });
}

main().catch(fail);
