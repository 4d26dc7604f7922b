// Runs every wasm-bindgen test of the module (exports named `__wbgt_*`)
// through wasm-bindgen-test's own context, as its runner does, and records
// the outcome on <body data-done="pass|fail|error"> for the WebDriver test.
import init, * as glue from "./wbt.js";

async function main() {
  const wasm = await init({ module_or_path: new URL("./wbt_bg.wasm", import.meta.url) });
  const cx = new glue.WasmBindgenTestContext(false);
  for (const m of ["debug", "log", "info", "warn", "error"]) window[`on_console_${m}`] = glue[`__wbgtest_console_${m}`];
  const tests = Object.keys(wasm).filter((k) => k.startsWith("__wbgt_")).sort();
  document.body.dataset.count = String(tests.length);
  const passed = await cx.run(tests.map((k) => wasm[k]));
  document.body.dataset.done = passed ? "pass" : "fail";
}

main().catch((e) => {
  document.getElementById("output").textContent += `\nharness error: ${e && e.stack || e}`;
  document.body.dataset.done = "error";
});
