/* The officer's form when the connection is poor or the session has ended: nothing typed is lost.
 *
 * Without this script the form works as before (a plain POST). With it:
 * - what the officer types is kept on the phone as a draft, encrypted, and brought back after a reload,
 *   a restart or a new sign-in;
 * - "Check and save" first keeps the record on the phone ("queued"), then sends it; with no connection
 *   it stays queued and is sent when the connection returns, with the same form_key, so that however
 *   often it is sent the server stores one record;
 * - an entry is erased from the phone as soon as the server has acknowledged it (the receipt page).
 *
 * Everything kept is encrypted with AES-GCM under the officer's device key (GET /engagements/device-key),
 * imported as a non-extractable CryptoKey: IndexedDB keeps the key object, never its bytes. Entries are
 * filed under an opaque owner tag, and sealed with it, so another officer on the same phone neither sees
 * nor can open them. Signing out erases the keys and the kept form page.
 */
(function () {
  "use strict";

  var DB_NAME = "fairengage-offline";
  var FORM_PATH = "/engagements/new";
  var SESSION_PATH = "/engagements/session";
  var RECEIPT = /^\/engagements\/[^/]+\/receipt$/;
  var RETRY_MS = 30000;
  var SAVE_DELAY_MS = 300;
  var WAITING_NOTICES = ["queued", "later", "session-queued"];

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }

  // ---- IndexedDB: "keys" (owner -> CryptoKey) and "records" (form_key -> sealed entry) ----

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        var db = request.result;
        db.createObjectStore("keys", { keyPath: "owner" });
        db.createObjectStore("records", { keyPath: "id" }).createIndex("owner", "owner");
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function inStore(name, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var result = work(tx.objectStore(name));
        tx.oncomplete = function () { db.close(); resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function entriesOf(owner) {
    return inStore("records", "readonly", function (store) { return store.index("owner").getAll(owner); });
  }

  // ---- Encryption ----

  var encoder = new TextEncoder();

  function fromBase64Url(text) {
    var plain = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var bytes = new Uint8Array(plain.length);
    for (var i = 0; i < plain.length; i++) bytes[i] = plain.charCodeAt(i);
    return bytes;
  }

  function sealed(owner, id) {
    // Binds each entry to its owner and form_key: an entry copied under another name does not open.
    return encoder.encode("fairengage/" + owner + "/" + id);
  }

  function seal(key, owner, id, fields) {
    var iv = crypto.getRandomValues(new Uint8Array(12));
    var plain = encoder.encode(JSON.stringify(fields));
    return crypto.subtle
      .encrypt({ name: "AES-GCM", iv: iv, additionalData: sealed(owner, id) }, key, plain)
      .then(function (data) { return { iv: iv, data: data }; });
  }

  function open(key, entry) {
    return crypto.subtle
      .decrypt({ name: "AES-GCM", iv: entry.iv, additionalData: sealed(entry.owner, entry.id) }, key, entry.data)
      .then(function (plain) { return JSON.parse(new TextDecoder().decode(plain)); });
  }

  function keep(state, id, fields, status) {
    return seal(state.key, state.owner, id, fields).then(function (box) {
      var entry = { id: id, owner: state.owner, state: status, iv: box.iv, data: box.data, updated: Date.now() };
      return inStore("records", "readwrite", function (store) { store.put(entry); });
    });
  }

  function erase(id) {
    return inStore("records", "readwrite", function (store) { store.delete(id); });
  }

  // The officer's key: fresh from the server when signed in and connected, else the one kept on the phone.
  function loadKey(owner, url) {
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
      .catch(function () { return null; })
      .then(function (key) {
        if (key) return key;
        return inStore("keys", "readonly", function (store) { return store.get(owner); }).then(function (row) {
          return row ? row.key : null;
        });
      });
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

  // ---- Sending: whose session it is and a fresh CSRF token (GET /engagements/session, a few hundred
  // bytes), then the same fields with the same form_key ----

  function pathOf(response) {
    return new URL(response.url, location.href).pathname;
  }

  function send(owner, action, pairs) {
    return fetch(SESSION_PATH, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (answer) {
        // Signed out, or someone who is not an officer signed in on this phone meanwhile.
        if (pathOf(answer) === "/login" || answer.status === 403) return { kind: "session" };
        if (!answer.ok) return { kind: "later" };
        return answer.json().then(function (signedIn) {
          // Another officer signed in on this phone meanwhile: the record waits for its own officer.
          if (signedIn.owner !== owner) return { kind: "session" };
          var token = { value: signedIn.csrf || "" };
          var body = new URLSearchParams();
          pairs.forEach(function (pair) { body.append(pair[0], pair[1]); });
          body.set("csrftoken", token.value);
          return fetch(action, { method: "POST", body: body, credentials: "same-origin", cache: "no-store" }).then(
            function (response) {
              var path = pathOf(response);
              if (path === "/login") return { kind: "session" };
              if (response.ok && RECEIPT.test(path)) {
                return response.text().then(function (receipt) {
                  var code = new DOMParser().parseFromString(receipt, "text/html").querySelector(".code");
                  return { kind: "sent", url: response.url, code: code ? code.textContent.trim() : "" };
                });
              }
              if (response.status === 422) return { kind: "refused", token: token.value };
              return { kind: "later" };
            }
          );
        });
      })
      .catch(function () { return { kind: "offline" }; });
  }

  // ---- What the officer is told ----

  function message(name, values) {
    var template = document.getElementById("offline-messages");
    var node = template && template.content.querySelector('[data-m="' + name + '"]');
    var text = node ? node.textContent.trim() : name;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
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
          state.sent.push({ code: outcome.code, url: outcome.url });
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
                  return send(state.owner, action, pairs).then(function (outcome) {
                    return handle(outcome, entry.id, pairs, false);
                  });
                })
                .then(function (next) { if (next !== "next") stopped = next; }, function () { /* unreadable */ });
            });
          }, Promise.resolve())
          .then(function () {
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
        .then(function () { return send(state.owner, f.getAttribute("action"), pairs); })
        .then(function (outcome) { return handle(outcome, id, pairs, true); })
        .then(function (next) {
          if (button) button.disabled = false;
          if (next === "stop") return null;
          if (next === "session") return refresh([{ name: "session", action: signIn }]).then(reveal);
          // Kept on the phone: the form is cleared for the next record.
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
