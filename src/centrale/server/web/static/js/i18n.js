// Texts and formats: a dictionary per language (static/i18n/<lang>.json), Intl for numbers and times.

export const LANGUAGES = ["nl", "en"];
const STORE = "centrale.lang";
const dicts = {};
let lang = "en";

function preferred() {
  const stored = localStorage.getItem(STORE);
  if (LANGUAGES.includes(stored)) return stored;
  for (const l of navigator.languages || [navigator.language || "en"]) {
    const base = String(l).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

async function load(l) {
  if (!dicts[l]) {
    const r = await fetch(`/static/i18n/${l}.json`, { credentials: "same-origin" });
    dicts[l] = r.ok ? await r.json() : {};
  }
  return dicts[l];
}

export async function initI18n() {
  lang = preferred();
  await Promise.all([load(lang), load("en")]);
  document.documentElement.lang = lang;
  translate(document);
}

export const currentLang = () => lang;

/** Switch language: remembered, applied to static texts, and announced ("langchange") for re-renders. */
export async function setLang(l) {
  if (!LANGUAGES.includes(l)) return;
  await load(l);
  lang = l;
  localStorage.setItem(STORE, l);
  document.documentElement.lang = l;
  translate(document);
  document.dispatchEvent(new CustomEvent("langchange", { detail: l }));
}

/** The text for `key`, with `{name}` placeholders filled from `params`. Falls back to English, then the key. */
export function t(key, params) {
  let s = dicts[lang]?.[key] ?? dicts.en?.[key];
  if (s === undefined) return params && params.fallback !== undefined ? params.fallback : key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] !== undefined ? String(params[k]) : m));
  return s;
}

/** A count in words: `key.one` / `key.other` (by the language's plural rules), with {n} filled in. */
export function plural(key, n, params = {}) {
  const rule = new Intl.PluralRules(lang === "nl" ? "nl-NL" : "en-GB").select(n);
  const k = has(`${key}.${rule}`) ? `${key}.${rule}` : `${key}.other`;
  return t(k, { n: num(n), ...params });
}

/** Whether a dictionary has `key` (for optional texts, e.g. error codes). */
export const has = (key) => dicts[lang]?.[key] !== undefined || dicts.en?.[key] !== undefined;

/** Apply `data-i18n` (text), `data-i18n-placeholder`, `-title` and `-aria-label` under `root`. */
export function translate(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const [attr, data] of [["placeholder", "i18nPlaceholder"], ["title", "i18nTitle"], ["aria-label", "i18nAriaLabel"]]) {
    for (const el of root.querySelectorAll(`[data-${attr === "aria-label" ? "i18n-aria-label" : `i18n-${attr}`}]`)) {
      el.setAttribute(attr, t(el.dataset[data]));
    }
  }
  const title = document.querySelector("meta[name=page-title]");
  if (title) document.title = `${t(title.content)} · centrale`;
}

// --- formats ---------------------------------------------------------------------------------
const locale = () => (lang === "nl" ? "nl-NL" : "en-GB");

export function num(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(value);
}

/** A fraction 0–1 as a percentage. */
export function pct(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: digits }).format(value);
}

/** Seconds as m:ss or h:mm:ss (a clock, for time in state and waiting times). */
export function clock(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const two = (n) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/** Seconds as a short amount ("42 s", "3,5 min"), for averages. */
export function secs(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  if (seconds < 120) return new Intl.NumberFormat(locale(), { style: "unit", unit: "second", unitDisplay: "short", maximumFractionDigits: 0 }).format(seconds);
  return new Intl.NumberFormat(locale(), { style: "unit", unit: "minute", unitDisplay: "short", maximumFractionDigits: 1 }).format(seconds / 60);
}

/** Epoch seconds → a local time (hh:mm) or, with `date`, a date and time. */
export function time(epoch, { date = false, seconds = false } = {}) {
  if (epoch === null || epoch === undefined) return "–";
  const opts = { hour: "2-digit", minute: "2-digit" };
  if (seconds) opts.second = "2-digit";
  if (date) Object.assign(opts, { year: "numeric", month: "short", day: "numeric" });
  return new Intl.DateTimeFormat(locale(), opts).format(new Date(epoch * 1000));
}

export function dateOnly(epochOrDate) {
  const d = epochOrDate instanceof Date ? epochOrDate : new Date(epochOrDate * 1000);
  return new Intl.DateTimeFormat(locale(), { weekday: "long", year: "numeric", month: "long", day: "numeric" }).format(d);
}

/** A list in the language's way ("a, b and c"). */
export function list(items) {
  return new Intl.ListFormat(locale(), { style: "long", type: "conjunction" }).format(items);
}
