// duet's browser runtime: renders the app spec, speaks the event-state protocol
// (docs/protocol.md, version 1) over /_event, and keeps the DOM in step with the server's
// deltas. One hand-written ES module, embedded in the server binary; no build step.
//
// The shell document gives it: <meta name="csrf-token">, <meta name="duet-spec"> (the URL of
// the content-hashed app spec), <script id="duet-boot" type="application/json"> ({user}) and
// the runtime's stylesheet (duet.css). No inline script or style, no eval: pages work under
// a Content-Security-Policy without 'unsafe-inline' or 'unsafe-eval'.
// `window.duet` (also this module's export) is the API for tests, benchmarks and app code.

const PROTOCOL = 1;
const TAB_KEY = "duet.tab";
const SEQ_KEY = "duet.seq";
const ACKED_KEY = "duet.acked";
const MAX_BACKOFF_MS = 5000;
// The close code of a server that is shutting down (1012, "service restart").
const RESTARTING = 1012;
// The spec reloads were made for: one reload per spec the server announces, never a loop.
const RELOADED_KEY = "duet.reloaded-for";

// ---------------------------------------------------------------------------------------
// State of the runtime

const rt = {
  spec: null,
  user: null,
  states: {},
  router: { path: location.pathname, params: {} },
  ws: null,
  hydrated: false,
  status: "connecting",
  tab: sessionStorage.getItem(TAB_KEY),
  seq: Number(sessionStorage.getItem(SEQ_KEY)) || 0,
  acked: Number(sessionStorage.getItem(ACKED_KEY)) || 0,
  // seq → {frame, resolve, reject}: frames sent (or queued) with no reply yet.
  pending: new Map(),
  attempts: 0,
  reconnectTimer: null,
  subs: new Map(), // "state.var", "$router", "$user" → Set<fn(change)>
  root: null, // the page's scope
  functions: new Map(), // names for `call` actions
  afterApply: new Set(),
  pageKey: null,
  dialogs: 0, // confirmation dialogs opened, for their element ids
  lastApplyMs: 0, // how long the last delta took to apply to the state and the DOM
};

// ---------------------------------------------------------------------------------------
// Values

function truthy(v) {
  if (Array.isArray(v)) return v.length > 0;
  return v !== null && v !== undefined && v !== false && v !== 0 && v !== "";
}

function str(v) {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.map(str).join(" ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function evaluate(e, scope) {
  switch (e.k) {
    case "lit":
      return e.v;
    case "var":
      return rt.states[e.s]?.[e.v] ?? null;
    case "item": {
      let v = scope.item(e.n);
      for (const f of e.f) v = v?.[f];
      return v ?? null;
    }
    case "param":
      return rt.router.params?.[e.p] ?? null;
    case "user":
      return rt.user?.[e.f] ?? null;
    case "concat":
      return e.parts.map((p) => str(evaluate(p, scope))).join("");
    case "eq": {
      const a = evaluate(e.a, scope);
      const b = evaluate(e.b, scope);
      return a === b || (a !== null && b !== null && typeof a !== "object" && String(a) === String(b));
    }
    case "not":
      return !truthy(evaluate(e.e, scope));
    case "get": {
      let v = evaluate(e.e, scope);
      for (const f of e.f) v = v?.[f];
      return v ?? null;
    }
    case "len":
      return evaluate(e.e, scope)?.length ?? 0;
    case "add":
      return Number(evaluate(e.a, scope) ?? 0) + Number(evaluate(e.b, scope) ?? 0);
    case "lt":
      return Number(evaluate(e.a, scope) ?? 0) < Number(evaluate(e.b, scope) ?? 0);
    default:
      throw new Error(`duet: unknown expression kind ${e.k}`);
  }
}

function deps(e, out = new Set()) {
  switch (e.k) {
    case "var":
      out.add(`${e.s}.${e.v}`);
      break;
    case "param":
      out.add("$router");
      break;
    case "user":
      out.add("$user");
      break;
    case "concat":
      e.parts.forEach((p) => deps(p, out));
      break;
    case "eq":
    case "add":
    case "lt":
      deps(e.a, out);
      deps(e.b, out);
      break;
    case "not":
    case "len":
    case "get":
      deps(e.e, out);
      break;
  }
  return out;
}

function subscribe(key, fn) {
  let set = rt.subs.get(key);
  if (!set) rt.subs.set(key, (set = new Set()));
  set.add(fn);
  return () => set.delete(fn);
}

function notify(key, change) {
  const set = rt.subs.get(key);
  if (set) for (const fn of [...set]) fn(change);
}

// A scope: the items of the enclosing loops, and what to undo when its DOM goes away.
class Scope {
  constructor(parent, name, value) {
    this.parent = parent;
    this.name = name;
    this.value = value;
    this.cleanups = [];
    this.children = new Set();
  }
  item(name) {
    for (let s = this; s; s = s.parent) if (s.name === name) return s.value;
    return null;
  }
  child(name, value) {
    const c = new Scope(this, name, value);
    this.children.add(c);
    return c;
  }
  // Calls `fn` now and whenever a var `e` reads changes.
  watch(e, fn) {
    for (const key of deps(e)) this.cleanups.push(subscribe(key, () => fn(evaluate(e, this))));
    fn(evaluate(e, this));
  }
  dispose() {
    for (const c of [...this.children]) c.dispose();
    const cleanups = this.cleanups;
    this.cleanups = [];
    for (const c of cleanups) c();
    this.parent?.children.delete(this);
  }
}

// ---------------------------------------------------------------------------------------
// Rendering

const PROPS = new Set(["value", "checked", "disabled", "selected"]);

function render(node, scope) {
  switch (node.t) {
    case "text": {
      const t = document.createTextNode("");
      scope.watch(node.v, (v) => {
        t.data = str(v);
      });
      return t;
    }
    case "el":
      return renderElement(node, scope);
    case "foreach":
      return renderForeach(node, scope);
    case "cond":
      return renderCond(node, scope);
    default:
      throw new Error(`duet: unknown node type ${node.t}`);
  }
}

function renderElement(node, scope) {
  const el = document.createElement(node.tag);
  if (node.class) el.className = node.class.join(" ");
  for (const [name, e] of Object.entries(node.attrs || {})) {
    scope.watch(e, (v) => {
      if (PROPS.has(name)) el[name] = name === "value" ? str(v) : truthy(v);
      else if (v === null || v === false) el.removeAttribute(name);
      else el.setAttribute(name, v === true ? "" : str(v));
    });
  }
  for (const [type, action] of Object.entries(node.on || {})) {
    const handler = (ev) => {
      if (type === "submit" || action.do === "navigate") ev.preventDefault();
      if (action.do === "navigate" && (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button === 1)) {
        return location.assign(el.href); // let the browser open it elsewhere
      }
      run(action, ev, el, scope);
    };
    if (type === "input" && node.bind && !chosen(el)) {
      let timer = null;
      el.addEventListener("input", (ev) => {
        el.dataset.duetDirty = "1";
        clearTimeout(timer);
        timer = setTimeout(() => {
          el.dataset.duetDirty = "";
          handler(ev);
        }, 200);
      });
    } else {
      // A chosen value is final: its `change` event (which every way of choosing fires).
      el.addEventListener(type === "input" && node.bind ? "change" : type, handler);
    }
  }
  for (const child of node.children || []) el.appendChild(render(child, scope));
  // After the children: a select's value needs its options.
  if (node.bind) {
    scope.watch(node.bind, (v) => {
      // Never overwrite what the user is typing.
      if (document.activeElement !== el || el.dataset.duetDirty !== "1") {
        if (el.type === "checkbox") el.checked = truthy(v);
        else el.value = str(v);
      }
    });
  }
  return el;
}

// A control whose value is chosen rather than typed (select, checkbox, radio): its bound
// setter runs on `change`, at once, not after a pause.
function chosen(el) {
  return el.tagName === "SELECT" || el.type === "checkbox" || el.type === "radio";
}

// One DOM node per item; for a fragment, a `display: contents` wrapper.
function single(dom) {
  if (dom.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) return dom;
  const wrap = document.createElement("div");
  wrap.style.display = "contents";
  wrap.appendChild(dom);
  return wrap;
}

function renderForeach(node, scope) {
  if (node.stream) return renderStream(node, scope);
  const start = document.createComment("foreach");
  const end = document.createComment("/foreach");
  const frag = document.createDocumentFragment();
  frag.append(start, end);
  let entries = []; // {key, json, node, scope}
  const keyOf = (v, i) => (node.key && v && typeof v === "object" && node.key in v ? `k${v[node.key]}` : `i${i}`);
  const make = (value, i) => {
    const s = scope.child(node.item, value);
    return { key: keyOf(value, i), json: JSON.stringify(value), node: single(render(node.body, s)), scope: s };
  };
  const drop = (entry) => {
    entry.scope.dispose();
    entry.node.remove();
  };
  // The whole list changed: keep the DOM of items whose key and value are unchanged.
  const reconcile = (list) => {
    list = Array.isArray(list) ? list : [];
    const parent = end.parentNode;
    const old = new Map(entries.map((e) => [e.key, e]));
    const next = list.map((value, i) => {
      const key = keyOf(value, i);
      const json = JSON.stringify(value);
      const kept = old.get(key);
      if (kept && kept.json === json) {
        old.delete(key);
        return kept;
      }
      return make(value, i);
    });
    for (const e of old.values()) drop(e);
    // Put each node in place, moving only those that are not.
    let cursor = start.nextSibling;
    for (const e of next) {
      if (e.node === cursor) cursor = cursor.nextSibling;
      else parent.insertBefore(e.node, cursor);
    }
    entries = next;
  };
  // List ops, as the server sent them: touch only the rows they name.
  const apply = (ops) => {
    const parent = end.parentNode;
    for (const op of ops) {
      switch (op.op) {
        case "append": {
          const add = document.createDocumentFragment();
          for (const value of op.values) {
            const e = make(value, entries.length);
            entries.push(e);
            add.appendChild(e.node);
          }
          parent.insertBefore(add, end);
          break;
        }
        case "insert": {
          const e = make(op.value, op.index);
          parent.insertBefore(e.node, entries[op.index]?.node ?? end);
          entries.splice(op.index, 0, e);
          break;
        }
        case "remove":
          drop(entries.splice(op.index, 1)[0]);
          break;
        case "replace": {
          const e = make(op.value, op.index);
          const old = entries[op.index];
          parent.replaceChild(e.node, old.node);
          old.scope.dispose();
          entries[op.index] = e;
          break;
        }
        case "move": {
          const [e] = entries.splice(op.from, 1);
          entries.splice(op.to, 0, e);
          parent.insertBefore(e.node, entries[op.to + 1]?.node ?? end);
          break;
        }
        case "truncate":
          entries.splice(op.len).forEach(drop);
          break;
        default:
          throw new Error(`duet: unknown list op ${op.op}`);
      }
    }
  };
  const initial = evaluate(node.list, scope);
  for (const [i, value] of (Array.isArray(initial) ? initial : []).entries()) {
    const e = make(value, i);
    entries.push(e);
    frag.insertBefore(e.node, end);
  }
  const direct = node.list.k === "var" ? `${node.list.s}.${node.list.v}` : null;
  for (const key of deps(node.list)) {
    scope.cleanups.push(
      subscribe(key, (change) => {
        if (key === direct && change?.op === "list") apply(change.ops);
        else reconcile(evaluate(node.list, scope));
      }),
    );
  }
  return frag;
}

// A foreach over a stream: the items live only here, in the DOM, keyed by the list key;
// the server sends stream ops (`insert`, `update`, `delete`, `reset`, `limit`) and keeps
// nothing. An item whose key is shown is replaced where it is, so nothing shows twice.
function renderStream(node, scope) {
  const start = document.createComment("stream");
  const end = document.createComment("/stream");
  const frag = document.createDocumentFragment();
  frag.append(start, end);
  let entries = []; // {key, node, scope}, in DOM order
  const byKey = new Map();
  const keyOf = (item) => `k${item?.[node.key ?? "id"]}`;
  const make = (item) => {
    const s = scope.child(node.item, item);
    return { key: keyOf(item), node: single(render(node.body, s)), scope: s };
  };
  const drop = (e) => {
    byKey.delete(e.key);
    e.scope.dispose();
    e.node.remove();
  };
  const replace = (old, item) => {
    const e = make(item);
    old.node.replaceWith(e.node);
    old.scope.dispose();
    entries[entries.indexOf(old)] = e;
    byKey.set(e.key, e);
  };
  const apply = (ops) => {
    const parent = end.parentNode;
    for (const op of ops) {
      switch (op.op) {
        case "insert": {
          const shown = byKey.get(keyOf(op.item));
          if (shown) {
            replace(shown, op.item);
            break;
          }
          const e = make(op.item);
          const at = op.at < 0 || op.at > entries.length ? entries.length : op.at;
          parent.insertBefore(e.node, entries[at]?.node ?? end);
          entries.splice(at, 0, e);
          byKey.set(e.key, e);
          break;
        }
        case "update": {
          const shown = byKey.get(keyOf(op.item));
          if (shown) replace(shown, op.item);
          break;
        }
        case "delete": {
          const shown = byKey.get(`k${op.key}`);
          if (shown) {
            entries.splice(entries.indexOf(shown), 1);
            drop(shown);
          }
          break;
        }
        case "reset":
          entries.forEach(drop);
          entries = [];
          break;
        case "limit": {
          const keep = op.keep;
          const gone = keep >= 0 ? entries.splice(keep) : entries.splice(0, Math.max(entries.length + keep, 0));
          gone.forEach(drop);
          break;
        }
        default:
          throw new Error(`duet: unknown stream op ${op.op}`);
      }
    }
  };
  scope.cleanups.push(
    subscribe(`${node.list.s}.${node.list.v}`, (change) => {
      if (change?.op === "stream") apply(change.ops);
    }),
  );
  return frag;
}

function renderCond(node, scope) {
  const anchor = document.createComment("cond");
  const frag = document.createDocumentFragment();
  frag.appendChild(anchor);
  let shown = null; // {nodes, scope, branch}
  scope.watch(node.test, (v) => {
    const branch = truthy(v) ? node.then : node.else;
    if (shown && shown.branch === branch) return;
    if (shown) {
      shown.scope.dispose();
      shown.nodes.forEach((n) => n.remove());
    }
    shown = null;
    if (!branch) return;
    const s = scope.child(null, null);
    const dom = render(branch, s);
    const nodes = dom.nodeType === Node.DOCUMENT_FRAGMENT_NODE ? [...dom.childNodes] : [dom];
    (anchor.parentNode ?? frag).insertBefore(dom, anchor.nextSibling);
    shown = { nodes, scope: s, branch };
  });
  return frag;
}

function matchPage(path) {
  for (const page of rt.spec.pages) {
    const want = page.path.split("/");
    const got = path.split("/");
    if (want.length !== got.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < want.length && ok; i++) {
      const m = /^\{(.+)\}$/.exec(want[i]);
      if (m && got[i] !== "") params[m[1]] = decodeURIComponent(got[i]);
      else ok = !m && want[i] === got[i];
    }
    if (ok) return { page, params };
  }
  return null;
}

// `to` as a path of this origin (`/orders?x=1#y`), or null when it points elsewhere: the
// runtime never leaves its origin on the server's word (redirect actions, `?next=`).
function ownPath(to) {
  if (typeof to !== "string" || to === "") return null;
  let url;
  try {
    url = new URL(to, location.origin);
  } catch {
    return null;
  }
  return url.origin === location.origin ? url.pathname + url.search + url.hash : null;
}

function loginUrl(next) {
  return `${rt.spec.login_page}?next=${encodeURIComponent(next)}`;
}

function renderPage() {
  const app = document.getElementById("app") ?? document.body;
  const found = matchPage(location.pathname);
  if (found?.page.login_required && !rt.user) {
    location.replace(loginUrl(location.pathname + location.search));
    return;
  }
  if (rt.root) rt.root.dispose();
  rt.root = new Scope(null, null, null);
  const page = found ? found.page : rt.spec.not_found;
  document.title = page.title;
  const dom = render(page.body, rt.root);
  app.replaceChildren(dom);
  rt.pageKey = location.pathname;
  app.dispatchEvent(new CustomEvent("duet:render", { bubbles: true }));
}

// ---------------------------------------------------------------------------------------
// Actions

function inputValue(el) {
  if (el.type === "checkbox") return el.checked;
  if (el.type === "number" || el.type === "range") return el.value === "" ? null : Number(el.value);
  return el.value;
}

function formFields(form) {
  const out = {};
  for (const el of form.elements ?? []) {
    if (!el.name || el.disabled || el.type === "submit" || el.type === "button") continue;
    if (el.type === "radio" && !el.checked) continue;
    out[el.name] = inputValue(el);
  }
  return out;
}

function run(action, ev, el, scope) {
  switch (action.do) {
    case "event": {
      const p = action.payload;
      let payload = null;
      if (p.from === "value") payload = evaluate(p.v, scope);
      else if (p.from === "field") payload = formFields(el.closest("form") ?? el)[p.name] ?? null;
      else if (ev.type === "submit") payload = formFields(el);
      else if (ev.type === "input" || ev.type === "change") payload = inputValue(el);
      const form = ev.type === "submit" ? el : null;
      if (form) fieldErrors(form, {});
      sendFrame({ type: "event", state: action.state, handler: action.handler, payload }, form).catch(() => {});
      break;
    }
    case "navigate":
      navigate(evaluate(action.to, scope));
      break;
    case "login":
      login(el.closest("form") ?? el);
      break;
    case "logout":
      logout(action.to);
      break;
    case "post":
      postForm(action, el.closest("form") ?? el);
      break;
    case "confirm":
      confirmFirst(action, ev, el, scope);
      break;
  }
}

// Asks `action.message` in a native modal <dialog> (the browser keeps the focus inside and
// Escape cancels); the focus starts on Cancel and goes back to where it was. Only the
// confirming button runs `action.then`.
function confirmFirst(action, ev, el, scope) {
  const focused = document.activeElement;
  const returnTo = focused instanceof HTMLElement && focused !== document.body ? focused : el;
  const id = `duet-confirm-${(rt.dialogs += 1)}`;
  const dialog = document.createElement("dialog");
  dialog.className = "duet-confirm";
  dialog.setAttribute("role", "alertdialog");
  dialog.setAttribute("aria-modal", "true");
  dialog.setAttribute("aria-labelledby", id);
  const message = document.createElement("p");
  message.id = id;
  message.textContent = str(evaluate(action.message, scope));
  const buttons = document.createElement("form");
  buttons.method = "dialog";
  const button = (value, label) => {
    const b = document.createElement("button");
    b.value = value;
    b.className = `duet-confirm-${value}`;
    b.textContent = label;
    return b;
  };
  const no = button("no", action.no ?? "Cancel");
  buttons.append(no, button("yes", action.yes ?? "Confirm"));
  dialog.append(message, buttons);
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (returnTo.isConnected) returnTo.focus();
    if (dialog.returnValue === "yes") run(action.then, ev, el, scope);
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  no.focus();
}

function csrfToken() {
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body ?? {}),
  });
  let json = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  return { ok: response.ok, status: response.status, json };
}

// Per-field validation errors (`error.fields`): next to each named field, the rest on top.
function fieldErrors(form, errors) {
  form.querySelectorAll(".duet-field-error").forEach((e) => e.remove());
  form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  const general = [];
  for (const [name, messages] of Object.entries(errors ?? {})) {
    const input = name === "non_field_errors" ? null : form.elements.namedItem(name);
    const text = [].concat(messages).join(" ");
    if (!input || !input.after) {
      general.push(text);
      continue;
    }
    const note = document.createElement("small");
    note.className = "duet-field-error";
    note.textContent = text;
    input.setAttribute("aria-invalid", "true");
    input.after(note);
  }
  formError(form, general.join(" "));
}

function formError(form, message) {
  let box = form.querySelector(".duet-form-error");
  if (!box) {
    box = document.createElement("p");
    box.className = "duet-form-error";
    box.setAttribute("role", "alert");
    form.prepend(box);
  }
  box.textContent = message;
  box.hidden = !message;
}

// Logs in over HTTP (the session cookie stays HttpOnly), then reconnects as the new user.
async function login(form) {
  const { username, password } = formFields(form);
  formError(form, "");
  let result;
  try {
    result = await post("/accounts/login/", { username, password });
  } catch {
    return formError(form, "The server cannot be reached; try again.");
  }
  if (!result.ok) {
    const detail = result.json?.detail ?? result.json?.message;
    return formError(form, result.status === 400 ? "Wrong username or password." : detail ?? `Login failed (${result.status}).`);
  }
  changeUser(result.json.user);
  history.replaceState({}, "", ownPath(new URLSearchParams(location.search).get("next")) ?? "/");
  connect(); // hello on the new page runs its on_load; the page renders on hydrate
}

// Posts a form to a backend path (an account flow): field errors next to the inputs, the
// answer's detail above the form, its user (if any) becomes the page's.
async function postForm(action, form) {
  const body = form.tagName === "FORM" ? formFields(form) : {};
  const query = new URLSearchParams(location.search);
  for (const name of action.query ?? []) if (query.has(name)) body[name] = query.get(name);
  fieldErrors(form, {});
  formNotice(form, "");
  let result;
  try {
    result = await post(action.to, body);
  } catch {
    return formError(form, "The server cannot be reached; try again.");
  }
  if (!result.ok) {
    if (result.status === 400 && result.json && !result.json.detail) return fieldErrors(form, result.json);
    return formError(form, result.json?.detail ?? `Refused (${result.status}).`);
  }
  if (form.tagName === "FORM") form.reset();
  formNotice(form, result.json?.detail ?? "Done.");
  const user = result.json?.user;
  if (user && rt.user && user.id === rt.user.id) {
    // The same user with new details (a confirmed address): shown at once, same tab.
    rt.user = user;
    notify("$user");
    if (action.then) navigate(action.then);
  } else if (user) {
    changeUser(user);
    history.replaceState({}, "", action.then ?? location.pathname);
    connect();
  } else if (action.then) {
    navigate(action.then);
  }
}

function formNotice(form, message) {
  let box = form.querySelector(".duet-form-notice");
  if (!box) {
    box = document.createElement("p");
    box.className = "duet-form-notice";
    box.setAttribute("role", "status");
    form.prepend(box);
  }
  box.textContent = message;
  box.hidden = !message;
}

async function logout(to) {
  try {
    await post("/accounts/logout/", {});
  } catch {
    return showError("The server cannot be reached; try again.");
  }
  changeUser(null);
  history.pushState({}, "", to || "/");
  connect();
}

function changeUser(user) {
  rt.user = user;
  // The old tab belonged to the old user: start a new one.
  rt.tab = null;
  sessionStorage.removeItem(TAB_KEY);
  for (const p of rt.pending.values()) p.reject?.(new Error("the user changed"));
  rt.pending.clear();
  notify("$user");
}

// ---------------------------------------------------------------------------------------
// Navigation

function navigate(to, { push = true, replace = false } = {}) {
  const url = new URL(str(to), location.href);
  if (url.origin !== location.origin) return location.assign(url.href);
  const found = matchPage(url.pathname);
  if (found?.page.login_required && !rt.user) {
    history.pushState({}, "", loginUrl(url.pathname + url.search));
    return afterNavigate(location.pathname, {});
  }
  if (push) history[replace ? "replaceState" : "pushState"]({}, "", url.pathname + url.search + url.hash);
  afterNavigate(url.pathname, found?.params ?? {});
}

function afterNavigate(path, params) {
  rt.router = { path, params };
  renderPage();
  notify("$router");
  sendFrame({ type: "navigate", route: { path } }).catch(() => {});
  window.scrollTo(0, 0);
}

// ---------------------------------------------------------------------------------------
// Events, exactly once

function nextSeq() {
  rt.seq += 1;
  sessionStorage.setItem(SEQ_KEY, String(rt.seq));
  return rt.seq;
}

// `form`: the form that sent it, where validation errors are shown.
function sendFrame(frame, form = null) {
  const seq = nextSeq();
  const full = { ...frame, seq };
  return new Promise((resolve, reject) => {
    rt.pending.set(seq, { frame: full, resolve, reject, form });
    if (rt.hydrated) transmit(full);
    // Otherwise it waits in `pending` and goes out after the next hydrate.
  });
}

function transmit(frame) {
  const out = rt.acked ? { ...frame, acked: rt.acked } : frame;
  try {
    rt.ws.send(JSON.stringify(out));
  } catch {
    // The socket is closing: the frame stays pending and is resent after reconnecting.
  }
}

/** Runs `state.handler(payload)`; resolves with the reply once it is applied to the DOM. */
function send(state, handler, payload = null) {
  return sendFrame({ type: "event", state, handler, payload });
}

function ack(seq) {
  if (seq > rt.acked) {
    rt.acked = seq;
    sessionStorage.setItem(ACKED_KEY, String(seq));
  }
}

// ---------------------------------------------------------------------------------------
// Deltas

function applyListOps(list, ops) {
  for (const op of ops) {
    const n = list.length;
    const bad = (i, max) => {
      if (!(Number.isInteger(i) && i >= 0 && i <= max)) throw new Error(`list op ${op.op} index ${i} out of range (length ${n})`);
    };
    switch (op.op) {
      case "append":
        list.push(...op.values);
        break;
      case "insert":
        bad(op.index, n);
        list.splice(op.index, 0, op.value);
        break;
      case "remove":
        bad(op.index, n - 1);
        list.splice(op.index, 1);
        break;
      case "replace":
        bad(op.index, n - 1);
        list[op.index] = op.value;
        break;
      case "move":
        bad(op.from, n - 1);
        bad(op.to, n - 1);
        list.splice(op.to, 0, list.splice(op.from, 1)[0]);
        break;
      case "truncate":
        bad(op.len, n);
        list.length = op.len;
        break;
      default:
        throw new Error(`unknown list op ${op.op}`);
    }
  }
}

function applyChanges(changes) {
  for (const [state, vars] of Object.entries(changes ?? {})) {
    const values = (rt.states[state] ??= {});
    for (const [name, op] of Object.entries(vars)) {
      if (op.op === "set") values[name] = op.value;
      else if (op.op === "stream") {
        // The items are not kept in the state: the foreach showing the stream applies them.
      } else if (op.op === "list") {
        if (!Array.isArray(values[name])) throw new Error(`list op on ${state}.${name}, which is not a list`);
        applyListOps(values[name], op.ops);
      } else throw new Error(`unknown var op ${op.op}`);
      notify(`${state}.${name}`, op);
    }
  }
}

function runActions(actions) {
  for (const a of actions ?? []) {
    if (a.kind === "redirect") {
      const to = ownPath(a.to);
      if (to === null) console.warn(`duet: redirect to another origin ignored: ${a.to}`);
      else navigate(to, { replace: false });
    }
    else if (a.kind === "toast") showToast(a.level, a.message);
    else if (a.kind === "call") {
      const fn = rt.functions.get(a.name) ?? (a.name === "scrollTo" ? window.scrollTo.bind(window) : null);
      if (fn) fn(...(a.args ?? []));
      else console.warn(`duet: no function registered as ${a.name}`);
    }
  }
}

function onFrame(f) {
  switch (f.type) {
    case "hydrate":
      return onHydrate(f);
    case "delta": {
      const started = performance.now();
      try {
        applyChanges(f.changes);
        rt.lastApplyMs = performance.now() - started;
      } catch (error) {
        // Our copy no longer fits the server's: fetch it whole again.
        console.warn("duet: delta did not apply, rehydrating:", error.message);
        return connect();
      }
      if (f.router) {
        rt.router = f.router;
        notify("$router");
      }
      if (f.seq != null) {
        ack(f.seq);
        const p = rt.pending.get(f.seq);
        rt.pending.delete(f.seq);
        p?.resolve(f);
      }
      for (const fn of rt.afterApply) fn(f);
      runActions(f.actions);
      return;
    }
    case "error":
      return onError(f);
    case "bye":
      rt.bye = f;
      if (f.code !== 1000 && f.code !== 4401 && f.code !== RESTARTING) showError(f.message);
      return;
  }
}

function onError(f) {
  const p = f.seq != null ? rt.pending.get(f.seq) : null;
  if (f.code === "not_hydrated") return connect(); // the frame stays pending
  // `hello` could not be answered now (the state store is away, or too many new tabs):
  // say hello again, with backoff, on the same socket.
  if (f.seq == null && !rt.hydrated && (f.code === "unavailable" || f.code === "rate_limited")) {
    return retryHello();
  }
  if (f.seq != null) {
    ack(f.seq);
    rt.pending.delete(f.seq);
    const error = new Error(f.message);
    error.code = f.code;
    error.fields = f.fields ?? null;
    p?.reject(error);
  }
  if (f.fields && p?.form?.isConnected) return fieldErrors(p.form, f.fields);
  if (f.code === "login_required") {
    rt.user = null;
    return navigate(loginUrl(location.pathname + location.search));
  }
  showError(f.message);
}

function onHydrate(f) {
  rt.tab = f.tab;
  sessionStorage.setItem(TAB_KEY, f.tab);
  // The app was deployed since this page loaded: reload it (the tab is kept) rather than
  // render with a spec the server no longer has. Once per new spec, so a page served by an
  // instance not yet updated cannot loop.
  const mine = specHash();
  if (f.spec && mine && f.spec !== mine && sessionStorage.getItem(RELOADED_KEY) !== f.spec) {
    sessionStorage.setItem(RELOADED_KEY, f.spec);
    if (f.seq > rt.seq) sessionStorage.setItem(SEQ_KEY, String(f.seq));
    setStatus("connecting");
    location.reload();
    return;
  }
  rt.states = f.states;
  rt.router = f.router;
  rt.hydrated = true;
  rt.attempts = 0;
  if (f.seq > rt.seq) {
    rt.seq = f.seq;
    sessionStorage.setItem(SEQ_KEY, String(f.seq));
  }
  setStatus("open");
  renderPage();
  // Each stream starts with a reset, then what the page's on_load streamed.
  applyChanges(f.streams);
  // What the server applied is in the hydrate; resend the rest, in order, same seq.
  for (const seq of [...rt.pending.keys()].sort((a, b) => a - b)) {
    const p = rt.pending.get(seq);
    if (seq <= f.seq) {
      rt.pending.delete(seq);
      p.resolve(f);
    } else transmit(p.frame);
  }
  for (const fn of rt.afterApply) fn(f);
}

// ---------------------------------------------------------------------------------------
// The socket

function connect() {
  clearTimeout(rt.reconnectTimer);
  if (rt.ws) {
    const old = rt.ws;
    old.onclose = old.onmessage = old.onopen = null;
    try {
      old.close(1000);
    } catch {
      /* already closed */
    }
  }
  rt.hydrated = false;
  setStatus("connecting");
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/_event`;
  const ws = new WebSocket(url);
  rt.ws = ws;
  ws.onopen = () => sendHello(ws);
  ws.onmessage = (m) => {
    let frame;
    try {
      frame = JSON.parse(m.data);
    } catch {
      return console.warn("duet: a frame that is not JSON");
    }
    onFrame(frame);
  };
  ws.onclose = (e) => {
    if (rt.ws !== ws) return;
    rt.ws = null;
    rt.hydrated = false;
    onClose(e);
  };
}

// The hash of the app spec this page loaded (from its content-hashed URL).
function specHash() {
  const url = document.querySelector('meta[name="duet-spec"]')?.content ?? "";
  return /\.([0-9a-f]+)\.json$/.exec(url)?.[1] ?? null;
}

function sendHello(ws) {
  const hello = { type: "hello", protocol: PROTOCOL, tab: rt.tab, route: { path: location.pathname } };
  const spec = specHash();
  if (spec) hello.spec = spec;
  if (rt.acked) hello.acked = rt.acked;
  ws.send(JSON.stringify(hello));
}

// The next wait before trying again: 250 ms doubling to 5 s, with jitter.
function backoff() {
  const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** rt.attempts) * (0.5 + Math.random() / 2);
  rt.attempts += 1;
  return delay;
}

function retryHello() {
  const ws = rt.ws;
  const delay = backoff();
  setStatus("offline", delay);
  clearTimeout(rt.reconnectTimer);
  rt.reconnectTimer = setTimeout(() => {
    if (rt.ws === ws && ws.readyState === WebSocket.OPEN) sendHello(ws);
    else connect();
  }, delay);
}

function onClose(e) {
  if (e.code === 4001) {
    setStatus("failed");
    return showError(e.reason || "This page is out of date: reload it.");
  }
  if (e.code === 4401) {
    // Logged out elsewhere: continue as anonymous.
    changeUser(null);
    const found = matchPage(location.pathname);
    if (found?.page.login_required) history.replaceState({}, "", loginUrl(location.pathname));
    return connect();
  }
  if (e.code === RESTARTING) {
    // The server is shutting down (a deploy): reconnect at once, to another instance, with
    // a little jitter so that every tab does not arrive in the same millisecond.
    setStatus("connecting");
    rt.reconnectTimer = setTimeout(connect, Math.random() * 250);
    return;
  }
  const delay = backoff();
  setStatus("offline", delay);
  rt.reconnectTimer = setTimeout(connect, delay);
}

/** Closes the socket as a network failure would (for tests): the runtime reconnects. */
function drop() {
  if (rt.ws) rt.ws.close(4000, "dropped by the page");
}

// ---------------------------------------------------------------------------------------
// Connection indicator and error messages

function chrome(id, tag = "div") {
  let el = document.getElementById(id);
  if (!el) {
    el = document.createElement(tag);
    el.id = id;
    document.body.appendChild(el);
  }
  return el;
}

function setStatus(status, delay) {
  rt.status = status;
  const el = chrome("duet-status");
  el.dataset.state = status;
  el.setAttribute("role", "status");
  el.textContent = {
    open: "Live",
    connecting: "Connecting…",
    offline: `Offline — reconnecting${delay ? ` in ${Math.ceil(delay / 1000)} s` : ""}…`,
    failed: "Disconnected",
  }[status];
  document.documentElement.dataset.duet = status;
}

function showError(message) {
  const box = chrome("duet-errors");
  box.setAttribute("role", "alert");
  const item = document.createElement("div");
  item.className = "duet-error";
  item.textContent = message;
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "×";
  close.setAttribute("aria-label", "Dismiss");
  close.onclick = () => item.remove();
  item.appendChild(close);
  box.appendChild(item);
  setTimeout(() => item.remove(), 8000);
}

// How long a toast stays, by level (an error a little longer; hovering or focusing one
// keeps it).
const TOAST_MS = { info: 5000, success: 5000, error: 8000 };

// A toast (`ctx.toast(...)` on the server): in a polite live region (an error is an alert),
// with a Dismiss button; Escape dismisses the focused one.
function showToast(level, message) {
  const region = chrome("duet-toasts", "section");
  region.setAttribute("aria-live", "polite");
  region.setAttribute("aria-label", "Notifications");
  level = level in TOAST_MS ? level : "info";
  const item = document.createElement("div");
  item.className = "duet-toast";
  item.dataset.level = level;
  if (level === "error") item.setAttribute("role", "alert");
  const text = document.createElement("p");
  text.textContent = str(message);
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "×";
  close.setAttribute("aria-label", "Dismiss");
  let timer = null;
  const dismiss = () => {
    clearTimeout(timer);
    item.remove();
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(dismiss, TOAST_MS[level]);
  };
  close.onclick = dismiss;
  item.addEventListener("keydown", (e) => {
    if (e.key === "Escape") dismiss();
  });
  item.addEventListener("mouseenter", () => clearTimeout(timer));
  item.addEventListener("focusin", () => clearTimeout(timer));
  item.addEventListener("mouseleave", later);
  item.addEventListener("focusout", later);
  item.append(text, close);
  region.appendChild(item);
  later();
}

// ---------------------------------------------------------------------------------------
// Start

async function start() {
  try {
    rt.user = JSON.parse(document.getElementById("duet-boot")?.textContent || "{}").user ?? null;
  } catch {
    rt.user = null;
  }
  setStatus("connecting");
  const specUrl = document.querySelector('meta[name="duet-spec"]')?.content;
  const response = await fetch(specUrl, { credentials: "same-origin" });
  rt.spec = await response.json();
  addEventListener("popstate", () => navigate(location.pathname + location.search, { push: false }));
  connect();
}

export const duet = {
  send,
  navigate,
  drop,
  reconnect: connect,
  /** Shows a toast, as the server's `ctx.toast(...)` does: `toast("success", "Saved.")`. */
  toast: showToast,
  /** Applies `frame` as if the server had sent it (for tests of the DOM updates). */
  applyFrame: onFrame,
  /** Registers `fn` under `name` for the server's `call` actions. */
  register(name, fn) {
    rt.functions.set(name, fn);
  },
  /** Calls `fn(frame)` after every delta or hydrate has been applied to the DOM. */
  afterApply(fn) {
    rt.afterApply.add(fn);
    return () => rt.afterApply.delete(fn);
  },
  get states() {
    return rt.states;
  },
  get status() {
    return rt.status;
  },
  get user() {
    return rt.user;
  },
  get tab() {
    return rt.tab;
  },
  get pending() {
    return rt.pending.size;
  },
  /** Milliseconds the last delta took to apply to the state and the DOM. */
  get lastApplyMs() {
    return rt.lastApplyMs;
  },
};

window.duet = duet;
start().catch((error) => {
  setStatus("failed");
  showError(`The app could not start: ${error.message}`);
});
