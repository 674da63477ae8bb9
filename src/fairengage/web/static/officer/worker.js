/* The officer's service worker: the recording form opens with no connection, and records kept on the
 * phone are sent when the connection returns.
 *
 * Only the form's shell is kept: the form page in its shell form (/engagements/new?shell=1: no username,
 * no recent places or reasons, nothing about the officer but an opaque owner tag), its style sheet, its
 * script, the manifest and the icons. Pages are asked of the network first, so a connected officer always
 * gets the live page, and the kept shell is used only when the network fails. The live page itself is
 * never kept: a new shell is fetched only when the live page names another owner or language than the
 * kept one (so another officer signing in on the phone never meets the first one's shell). Nothing else
 * is kept: no other page, no API answer, never the device key. POSTs are never touched; the page's
 * script keeps unsent records (offline.js).
 */
"use strict";

// Loaded by /sw.js (engagements/offline.py) after outbox.js, the code it shares with the form's page.

const CACHE = "fairengage-officer-v1";
const FORM = "/engagements/new";
const ASSETS = [
  "/static/fairengage.css",
  "/static/officer/offline.js",
  "/static/officer/outbox.js",
  "/manifest.webmanifest",
  "/static/officer/icon-192.png",
  "/static/officer/icon-512.png",
];
const KEPT = new Set([FORM, ...ASSETS]);
// Said by the live form page (engagements/offline.py), and kept with the shell to compare.
const OWNER = "x-offline-owner";

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(ASSETS);
      await keepForm(cache, await fetch(FORM + "?shell=1", { credentials: "same-origin" }).catch(() => null));
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

// Only the form's shell as a signed-in officer gets it: never the sign-in page it redirects to, never an
// error, never the live page (it names the officer and their recent answers).
async function keepForm(cache, response) {
  if (!response || !response.ok || response.redirected) return;
  const url = new URL(response.url);
  if (url.pathname === FORM && url.searchParams.get("shell") === "1") await cache.put(FORM, response);
}

// The live page was served to `owner` in `lang`: the kept shell follows when either changed.
async function renewShell(cache, live) {
  const owner = live.headers.get(OWNER);
  const lang = live.headers.get("content-language") || "";
  if (!live.ok || live.redirected || !owner) return;
  const kept = await cache.match(FORM);
  if (kept && kept.headers.get(OWNER) === owner && (kept.headers.get("content-language") || "") === lang) return;
  const query = "?shell=1" + (lang ? "&lang=" + encodeURIComponent(lang) : "");
  await keepForm(cache, await fetch(FORM + query, { credentials: "same-origin", cache: "no-store" }).catch(() => null));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // What the page's script asks with no-store (whose session, a fresh token) must be live: never kept.
  if (request.method !== "GET" || request.cache === "no-store") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !KEPT.has(url.pathname)) return;
  // The form page is kept without its query (?lang=fr): one copy, in the language last used.
  event.respondWith(networkFirst(event, url.pathname));
});

self.addEventListener("message", (event) => {
  // Signing out forgets the kept shell: its owner tag would open the officer's drafts on this phone.
  if (event.data === "signed-out") event.waitUntil(caches.open(CACHE).then((c) => c.delete(FORM)));
});

async function networkFirst(event, path) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(event.request);
    // The page is answered at once; the worker stays up until the shell is renewed.
    if (path === FORM) event.waitUntil(renewShell(cache, response).catch(() => {}));
    else if (response.ok) await cache.put(path, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(path);
    if (kept) return kept;
    throw error;
  }
}

// Background Sync (Chromium): the page asked for a round of sending when a record could not be sent, and
// the browser fires this once the connection is back, with or without a FairEngage page open. The
// records are those of whoever is signed in now, opened with their key as kept on the phone; another
// officer's stay sealed. A failed network makes the browser try again later; a session gone or a
// server not answering leaves the records queued for the page, which sends them after sign-in.
self.addEventListener("sync", (event) => {
  if (event.tag === self.FairEngageOutbox.SYNC_TAG) event.waitUntil(sendQueued());
});

async function sendQueued() {
  const outbox = self.FairEngageOutbox;
  const who = await outbox.signedIn(); // a network failure rejects: the browser retries the sync
  if (who.kind) return;
  const key = await outbox.keptKey(who.owner);
  if (!key) return;
  const sent = [];
  try {
    for (const entry of await outbox.entriesOf(who.owner)) {
      if (entry.state !== "queued") continue;
      let pairs;
      try {
        pairs = await outbox.open(key, entry);
      } catch (unreadable) {
        continue;
      }
      const outcome = await outbox.send(who.owner, outbox.FORM_PATH, pairs, who.csrf);
      if (outcome.kind === "sent") {
        await outbox.erase(entry.id);
        sent.push({ code: outcome.code, url: outcome.url });
      } else if (outcome.kind === "refused") {
        // Back to the officer to fix: the form offers it again (offline.js).
        await outbox.mark(entry, "refused");
      } else if (outcome.kind === "offline") {
        throw new Error("the connection failed again");
      } else {
        return;
      }
    }
  } finally {
    for (const client of await self.clients.matchAll({ type: "window" })) {
      client.postMessage({ type: "outbox-sent", sent });
    }
  }
}
