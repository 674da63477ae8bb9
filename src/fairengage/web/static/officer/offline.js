/* The officer's form when the connection is poor or the session has ended: nothing typed is lost.
 *
 * Without this script the form works as before (a plain POST). With it:
 * - what the officer types is kept on the phone as a draft, encrypted, and brought back after a reload,
 *   a restart or a new sign-in;
 * - "Check and save" first keeps the record on the phone ("queued"), then sends it; with no connection
 *   it stays queued and is sent when the connection returns, with the same form_key, so that however
 *   often it is sent the server stores one record;
 * - an entry is erased from the phone as soon as the server has acknowledged it (the receipt page);
 * - where the browser offers Background Sync (Chromium), a record that could not be sent is also handed
 *   to the service worker, which sends it when the connection returns even if no FairEngage page is
 *   open (worker.js); elsewhere, and as well, the open form sends it.
 *
 * Everything kept is encrypted with AES-GCM under the officer's device key (GET /engagements/device-key),
 * imported as a non-extractable CryptoKey: IndexedDB keeps the key object, never its bytes. Entries are
 * filed under an opaque owner tag, and sealed with it, so another officer on the same phone neither sees
 * nor can open them. Signing out erases the keys and the kept form page.
 */
(function () {
  "use strict";

  // How entries are stored, opened and sent is shared with the service worker (outbox.js).
  var O = self.FairEngageOutbox;
  var FORM_PATH = O.FORM_PATH;
  var inStore = O.inStore;
  var entriesOf = O.entriesOf;
  var open = O.open;
  var erase = O.erase;
  var send = O.send;
  var RETRY_MS = 30000;
  var SAVE_DELAY_MS = 300;
  var WAITING_NOTICES = ["queued", "later", "session-queued"];

  if ("serviceWorker" in navigator) {
    // The worker's script may come from the browser's cache for a few minutes (engagements/offline.py):
    // every page of the officer's would otherwise fetch it again.
    navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "all" }).catch(function () {});
  }

  // ---- Encryption: the key comes from the server once, then lives on the phone as a CryptoKey ----

  function fromBase64Url(text) {
    var plain = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var bytes = new Uint8Array(plain.length);
    for (var i = 0; i < plain.length; i++) bytes[i] = plain.charCodeAt(i);
    return bytes;
  }

  function keep(state, id, fields, status) {
    return O.seal(state.key, state.owner, id, fields).then(function (box) {
      var entry = { id: id, owner: state.owner, state: status, iv: box.iv, data: box.data, updated: Date.now() };
      return inStore("records", "readwrite", function (store) { store.put(entry); });
    });
  }

  // The officer's key: the one kept on the phone for this owner, else fresh from the server (signed in and
  // connected). A kept key is always current: a new key epoch or secret gives the officer a new owner tag.
  function loadKey(owner, url) {
    return O.keptKey(owner).then(function (kept) { return kept || fetchKey(owner, url); });
  }

  function fetchKey(owner, url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (!response.ok || type.indexOf("json") < 0) return null;
        return response.json().then(function (body) {
          if (body.owner !== owner) return null;
          var raw = fromBase64Url(body.key);
          return crypto.subtle
            .importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"])
            .then(function (key) {
              raw.fill(0);
              return inStore("keys", "readwrite", function (store) {
                store.put({ owner: owner, epoch: body.epoch, key: key });
              }).then(function () { return key; });
            });
        });
      })
      .catch(function () { return null; });
  }

  // The service worker sends what waits once the connection is back, page open or not, where the browser
  // has Background Sync; the page's own sending below stays for every other browser.
  function askToSendLater() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready
      .then(function (registration) {
        if (registration.sync) return registration.sync.register(O.SYNC_TAG);
      })
      .catch(function () {});
  }

  function forgetKeys() {
    return inStore("keys", "readwrite", function (store) { store.clear(); });
  }

  // ---- The form's fields ----

  function fieldsOf(form) {
    var pairs = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrftoken" && typeof value === "string") pairs.push([name, value]);
    });
    return pairs;
  }

  function fill(form, pairs) {
    var byName = {};
    pairs.forEach(function (pair) { (byName[pair[0]] = byName[pair[0]] || []).push(pair[1]); });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrftoken" || el.tagName === "BUTTON") return;
      var values = byName[el.name] || [];
      if (el.type === "radio" || el.type === "checkbox") el.checked = values.indexOf(el.value) >= 0;
      else if (el.type !== "hidden" || el.name === "form_key") el.value = values.length ? values[0] : "";
    });
  }

  function formKeyOf(form) {
    return form.elements.form_key.value;
  }

  function newRecord(form) {
    form.reset();
    form.elements.form_key.value = crypto.randomUUID();
  }

  // ---- What the officer is told ----

  function message(name, values) {
    var template = document.getElementById("offline-messages");
    var node = template && template.content.querySelector('[data-m="' + name + '"]');
    var text = node ? node.textContent.trim() : name;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }

  // The page and the service worker may both send one kept record when the connection returns; the
  // server stores it once (same form_key) and both hear the same receipt, which is shown once.
  function remember(state, sent) {
    var known = state.sent.some(function (t) { return t.url === sent.url || t.code === sent.code; });
    if (!known) state.sent.push(sent);
  }

  function notice(state, name, values, action) {
    state.notices.push({ name: name, text: message(name, values), action: action || null });
  }

  function render(state) {
    var region = document.getElementById("offline-status");
    if (!region) return;
    region.textContent = "";
    state.notices.forEach(function (item) {
      var p = document.createElement("p");
      p.className = "notice " + (item.name === "sent" ? "ok" : "warn");
      p.dataset.offline = item.name;
      p.appendChild(document.createTextNode(item.text + " "));
      if (item.action && item.action.href) {
        var a = document.createElement("a");
        a.href = item.action.href;
        a.textContent = item.action.label;
        p.appendChild(a);
      } else if (item.action) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "link";
        b.textContent = item.action.label;
        b.addEventListener("click", item.action.run);
        p.appendChild(b);
      }
      region.appendChild(p);
    });
  }

  // ---- The form page ----

  function start(form) {
    var state = {
      owner: form.dataset.offlineOwner,
      key: null,
      notices: [],
      sticky: [],
      sent: [],
      flushing: null,
      again: false,
      saveTimer: null,
      waiting: 0,
    };
    if (!window.crypto || !crypto.subtle || !window.indexedDB) return;
    // Asks the browser not to clear what the phone keeps when storage runs low.
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});

    var signIn = { href: "/login?next=" + FORM_PATH + "&ended=1", label: message("sign-in") };

    function currentForm() {
      return document.querySelector("form[data-offline-owner]");
    }

    // The page's CSRF token: current on a page the server just gave, possibly stale on a kept one.
    function pageToken() {
      var f = currentForm();
      return f && f.elements.csrftoken ? f.elements.csrftoken.value : "";
    }

    function saveDraft() {
      var f = currentForm();
      if (!f || !state.key) return Promise.resolve();
      return keep(state, formKeyOf(f), fieldsOf(f), "draft");
    }

    // Every notice is rebuilt from what the phone holds, so a reload shows the same state.
    // What the officer last did stays said ("sticky") until the next thing they do; a round of sending
    // adds its own outcome to it.
    function refresh(extra, fromFlush) {
      if (!fromFlush) state.sticky = extra || [];
      var said = state.sticky.concat(fromFlush ? extra || [] : []);
      return entriesOf(state.owner).then(function (entries) {
        var f = currentForm();
        var current = f ? formKeyOf(f) : "";
        var queued = entries.filter(function (e) { return e.state === "queued"; });
        if (!queued.length) {
          // Nothing waits any more (sent, or refused and back to be fixed): "not yet sent" is no longer true.
          var stillTrue = function (n) { return WAITING_NOTICES.indexOf(n.name) < 0; };
          said = said.filter(stillTrue);
          state.sticky = state.sticky.filter(stillTrue);
        }
        state.notices = [];
        said.forEach(function (n) { notice(state, n.name, n.values, n.action); });
        state.sent.forEach(function (s) {
          notice(state, "sent", { code: s.code }, { href: s.url, label: message("open-receipt") });
        });
        state.waiting = queued.length;
        if (queued.length) {
          var told = said.some(function (n) { return n.name === "queued" || n.name === "session-queued"; });
          if (!told || queued.length > 1) notice(state, "waiting", { n: queued.length });
        }
        entries
          .filter(function (e) { return e.id !== current && (e.state === "refused" || e.state === "draft"); })
          .forEach(function (e) {
            notice(state, e.state === "refused" ? "refused" : "other-draft", null, {
              label: message("open"),
              run: function () { openEntry(e); },
            });
          });
        render(state);
      });
    }

    // The officer tapped the button at the foot of the form: what happened is said at its head.
    function reveal() {
      var region = document.getElementById("offline-status");
      if (region) {
        region.scrollIntoView({ block: "start" });
        window.scrollBy(0, -16);
      }
    }

    function openEntry(entry) {
      var f = currentForm();
      open(state.key, entry).then(function (pairs) {
        fill(f, pairs);
        var refused = entry.state === "refused";
        return keep(state, entry.id, pairs, "draft").then(function () {
          if (refused) f.requestSubmit();
          else refresh([{ name: "restored", action: discardAction() }]);
        });
      });
    }

    function discardAction() {
      return {
        label: message("discard"),
        run: function () {
          var f = currentForm();
          erase(formKeyOf(f)).then(function () {
            newRecord(f);
            refresh([{ name: "discarded" }]);
          });
        },
      };
    }

    // The server refused the record's answers: the form is sent the ordinary way, so that the server's
    // page shows each problem in place (its summary takes focus), as it does without this script.
    function showRefusal(token) {
      var f = currentForm();
      f.elements.csrftoken.value = token;
      f.submit();
    }

    function handle(outcome, id, pairs, interactive) {
      if (outcome.kind === "sent") {
        return erase(id).then(function () {
          if (interactive) {
            location.assign(outcome.url);
            return "stop";
          }
          remember(state, { code: outcome.code, url: outcome.url });
          return "next";
        });
      }
      if (outcome.kind === "refused") {
        if (interactive) {
          return keep(state, id, pairs, "draft").then(function () {
            showRefusal(outcome.token);
            return "stop";
          });
        }
        return keep(state, id, pairs, "refused").then(function () { return "next"; });
      }
      if (outcome.kind === "session" && interactive) {
        // Not sent: the officer checks it again after signing in, where the draft comes back.
        return keep(state, id, pairs, "draft").then(function () { return "session"; });
      }
      return Promise.resolve(outcome.kind);
    }

    // One round at a time; a reason to send that comes during a round (the connection is back) gets a
    // round of its own once this one ends, as this one may have started before the connection returned.
    function flush() {
      if (state.flushing) {
        state.again = true;
        return state.flushing;
      }
      state.flushing = doFlush().finally(function () {
        state.flushing = null;
        if (state.again) {
          state.again = false;
          flush();
        }
      });
      return state.flushing;
    }

    function doFlush() {
      return entriesOf(state.owner).then(function (entries) {
        var queued = entries.filter(function (e) { return e.state === "queued"; });
        if (!queued.length) return null;
        notice(state, "sending");
        render(state);
        var stopped = null;
        var action = currentForm().getAttribute("action");
        return queued
          .reduce(function (chain, entry) {
            return chain.then(function () {
              if (stopped) return null;
              return open(state.key, entry)
                .then(function (pairs) {
                  return send(state.owner, action, pairs, pageToken()).then(function (outcome) {
                    return handle(outcome, entry.id, pairs, false);
                  });
                })
                .then(function (next) { if (next !== "next") stopped = next; }, function () { /* unreadable */ });
            });
          }, Promise.resolve())
          .then(function () {
            if (stopped === "later" || stopped === "offline") askToSendLater();
            if (stopped === "session") return refresh([{ name: "session-queued", action: signIn }], true);
            if (stopped === "later") return refresh([{ name: "later" }], true);
            return refresh([], true);
          });
      });
    }

    function submit(event) {
      var f = event.target;
      if (!f.matches || !f.matches("form[data-offline-owner]") || !state.key) return;
      event.preventDefault();
      var button = f.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      var id = formKeyOf(f);
      var pairs = fieldsOf(f);
      clearTimeout(state.saveTimer);
      keep(state, id, pairs, "queued")
        .then(function () { return send(state.owner, f.getAttribute("action"), pairs, pageToken()); })
        .then(function (outcome) { return handle(outcome, id, pairs, true); })
        .then(function (next) {
          if (button) button.disabled = false;
          if (next === "stop") return null;
          if (next === "session") return refresh([{ name: "session", action: signIn }]).then(reveal);
          // Kept on the phone: the form is cleared for the next record.
          askToSendLater();
          newRecord(f);
          return refresh([{ name: next === "later" ? "later" : "queued" }]).then(reveal);
        })
        .catch(function () {
          if (button) button.disabled = false;
          // The phone could not keep it: the form is sent the ordinary way.
          f.submit();
        });
    }

    loadKey(state.owner, form.dataset.offlineKey).then(function (key) {
      state.key = key;
      if (!key) return;
      document.addEventListener("submit", submit);
      document.addEventListener("input", changed);
      document.addEventListener("change", changed);
      window.addEventListener("online", flush);
      if ("serviceWorker" in navigator) {
        // The service worker sent what waited (Background Sync): say so, with each receipt's code.
        navigator.serviceWorker.addEventListener("message", function (event) {
          if (!event.data || event.data.type !== "outbox-sent") return;
          (event.data.sent || []).forEach(function (s) { remember(state, s); });
          refresh(null, true);
        });
      }
      setInterval(function () { if (state.waiting) flush(); }, RETRY_MS);
      return restore().then(function () {
        // Said on the page once drafts are kept, for the officer's phone and for the browser tests alike.
        document.documentElement.dataset.offlineReady = "1";
        return flush();
      });
    });

    function changed(event) {
      if (!event.target.form || !event.target.form.matches("form[data-offline-owner]")) return;
      clearTimeout(state.saveTimer);
      state.saveTimer = setTimeout(saveDraft, SAVE_DELAY_MS);
    }

    // The newest draft comes back into a fresh form; a form the server has just refused keeps its answers.
    function restore() {
      var f = currentForm();
      return entriesOf(state.owner).then(function (entries) {
        var drafts = entries
          .filter(function (e) { return e.state === "draft"; })
          .sort(function (a, b) { return b.updated - a.updated; });
        if (document.getElementById("error-summary")) return refresh();
        if (!drafts.length) {
          // A form page kept by the service worker carries an old form_key: each record needs its own.
          f.elements.form_key.value = crypto.randomUUID();
          return refresh();
        }
        return open(state.key, drafts[0]).then(
          function (pairs) {
            fill(f, pairs);
            return refresh([{ name: "restored", action: discardAction() }]);
          },
          function () { return refresh(); }
        );
      });
    }
  }

  // Signing out erases the keys and the kept form page before the ordinary sign-out.
  document.addEventListener("submit", function (event) {
    var f = event.target;
    if (!f.matches || !f.matches("form[action='/logout']") || f.dataset.forgotten) return;
    event.preventDefault();
    f.dataset.forgotten = "1";
    var controller = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (controller) controller.postMessage("signed-out");
    forgetKeys().catch(function () {}).then(function () { f.submit(); });
  });

  var form = document.querySelector("form[data-offline-owner]");
  if (form) start(form);
})();
