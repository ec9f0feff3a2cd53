/* Live progress on the coordinator's pages (the model's runs, the exports).

   An element with data-poll-url is a job still queued or running. Every POLL_MS the script
   fetches that URL, which answers with the same element as the page's template draws it
   now. While the job runs, only the element's [data-live] parts are swapped in (so a
   Cancel button is never replaced under the pointer); once the answer has no data-poll-url
   the job has ended and the whole element is replaced (its downloads, its reason for
   failing, its Retry button). Loaded as a file: the pages' CSP allows no inline script. */
(() => {
  "use strict";

  const POLL_MS = 1500;
  const MAX_FAILURES = 5;

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function report(element, text) {
    const note = element.querySelector("[data-poll-problem]");
    if (note) {
      note.textContent = text;
      note.hidden = !text;
    }
  }

  function swapLiveParts(element, next) {
    const fresh = next.querySelectorAll("[data-live]");
    const current = element.querySelectorAll("[data-live]");
    if (fresh.length !== current.length) return false;
    current.forEach((part, i) => part.replaceWith(fresh[i]));
    element.dataset.status = next.dataset.status || "";
    return true;
  }

  async function refresh(element, failures) {
    let response = null;
    try {
      response = await fetch(element.dataset.pollUrl, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "text/html" },
      });
    } catch (error) {
      response = null; // offline, or the server is restarting: try again below
    }
    if (response && (response.redirected || response.status === 403 || response.status === 404)) {
      // Signed out (the login page answered), or no longer allowed: polling cannot help.
      report(element, "Progress stopped updating: reload the page (you may need to sign in again).");
      return;
    }
    const next = response && response.ok ? parse(await response.text()) : null;
    if (!next) {
      if (failures + 1 >= MAX_FAILURES) {
        report(element, "Progress stopped updating: the server did not answer. Reload the page to see where it stands.");
        return;
      }
      report(element, "Progress is not updating at the moment; trying again…");
      schedule(element, failures + 1);
      return;
    }
    if (next.dataset.pollUrl && swapLiveParts(element, next)) {
      report(element, "");
      schedule(element, 0);
      return;
    }
    element.replaceWith(next);
    if (next.dataset.pollUrl) schedule(next, 0);
  }

  function schedule(element, failures) {
    window.setTimeout(() => refresh(element, failures), POLL_MS * (failures + 1));
  }

  document.querySelectorAll("[data-poll-url]").forEach((element) => schedule(element, 0));
})();
