// @ts-check
/** Helpers every portal page shares: the CSRF token and JSON calls that carry it. */

/** @returns {string} the session's CSRF token from the page's meta tag */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta instanceof HTMLMetaElement ? meta.content : "";
}

/**
 * POST JSON with the CSRF header; resolves to the response (callers check status).
 * @param {string} url
 * @param {Record<string, unknown>} body
 * @param {Record<string, string>} [headers]
 * @returns {Promise<Response>}
 */
export function postJSON(url, body, headers = {}) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken(), ...headers },
    body: JSON.stringify(body),
  });
}

/**
 * Show a message in the page's notice area.
 * @param {string} text
 * @param {"warn" | "error" | "ok"} [kind]
 */
export function notify(text, kind = "warn") {
  const notice = document.getElementById("notice");
  if (!notice) return;
  notice.textContent = text;
  notice.className = kind === "warn" ? "notice" : `notice ${kind}`;
  notice.hidden = false;
}
