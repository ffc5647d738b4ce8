// The JSON API of the same origin: session, CSRF token, errors in one shape, 401 → login page.

let csrf = null;

/** An error answered by the API: `{"error": {"code", "message", "problems"?}}`. */
export class ApiError extends Error {
  constructor(status, code, message, problems = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.problems = problems;
  }
}

export function setCsrf(token) {
  csrf = token || null;
}

/** Go to the login page, coming back here afterwards. */
export function toLogin() {
  const here = location.pathname + location.search;
  location.assign(here === "/" ? "/" : `/?next=${encodeURIComponent(here)}`);
}

/**
 * Call the API. `body` is sent as JSON (or as is when it is a Blob/FormData/string with `type`).
 * Resolves to the parsed JSON (null for 204); rejects with ApiError. A 401 sends the browser to
 * the login page unless `login: false`.
 */
export async function api(path, { method = "GET", body, type, login = true, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (!["GET", "HEAD", "OPTIONS"].includes(method) && csrf) headers["X-CSRF-Token"] = csrf;
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body instanceof Blob || typeof body === "string") {
    payload = body;
    headers["Content-Type"] = type || body.type || "text/plain";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: "same-origin", signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network", err.message || "network error");
  }
  if (response.status === 401 && login) {
    toLogin();
    throw new ApiError(401, "auth.required", "log in first");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(response.status, e.code || "http.error", e.message || response.statusText, e.problems || []);
  }
  return data;
}

/** The logged-in user (`/api/me`), remembering the session's CSRF token. */
export async function session({ login = true } = {}) {
  const me = await api("/api/me", { login });
  setCsrf(me.csrf);
  return me;
}

export async function logout() {
  try {
    await api("/api/logout", { method: "POST", login: false });
  } finally {
    setCsrf(null);
    location.assign("/");
  }
}

export const can = (me, permission) => Boolean(me && me.permissions && me.permissions.includes(permission));

/** Where a user lands after logging in. */
export function homeFor(me) {
  if (me.role === "agent") return "/agent";
  if (me.role === "viewer") return "/portal";
  return "/wallboard";
}

/** The pages a user may open, in menu order. */
export function pagesFor(me) {
  const pages = [];
  if (me.agent && can(me, "desktop")) pages.push("agent");
  if (me.role !== "viewer" && can(me, "reports.read")) pages.push("wallboard");
  if (can(me, "interactions.read")) pages.push("portal");
  if (can(me, "config.write")) pages.push("admin");
  return pages;
}

/** A safe local path from `?next=` (never another origin). */
export function nextPath() {
  const next = new URLSearchParams(location.search).get("next");
  if (next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\")) return next;
  return null;
}

/** Server-sent events with a callback per event name; tells `onState` "live" / "reconnecting". */
export function subscribe(path, handlers, onState = () => {}) {
  let source = null;
  let retry = 1000;
  let stopped = false;
  const open = () => {
    source = new EventSource(path);
    source.onopen = () => {
      retry = 1000;
      onState("live");
    };
    for (const [name, fn] of Object.entries(handlers)) {
      source.addEventListener(name, (ev) => {
        let data = null;
        try {
          data = JSON.parse(ev.data);
        } catch {
          /* a nudge without a body */
        }
        fn(data);
      });
    }
    source.onerror = async () => {
      onState("reconnecting");
      if (source.readyState !== EventSource.CLOSED || stopped) return;
      // The server refused the stream (e.g. the session expired): check, then reopen.
      try {
        await session();
      } catch {
        return;
      }
      setTimeout(() => !stopped && open(), retry);
      retry = Math.min(retry * 2, 15000);
    };
  };
  open();
  return () => {
    stopped = true;
    source?.close();
  };
}
