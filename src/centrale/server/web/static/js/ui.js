// Small DOM helpers shared by every page: elements, the header, notices, the server clock, forms.

import { logout, pagesFor, ApiError } from "./api.js";
import { t, has, setLang, currentLang, LANGUAGES, clock, initI18n } from "./i18n.js";

/** Create an element: h("button", {class: "btn", onclick: fn, "aria-label": "…"}, "text", child…). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string" && k !== "list") el[k] = v;
    else if (k === "value" || k === "checked" || k === "selected" || k === "disabled" || k === "hidden") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// --- the server's clock ----------------------------------------------------------------------
// Times in state tick in the browser; `since` is the server's epoch, so keep the offset.
let offset = 0;
export function syncClock(serverEpoch) {
  if (typeof serverEpoch === "number") offset = serverEpoch * 1000 - Date.now();
}
export const serverNow = () => (Date.now() + offset) / 1000;

/** Every second: elements with data-since show the time since; data-until the time left. */
function tick() {
  const now = serverNow();
  for (const el of document.querySelectorAll("[data-since]")) {
    el.textContent = clock(now - Number(el.dataset.since));
  }
  for (const el of document.querySelectorAll("[data-until]")) {
    const left = Number(el.dataset.until) - now;
    el.textContent = clock(Math.max(0, Math.ceil(left)));
    el.classList.toggle("urgent", left < 10);
  }
  document.dispatchEvent(new CustomEvent("tick", { detail: now }));
}
setInterval(tick, 1000);
export const tickNow = tick;

// --- notices ------------------------------------------------------------------------------------
export function notify(message, kind = "info", ms = 5000) {
  let box = $("#toasts");
  if (!box) {
    box = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const item = h("div", { class: `toast toast-${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), ms);
}

/** Say something to screen-reader users at once (an offer arriving), without showing it. */
export function announce(message) {
  let region = $("#sr-announcer");
  if (!region) {
    region = h("div", { id: "sr-announcer", class: "sr-only", role: "alert", "aria-live": "assertive" });
    document.body.append(region);
  }
  region.textContent = "";
  setTimeout(() => (region.textContent = message), 50);
}

/** A readable message for an error: the translated code when known, else the API's message. */
export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return t("error.network");
    const key = `error.${err.code}`;
    if (has(key)) return t(key);
    return err.message || t("error.generic");
  }
  return (err && err.message) || t("error.generic");
}

export function fail(err) {
  if (err && err.name === "AbortError") return;
  if (err instanceof ApiError && err.status === 401) return; // on the way to the login page
  console.error(err);
  notify(errorText(err), "error", 8000);
}

// --- states ---------------------------------------------------------------------------------------
export const AGENT_STATES = ["ready", "reserved", "busy", "wrap_up", "not_ready", "logged_out"];

export function stateBadge(state, extra = "") {
  return h("span", { class: `state state-${state}`, dataset: { state } }, h("span", { class: "dot", "aria-hidden": "true" }), t(`state.${state}`), extra);
}

export function reasonText(reason) {
  if (!reason) return "";
  const key = `reason.${reason}`;
  return has(key) ? t(key) : reason;
}

// --- forms ------------------------------------------------------------------------------------------
/** Show an API error on a form: field problems next to their fields, the rest on top. */
export function showErrors(form, err) {
  clearErrors(form);
  let box = $(".form-error", form);
  if (!box) {
    box = h("div", { class: "form-error", role: "alert", tabindex: "-1" });
    form.prepend(box);
  }
  const general = [];
  let problems = err instanceof ApiError ? [...(err.problems || [])] : [];
  // Configuration errors say "where: problem" in the message (e.g. "queue.service_level.target: …").
  if (!problems.length && err instanceof ApiError && err.status === 422) {
    const m = /^([\w.[\]-]+): (.+)$/.exec(err.message || "");
    if (m) problems = [{ where: m[1], problem: m[2] }];
  }
  const lookup = (where) => {
    const path = String(where || "").replace(/^(body|queue)\./, "").replace(/\[\d+\]/g, "");
    const candidates = [path, path.split(".").slice(0, 2).join("."), path.split(".")[0], path.split(".").pop()];
    for (const name of candidates) {
      const el = name && form.elements.namedItem(name);
      if (el && el.closest) return el;
      if (el && el.length && el[0].closest) return el[0];
    }
    return null;
  };
  let placed = 0;
  for (const p of problems) {
    const control = lookup(p.where);
    if (control) {
      const wrap = control.closest(".field") || control.parentElement;
      control.setAttribute("aria-invalid", "true");
      const msg = h("p", { class: "field-error", id: `${control.id || control.name}-error` }, p.problem);
      if (control.dataset.describedby === undefined) control.dataset.describedby = control.getAttribute("aria-describedby") || "";
      control.setAttribute("aria-describedby", `${control.dataset.describedby} ${msg.id}`.trim());
      wrap.append(msg);
      placed += 1;
    } else {
      general.push(p.where ? `${p.where}: ${p.problem}` : p.problem);
    }
  }
  box.textContent = general.length ? general.join("; ") : placed ? t("form.fix") : errorText(err);
  box.hidden = false;
  const first = $("[aria-invalid=true]", form);
  (first || box).focus?.();
}

export function clearErrors(form) {
  for (const el of $$(".field-error", form)) el.remove();
  for (const el of $$("[aria-invalid]", form)) {
    el.removeAttribute("aria-invalid");
    if (el.dataset.describedby) el.setAttribute("aria-describedby", el.dataset.describedby);
    else el.removeAttribute("aria-describedby");
    delete el.dataset.describedby;
  }
  const box = $(".form-error", form);
  if (box) {
    box.textContent = "";
    box.hidden = true;
  }
}

/** A labelled field: field(t("x"), input, hint). */
export function field(label, control, hint) {
  if (!control.id) control.id = `f-${Math.random().toString(36).slice(2, 9)}`;
  const kids = [h("label", { for: control.id }, label), control];
  if (hint) {
    const hid = `${control.id}-hint`;
    control.setAttribute("aria-describedby", hid);
    kids.push(h("p", { class: "hint", id: hid }, hint));
  }
  return h("div", { class: "field" }, kids);
}

/** Run an async action from a button: disabled while it runs, errors as notices. */
export async function busy(button, fn) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (err) {
    fail(err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** A modal dialog (native <dialog>); returns {dialog, body, close}. */
export function modal(title, content, { wide = false } = {}) {
  const titleId = `dlg-${Math.random().toString(36).slice(2, 9)}`;
  const dialog = h(
    "dialog",
    { class: `modal${wide ? " wide" : ""}`, "aria-labelledby": titleId },
    h(
      "div",
      { class: "modal-head" },
      h("h2", { id: titleId }, title),
      h("button", { class: "icon-btn", type: "button", "aria-label": t("common.close"), onclick: () => dialog.close() }, "×"),
    ),
    h("div", { class: "modal-body" }, content),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close: () => dialog.close() };
}

// --- the page frame ---------------------------------------------------------------------------
const PAGE_PATHS = { agent: "/agent", wallboard: "/wallboard", portal: "/portal", admin: "/admin" };

function logo() {
  return s(
    "svg",
    { viewBox: "0 0 32 32", width: "28", height: "28", "aria-hidden": "true", class: "logo" },
    s("rect", { x: "1", y: "1", width: "30", height: "30", rx: "8", fill: "currentColor" }),
    s("path", { d: "M10 16a6 6 0 1 1 12 0", fill: "none", stroke: "#fff", "stroke-width": "2.6", "stroke-linecap": "round" }),
    s("rect", { x: "7.5", y: "15", width: "4.5", height: "7", rx: "2", fill: "#fff" }),
    s("rect", { x: "20", y: "15", width: "4.5", height: "7", rx: "2", fill: "#fff" }),
    s("path", { d: "M22 22c0 2-2 3-5 3", fill: "none", stroke: "#fff", "stroke-width": "1.8", "stroke-linecap": "round" }),
  );
}

export function langSwitch() {
  const group = h("div", { class: "lang-switch", role: "group", "aria-label": t("common.language") });
  const render = () => {
    group.setAttribute("aria-label", t("common.language"));
    fill(
      group,
      LANGUAGES.map((l) =>
        h(
          "button",
          {
            type: "button",
            class: "lang",
            dataset: { lang: l },
            lang: l,
            "aria-pressed": String(l === currentLang()),
            title: t(`lang.${l}`),
            onclick: () => setLang(l),
          },
          l.toUpperCase(),
        ),
      ),
    );
  };
  render();
  document.addEventListener("langchange", render);
  return group;
}

/** Build the top bar for a logged-in page; returns a function to show the live status. */
export function header(me, page) {
  const bar = $("#app-header");
  // Shown only on pages with a live stream, once they report its status.
  const live = h("span", { class: "live", dataset: { status: "" }, role: "status", hidden: true });
  const render = () => {
    fill(
      bar,
      h("a", { class: "brand", href: "/" }, logo(), h("span", {}, "centrale")),
      h(
        "nav",
        { class: "nav", "aria-label": t("nav.label") },
        pagesFor(me).map((p) =>
          h("a", { href: PAGE_PATHS[p], class: p === page ? "active" : "", "aria-current": p === page ? "page" : false }, t(`nav.${p}`)),
        ),
      ),
      h(
        "div",
        { class: "topbar-end" },
        live,
        langSwitch(),
        h(
          "span",
          { class: "who", title: me.accounts.length ? me.accounts.join(", ") : "" },
          h("span", { class: "who-name" }, me.username),
          h("span", { class: "who-role" }, t(`role.${me.role}`)),
        ),
        h("button", { class: "btn btn-ghost btn-sm", type: "button", onclick: () => logout() }, t("common.logout")),
      ),
    );
    if (live.dataset.status) setLive(live.dataset.status);
  };
  const setLive = (status) => {
    live.dataset.status = status;
    live.textContent = t(`live.${status}`);
    live.hidden = false;
  };
  render();
  document.addEventListener("langchange", render);
  return setLive;
}

/** The common start of a page: texts, then the session (401 → login). */
export async function start() {
  await initI18n();
}

export function noAccess(main, me, home) {
  fill(
    main,
    h(
      "section",
      { class: "empty-state card" },
      h("h1", {}, t("common.no_access")),
      h("p", {}, t("common.no_access_text", { role: t(`role.${me.role}`) })),
      h("a", { class: "btn btn-primary", href: home }, t("common.go_home")),
    ),
  );
}

/**
 * ARIA tabs: buttons in `list` for `names`, panels `#panel-<name>`; the choice is kept in the URL
 * hash. `onSelect(name)` runs when a tab is shown. Returns {select, render}.
 */
export function tabs(list, names, onSelect, labelKey = (n) => `tab.${n}`) {
  let current = names.includes(location.hash.slice(1)) ? location.hash.slice(1) : names[0];
  const select = (name, focus = false) => {
    current = name;
    for (const n of names) {
      const tab = document.getElementById(`tab-${n}`);
      const panel = document.getElementById(`panel-${n}`);
      const on = n === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      if (panel) panel.hidden = !on;
      if (on && focus) tab.focus();
    }
    if (location.hash.slice(1) !== name) history.replaceState(null, "", `#${name}`);
    onSelect(name);
  };
  const render = () => {
    fill(
      list,
      names.map((n) =>
        h(
          "button",
          {
            type: "button",
            role: "tab",
            id: `tab-${n}`,
            "aria-controls": `panel-${n}`,
            dataset: { tab: n },
            onclick: () => select(n),
            onkeydown: (e) => {
              const i = names.indexOf(n);
              let j = null;
              if (e.key === "ArrowRight") j = (i + 1) % names.length;
              else if (e.key === "ArrowLeft") j = (i - 1 + names.length) % names.length;
              else if (e.key === "Home") j = 0;
              else if (e.key === "End") j = names.length - 1;
              if (j !== null) {
                e.preventDefault();
                select(names[j], true);
              }
            },
          },
          t(labelKey(n)),
        ),
      ),
    );
    for (const n of names) {
      const tab = document.getElementById(`tab-${n}`);
      tab.setAttribute("aria-selected", String(n === current));
      tab.tabIndex = n === current ? 0 : -1;
    }
  };
  render();
  return { select, render, current: () => current };
}

/** A table from rows: columns [{key, label, format?, class?}]. */
export function table(columns, rows, { caption, rowAttrs, empty } = {}) {
  if (!rows.length && empty) return h("p", { class: "muted empty" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table" },
      caption ? h("caption", { class: "sr-only" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class || "" }, c.label)))),
      h(
        "tbody",
        {},
        rows.map((r) =>
          h(
            "tr",
            rowAttrs ? rowAttrs(r) : {},
            columns.map((c) => {
              const v = c.format ? c.format(r[c.key], r) : r[c.key];
              return h("td", { class: c.class || "" }, v === null || v === undefined || v === "" ? "–" : v);
            }),
          ),
        ),
      ),
    ),
  );
}

/** Today's date as yyyy-mm-dd in the browser's zone (for <input type=date>). */
export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}
