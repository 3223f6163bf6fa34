// The SPARQL editor: YASQE (from the YASGUI npm package, served by the app) when installed, else a
// textarea over a highlighted copy of its text. Both expose getValue, setValue, focus.

const KEYWORDS = new Set((
  "select construct describe ask where from named prefix base distinct reduced order by asc desc limit " +
  "offset optional union minus filter bind values graph service as group having not exists in a count " +
  "sum min max avg sample group_concat separator str lang langmatches datatype bound iri uri bnode " +
  "isiri isuri isblank isliteral isnumeric regex replace contains strstarts strends lcase ucase concat " +
  "coalesce if true false undef"
).split(" "));

const TOKEN = new RegExp(
  [
    "(#[^\\n]*)", // comment
    "(\"\"\"[\\s\\S]*?\"\"\"|'''[\\s\\S]*?'''|\"(?:[^\"\\\\\\n]|\\\\.)*\"|'(?:[^'\\\\\\n]|\\\\.)*')", // string
    "(<[^<>\"{}|^`\\\\\\s]*>)", // IRI
    "([?$][A-Za-z_0-9]+)", // variable
    "([A-Za-z][\\w-]*:[\\w.-]*|:[\\w.-]+)", // prefixed name
    "(\\b\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?\\b)", // number
    "([A-Za-z_]+)", // word (keyword or not)
  ].join("|"),
  "g",
);
const CLASSES = ["tok-comment", "tok-string", "tok-iri", "tok-variable", "tok-prefixed", "tok-number"];

/** Append the highlighted tokens of `text` to `target` (text nodes and spans only, never HTML). */
export function highlight(text, target) {
  target.replaceChildren();
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    if (match.index > last) target.append(text.slice(last, match.index));
    const group = match.slice(1).findIndex((part) => part !== undefined);
    let cls = CLASSES[group];
    if (group === 6) cls = KEYWORDS.has(match[0].toLowerCase()) ? "tok-keyword" : null;
    if (cls) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = match[0];
      target.append(span);
    } else {
      target.append(match[0]);
    }
    last = match.index + match[0].length;
  }
  // A trailing newline needs a character after it, or the overlay is one line short.
  target.append(text.slice(last) + "\n");
}

function builtinEditor(textarea, onRun) {
  const wrapper = document.createElement("div");
  wrapper.className = "hl-editor";
  const overlay = document.createElement("pre");
  overlay.setAttribute("aria-hidden", "true");
  const code = document.createElement("code");
  overlay.append(code);
  textarea.replaceWith(wrapper);
  wrapper.append(overlay, textarea);
  const refresh = () => {
    highlight(textarea.value, code);
    overlay.scrollTop = textarea.scrollTop;
  };
  textarea.addEventListener("input", refresh);
  textarea.addEventListener("scroll", () => { overlay.scrollTop = textarea.scrollTop; });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      onRun();
    }
  });
  refresh();
  return {
    kind: "builtin",
    getValue: () => textarea.value,
    setValue: (text) => { textarea.value = text; refresh(); },
    focus: () => textarea.focus(),
  };
}

function yasqeEditor(textarea, onRun) {
  const Yasqe = window.Yasgui.Yasqe;
  const host = document.createElement("div");
  host.className = "yasqe-host";
  textarea.hidden = true;
  textarea.after(host);
  const yasqe = new Yasqe(host, {
    value: textarea.value,
    persistenceId: null, // the page decides what the editor shows, not a stale copy in localStorage
    showQueryButton: false,
    collapsePrefixesOnLoad: true,
    resizeable: true,
    editorHeight: "18rem",
    createShareableLink: null,
    // Only completions that need no network (LOV class/property look-ups would call another host).
    autocompleters: ["prefixes", "variables"],
    requestConfig: { endpoint: new URL("/sparql", window.location.href).href, method: "POST" },
  });
  const run = () => { onRun(); };
  // addKeyMap outranks YASQE's own Ctrl-Enter (which would send the query itself).
  yasqe.addKeyMap({ "Ctrl-Enter": run, "Cmd-Enter": run });
  const input = yasqe.getInputField();
  input.setAttribute("aria-labelledby", "sparql-label");
  input.setAttribute("aria-describedby", "sparql-hint");
  yasqe.on("change", () => { textarea.value = yasqe.getValue(); });
  return {
    kind: "yasqe",
    getValue: () => yasqe.getValue(),
    setValue: (text) => { yasqe.setValue(text); textarea.value = text; yasqe.refresh(); },
    focus: () => yasqe.focus(),
  };
}

/** The editor over `textarea`; `onRun` is called on Ctrl+Enter. */
export function createEditor(textarea, onRun) {
  if (window.Yasgui && window.Yasgui.Yasqe) {
    try {
      return yasqeEditor(textarea, onRun);
    } catch (error) {
      console.warn("YASQE did not start; using the built-in editor", error);
      textarea.hidden = false;
    }
  }
  return builtinEditor(textarea, onRun);
}
