/**
 * Page configuration handed over by Django through `json_script` (no inline scripts, so the
 * pages run under a strict Content-Security-Policy).
 */
export function readConfig(elementId) {
  const element = document.getElementById(elementId);
  if (!element) {
    throw new Error(`The page has no #${elementId} configuration block.`);
  }
  return JSON.parse(element.textContent);
}
