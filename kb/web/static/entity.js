// Entity pages: a trial's reconciliation with its registry record, shown only where the server offers it.
import { el } from "./render.js";

function cellText(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** Rows of objects as a table; any other JSON as a preformatted block. */
function renderReconciliation(body) {
  const rows = Array.isArray(body) ? body
    : Object.values(body || {}).find((value) => Array.isArray(value) && value.length && typeof value[0] === "object");
  if (!rows || !rows.length) return el("pre", {}, el("code", { text: JSON.stringify(body, null, 2) }));
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return el("div", { class: "table-wrap" }, el("table", { class: "results-table" },
    el("thead", {}, el("tr", {}, columns.map((name) => el("th", { scope: "col", text: name })))),
    el("tbody", {}, rows.map((row) => el("tr", {}, columns.map((name) => el("td", { text: cellText(row[name]) })))))));
}

async function showReconciliation(section) {
  const nct = section.dataset.nct;
  if (!/^NCT\d{8}$/.test(nct || "")) return;
  try {
    const response = await fetch(`/api/reconcile/${nct}`, { headers: { Accept: "application/json" } });
    if (!response.ok) return; // no endpoint, or no registry record: the section stays hidden
    section.querySelector(".reconciliation-body").replaceChildren(renderReconciliation(await response.json()));
    section.hidden = false;
  } catch {
    // stays hidden
  }
}

document.querySelectorAll("section.reconciliation[data-nct]").forEach(showReconciliation);
