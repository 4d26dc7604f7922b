// The mockup preview page: state -> request JSON -> worker render -> canvas.
//
// Every control edits `state`; `changed()` rebuilds the request body (the
// exact JSON "Render on server" sends) and asks the worker for a new frame.
// Only the newest request is kept while a render runs, so dragging a
// slider never queues up stale work.

const $ = (id) => document.getElementById(id);

const BLEND_MODES = ["normal", "dissolve", "darken", "multiply", "color_burn", "linear_burn",
  "darker_color", "lighten", "screen", "color_dodge", "linear_dodge", "lighter_color", "overlay",
  "soft_light", "hard_light", "vivid_light", "linear_light", "pin_light", "hard_mix", "difference",
  "exclusion", "subtract", "divide", "hue", "saturation", "color", "luminosity"];
const ADJUSTMENTS = { brightness: 0, contrast: 0, saturation: 0, vibrance: 0, opacity: 100, blur: 0 };
const PREVIEW_MAX_WIDTH = 800;

// ---------------------------------------------------------------- worker

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let nextId = 1;
const pending = new Map();
// Fractions reported while templates were parsed (the page's bar; tests).
const parseProgress = [];
worker.onmessage = (e) => {
  const m = e.data;
  if (m.type === "progress") {
    if (m.stage === "parsing") {
      const f = typeof m.fraction === "number" ? m.fraction : null;
      if (f !== null) parseProgress.push(f);
      progress(f, f === null ? "Parsing the template…" : `Parsing the template… ${Math.round(f * 100)}%`);
    }
    return;
  }
  const p = pending.get(m.id);
  if (!p) return;
  pending.delete(m.id);
  if (m.ok) p.resolve(m);
  else {
    const err = new Error(m.message);
    err.name = m.name;
    err.fatal = m.fatal;
    p.reject(err);
  }
};
worker.onerror = (e) => setStatus(`The compositor failed to load: ${e.message || "unknown error"}`, "error");
function call(type, payload = {}, transfer = []) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...payload }, transfer);
  });
}

// ---------------------------------------------------------------- state

const state = {
  source: null,          // {kind: "api", mockup} | {kind: "local", name}
  inspection: null,
  selected: null,        // smart object uuid shown with handles
  so: new Map(),         // uuid -> per smart object options
  hidden: new Set(),
  previewSize: "fit",
  exp: { format: "png", sizeMode: "width", width: 1920, quality: 95, dpi: "", label: "", async: false },
};

function defaultSo() {
  return {
    art: null,           // {name, type, bytes (Uint8Array), b64, w, h, url}
    fit: "fill", rotate: 0, flip_horizontal: false, flip_vertical: false,
    width: "", height: "", left: "", top: "", tile: false, tile_spacing: 0,
    color_on: false, hex: "#3366cc", blending_mode: "normal",
    adj: { ...ADJUSTMENTS },
  };
}

// ---------------------------------------------------------------- request

const int = (v) => (v === "" || v === null || v === undefined ? null : Math.round(Number(v)));

/// The request body. `full`: with the artwork's whole base64 (what is
/// sent); otherwise shortened for display.
function buildRequest(full = true) {
  const body = {};
  if (state.source?.kind === "api") body.mockup_uuid = state.source.mockup.uuid;
  const smart_objects = [];
  for (const info of state.inspection?.smart_objects || []) {
    const s = state.so.get(info.uuid);
    if (!s || (!s.art && !s.color_on)) continue;
    const entry = { uuid: info.uuid };
    if (s.art) {
      const a = {};
      a.base64 = full ? s.art.b64 : shorten(s.art.b64);
      a.content_type = s.art.type;
      a.fit = s.fit;
      if (int(s.rotate)) a.rotate = int(s.rotate);
      if (s.flip_horizontal) a.flip_horizontal = true;
      if (s.flip_vertical) a.flip_vertical = true;
      const w = int(s.width), h = int(s.height), l = int(s.left), t = int(s.top);
      if (w !== null || h !== null) a.size = { ...(w !== null && { width: w }), ...(h !== null && { height: h }) };
      if (l !== null || t !== null) a.position = { ...(t !== null && { top: t }), ...(l !== null && { left: l }) };
      if (s.tile) { a.tile = true; a.tile_spacing = int(s.tile_spacing) || 0; }
      entry.asset = a;
    }
    if (s.color_on) entry.color = { hex: s.hex.toUpperCase(), blending_mode: s.blending_mode };
    const adj = {};
    for (const [k, d] of Object.entries(ADJUSTMENTS)) if (int(s.adj[k]) !== d) adj[k] = int(s.adj[k]);
    if (Object.keys(adj).length) entry.adjustment_layers = adj;
    smart_objects.push(entry);
  }
  body.smart_objects = smart_objects;
  if (state.hidden.size) body.hidden_layers = [...state.hidden];
  const e = state.exp;
  body.export_options = {
    image_format: e.format,
    image_size: e.sizeMode === "original" ? "original" : int(e.width),
    quality: int(e.quality),
  };
  if (int(e.dpi) !== null) body.export_options.dpi = int(e.dpi);
  if (e.label) body.export_label = e.label;
  if (e.async) body.is_async = true;
  return body;
}

function shorten(b64) {
  if (b64.length <= 64) return b64;
  return `${b64.slice(0, 24)}…(${Math.round(b64.length * 3 / 4 / 1024)} KB)`;
}

/// The body the preview renders: the request, at preview size unless the
/// user asked for the export size.
function previewRequest(body) {
  const r = { ...body, export_options: { ...body.export_options } };
  delete r.is_async;
  if (state.previewSize === "fit") {
    const w = exportWidth();
    r.export_options.image_size = Math.max(100, Math.min(PREVIEW_MAX_WIDTH, w));
  }
  return r;
}

function exportWidth() {
  const e = state.exp;
  return e.sizeMode === "original" ? state.inspection.width : int(e.width) || 1920;
}

function apiBase() {
  const v = $("api-base").value.trim().replace(/\/+$/, "");
  return v || location.origin;
}

function curlFor(body) {
  const json = JSON.stringify(body, null, 2);
  return `curl -sS -X POST "${apiBase()}/api/v1/renders" \\\n` +
    `  -H "X-API-KEY: $MOCKUP_API_KEY" \\\n  -H "Content-Type: application/json" \\\n` +
    `  --data-binary @- <<'JSON'\n${json}\nJSON`;
}

// ---------------------------------------------------------------- rendering

let rendering = false;
let queued = null;
let lastFrame = null;
const timings = [];

function changed() {
  if (!state.inspection) return;
  const body = buildRequest(false);
  $("req-json").textContent = JSON.stringify(body, null, 2);
  $("req-curl").textContent = curlFor(body);
  updateServerButton(body);
  drawOverlay();
  queued = previewRequest(buildRequest(false));
  if (!rendering) pump();
}

// Frames drawn while changes keep coming are drafts (only the part of the
// picture a change reaches is rescaled, a few pixels a level or two off);
// once they stop, the last request is drawn again exactly, so the preview at
// rest is the server's picture pixel for pixel.
async function pump() {
  rendering = true;
  let settle = null;
  while (queued || settle) {
    const draft = !!queued;
    const req = queued || settle;
    queued = null;
    settle = draft ? req : null;
    const t0 = performance.now();
    try {
      const f = await call("render", { request: JSON.stringify(req), draft });
      const canvas = $("canvas");
      const ctx = canvas.getContext("2d");
      const sameSize = canvas.width === f.width && canvas.height === f.height;
      if (f.changed.length === 4 && sameSize && lastFrame) {
        // A draft's changed part, drawn over the last frame.
        const [x, y, w, h] = f.changed;
        if (w > 0 && h > 0) ctx.putImageData(new ImageData(new Uint8ClampedArray(f.pixels), w, h), x, y);
        lastFrame = { ...lastFrame, ms: f.ms, request: req, pixels: null };
      } else {
        if (!sameSize) {
          canvas.width = f.width;
          canvas.height = f.height;
        }
        const img = new ImageData(new Uint8ClampedArray(f.pixels), f.width, f.height);
        ctx.putImageData(img, 0, 0);
        lastFrame = { width: f.width, height: f.height, ms: f.ms, request: req, pixels: img.data };
      }
      drawOverlay();
      const total = performance.now() - t0;
      lastFrame.total = total;
      timings.push({ width: f.width, height: f.height, ms: f.ms, total, stages: f.stages, draft: f.draft });
      $("pv-time").textContent = `${f.width}×${f.height} · ${f.ms.toFixed(1)} ms render, ${total.toFixed(1)} ms to screen`;
      $("pv-time").title = Object.entries(f.stages || {}).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(", ");
      $("pv-error").textContent = "";
      $("pv-warn").textContent = f.warnings.length
        ? `Not rendered faithfully: ${f.warnings.map((w) => w.message || w.code).join("; ")}` : "";
      $("download-preview").disabled = false;
      document.body.dataset.frames = String(timings.length);
    } catch (err) {
      $("pv-error").textContent = describeLocal(err);
    }
    // Let the browser paint before the next frame.
    await new Promise((r) => requestAnimationFrame(r));
  }
  rendering = false;
  document.body.dataset.idle = "1";
}

function describeLocal(err) {
  if (err.fatal) return `The compositor stopped on this template (${err.message}). Reload the page to start again, and please report the file.`;
  switch (err.name) {
    case "BadRequest": return `Some options are not valid:\n${err.message}`;
    case "BadArtwork": return `The artwork could not be read: ${err.message}`;
    case "Unsupported": return err.message;
    case "UnknownLayer": return err.message;
    case "BadTemplate": return `This file could not be opened as a template: ${err.message}`;
    default: return `The preview failed: ${err.message}`;
  }
}

/// Resolves once every queued change has been drawn (for tests and tools).
window.previewIdle = () => new Promise((resolve) => {
  const check = () => (!rendering && !queued ? resolve(lastFrame) : setTimeout(check, 10));
  check();
});

// ---------------------------------------------------------------- templates

function progress(fraction, text) {
  $("progress").hidden = false;
  const bar = $("progress-bar");
  bar.parentElement.classList.toggle("busy", fraction === null);
  if (fraction !== null) bar.style.width = `${Math.round(fraction * 100)}%`;
  $("progress-text").textContent = text;
}
function progressDone() { $("progress").hidden = true; }

/// Reads a response body with progress.
async function readWithProgress(resp, label) {
  const total = Number(resp.headers.get("content-length")) || 0;
  if (!resp.body) return new Uint8Array(await resp.arrayBuffer());
  const reader = resp.body.getReader();
  const chunks = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.length;
    progress(total ? got / total : null, `${label}: ${fmtBytes(got)}${total ? ` of ${fmtBytes(total)}` : ""}`);
  }
  const out = new Uint8Array(got);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

function fmtBytes(n) {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

async function openTemplate(bytes, source) {
  progress(null, "Parsing the template…");
  setStatus("Opening the template…");
  try {
    const r = await call("open", { bytes: bytes.buffer }, [bytes.buffer]);
    state.source = source;
    state.inspection = r.inspection;
    state.so = new Map(r.inspection.smart_objects.map((s) => [s.uuid, defaultSo()]));
    state.hidden = new Set();
    state.selected = r.inspection.smart_objects[0]?.uuid || null;
    const name = source.kind === "api" ? source.mockup.name : source.name;
    $("tpl-info").textContent = `${name}: ${r.inspection.width}×${r.inspection.height}, ` +
      `${r.inspection.smart_objects.length} smart object(s), parsed in ${r.ms.toFixed(0)} ms`;
    setStatus(`Opened ${name}.`, "ok");
    buildSmartObjects();
    buildLayers();
    $("empty").hidden = true;
    $("frame").hidden = false;
    $("result").hidden = true;
    changed();
  } catch (err) {
    setStatus(describeLocal(err), "error");
    $("tpl-info").textContent = "";
  } finally {
    progressDone();
  }
}

async function openLocal(file) {
  if (!file) return;
  if (!/\.(psd|psb)$/i.test(file.name) && file.type !== "image/vnd.adobe.photoshop") {
    setStatus(`${file.name} is not a PSD or PSB file.`, "error");
    return;
  }
  progress(0, `Reading ${file.name}`);
  const bytes = await readWithProgress(new Response(file, { headers: { "content-length": String(file.size) } }), `Reading ${file.name}`);
  await openTemplate(bytes, { kind: "local", name: file.name });
}

// ---------------------------------------------------------------- the API

async function api(path, opts = {}) {
  const key = $("api-key").value.trim();
  let resp;
  try {
    resp = await fetch(`${apiBase()}${path}`, {
      ...opts,
      headers: { "x-api-key": key, ...(opts.body ? { "content-type": "application/json" } : {}), ...opts.headers },
    });
  } catch (err) {
    throw new Error(`Could not reach ${apiBase()} (${err.message}). Check the API URL and that the service is running.`);
  }
  if (!resp.ok) throw new Error(await describeApiError(resp));
  return resp;
}

/// The API's error bodies, in words.
async function describeApiError(resp) {
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON */ }
  const detail = body && (typeof body.detail === "string" ? body.detail : body.message);
  switch (resp.status) {
    case 401: return `The API key was not accepted${detail ? `: ${detail}` : "."}`;
    case 402: return `You have run out of credits${body?.credits_reset_at ? ` until ${new Date(body.credits_reset_at).toLocaleString()}` : ""}.`;
    case 404: return detail && detail !== "Not Found" ? detail : "Not found on this server.";
    case 422: {
      const errs = (body?.errors || []).map((e) => `• ${e.field}: ${e.message}`).join("\n");
      return `The server rejected the request:\n${errs || detail || ""}`;
    }
    case 429: {
      const s = body?.error?.retry_after ?? resp.headers.get("retry-after");
      return `Too many requests: try again in ${s ?? "a few"} seconds.`;
    }
    default: return `${resp.status} ${resp.statusText}${detail ? `: ${detail}` : ""}`;
  }
}

async function listMockups(ev) {
  ev?.preventDefault();
  const msg = $("api-msg");
  msg.className = "msg";
  if (!$("api-key").value.trim()) {
    msg.className = "msg error";
    msg.textContent = "Type your API key first (it starts with sm_).";
    $("api-key").focus();
    return;
  }
  msg.textContent = "Loading…";
  try {
    const r = await (await api("/api/v1/mockups?limit=100")).json();
    const list = r.data.mockups;
    const ul = $("mockups");
    ul.replaceChildren();
    msg.textContent = list.length ? `${list.length} mockup(s). Pick one to open it.` : "This account has no mockups yet: upload one through the API, or drop a PSD in the Local file tab.";
    for (const m of list) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.uuid = m.uuid;
      if (m.thumbnail) { const img = document.createElement("img"); img.src = m.thumbnail; img.alt = ""; b.append(img); }
      const span = document.createElement("span");
      span.innerHTML = `<strong></strong><br><small class="muted"></small>`;
      span.querySelector("strong").textContent = m.name;
      span.querySelector("small").textContent = `${m.width}×${m.height} · ${m.smart_objects.length} smart object(s)`;
      b.append(span);
      b.onclick = () => openFromApi(m, b);
      li.append(b);
      ul.append(li);
    }
  } catch (err) {
    msg.className = "msg error";
    msg.textContent = err.message;
  }
}

const templateCache = new Map();
async function openFromApi(mockup, button) {
  document.querySelectorAll(".mockups button").forEach((b) => b.classList.toggle("sel", b === button));
  try {
    let bytes = templateCache.get(mockup.uuid);
    if (!bytes) {
      progress(0, "Downloading the template");
      const resp = await api(`/api/v1/mockups/${mockup.uuid}/psd`);
      bytes = await readWithProgress(resp, "Downloading the template");
      templateCache.set(mockup.uuid, bytes.slice());
    } else {
      bytes = bytes.slice();
    }
    await openTemplate(bytes, { kind: "api", mockup });
  } catch (err) {
    progressDone();
    setStatus(err.message, "error");
  }
}

// ---------------------------------------------------------------- server renders

function updateServerButton(body) {
  const b = $("render-server");
  let why = "";
  if (state.source?.kind !== "api") why = "Server renders need a template from the API (local files stay in this browser).";
  else if (!body.smart_objects.length && !body.hidden_layers) why = "Add artwork or a colour to a smart object first.";
  else if (!$("api-key").value.trim()) why = "Type your API key first.";
  b.disabled = !!why;
  b.title = why;
  if (why && !serverBusy) { $("server-msg").className = "msg muted"; $("server-msg").textContent = why; }
  else if (!serverBusy && $("server-msg").classList.contains("muted")) $("server-msg").textContent = "";
}

let serverBusy = false;
async function renderOnServer() {
  const body = buildRequest(true);
  const msg = $("server-msg");
  serverBusy = true;
  $("render-server").disabled = true;
  msg.className = "msg";
  msg.textContent = body.is_async ? "Submitting the job…" : "Rendering on the server…";
  const t0 = performance.now();
  try {
    const r = await (await api("/api/v1/renders", { method: "POST", body: JSON.stringify(body) })).json();
    let url, info;
    if (body.is_async) {
      const job = await pollJob(r.job_id, msg);
      url = job.result_url;
      info = `job ${job.job_id}`;
    } else {
      const pf = r.data.print_files[0];
      url = pf.export_path;
      info = `${pf.width}×${pf.height} ${pf.export_format.toUpperCase()}`;
    }
    const file = await (await fetch(url)).blob();
    const objectUrl = URL.createObjectURL(file);
    $("result-img").src = objectUrl;
    $("result-link").href = objectUrl;
    $("result-link").download = `${body.export_label || "mockup"}.${body.export_options.image_format}`;
    const took = performance.now() - t0;
    $("result-info").textContent = `${info}, ${fmtBytes(file.size)}, ${took < 1000 ? `${took.toFixed(0)} ms` : `${(took / 1000).toFixed(1)} s`}`;
    $("result").hidden = false;
    $("result").dataset.url = url;
    msg.className = "msg ok";
    msg.textContent = "Done.";
  } catch (err) {
    msg.className = "msg error";
    msg.textContent = err.message;
  } finally {
    serverBusy = false;
    updateServerButton(buildRequest(false));
  }
}

/// Polls a job with a capped exponential backoff (0.5 s doubling to 5 s),
/// for at most 10 minutes.
async function pollJob(id, msg) {
  let delay = 500;
  const deadline = Date.now() + 10 * 60 * 1000;
  for (;;) {
    const job = await (await api(`/api/v1/jobs/${id}`)).json();
    msg.textContent = `Job ${job.status}…`;
    if (job.status === "succeeded") return job;
    if (job.status === "failed") throw new Error(`The render failed on the server: ${job.error || "no reason given"}`);
    if (job.status === "cancelled") throw new Error("The job was cancelled.");
    if (Date.now() > deadline) throw new Error("The job did not finish within 10 minutes.");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

// ---------------------------------------------------------------- controls

function buildSmartObjects() {
  const box = $("smart-objects");
  box.replaceChildren();
  const list = state.inspection.smart_objects;
  if (!list.length) {
    box.innerHTML = `<p class="empty">This template has no smart objects: only layers can be hidden.</p>`;
    return;
  }
  for (const info of list) {
    const s = state.so.get(info.uuid);
    const el = $("so-template").content.firstElementChild.cloneNode(true);
    el.dataset.uuid = info.uuid;
    el.querySelector(".so-name").textContent = info.name;
    el.querySelector(".so-size").textContent = `${info.size.width}×${info.size.height}${info.visible ? "" : " · hidden"}`;
    el.classList.toggle("selected", info.uuid === state.selected);
    el.addEventListener("focusin", () => select(info.uuid));
    el.addEventListener("click", () => select(info.uuid));
    const blend = el.querySelector('[data-k="blending_mode"]');
    for (const m of BLEND_MODES) blend.add(new Option(m.replace(/_/g, " "), m));
    // Give every control a unique id for labels and tests.
    for (const input of el.querySelectorAll("[data-k]")) {
      const k = input.dataset.k;
      if (!input.hasAttribute("data-mirror")) input.id = `so-${info.uuid}-${k}`;
      const get = () => (k in ADJUSTMENTS ? s.adj[k] : s[k]);
      const set = (v) => { if (k in ADJUSTMENTS) s.adj[k] = v; else s[k] = v; };
      if (input.type === "checkbox") input.checked = !!get();
      else input.value = get();
      const out = input.parentElement.querySelector("output");
      if (out) out.textContent = input.value;
      input.addEventListener("input", () => {
        const v = input.type === "checkbox" ? input.checked : input.value;
        set(v);
        if (out) out.textContent = input.value;
        // The number box and the slider of the rotation move together.
        el.querySelectorAll(`[data-k="${k}"]`).forEach((o) => { if (o !== input && o.type !== "checkbox") o.value = v; });
        changed();
      });
    }
    const drop = el.querySelector(".art-drop");
    const file = el.querySelector(".art-file");
    file.id = `so-${info.uuid}-file`;
    file.addEventListener("change", () => setArtwork(info.uuid, file.files[0], el));
    dropZone(drop, (f) => setArtwork(info.uuid, f, el));
    el.querySelector(".art-clear").addEventListener("click", async () => {
      s.art = null;
      await call("clear", { uuid: info.uuid });
      showArt(el, null);
      changed();
    });
    el.querySelector(".reset-box").addEventListener("click", () => {
      for (const k of ["width", "height", "left", "top"]) { s[k] = ""; el.querySelector(`[data-k="${k}"]`).value = ""; }
      changed();
    });
    box.append(el);
  }
}

function showArt(el, art) {
  const img = el.querySelector(".art-thumb");
  img.hidden = !art;
  if (art) img.src = art.url;
  el.querySelector(".art-label").innerHTML = art
    ? `<strong></strong><br><small>${art.w}×${art.h} · click or drop to replace</small>`
    : "<strong>Drop artwork</strong> or choose an image";
  if (art) el.querySelector(".art-label strong").textContent = art.name;
  el.querySelector(".art-clear").hidden = !art;
}

async function setArtwork(uuid, file, el) {
  if (!file) return;
  const types = ["image/png", "image/jpeg", "image/webp", "image/gif"];
  if (!types.includes(file.type)) {
    $("pv-error").textContent = `${file.name}: artwork must be a PNG, JPEG, WebP or GIF image.`;
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  let w = 0, h = 0;
  try { const bmp = await createImageBitmap(file); w = bmp.width; h = bmp.height; bmp.close(); } catch { /* the compositor will say */ }
  const art = { name: file.name, type: file.type, bytes, b64: toBase64(bytes), w, h, url: URL.createObjectURL(file) };
  const s = state.so.get(uuid);
  if (s.art?.url) URL.revokeObjectURL(s.art.url);
  s.art = art;
  await call("artwork", { uuid, bytes: bytes.slice().buffer });
  showArt(el, art);
  select(uuid);
  changed();
}

function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function buildLayers() {
  const box = $("layers");
  box.replaceChildren();
  const flat = [];
  const walk = (nodes, depth) => { for (const n of nodes || []) { flat.push([n, depth]); walk(n.children, depth + 1); } };
  walk(state.inspection.layers, 0);
  if (!flat.length) { box.innerHTML = `<p class="empty">No layers.</p>`; return; }
  const list = document.createElement("div");
  list.className = "stack";
  for (const [n, depth] of flat) {
    const label = document.createElement("label");
    label.className = "check";
    label.style.paddingLeft = `${depth * 14}px`;
    const cb = document.createElement("input");
    cb.type = "checkbox";
    cb.id = `hide-${n.uuid}`;
    cb.addEventListener("change", () => { if (cb.checked) state.hidden.add(n.uuid); else state.hidden.delete(n.uuid); changed(); });
    label.append(cb, ` Hide “${n.name}”`);
    list.append(label);
  }
  box.append(list);
}

function select(uuid) {
  if (state.selected === uuid) return;
  state.selected = uuid;
  document.querySelectorAll(".so").forEach((e) => e.classList.toggle("selected", e.dataset.uuid === uuid));
  drawOverlay();
}

function dropZone(el, onFile) {
  el.addEventListener("dragover", (e) => { e.preventDefault(); el.classList.add("over"); });
  el.addEventListener("dragleave", () => el.classList.remove("over"));
  el.addEventListener("drop", (e) => {
    e.preventDefault();
    el.classList.remove("over");
    const f = e.dataTransfer?.files?.[0];
    if (f) onFile(f);
  });
}

function setStatus(text, kind = "") {
  const s = $("status");
  s.textContent = text;
  s.className = `status ${kind === "error" ? "msg error" : kind === "ok" ? "msg ok" : ""}`;
}

// ---------------------------------------------------------------- handles

/// The homography taking (0,0),(1,0),(1,1),(0,1) to the quad's corners.
function unitToQuad(q) {
  const [x0, y0, x1, y1, x2, y2, x3, y3] = q;
  const dx1 = x1 - x2, dx2 = x3 - x2, dy1 = y1 - y2, dy2 = y3 - y2;
  const sx = x0 - x1 + x2 - x3, sy = y0 - y1 + y2 - y3;
  const den = dx1 * dy2 - dx2 * dy1;
  const g = den ? (sx * dy2 - dx2 * sy) / den : 0;
  const h = den ? (dx1 * sy - sx * dy1) / den : 0;
  return [x1 - x0 + g * x1, x3 - x0 + h * x3, x0, y1 - y0 + g * y1, y3 - y0 + h * y3, y0, g, h];
}
function applyH(H, u, v) {
  const [a, b, c, d, e, f, g, h] = H;
  const w = g * u + h * v + 1;
  return [(a * u + b * v + c) / w, (d * u + e * v + f) / w];
}
/// Inverse mapping (canvas point -> unit square), by the adjugate.
function invertH(H) {
  const [a, b, c, d, e, f, g, h] = H;
  const A = e - f * h, B = c * h - b, C = b * f - c * e;
  const D = f * g - d, E = a - c * g, F = c * d - a * f;
  const G = d * h - e * g, Hh = b * g - a * h, I = a * e - b * d;
  return (x, y) => { const w = G * x + Hh * y + I; return [(A * x + B * y + C) / w, (D * x + E * y + F) / w]; };
}

/// The artwork box of a smart object in its own frame: the size override
/// (a missing side keeps the artwork's aspect) at its position (default
/// centred), else the whole frame.
function artBox(info, s) {
  const fw = info.size.width, fh = info.size.height;
  let w = int(s.width), h = int(s.height);
  const aw = s.art?.w || fw, ah = s.art?.h || fh;
  if (w === null && h === null) return { x: 0, y: 0, w: fw, h: fh, explicit: false };
  if (w === null) w = h * aw / ah;
  if (h === null) h = w * ah / aw;
  const l = int(s.left), t = int(s.top);
  return { x: l ?? (fw - w) / 2, y: t ?? (fh - h) / 2, w, h, explicit: true };
}

let overlay = null;     // {key, box, handle, quad} of the drawn overlay

/// Draws the selected smart object's quad and artwork box over the
/// preview. The elements are kept while the same smart object stays
/// selected, and only moved, so a drag keeps its pointer capture.
function drawOverlay() {
  const svg = $("overlay");
  const insp = state.inspection;
  if (!insp) { svg.replaceChildren(); overlay = null; return; }
  const info = insp.smart_objects.find((s) => s.uuid === state.selected);
  const s = info && state.so.get(info.uuid);
  const key = info ? `${info.uuid}:${!!s.art}` : "";
  if (!overlay || overlay.key !== key || overlay.insp !== insp) buildOverlay(svg, insp, info, s, key);
  if (!info) return;
  const H = unitToQuad(info.quad);
  const fw = info.size.width, fh = info.size.height;
  overlay.quad.setAttribute("points", [[0, 1], [2, 3], [4, 5], [6, 7]].map(([i, j]) => `${info.quad[i]},${info.quad[j]}`).join(" "));
  if (!s.art) return;
  const b = artBox(info, s);
  const corners = [[b.x, b.y], [b.x + b.w, b.y], [b.x + b.w, b.y + b.h], [b.x, b.y + b.h]]
    .map(([x, y]) => applyH(H, x / fw, y / fh));
  overlay.box.setAttribute("points", corners.map((q) => q.join(",")).join(" "));
  const scale = insp.width / Math.max(1, $("canvas").getBoundingClientRect().width || insp.width);
  overlay.handle.setAttribute("cx", corners[2][0]);
  overlay.handle.setAttribute("cy", corners[2][1]);
  overlay.handle.setAttribute("r", 7 * scale);
}

function buildOverlay(svg, insp, info, s, key) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${insp.width} ${insp.height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const ns = "http://www.w3.org/2000/svg";
  const make = (tag, cls) => { const e = document.createElementNS(ns, tag); e.setAttribute("class", cls); svg.append(e); return e; };
  overlay = { key, insp, quad: make("polygon", "quad") };
  if (!info || !s.art) return;
  const box = make("polygon", "box");
  box.id = "art-box";
  box.setAttribute("tabindex", "0");
  box.setAttribute("role", "application");
  box.setAttribute("aria-label", `Artwork of ${info.name}: drag to move, drag the corner to resize; arrow keys move, Shift+arrow keys resize, Alt for steps of 10`);
  const handle = make("circle", "handle");
  handle.id = "art-handle";
  Object.assign(overlay, { box, handle });
  const fw = info.size.width, fh = info.size.height;
  const toFrame = (ev) => {
    const r = svg.getBoundingClientRect();
    const x = (ev.clientX - r.left) / r.width * insp.width;
    const y = (ev.clientY - r.top) / r.height * insp.height;
    const [u, v] = invertH(unitToQuad(info.quad))(x, y);
    return [u * fw, v * fh];
  };
  const drag = (el, onMove) => el.addEventListener("pointerdown", (ev) => {
    ev.preventDefault();
    el.setPointerCapture(ev.pointerId);
    const start = toFrame(ev);
    const b0 = artBox(info, s);
    const move = (e) => { const p = toFrame(e); onMove(b0, p[0] - start[0], p[1] - start[1], e); };
    const up = () => { el.removeEventListener("pointermove", move); el.removeEventListener("pointerup", up); };
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", up);
  });
  drag(box, (b0, dx, dy) => setBox(info.uuid, b0.x + dx, b0.y + dy, b0.w, b0.h));
  // The corner keeps the aspect ratio unless Shift is held.
  drag(handle, (b0, dx, dy, e) => {
    let w = Math.max(1, b0.w + dx), h = Math.max(1, b0.h + dy);
    if (!e.shiftKey) { const k = Math.max(w / b0.w, h / b0.h); w = b0.w * k; h = b0.h * k; }
    setBox(info.uuid, b0.x, b0.y, w, h);
  });
  box.addEventListener("keydown", (e) => {
    const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (!d) return;
    e.preventDefault();
    const b0 = artBox(info, s);
    const step = e.altKey ? 10 : 1;
    if (e.shiftKey) setBox(info.uuid, b0.x, b0.y, Math.max(1, b0.w + d[0] * step), Math.max(1, b0.h + d[1] * step));
    else setBox(info.uuid, b0.x + d[0] * step, b0.y + d[1] * step, b0.w, b0.h);
  });
}

function setBox(uuid, x, y, w, h) {
  const s = state.so.get(uuid);
  const v = { left: Math.round(x), top: Math.round(y), width: Math.max(1, Math.round(w)), height: Math.max(1, Math.round(h)) };
  Object.assign(s, v);
  const el = document.querySelector(`.so[data-uuid="${uuid}"]`);
  for (const [k, val] of Object.entries(v)) { const i = el?.querySelector(`[data-k="${k}"]`); if (i) i.value = val; }
  changed();
}

// ---------------------------------------------------------------- wiring

function tabs() {
  const list = [$("tab-api"), $("tab-local")];
  const show = (t) => {
    for (const x of list) {
      const on = x === t;
      x.setAttribute("aria-selected", String(on));
      x.tabIndex = on ? 0 : -1;
      $(x.getAttribute("aria-controls")).hidden = !on;
    }
    t.focus();
  };
  for (const t of list) {
    t.addEventListener("click", () => show(t));
    t.addEventListener("keydown", (e) => {
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") show(list[(list.indexOf(t) + 1) % 2]);
    });
  }
}

function exportControls() {
  const bind = (id, k, ev = "input") => $(id).addEventListener(ev, () => {
    const el = $(id);
    state.exp[k] = el.type === "checkbox" ? el.checked : el.value;
    if (id === "exp-quality") $("exp-quality-out").textContent = el.value;
    $("exp-width").disabled = state.exp.sizeMode === "original";
    changed();
  });
  bind("exp-format", "format", "change");
  bind("exp-size-mode", "sizeMode", "change");
  bind("exp-width", "width");
  bind("exp-quality", "quality");
  bind("exp-dpi", "dpi");
  bind("exp-label", "label");
  bind("exp-async", "async", "change");
  $("pv-size").addEventListener("change", () => { state.previewSize = $("pv-size").value; changed(); });
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    const old = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = old), 1200);
  } catch {
    setStatus("The browser did not allow copying; select the text and copy it by hand.", "error");
  }
}

function init() {
  tabs();
  window.addEventListener("resize", drawOverlay);
  exportControls();
  $("api-form").addEventListener("submit", listMockups);
  $("api-key").addEventListener("input", () => state.inspection && updateServerButton(buildRequest(false)));
  $("psd-file").addEventListener("change", () => openLocal($("psd-file").files[0]));
  dropZone($("psd-drop"), openLocal);
  // A PSD dropped anywhere on the page opens it too.
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f && /\.(psd|psb)$/i.test(f.name)) openLocal(f);
  });
  $("render-server").addEventListener("click", renderOnServer);
  $("copy-json").addEventListener("click", (e) => copy(JSON.stringify(buildRequest(true), null, 2), e.currentTarget));
  $("copy-curl").addEventListener("click", (e) => copy(curlFor(buildRequest(true)), e.currentTarget));
  $("download-preview").addEventListener("click", () => {
    $("canvas").toBlob((b) => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(b);
      a.download = "preview.png";
      a.click();
    }, "image/png");
  });
  const saved = sessionStorage.getItem("mockup-api-key");
  if (saved) $("api-key").value = saved;
  $("api-key").addEventListener("change", () => sessionStorage.setItem("mockup-api-key", $("api-key").value.trim()));
  // Wait for the wasm to load: with no template the worker answers
  // "NoTemplate" once it is ready.
  call("render", { request: "{}" }).catch((err) => {
    if (err.name === "NoTemplate") {
      setStatus("Ready. Open a template to begin.");
      document.body.dataset.ready = "1";
    } else {
      setStatus(`The compositor could not start: ${err.message}`, "error");
    }
  });
  if ("serviceWorker" in navigator && location.protocol !== "file:") {
    navigator.serviceWorker.register(new URL("./sw.js", import.meta.url), { scope: "/", type: "module" })
      .catch(() => navigator.serviceWorker.register(new URL("./sw.js", import.meta.url), { type: "module" }))
      .catch(() => { /* offline use is a bonus */ });
  }
}

init();
// For tools and tests: the state and the request builder.
window.mockupDemo = { state, buildRequest, changed, timings, openTemplate, setArtwork, parseProgress };
