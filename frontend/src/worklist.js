/**
 * The worklist page is rendered by Django; this script only sends reads still waiting in the
 * outbox (a reading page closed before its read reached the server), then refreshes the page
 * so the progress shown includes them.
 */
import { setCsrfToken } from './lib/api.js';
import { readConfig } from './lib/config.js';
import { hideBanner, showBanner } from './lib/dom.js';
import { outboxAll, outboxSend } from './lib/outbox.js';

async function flushOutbox() {
  const config = readConfig('worklist-config');
  setCsrfToken(config.csrfToken);
  // Only this reader's: a read another reader left on this computer is theirs to send.
  const waiting = outboxAll(config.readerScope);
  const banner = document.querySelector('#outbox-banner');
  if (!waiting.length || !banner) return;
  showBanner(banner, `Sending ${waiting.length} read(s) that had not reached the server yet…`, { kind: 'warning' });
  const problems = [];
  for (const entry of waiting) {
    try {
      await outboxSend(entry, {
        onWaiting: (error, delay) =>
          showBanner(
            banner,
            `${waiting.length} read(s) are kept on this computer and not yet saved (${error.message}). ` +
              `Trying again in ${Math.round(delay / 1000)} s. Do not close this page.`,
            { kind: 'warning' },
          ),
      });
    } catch (error) {
      problems.push(`case ${entry.body.case}: ${error.message}`);
    }
  }
  if (problems.length) {
    showBanner(banner, `Some waiting reads were refused by the server: ${problems.join('; ')}`);
    return;
  }
  hideBanner(banner);
  window.location.reload();
}

flushOutbox();
