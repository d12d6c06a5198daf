// @ts-check
/**
 * Customer home page: sends the transfer form to the JSON API and redraws balances and
 * statement lines from the answer, so the page never reloads and the result is shown next
 * to the form. Without this script the form still posts to /transfers and works.
 * Everything written into the page goes through textContent: no HTML from data.
 */
import { postJSON } from "/static/common/csrf.js";

/**
 * @typedef {{id: string, label: string, masked: string, name: string, currency: string, balance: string}} AccountView
 * @typedef {{date: string, description: string, label: string, account: string, amount: string, direction: string}} LineView
 * @typedef {{accounts: AccountView[], transactions: LineView[], totals: string[]}} Overview
 */

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function element(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found;
}

/**
 * @param {string[]} cells
 * @param {string} testid
 * @returns {HTMLTableRowElement}
 */
function row(cells, testid) {
  const tr = document.createElement("tr");
  tr.dataset.testid = testid;
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

/**
 * @param {HTMLElement} body
 * @param {number} columns
 * @param {string} text
 */
function emptyRow(body, columns, text) {
  const tr = document.createElement("tr");
  const td = document.createElement("td");
  td.colSpan = columns;
  td.className = "subtle";
  td.textContent = text;
  tr.append(td);
  body.append(tr);
}

/** @param {Overview} data */
function redraw(data) {
  const accounts = element("account-rows");
  accounts.replaceChildren();
  for (const a of data.accounts) {
    const tr = row([a.label, a.masked, a.currency, a.balance], "account-row");
    tr.dataset.accountId = a.id;
    tr.cells[1].className = "mono";
    tr.cells[3].className = "num";
    tr.cells[3].dataset.testid = "account-balance";
    accounts.append(tr);
  }
  if (!data.accounts.length) emptyRow(accounts, 4, "You have no accounts yet.");

  const lines = element("transaction-rows");
  lines.replaceChildren();
  for (const t of data.transactions) {
    const tr = row([t.date, t.description, t.label, t.account, t.amount], "transaction-row");
    tr.cells[4].className = `num amount ${t.direction}`;
    lines.append(tr);
  }
  if (!data.transactions.length) emptyRow(lines, 5, "No transactions yet.");

  element("total-balance").textContent = data.totals.length ? data.totals.join(" · ") : "—";
  // The selects keep their choice; only the balances in their labels change.
  const names = new Map(data.accounts.map((a) => [a.id, `${a.name} · ${a.balance}`]));
  for (const option of document.querySelectorAll("#transfer-form option")) {
    if (option instanceof HTMLOptionElement) {
      option.textContent = names.get(option.value) ?? option.textContent;
    }
  }
}

/**
 * @param {string} text
 * @param {"ok" | "error"} kind
 */
function showResult(text, kind) {
  const result = element("transfer-result");
  result.textContent = text;
  result.className = `notice ${kind}`;
  result.hidden = false;
}

/**
 * @param {HTMLFormElement} form
 * @param {SubmitEvent} event
 */
async function submitTransfer(form, event) {
  event.preventDefault();
  const data = new FormData(form);
  const button = form.querySelector("button[type=submit]");
  if (button instanceof HTMLButtonElement) button.disabled = true;
  try {
    const response = await postJSON("/api/transfers", {
      from: String(data.get("from") ?? ""),
      to: String(data.get("to") ?? ""),
      amount: String(data.get("amount") ?? ""),
    });
    /** @type {any} */
    let answer = {};
    try {
      answer = await response.json();
    } catch {
      answer = {};
    }
    if (response.ok) {
      redraw(answer);
      showResult(String(answer.message ?? "Transfer made."), "ok");
      const amount = form.elements.namedItem("amount");
      if (amount instanceof HTMLInputElement) amount.value = "";
    } else if (response.status === 401) {
      showResult("Your session has ended. Please sign in again.", "error");
    } else {
      showResult(String(answer.error_description ?? "The transfer was not made."), "error");
    }
  } catch {
    showResult("The bank could not be reached. The transfer was not made; please try again.", "error");
  } finally {
    if (button instanceof HTMLButtonElement) button.disabled = false;
  }
}

const form = document.getElementById("transfer-form");
if (form instanceof HTMLFormElement) {
  form.addEventListener("submit", (event) => void submitTransfer(form, event));
}
