// @ts-check
/**
 * One reporting session per browser — the tab's half (DESIGN §3).
 *
 * The server is the guarantee: every API call names the session this page was loaded for
 * (`X-Reporting-Session`) and a call naming any other session gets 409. This module is
 * the user experience on top: a new dashboard announces itself on a BroadcastChannel and
 * older tabs drop their figures at once instead of waiting for their next call.
 *
 * Messages carry only the public session id (no token, no secret) and are untrusted: any
 * same-origin script can post one. So a message must have exactly the expected shape, and
 * even a well-formed one naming another session is confirmed with the server (one cheap
 * call, sent with this tab's own session id) before the tab ends. A forged message
 * therefore changes nothing, and one naming this tab's own session is ignored outright.
 */

export const CHANNEL = "tenantgate-reporting";
const SESSION_ID = /^[A-Za-z0-9_-]+$/;

/**
 * The session id a "session-started" message names, or null for anything malformed.
 * @param {unknown} data the message's data
 * @param {number} idLength the length of a real session id (the page's own)
 * @returns {string | null}
 */
export function announcedSession(data, idLength) {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return null;
  if (Object.getPrototypeOf(data) !== Object.prototype) return null;
  const keys = Object.keys(data);
  if (keys.length !== 2 || !keys.includes("type") || !keys.includes("session")) return null;
  const record = /** @type {Record<string, unknown>} */ (data);
  if (record.type !== "session-started") return null;
  const session = record.session;
  if (typeof session !== "string" || session.length !== idLength) return null;
  return SESSION_ID.test(session) ? session : null;
}

export class SessionGuard {
  /**
   * @param {string} sessionId the public id of the session this page was loaded for
   * @param {() => void} onEnded called once, when this tab's session is no longer current
   */
  constructor(sessionId, onEnded) {
    this.sessionId = sessionId;
    this.onEnded = onEnded;
    this.ended = false;
    /** @type {BroadcastChannel | null} */
    this.channel = null;
    /** @type {Promise<void> | null} */
    this.confirming = null;
    this.inflight = new AbortController();
  }

  /** Listen for newer sessions, then announce this one to older tabs. */
  start() {
    if (!this.sessionId || !SESSION_ID.test(this.sessionId)) {
      this.end();
      return;
    }
    if (typeof BroadcastChannel === "function") {
      this.channel = new BroadcastChannel(CHANNEL);
      this.channel.addEventListener("message", (event) => this.onMessage(event.data));
      this.channel.postMessage({ type: "session-started", session: this.sessionId });
    }
    // A tab that slept through a message still learns of it when the user comes back.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !this.ended) void this.confirm();
    });
  }

  /** @param {unknown} data */
  onMessage(data) {
    if (this.ended) return;
    const named = announcedSession(data, this.sessionId.length);
    if (named === null || named === this.sessionId) return; // malformed, or this tab's own
    void this.confirm();
  }

  /** Ask the server whether this page's session is still the browser's; end if not. */
  confirm() {
    if (this.confirming) return this.confirming;
    this.confirming = (async () => {
      const response = await this.fetchRaw("/api/session");
      if (response && response.ok) {
        console.warn("Ignored a session announcement the server does not confirm.");
      } else if (!this.ended) {
        this.end();
      }
    })().finally(() => {
      this.confirming = null;
    });
    return this.confirming;
  }

  /**
   * A GET of this portal's API naming this page's session; null once the session ended.
   * @param {string} url
   * @returns {Promise<Response | null>}
   */
  async api(url) {
    if (this.confirming) await this.confirming;
    if (this.ended) return null;
    const response = await this.fetchRaw(url);
    if (response === null || this.ended) return null;
    if (response.status === 409 || response.status === 401) {
      this.end();
      return null;
    }
    return response;
  }

  /**
   * @param {string} url
   * @returns {Promise<Response | null>}
   */
  async fetchRaw(url) {
    if (this.ended) return null;
    try {
      return await fetch(url, {
        credentials: "same-origin",
        headers: { "X-Reporting-Session": this.sessionId, Accept: "application/json" },
        signal: this.inflight.signal,
      });
    } catch {
      return null; // aborted (the session ended) or offline
    }
  }

  /** Stop every call and tell the page, once. */
  end() {
    if (this.ended) return;
    this.ended = true;
    this.inflight.abort();
    this.channel?.close();
    this.channel = null;
    this.onEnded();
  }
}
