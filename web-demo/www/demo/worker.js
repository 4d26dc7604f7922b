// The compositor runs here, off the main thread, so the page never freezes
// while a big template is parsed or a big render is made.
//
// Messages in:  {id, type: "open", bytes} | {id, type: "artwork", uuid, bytes}
//               {id, type: "clear", uuid}
//               {id, type: "render", request, encode, draft}  (draft: a fast
//               frame while an option is dragged; see Template.render_draft)
// Messages out: {id, ok: true, ...result} | {id, ok: false, name, message}
//               {type: "progress", stage, fraction} while working.
import init, { Template } from "./web_demo.js";

const ready = init({ module_or_path: new URL("./web_demo_bg.wasm", import.meta.url) });
let template = null;

function reply(id, result, transfer = []) {
  postMessage({ id, ok: true, ...result }, transfer);
}

const handlers = {
  open(m) {
    postMessage({ type: "progress", stage: "parsing" });
    const t0 = performance.now();
    if (template) { template.free(); template = null; }
    template = Template.open_with_progress(new Uint8Array(m.bytes),
      (fraction) => postMessage({ type: "progress", stage: "parsing", fraction }));
    return { inspection: JSON.parse(template.inspection()), ms: performance.now() - t0 };
  },
  artwork(m) {
    need();
    template.set_artwork(m.uuid, new Uint8Array(m.bytes));
    return {};
  },
  clear(m) {
    need();
    template.clear_artwork(m.uuid);
    return {};
  },
  render(m) {
    need();
    const t0 = performance.now();
    const frame = m.draft ? template.render_draft(m.request) : template.render(m.request);
    try {
      const t1 = performance.now();
      // A draft sends only the part that changed; the page draws it over
      // the last frame. Exact frames are sent whole.
      const changed = m.draft ? Array.from(frame.changed()) : [];
      const pixels = changed.length ? frame.changed_pixels() : frame.pixels();
      const ms = performance.now() - t0;
      // Where the time went: the compositor's stages, then the copy out.
      const stages = { ...JSON.parse(frame.stages()), copy: performance.now() - t1 };
      const out = { width: frame.width, height: frame.height, pixels: pixels.buffer, ms, stages,
                    draft: !!m.draft, changed,
                    warnings: JSON.parse(frame.warnings()) };
      const transfer = [pixels.buffer];
      if (m.encode) {
        const file = frame.encode();
        out.file = file.buffer;
        out.contentType = frame.content_type();
        transfer.push(file.buffer);
      }
      return [out, transfer];
    } finally {
      frame.free();
    }
  },
};

function need() {
  if (!template) {
    const e = new Error("No template is open");
    e.name = "NoTemplate";
    throw e;
  }
}

self.onmessage = async (event) => {
  const m = event.data;
  try {
    await ready;
    const handler = handlers[m.type];
    if (!handler) throw new Error(`unknown message ${m.type}`);
    const r = handler(m);
    if (Array.isArray(r)) reply(m.id, r[0], r[1]);
    else reply(m.id, r);
  } catch (err) {
    // A Rust panic surfaces as a WebAssembly RuntimeError; the instance
    // cannot be trusted after it, so the page is told to reload the worker.
    const fatal = err instanceof WebAssembly.RuntimeError;
    postMessage({ id: m.id, ok: false, name: err && err.name || "Error",
                  message: String(err && err.message || err), fatal });
  }
};
