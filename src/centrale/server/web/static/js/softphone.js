// The agent's phone: choose the phone to work on (a desk phone or this browser), and the browser
// softphone itself — JsSIP registering over SIP-over-WebSocket, WebRTC audio through rtpengine.
//
// The phone choice and the softphone's SIP credentials come from GET/POST/DELETE
// /api/desktop/phone (an authenticated call; the credential is issued for this phone session and
// stops working when the agent leaves the phone). Nothing secret is in this file. JsSIP is loaded
// only when the browser is the phone, so the desktop works without it (desk phones).

import { api } from "./api.js";
import { t } from "./i18n.js";
import { h, fill, notify, busy, errorText, announce } from "./ui.js";

class Softphone {
  constructor() {
    this.view = null; // the last GET /api/desktop/phone
    this.ua = null; // the JsSIP user agent (softphone only)
    this.uaKey = ""; // which credentials the UA runs with
    this.session = null; // the current JsSIP RTCSession
    this.status = "off"; // off | connecting | registered | unregistered | error
    this.callState = "idle"; // idle | ringing | talking
    this.caller = "";
    this.muted = false;
    this.error = "";
    this.onChange = () => {};
  }

  // --- the panel ------------------------------------------------------------------------------------
  mount(root) {
    this.root = root;
    this.el = {};
    const e = this.el;
    e.status = h("p", { class: "sp-status", id: "sp-status", role: "status", "aria-live": "polite" });
    e.phone = h("p", { class: "sp-phone", id: "sp-current" });
    e.select = h("select", { id: "sp-phone", "aria-label": t("phone.choose") });
    e.browser = h("input", { type: "checkbox", id: "sp-browser", role: "switch", checked: true });
    e.login = h("button", { class: "btn btn-primary", id: "sp-login", type: "button", onclick: (ev) => this.login(ev.currentTarget) }, t("phone.login"));
    e.logout = h("button", { class: "btn btn-ghost", id: "sp-logout", type: "button", onclick: (ev) => this.logout(ev.currentTarget) }, t("phone.logout"));
    e.chooser = h(
      "div",
      { class: "sp-chooser" },
      h("label", { for: "sp-phone" }, t("phone.choose")),
      e.select,
      h("label", { class: "switch", for: "sp-browser" }, e.browser, h("span", { class: "track", "aria-hidden": "true" }), t("phone.in_browser")),
      h("div", { class: "btn-row" }, e.login),
    );
    e.caller = h("strong", { id: "sp-caller", class: "sp-caller" });
    e.callText = h("span", { id: "sp-call-text" });
    e.answer = h("button", { class: "btn btn-success", id: "sp-answer", type: "button", onclick: () => this.answer() }, t("phone.answer"));
    e.hangup = h("button", { class: "btn btn-danger", id: "sp-hangup", type: "button", onclick: () => this.hangup() }, t("phone.hangup"));
    e.mute = h("button", { class: "btn", id: "sp-mute", type: "button", "aria-pressed": "false", onclick: () => this.toggleMute() }, t("phone.mute"));
    e.call = h(
      "div",
      { class: "sp-call", id: "sp-call", "data-state": "idle" },
      h("p", {}, e.callText, " ", e.caller),
      h("div", { class: "btn-row" }, e.answer, e.mute, e.hangup),
    );
    e.audio = h("audio", { id: "sp-audio", autoplay: true });
    fill(root, h("h2", { id: "softphone-title" }, t("phone.title")), e.status, e.phone, e.chooser, h("div", { class: "btn-row" }, e.logout), e.call, e.audio);
    this.render();
  }

  render() {
    if (!this.root) return;
    const e = this.el;
    const v = this.view;
    const status = this.status;
    e.status.dataset.status = status;
    e.status.textContent = v && v.telephony === false ? t("phone.no_telephony") : t(`phone.status_${status}`) + (this.error ? ` — ${this.error}` : "");
    if (v && v.phone) {
      const kind = v.softphone ? t("phone.kind_browser") : t("phone.kind_desk");
      e.phone.textContent = t(v.chosen ? "phone.working_on" : "phone.default_phone", { phone: v.phone, kind });
      e.phone.dataset.phone = v.phone;
    } else {
      e.phone.textContent = v && v.telephony === false ? "" : t("phone.none");
      delete e.phone.dataset.phone;
    }
    const phones = (v && v.phones) || [];
    e.chooser.hidden = !v || v.telephony === false || v.chosen;
    e.logout.hidden = !v || !v.chosen;
    const keep = e.select.value;
    fill(
      e.select,
      phones.map((p) =>
        h("option", { value: p.user, disabled: !p.available }, p.available ? p.user : `${p.user} (${t("phone.in_use_by", { agent: p.held_by })})`),
      ),
    );
    const firstFree = phones.find((p) => p.available);
    e.select.value = keep && phones.some((p) => p.user === keep && p.available) ? keep : (v && v.phone) || (firstFree ? firstFree.user : "");
    const canBrowser = Boolean(v && v.websocket);
    if (canBrowser && e.browser.disabled) e.browser.checked = true; // the default once softphones are on
    e.browser.disabled = !canBrowser;
    if (!canBrowser) e.browser.checked = false;
    // The call.
    e.call.dataset.state = this.callState;
    e.call.hidden = this.callState === "idle";
    e.callText.textContent = this.callState === "ringing" ? t("phone.ringing_from") : this.callState === "talking" ? t("phone.talking_with") : "";
    e.caller.textContent = this.caller;
    e.answer.hidden = this.callState !== "ringing";
    e.mute.hidden = this.callState !== "talking";
    e.mute.setAttribute("aria-pressed", String(this.muted));
    e.mute.textContent = this.muted ? t("phone.unmute") : t("phone.mute");
    e.hangup.textContent = this.callState === "ringing" ? t("phone.decline") : t("phone.hangup");
    this.onChange();
  }

  // --- the phone choice ----------------------------------------------------------------------------------
  async refresh() {
    try {
      this.view = await api("/api/desktop/phone");
    } catch (err) {
      this.view = null;
      this.error = errorText(err);
      this.status = "error";
      this.render();
      return;
    }
    this.apply();
  }

  apply() {
    const v = this.view;
    const sip = v && v.sip;
    const key = sip ? `${sip.ws}|${sip.uri}|${sip.password}` : "";
    if (key !== this.uaKey) {
      this.stopUa();
      this.uaKey = key;
      if (sip) this.startUa(sip, key);
    }
    if (!sip) this.status = v && v.registered ? "registered" : v && v.phone ? "unregistered" : "off";
    this.render();
  }

  async login(button) {
    const phone = this.el.select.value;
    if (!phone) {
      notify(t("phone.pick"), "warning");
      return;
    }
    const view = await busy(button, () => api("/api/desktop/phone", { method: "POST", body: { phone, softphone: this.el.browser.checked } }));
    if (view) {
      this.view = view;
      this.error = "";
      this.apply();
    }
  }

  async logout(button) {
    const view = await busy(button, () => api("/api/desktop/phone", { method: "DELETE" }));
    if (view) {
      this.view = view;
      this.apply();
    }
  }

  // --- JsSIP -------------------------------------------------------------------------------------------
  async startUa(sip, key) {
    this.status = "connecting";
    this.error = "";
    let ua;
    try {
      const { default: JsSIP } = await import("../vendor/jssip.js");
      if (this.uaKey !== key || this.ua) return; // the phone changed while loading
      ua = new JsSIP.UA({
        sockets: [new JsSIP.WebSocketInterface(sip.ws)],
        uri: sip.uri,
        authorization_user: sip.user,
        password: sip.password,
        realm: sip.realm,
        register: true,
        register_expires: 300,
        session_timers: false,
        user_agent: "centrale softphone",
      });
    } catch (err) {
      this.set("error", String(err.message || err));
      return;
    }
    this.ua = ua;
    const mine = (fn) => (...args) => {
      if (this.ua === ua) fn(...args);
    };
    ua.on("connecting", mine(() => this.set("connecting")));
    ua.on("disconnected", mine(() => this.set("error", t("phone.no_connection"))));
    ua.on("registered", mine(() => this.set("registered")));
    ua.on("unregistered", mine(() => this.set("unregistered")));
    ua.on("registrationFailed", mine((ev) => this.set("error", `${t("phone.refused")} (${ev.cause})`)));
    ua.on("newRTCSession", mine((ev) => this.incoming(ev)));
    ua.start();
  }

  stopUa() {
    if (this.session) {
      try {
        this.session.terminate();
      } catch {
        // already ended
      }
    }
    this.session = null;
    this.callState = "idle";
    if (this.ua) {
      const ua = this.ua;
      this.ua = null;
      ua.stop(); // unregisters, then closes the WebSocket
    }
    this.status = "off";
  }

  set(status, error = "") {
    this.status = status;
    this.error = error;
    this.render();
  }

  incoming(ev) {
    const session = ev.session;
    if (ev.originator !== "remote") return;
    if (this.session) {
      session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
      return;
    }
    this.session = session;
    this.callState = "ringing";
    this.muted = false;
    const from = ev.request.from;
    this.caller = (from && (from.display_name || (from.uri && from.uri.user))) || t("agent.unknown_contact");
    announce(t("phone.announce_ringing", { caller: this.caller }));
    const done = () => {
      if (this.session !== session) return;
      this.session = null;
      this.callState = "idle";
      this.caller = "";
      this.muted = false;
      this.el.audio.srcObject = null;
      this.render();
    };
    session.on("peerconnection", (pe) => {
      pe.peerconnection.addEventListener("track", (te) => {
        this.el.audio.srcObject = te.streams[0] || new MediaStream([te.track]);
      });
    });
    session.on("accepted", () => {
      if (this.session !== session) return;
      this.callState = "talking";
      this.render();
    });
    session.on("ended", done);
    session.on("failed", done);
    this.render();
  }

  /** The agent works on this browser's softphone. */
  inBrowser() {
    return Boolean(this.view && this.view.softphone);
  }

  /** A call rings in the browser now (the desktop's Accept answers it here). */
  ringing() {
    return this.callState === "ringing" && Boolean(this.session);
  }

  answer() {
    if (!this.ringing()) return false;
    try {
      // STUN/TURN as the server says (TURN credentials from the latest view: they expire).
      const sip = (this.view && this.view.sip) || {};
      const pcConfig = { iceServers: sip.ice_servers || [], iceTransportPolicy: sip.ice_transport_policy || "all" };
      this.session.answer({ mediaConstraints: { audio: true, video: false }, pcConfig });
    } catch (err) {
      notify(`${t("phone.answer_failed")}: ${err.message || err}`, "error");
      return false;
    }
    return true;
  }

  hangup() {
    if (!this.session) return;
    try {
      this.session.terminate();
    } catch {
      // already ended
    }
  }

  toggleMute() {
    if (!this.session || this.callState !== "talking") return;
    this.muted = !this.muted;
    if (this.muted) this.session.mute({ audio: true });
    else this.session.unmute({ audio: true });
    this.render();
  }
}

export const softphone = new Softphone();

/** Set up the phone panel in `root` (the desktop's #softphone section). */
export async function startSoftphone(root) {
  softphone.mount(root);
  await softphone.refresh();
  window.addEventListener("beforeunload", () => softphone.stopUa());
  return softphone;
}

/** Re-read the phone when the agent's state changes (logging out of the ACD releases the phone). */
let lastState = null;
export function agentStateIs(state) {
  if (lastState !== null && state !== lastState) softphone.refresh();
  lastState = state;
}
