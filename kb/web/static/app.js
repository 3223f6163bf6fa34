// The page's behaviour: ask (/api/ask), search (/api/search), query (/sparql). Same-origin requests only.
import { createEditor } from "./editor.js";
import {
  el, localHref, parsePrefixes, renderAnswer, renderEntities, renderHits, renderResults,
} from "./render.js";

const $ = (selector) => document.querySelector(selector);
const jsonOf = (id) => JSON.parse(document.getElementById(id)?.textContent || "null");
const PREFIXES = jsonOf("sparql-prefixes") || "";
const EXAMPLES = jsonOf("competency-queries") || [];

/** The message of a failed response: problem+json's detail or title, else the status line. */
async function failure(response) {
  try {
    const problem = await response.json();
    return problem.detail || problem.title || `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function busy(region, on) {
  region.setAttribute("aria-busy", on ? "true" : "false");
}

function showError(region, message) {
  region.replaceChildren(el("p", { class: "notice error", role: "alert", text: message }));
}

/** POST a query to the endpoint as a form (the SPARQL 1.1 Protocol), asking for `accept`. */
function postQuery(query, accept, format) {
  const body = new URLSearchParams({ query });
  if (format) body.set("format", format);
  return fetch("/sparql", { method: "POST", headers: { Accept: accept }, body });
}

function sparqlString(text) {
  return `"${String(text).replace(/[\\"]/g, "\\$&").replace(/\n/g, "\\n")}"`;
}

// ------------------------------------------------------------------ ask

/** The trial(s) behind an answer and the entities around them, found by SPARQL from its evidence. */
async function relatedEntities(answer) {
  const labels = [...new Set((answer.values || []).map((v) => v.subject).filter(Boolean))];
  const passages = [...new Set((answer.evidence || []).map((e) => e.passage).filter(Boolean))];
  const ncts = [...new Set(JSON.stringify(answer).match(/\bNCT\d{8}\b/g) || [])];
  if (!labels.length && !passages.length && !ncts.length) return null;
  const seeds = [];
  if (labels.length) {
    seeds.push(`{ VALUES ?label { ${labels.map(sparqlString).join(" ")} } ?s rdfs:label ?l FILTER(STR(?l) = ?label) }`);
  }
  if (passages.length) {
    seeds.push(`{ VALUES ?pid { ${passages.map(sparqlString).join(" ")} } ?p a tkb:Passage
      FILTER(STRENDS(STR(?p), CONCAT("/passage/", ?pid)))
      { ?st prov:wasDerivedFrom ?p ; rdf:subject ?s } UNION { ?s prov:wasDerivedFrom ?p } }`);
  }
  if (ncts.length) seeds.push(`{ VALUES ?nctSeed { ${ncts.map(sparqlString).join(" ")} } ?s tkb:nctId ?nctSeed }`);
  const query = `${PREFIXES}
SELECT DISTINCT ?trial ?trialLabel ?nct ?record ?kind ?e ?eLabel WHERE {
  { SELECT DISTINCT ?trial WHERE {
      ${seeds.join("\n      UNION\n      ")}
      ?trial a tkb:ClinicalTrial .
      ?trial (tkb:hasCohort|tkb:hasArm|tkb:hasOutcome|tkb:hasRegimen|tkb:intervention)* ?s .
    } LIMIT 3 }
  OPTIONAL { ?trial rdfs:label ?trialLabel }
  OPTIONAL { ?trial tkb:nctId ?nct }
  OPTIONAL { ?trial tkb:registryRecord ?record }
  OPTIONAL {
    { ?trial tkb:hasCohort ?e BIND("cohort" AS ?kind) }
    UNION { ?trial tkb:intervention ?e BIND("drug" AS ?kind) }
    UNION { ?trial tkb:intervention/tkb:target ?e BIND("target" AS ?kind) }
    UNION { ?trial tkb:condition|tkb:hasCohort/tkb:condition ?e BIND("disease" AS ?kind) }
    UNION { ?trial tkb:conductedBy|tkb:sponsor|tkb:fundedBy|tkb:hasFunding/tkb:funder ?e BIND("organisation" AS ?kind) }
    UNION { ?trial tkb:reportedIn ?e BIND("publication" AS ?kind) }
    OPTIONAL { ?e rdfs:label ?eLabel }
  }
} LIMIT 200`;
  const response = await postQuery(query, "application/sparql-results+json");
  if (!response.ok) return null;
  const rows = (await response.json()).results?.bindings || [];
  const entities = new Map();
  const registry = new Map();
  for (const row of rows) {
    const trial = row.trial?.value;
    if (trial && localHref(trial)) {
      entities.set(trial, { kind: "trial", label: row.trialLabel?.value || trial, href: localHref(trial) });
    }
    if (row.e && localHref(row.e.value) && !entities.has(row.e.value)) {
      entities.set(row.e.value, { kind: row.kind.value, label: row.eLabel?.value || row.e.value, href: localHref(row.e.value) });
    }
    if (row.record && row.nct) registry.set(row.nct.value, { nct: row.nct.value, url: row.record.value });
  }
  return renderEntities([...entities.values()], [...registry.values()]);
}

async function fillContext(span, figure) {
  const params = new URLSearchParams({ document: span.document, start: span.start, end: span.end });
  try {
    const response = await fetch(`/web/context?${params}`);
    if (response.ok) figure.fill(await response.json());
  } catch {
    // the sentence alone is still shown
  }
}

async function showAnswer(answer) {
  const region = $("#answer");
  const { article, figures } = renderAnswer(answer);
  region.replaceChildren(article);
  (answer.evidence || []).forEach((span, i) => fillContext(span, figures[i]));
  if (!answer.abstained) {
    try {
      const related = await relatedEntities(answer);
      if (related) article.querySelector(".answer-links").replaceChildren(related);
    } catch {
      // links are a convenience; the answer stands without them
    }
  }
}

async function ask(question, { push = true } = {}) {
  const region = $("#answer");
  question = question.trim();
  if (!question) return;
  if (push) {
    const url = `/?q=${encodeURIComponent(question)}`;
    if (`${location.pathname}${location.search}` !== url) history.pushState({ q: question }, "", url);
  }
  document.title = `${question} · TrialKB`;
  busy(region, true);
  region.replaceChildren(el("p", { class: "status", text: "Looking for the answer…" }));
  try {
    const response = await fetch(`/api/ask?${new URLSearchParams({ q: question })}`, {
      headers: { Accept: "application/json" },
    });
    if (!response.ok) {
      showError(region, `The question could not be answered: ${await failure(response)}`);
      return;
    }
    await showAnswer(await response.json());
  } catch (error) {
    showError(region, `The server could not be reached (${error.message}).`);
  } finally {
    busy(region, false);
  }
}

// ------------------------------------------------------------------ search

async function search(text, k) {
  const region = $("#search-results");
  busy(region, true);
  region.replaceChildren(el("p", { class: "status", text: "Searching…" }));
  try {
    const response = await fetch(`/api/search?${new URLSearchParams({ q: text, k })}`, {
      headers: { Accept: "application/json" },
    });
    if (!response.ok) {
      showError(region, `Search failed: ${await failure(response)}`);
      return;
    }
    const body = await response.json();
    region.replaceChildren(renderHits(text, body.hits || []));
  } catch (error) {
    showError(region, `Search failed (${error.message}).`);
  } finally {
    busy(region, false);
  }
}

// ------------------------------------------------------------------ SPARQL

/** SELECT, ASK, CONSTRUCT or DESCRIBE: the form of a query, read past comments, PREFIX and BASE. */
export function queryForm(text) {
  const stripped = text.replace(/#[^\n]*/g, " ").replace(/<[^>]*>/g, "<>");
  const match = /\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b/i.exec(stripped);
  return match ? match[1].toUpperCase() : "SELECT";
}

const EXTENSIONS = { json: "srj", xml: "srx", csv: "csv", tsv: "tsv", turtle: "ttl", jsonld: "jsonld" };

function setupSparql() {
  const form = $("#sparql-form");
  const status = $("#sparql-status");
  const results = $("#sparql-results");
  const downloads = [...form.querySelectorAll(".downloads button")];
  let editor = null;

  const updateDownloads = () => {
    const graph = ["CONSTRUCT", "DESCRIBE"].includes(queryForm(editor.getValue()));
    for (const button of downloads) button.hidden = (button.dataset.kind === "graph") !== graph;
  };

  const run = async () => {
    const query = editor.getValue();
    const graph = ["CONSTRUCT", "DESCRIBE"].includes(queryForm(query));
    busy(results, true);
    status.textContent = "Running…";
    const started = performance.now();
    try {
      const response = await postQuery(query, graph ? "text/turtle" : "application/sparql-results+json");
      if (!response.ok) {
        status.textContent = "";
        showError(results, `The query failed: ${await failure(response)}`);
        return;
      }
      const took = Math.round(performance.now() - started);
      const truncated = response.headers.get("X-TrialKB-Truncated") ? " (cut at the server's limit)" : "";
      if (graph) {
        const text = await response.text();
        results.replaceChildren(el("pre", {}, el("code", { text })));
        status.textContent = `Graph returned in ${took} ms${truncated}.`;
      } else {
        const json = await response.json();
        results.replaceChildren(renderResults(json, parsePrefixes(query)));
        const count = json.results?.bindings?.length;
        status.textContent = count === undefined ? `Answered in ${took} ms.`
          : `${count} row${count === 1 ? "" : "s"} in ${took} ms${truncated}.`;
      }
    } catch (error) {
      status.textContent = "";
      showError(results, `The server could not be reached (${error.message}).`);
    } finally {
      busy(results, false);
    }
  };

  const download = async (format) => {
    const query = editor.getValue();
    status.textContent = `Preparing ${format.toUpperCase()}…`;
    try {
      const response = await postQuery(query, "*/*", format);
      if (!response.ok) {
        status.textContent = `Download failed: ${await failure(response)}`;
        return;
      }
      const url = URL.createObjectURL(await response.blob());
      const link = el("a", { href: url, download: `trialkb-results.${EXTENSIONS[format] || format}` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      status.textContent = `Downloaded ${format.toUpperCase()}.`;
    } catch (error) {
      status.textContent = `Download failed (${error.message}).`;
    }
  };

  editor = createEditor($("#sparql-text"), run);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = event.submitter;
    if (button && button.closest(".downloads")) download(button.value);
    else run();
  });
  form.addEventListener("input", updateDownloads);
  form.addEventListener("keyup", updateDownloads);
  $("#example-select").addEventListener("change", (event) => {
    const example = EXAMPLES.find((e) => e.name === event.target.value);
    if (example) {
      editor.setValue(example.text);
      updateDownloads();
    }
  });
  updateDownloads();

  return {
    open(query) {
      editor.setValue(query);
      updateDownloads();
      $("#query").scrollIntoView({ behavior: "smooth", block: "start" });
      editor.focus();
    },
    run,
  };
}

// ------------------------------------------------------------------ wiring

function start() {
  const sparql = setupSparql();
  const askInput = $("#ask-input");

  $("#ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    ask(askInput.value);
  });
  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#search-input").value.trim();
    if (text) search(text, $("#search-k").value);
  });
  // "Open in the editor" buttons live inside answers that are replaced; one listener serves them all.
  $("#answer").addEventListener("click", (event) => {
    const button = event.target.closest(".open-in-editor");
    if (!button) return;
    const code = button.closest(".sparql-behind")?.querySelector("code");
    if (code) sparql.open(code.textContent);
  });
  window.addEventListener("popstate", () => {
    const question = new URLSearchParams(location.search).get("q") || "";
    askInput.value = question;
    if (question) ask(question, { push: false });
    else $("#answer").replaceChildren();
  });

  const initial = jsonOf("initial-answer");
  const question = new URLSearchParams(location.search).get("q");
  if (initial) showAnswer(initial);
  else if (question) ask(question, { push: false });
  const searchText = new URLSearchParams(location.search).get("search");
  if (searchText) {
    $("#search-input").value = searchText;
    search(searchText, $("#search-k").value);
  }
  document.documentElement.dataset.ready = "true";
}

start();
