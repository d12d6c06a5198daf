// @ts-check
/**
 * The dashboard: loads the period's figures for this page's session and renders them;
 * when the session is replaced or ends, wipes every figure and says so.
 */
import { notify } from "/static/common/csrf.js";
import { clearActivity, drawActivity } from "./activity_chart.js";
import { SessionGuard } from "./session_guard.js";

/**
 * @typedef {{ minor: number, amount: string, currency: string, formatted: string }} Money
 * @typedef {{ day: string, transactions: number, logins: number }} Day
 * @typedef {{ kind: string, transactions: number, volume: Money, share: string }} KindRow
 * @typedef {{
 *   session: string,
 *   tenant: { ref: string, name: string },
 *   kpis: { active_customers: number, transactions: number, volume: Money,
 *           logins: number, failed_logins: number },
 *   activity: Day[],
 *   by_kind: KindRow[],
 * }} Summary
 */

const count = new Intl.NumberFormat("en-US");
const sessionId = document.body.dataset.session ?? "";
const tenantName = document.body.dataset.tenantName ?? "";
const figures = document.getElementById("figures");
const canvas = /** @type {HTMLCanvasElement | null} */ (document.getElementById("activity-chart"));

const guard = new SessionGuard(sessionId, showEnded);
guard.start();
const period = figures?.dataset.period;
if (period) void load(period);

/** @param {string} query */
async function load(query) {
  const response = await guard.api(`/api/summary?${query}`);
  if (response === null) return;
  /** @type {any} */
  const data = await response.json().catch(() => null);
  if (guard.ended) return;
  if (!response.ok || data === null) {
    notify(data?.error_description ?? "The figures could not be loaded. Please reload.", "error");
    return;
  }
  // Belt and braces: never draw figures that are not this page's session and FI.
  if (data.session !== sessionId || data.tenant?.name !== tenantName) {
    guard.end();
    return;
  }
  render(/** @type {Summary} */ (data));
}

/**
 * @param {string} testid
 * @param {string} text
 */
function setFigure(testid, text) {
  const element = document.querySelector(`[data-testid="${testid}"]`);
  if (element) element.textContent = text;
}

/** @param {Summary} data */
function render(data) {
  setFigure("kpi-active-customers", count.format(data.kpis.active_customers));
  setFigure("kpi-transactions", count.format(data.kpis.transactions));
  setFigure("kpi-volume", data.kpis.volume.formatted);
  setFigure("kpi-logins", count.format(data.kpis.logins));
  const failed = document.getElementById("kpi-failed-logins");
  if (failed) failed.textContent = `${count.format(data.kpis.failed_logins)} failed`;
  if (canvas) drawActivity(canvas, data.activity);
  renderKinds(data.by_kind);
}

/** @param {string} kind e.g. "card_payment" */
function kindLabel(kind) {
  const words = kind.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** @param {KindRow[]} kinds */
function renderKinds(kinds) {
  const rows = document.getElementById("kind-rows");
  if (!rows) return;
  if (kinds.length === 0) {
    const cell = document.createElement("td");
    cell.colSpan = 4;
    cell.className = "subtle";
    cell.textContent = "No transactions in this period.";
    rows.replaceChildren(row([cell]));
    return;
  }
  rows.replaceChildren(
    ...kinds.map((k) =>
      row([
        td(kindLabel(k.kind)),
        td(count.format(k.transactions), "num"),
        td(k.volume.formatted, "num"),
        td(`${k.share}%`, "num"),
      ]),
    ),
  );
}

/** @param {HTMLTableCellElement[]} cells */
function row(cells) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "kind-row";
  tr.append(...cells);
  return tr;
}

/**
 * @param {string} text
 * @param {string} [className]
 */
function td(text, className) {
  const cell = document.createElement("td");
  cell.textContent = text;
  if (className) cell.className = className;
  return cell;
}

/** The session is no longer this browser's: nothing of it stays on screen. */
function showEnded() {
  clearActivity(canvas);
  for (const element of document.querySelectorAll('[data-testid^="kpi-"]')) element.textContent = "";
  document.getElementById("kpi-failed-logins")?.replaceChildren();
  document.getElementById("kind-rows")?.replaceChildren();
  document.getElementById("export-link")?.remove();
  document.getElementById("notice")?.setAttribute("hidden", "");
  if (figures) figures.hidden = true;
  const ended = document.getElementById("session-ended");
  if (ended) ended.hidden = false;
  document.title = "Session ended · Reporting · Tenantgate";
}
