/* The officer's service worker: the recording form opens with no connection.
 *
 * Only the form's shell is kept: the form page as last served to the signed-in officer, its style sheet,
 * its script, the manifest and the icons. Pages are asked of the network first, so a connected officer
 * always gets the live page, and the kept copy is used only when the network fails. Nothing else is
 * kept: no other page, no API answer, never the device key. POSTs are never touched; the page's script
 * keeps unsent records (offline.js).
 */
"use strict";

const CACHE = "fairengage-officer-v1";
const FORM = "/engagements/new";
const ASSETS = [
  "/static/fairengage.css",
  "/static/officer/offline.js",
  "/manifest.webmanifest",
  "/static/officer/icon-192.png",
  "/static/officer/icon-512.png",
];
const KEPT = new Set([FORM, ...ASSETS]);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(ASSETS);
      await keepForm(cache, await fetch(FORM, { credentials: "same-origin" }).catch(() => null));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

// Only the form as a signed-in officer sees it: never the sign-in page it redirects to, never an error.
async function keepForm(cache, response) {
  if (response && response.ok && !response.redirected && new URL(response.url).pathname === FORM) {
    await cache.put(FORM, response);
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // The page's script asks for the live form (a fresh CSRF token) with no-store: never a kept copy.
  if (request.method !== "GET" || request.cache === "no-store") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !KEPT.has(url.pathname)) return;
  // The form page is kept without its query (?lang=fr): one copy, in the language last used.
  event.respondWith(networkFirst(request, url.pathname));
});

self.addEventListener("message", (event) => {
  // Signing out forgets the kept form page: it names the officer.
  if (event.data === "signed-out") event.waitUntil(caches.open(CACHE).then((c) => c.delete(FORM)));
});

async function networkFirst(request, path) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (path === FORM) await keepForm(cache, response.clone());
    else if (response.ok) await cache.put(path, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(path);
    if (kept) return kept;
    throw error;
  }
}
