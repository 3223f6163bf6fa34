// Building the page's result views with DOM calls only (text is never parsed as HTML).

/** An element with attributes and children; strings become text nodes. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

/** Where a KB IRI is shown on this server (`/resource/...`), or null for an IRI minted elsewhere. */
export function localHref(iri) {
  const match = /\/trialkb\/resource\/(.+)$/.exec(iri || "");
  return match ? `/resource/${match[1]}` : null;
}

const SOURCE_KIND = {
  kb: "from the knowledge base",
  registry: "from the ClinicalTrials.gov record",
  text: "read from a passage: the knowledge base holds no fact for it",
};

function formatValue(value) {
  const unit = value.unit ? (value.unit === "%" ? "%" : ` ${value.unit}`) : "";
  return `${value.value}${unit}`;
}

/** `text` with every occurrence of the `needles` wrapped in <strong> (for the value inside its sentence). */
function emphasise(text, needles) {
  const words = needles.filter((n) => n && n.length > 0).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  if (!words.length) return [text];
  const parts = [];
  const pattern = new RegExp(`(${words.join("|")})`, "g");
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(el("strong", { text: match[0] }));
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

/** The evidence figure of one span; `context` ({before, text, after}) may arrive later via `fill`. */
export function evidenceFigure(span, needles) {
  const paragraph = el("p", {}, el("mark", {}, emphasise(span.text || "", needles)));
  const figure = el(
    "figure",
    { class: "evidence" },
    el("blockquote", {}, paragraph),
    el("figcaption", {}, "Source: ", el("span", { class: "document", text: span.document }),
      `, characters ${span.start}–${span.end}`),
  );
  figure.fill = (context) => {
    paragraph.replaceChildren(context.before, el("mark", {}, emphasise(context.text, needles)), context.after);
  };
  return figure;
}

function sparqlDetails(sparql, summary) {
  return el(
    "details",
    { class: "sparql-behind" },
    el("summary", { text: summary }),
    el("pre", {}, el("code", { text: sparql })),
    el("button", { type: "button", class: "open-in-editor", text: "Open in the editor" }),
  );
}

/** The answer object of /api/ask as an <article>; returns it and its evidence figures. */
export function renderAnswer(answer) {
  if (answer.abstained || answer.answer === null || answer.answer === undefined) {
    return {
      article: el(
        "article",
        { class: "answer abstained", "aria-labelledby": "answer-heading" },
        el("h3", { id: "answer-heading", text: "No answer" }),
        el("p", { class: "answer-question", text: answer.question }),
        el("p", { class: "abstain-reason" }, el("strong", { text: "Not answered:" }), " ",
          answer.reason || "not stated in the sources"),
        answer.sparql ? sparqlDetails(answer.sparql, "SPARQL tried") : null,
      ),
      figures: [],
    };
  }
  const values = answer.values || [];
  const needles = values.flatMap((v) => [formatValue(v), String(v.value)]).concat([answer.answer]);
  const figures = (answer.evidence || []).map((span) => evidenceFigure(span, needles));
  const article = el(
    "article",
    { class: "answer", "aria-labelledby": "answer-heading" },
    el("h3", { id: "answer-heading", text: "Answer" }),
    el("p", { class: "answer-question", text: answer.question }),
    el("p", { class: "answer-value", text: answer.answer }),
    values.length
      ? el("ul", { class: "answer-values" }, values.map((v) => el("li", {},
        el("span", { class: "value", text: formatValue(v) }),
        v.label ? [" ", el("span", { class: "value-label", text: v.label })] : null,
        v.subject ? [" · ", el("span", { class: "value-subject", text: v.subject })] : null,
        v.source ? [" · source ", el("span", { class: "document", text: v.source })] : null)))
      : null,
    el("p", { class: "answer-meta",
      text: `${SOURCE_KIND[answer.source_kind] || SOURCE_KIND.kb} · confidence ${Number(answer.confidence || 0).toFixed(2)}` }),
    figures.length ? el("h4", { text: "Evidence" }) : null,
    figures,
    el("div", { class: "answer-links" }),
    answer.sparql ? sparqlDetails(answer.sparql, "SPARQL behind this answer") : null,
  );
  return { article, figures };
}

const KIND_ORDER = ["trial", "cohort", "drug", "target", "disease", "organisation", "publication"];

/** Links to the entity pages related to an answer, and the trial's registry page. */
export function renderEntities(entities, registryPages) {
  const sorted = [...entities].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind)
    || a.label.localeCompare(b.label));
  const items = sorted.map((entity) => el("li", {}, el("a", { href: entity.href },
    el("span", { class: "entity-kind", text: entity.kind }), entity.label)));
  const registry = registryPages.map((page) => el("a", { class: "registry-link", href: page.url, rel: "external" },
    `${page.nct} on ClinicalTrials.gov`));
  return el("nav", { class: "related", "aria-label": "Related entities" },
    el("h4", { text: "Trial and related entities" }),
    items.length ? el("ul", { class: "entity-links" }, items) : null,
    registry.length ? el("p", {}, registry) : null);
}

/** Search hits (/api/search) as a list of passages with document, offsets and retrievers. */
export function renderHits(query, hits) {
  if (!hits.length) return el("p", { class: "notice", text: `No passage matches “${query}”.` });
  const terms = query.split(/\W+/).filter((word) => word.length > 2);
  return el(
    "ol",
    { class: "hits", "aria-label": `Passages matching ${query}` },
    hits.map((hit) => {
      const meta = hit.metadata || {};
      return el("li", { class: "hit" },
        el("p", { class: "hit-text" }, emphasiseTerms(hit.text || "", terms)),
        el("p", { class: "hit-meta" },
          el("span", { class: "document", text: meta.document || "?" }),
          meta.start !== undefined ? `, characters ${meta.start}–${meta.end}` : "",
          meta.section ? ` · ${meta.section}` : "",
          ` · score ${Number(hit.score || 0).toFixed(3)}`,
          retrieverBadges(hit.retrievers)));
    }),
  );
}

/** Which retrievers found a hit: a list of names, or {name: rank} as /api/search gives it. */
function retrieverBadges(retrievers) {
  if (!retrievers) return [];
  const entries = Array.isArray(retrievers) ? retrievers.map((name) => [name, null]) : Object.entries(retrievers);
  return [" · found by"].concat(entries.map(([name, rank]) => el("span", {
    class: "retriever", text: rank === null || rank === undefined ? name : `${name} #${rank}`,
  })));
}

function emphasiseTerms(text, terms) {
  if (!terms.length) return [text];
  const pattern = new RegExp(`\\b(${terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`, "gi");
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(el("mark", { text: match[0] }));
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

/** `prefix:local` for an IRI under one of the `namespaces` ({prefix: iri}), else the IRI itself. */
export function compact(iri, namespaces) {
  for (const [prefix, namespace] of Object.entries(namespaces)) {
    if (iri.startsWith(namespace) && iri.length > namespace.length) return `${prefix}:${iri.slice(namespace.length)}`;
  }
  return iri;
}

/** The {prefix: namespace} map of a block of SPARQL PREFIX lines. */
export function parsePrefixes(text) {
  const namespaces = {};
  for (const match of (text || "").matchAll(/PREFIX\s+([\w-]*):\s*<([^>]*)>/gi)) namespaces[match[1]] = match[2];
  return namespaces;
}

function cell(term, namespaces) {
  if (!term) return el("td", {});
  if (term.type === "uri") {
    const local = localHref(term.value);
    return el("td", {}, el("a", { href: local || term.value, rel: local ? null : "external", title: term.value,
      text: compact(term.value, namespaces) }));
  }
  if (term.type === "bnode") return el("td", { text: `_:${term.value}` });
  const title = term.datatype || (term["xml:lang"] ? `@${term["xml:lang"]}` : null);
  return el("td", { title, text: term.value });
}

/** SPARQL JSON results (SELECT or ASK) as a table, or a sentence for ASK. */
export function renderResults(json, namespaces = {}) {
  if (typeof json.boolean === "boolean") {
    return el("p", { class: "notice", text: `ASK: ${json.boolean ? "yes (true)" : "no (false)"}` });
  }
  const variables = json.head?.vars || [];
  const rows = json.results?.bindings || [];
  return el(
    "table",
    { class: "results-table" },
    el("caption", { text: `${rows.length} result${rows.length === 1 ? "" : "s"}` }),
    el("thead", {}, el("tr", {}, variables.map((name) => el("th", { scope: "col", text: name })))),
    el("tbody", {}, rows.map((row) => el("tr", {}, variables.map((name) => cell(row[name], namespaces))))),
  );
}
