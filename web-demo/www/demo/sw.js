// Offline copy of the page: the page and its assets (the compositor's wasm
// included) are served from a cache named after the build, refreshed from
// the network when it is reachable. API calls always go to the network.
import { BUILD } from "./build.js";

const CACHE = `mockup-demo-${BUILD}`;
const base = new URL("../", self.location.href);
const ASSETS = ["", "index.html", "demo/app.js", "demo/worker.js", "demo/style.css",
  "demo/web_demo.js", "demo/web_demo_bg.wasm", "demo/build.js"].map((p) => new URL(p, base).href);

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("mockup-demo-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || !ASSETS.includes(url.origin + url.pathname)) return;
  // Network first (a rebuilt demo shows at once), the cache when offline.
  e.respondWith(fetch(e.request)
    .then((r) => {
      if (r.ok) { const copy = r.clone(); caches.open(CACHE).then((c) => c.put(e.request, copy)); }
      return r;
    })
    .catch(() => caches.match(e.request, { ignoreSearch: true })));
});
