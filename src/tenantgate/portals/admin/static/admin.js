// @ts-check
/**
 * Admin pages: the tab side of the context guard (DESIGN §3).
 *
 * - After an FI switch the landing page tells the admin's other tabs over a
 *   BroadcastChannel. The message names the FI only: no token, no secret.
 * - A tab hearing such a message treats it as an untrusted hint (any same-origin page
 *   can post one): it checks the exact shape, then asks the server which FI the session
 *   acts on, and warns only if the server says it is not the FI this tab shows.
 * - Lock / unlock go out with fetch, naming the FI this tab shows (X-Tenant-Ref); the
 *   server refuses a mismatch with 409 and its message is shown here.
 */
import { csrfToken, notify } from "/static/common/csrf.js";

const CHANNEL = "tenantgate-admin";
const SWITCHED = "tenant-switched";
const MAX_NAME = 200;

const shownRef = document.body.dataset.tenantRef || "";
const shownName = document.body.dataset.tenantName || "";

/**
 * @typedef {{ type: "tenant-switched", tenant: string }} SwitchMessage
 * @param {unknown} data
 * @returns {data is SwitchMessage}
 */
export function isSwitchMessage(data) {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return false;
  if (Object.getPrototypeOf(data) !== Object.prototype) return false;
  const keys = Object.keys(data).sort();
  if (keys.length !== 2 || keys[0] !== "tenant" || keys[1] !== "type") return false;
  const message = /** @type {Record<string, unknown>} */ (data);
  return (
    message.type === SWITCHED &&
    typeof message.tenant === "string" &&
    message.tenant.length > 0 &&
    message.tenant.length <= MAX_NAME
  );
}

/** Ask the server whether the session still acts on the FI this tab shows. */
async function checkContext() {
  const query = new URLSearchParams({ shown: shownRef });
  let answer;
  try {
    const response = await fetch(`/api/context?${query}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) return;
    answer = await response.json();
  } catch {
    return;
  }
  if (typeof answer !== "object" || answer === null || answer.matches === true) return;
  const tenant = answer.tenant;
  if (typeof tenant !== "object" || tenant === null || typeof tenant.name !== "string") return;
  const current = tenant.name.slice(0, MAX_NAME);
  const showed = shownName || "no institution";
  notify(`You switched to ${current} in another tab; this tab showed ${showed}. Reload.`, "error");
  document.body.classList.add("context-changed");
}

/** @param {BroadcastChannel} channel */
function announceSwitch(channel) {
  if (document.body.dataset.announce !== SWITCHED || !shownName) return;
  /** @type {SwitchMessage} */
  const message = { type: SWITCHED, tenant: shownName.slice(0, MAX_NAME) };
  channel.postMessage(message);
  // A reload of this page is not a new switch.
  history.replaceState(null, "", location.pathname);
}

/**
 * @param {HTMLFormElement} form
 * @param {string} status
 */
function showStatus(form, status) {
  const holder = form.closest("[data-customer]");
  if (!(holder instanceof HTMLElement)) return;
  const locked = status === "locked";
  const pill = holder.querySelector("[data-testid=customer-status]");
  if (pill) {
    pill.textContent = locked ? "Locked" : "Active";
    pill.className = `pill ${locked ? "locked" : "active"}`;
  }
  for (const other of holder.querySelectorAll("form[data-status-change]")) {
    if (other instanceof HTMLFormElement) {
      other.hidden = (other.dataset.statusChange === "lock") === locked;
    }
  }
  const name = holder.dataset.name || "The customer";
  notify(`${name} is now ${locked ? "locked" : "active"}.`, "ok");
}

/** @param {HTMLFormElement} form */
async function sendStatusChange(form) {
  const button = form.querySelector("button");
  if (button) button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      body: new FormData(form),
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken(), "X-Tenant-Ref": shownRef },
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok && typeof answer?.customer?.status === "string") {
      showStatus(form, answer.customer.status);
    } else {
      const text = typeof answer?.error_description === "string" ? answer.error_description : "";
      notify(text || "The change could not be made. Reload the page and try again.", "error");
    }
  } catch {
    notify("The portal could not be reached. Try again.", "error");
  } finally {
    if (button) button.disabled = false;
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.statusChange) {
    event.preventDefault();
    void sendStatusChange(form);
  }
});

if ("BroadcastChannel" in window) {
  const channel = new BroadcastChannel(CHANNEL);
  channel.addEventListener("message", (event) => {
    if (isSwitchMessage(event.data) && event.data.tenant !== shownName) void checkContext();
  });
  announceSwitch(channel);
}
