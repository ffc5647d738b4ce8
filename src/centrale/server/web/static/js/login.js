// The login page: log in, then go where the role works (or back to ?next=).

import { api, session, setCsrf, homeFor, nextPath, ApiError } from "./api.js";
import { initI18n, t } from "./i18n.js";
import { $, langSwitch, showErrors, clearErrors } from "./ui.js";

function go(me) {
  location.replace(nextPath() || homeFor(me));
}

async function main() {
  await initI18n();
  $("#login-top").append(langSwitch());
  try {
    const me = await session({ login: false });
    go(me);
    return;
  } catch {
    /* not logged in: show the form */
  }
  // The button stays disabled until this handler is in place, so a quick Enter never submits the
  // form natively (the password would end up in a request the API does not expect).
  const form = $("#login-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const username = form.elements.username.value.trim();
    const password = form.elements.password.value;
    if (!username || !password) {
      showErrors(form, new ApiError(422, "request.invalid", t("login.missing"), []));
      (username ? form.elements.password : form.elements.username).focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const me = await api("/api/login", { method: "POST", body: { username, password }, login: false });
      setCsrf(me.csrf);
      go(me);
    } catch (err) {
      showErrors(form, err);
      form.elements.password.select();
    } finally {
      button.disabled = false;
    }
  });
  form.querySelector("button[type=submit]").disabled = false;
  form.dataset.ready = "true";
}

main();
