// Queue tiles: waiting, longest wait, service level today against the target, abandons, ASA, agents.

import { h } from "./ui.js";
import { t, num, pct, clock, secs } from "./i18n.js";

const STATE_ORDER = ["ready", "reserved", "busy", "wrap_up", "not_ready"];

function agentsOf(tile, snapshot) {
  // The tile's own counts when the server gives them; otherwise the agents of the queue's account.
  if (tile.agents_by_state) return tile.agents_by_state;
  const counts = Object.fromEntries(STATE_ORDER.map((st) => [st, 0]));
  for (const a of snapshot.agents || []) {
    if (a.account === tile.account && a.state in counts) counts[a.state] += 1;
  }
  return counts;
}

export function queueTile(tile, snapshot) {
  const sl = tile.service_level;
  const slBar = h("div", { class: "bar-fill" });
  slBar.style.width = `${Math.round((sl ?? 0) * 100)}%`;
  const marker = h("span", { class: "bar-target", title: t("tile.target", { target: pct(tile.sl_target) }) });
  marker.style.left = `${Math.round(tile.sl_target * 100)}%`;
  const longest = h("span", { class: "value", dataset: { field: "longest" } }, clock(tile.longest_wait));
  if (tile.waiting > 0) longest.dataset.since = String(snapshot.at - tile.longest_wait);
  const counts = agentsOf(tile, snapshot);
  const accountName = (snapshot.accounts || {})[tile.account] || tile.account;
  return h(
    "article",
    {
      class: `tile${tile.breach ? " breach" : ""}`,
      dataset: { queue: tile.id, breach: String(Boolean(tile.breach)) },
      "aria-labelledby": `tile-${tile.id}`,
    },
    h(
      "header",
      { class: "tile-head" },
      h("div", {}, h("h3", { id: `tile-${tile.id}` }, tile.name), h("p", { class: "tile-sub" }, `${accountName} · ${t(`channel.${tile.channel}`, { fallback: tile.channel })}`)),
      tile.breach ? h("span", { class: "pill pill-danger", title: t("tile.breach") }, h("span", { "aria-hidden": "true" }, "⚠"), t("tile.breach_short")) : null,
    ),
    h(
      "div",
      { class: "tile-main" },
      h(
        "div",
        { class: "kpi kpi-waiting" },
        h("span", { class: "big", dataset: { field: "waiting", value: String(tile.waiting) } }, num(tile.waiting)),
        h("span", { class: "label" }, t("tile.waiting")),
      ),
      h("div", { class: "kpi" }, longest, h("span", { class: "label" }, t("tile.longest_wait"))),
    ),
    h(
      "div",
      { class: `sl${sl !== null && sl < tile.sl_target ? " below" : ""}` },
      h(
        "div",
        { class: "sl-head" },
        h("span", {}, t("tile.sl_today")),
        h("strong", { dataset: { field: "sl" } }, pct(sl)),
        h("span", { class: "muted" }, t("tile.target", { target: pct(tile.sl_target) })),
      ),
      h(
        "div",
        {
          class: "bar",
          role: "meter",
          "aria-label": t("tile.sl_today"),
          "aria-valuemin": "0",
          "aria-valuemax": "100",
          "aria-valuenow": sl === null ? "0" : String(Math.round(sl * 100)),
        },
        slBar,
        marker,
      ),
      h("p", { class: "hint" }, t("tile.sl_rule", { seconds: num(tile.sl_threshold) })),
    ),
    h(
      "dl",
      { class: "tile-stats" },
      [
        ["tile.offered", num(tile.offered)],
        ["tile.answered", num(tile.answered)],
        ["tile.abandon", pct(tile.abandon_rate, 1)],
        ["tile.asa", secs(tile.asa)],
        ["tile.aht", secs(tile.aht)],
      ].map(([k, v]) => h("div", {}, h("dt", {}, t(k)), h("dd", {}, v))),
    ),
    h(
      "div",
      { class: "tile-agents", "aria-label": t("tile.agents") },
      STATE_ORDER.map((st) => h("span", { class: `chip state-${st}`, title: t(`state.${st}`) }, h("span", { class: "dot", "aria-hidden": "true" }), `${num(counts[st] || 0)} `, h("span", { class: "chip-label" }, t(`state.${st}`)))),
    ),
  );
}

export function tilesGrid(snapshot) {
  if (!snapshot.queues.length) return h("p", { class: "muted empty" }, t("wallboard.no_queues"));
  return h("div", { class: "tiles" }, snapshot.queues.map((q) => queueTile(q, snapshot)));
}
