/* A sign-in that waits its turn. When many readers sign in at once (the start of a reading
   session) the server checks a few passwords at a time and answers the others 503 with
   Retry-After ("Many readers are signing in..."). This script sends the form itself and, on
   a 503, sends the same form again after Retry-After seconds (and a random second, so that
   the refused readers do not all come back at once), with the password the reader typed:
   it stays in this page's memory and is never sent back by the server. Any other answer is
   shown as the browser would show it: a redirect is followed, a page (wrong password,
   lockout) replaces this one.

   Without this script the form is a plain form and a refused reader types the password
   again. Loaded as a file: the page's CSP allows no inline script. */
(() => {
  "use strict";

  const MAX_TRIES = 20;
  const MAX_WAIT_S = 60;

  const form = document.querySelector("form[data-signin]");
  const note = document.getElementById("signin-retry");
  if (!form || !note || !window.fetch) return;
  const button = form.querySelector("button[type=submit]");

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function countdown(seconds) {
    note.hidden = false;
    const end = Date.now() + seconds * 1000;
    for (let left = Math.ceil(seconds); left > 0; left = Math.ceil((end - Date.now()) / 1000)) {
      note.textContent = "Many readers are signing in at this moment. Trying again in "
        + `${left} s with the password you typed.`;
      await sleep(Math.min(1000, end - Date.now()));
    }
    note.textContent = "Signing in...";
  }

  function show(html) {
    document.open();
    document.write(html);
    document.close();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    const body = new FormData(form);
    let response;
    try {
      for (let attempt = 1; ; attempt += 1) {
        response = await fetch(form.action, { method: "POST", body, credentials: "same-origin" });
        if (response.status !== 503 || attempt >= MAX_TRIES) break;
        const asked = Number(response.headers.get("Retry-After")) || 5;
        await countdown(Math.min(MAX_WAIT_S, Math.max(1, asked)) + Math.random());
      }
    } catch {
      // The network failed before an answer: the browser sends the form and shows what it gets.
      button.disabled = false;
      form.submit();
      return;
    }
    if (response.redirected) {
      window.location.assign(response.url);
      return;
    }
    show(await response.text());
  });
})();
