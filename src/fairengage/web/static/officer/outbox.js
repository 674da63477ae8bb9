/* Records kept on the officer's phone, as both the form's page (offline.js) and the service worker
 * (worker.js) read and send them: one copy of how entries are stored, opened and sent.
 *
 * IndexedDB "fairengage-offline" holds "keys" (owner tag -> the officer's non-extractable AES-GCM
 * CryptoKey) and "records" (form_key -> an entry sealed under that key, bound to its owner and id).
 * Sending posts the entry's fields with its own form_key, so that however often it is sent the server
 * stores one record, and with its owner tag (X-Offline-Owner), so that the server refuses it while
 * another officer is signed in. The page's own CSRF token is used when it has one; when it is stale (or
 * there is no page: the service worker), GET /engagements/session gives whose session it is and a fresh
 * token. No DOM is used here: the service worker has none.
 */
(function (scope) {
  "use strict";

  var DB_NAME = "fairengage-offline";
  var SESSION_PATH = "/engagements/session";
  var encoder = new TextEncoder();

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

  function keptKey(owner) {
    return inStore("keys", "readonly", function (store) { return store.get(owner); }).then(function (row) {
      return row ? row.key : null;
    });
  }

  function erase(id) {
    return inStore("records", "readwrite", function (store) { store.delete(id); });
  }

  // The state is not sealed (only the fields are), so it changes without the key.
  function mark(entry, state) {
    var changed = Object.assign({}, entry, { state: state, updated: Date.now() });
    return inStore("records", "readwrite", function (store) { store.put(changed); });
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

  function pathOf(response) {
    return new URL(response.url, scope.location.href).pathname;
  }

  // Whose session this is: {owner, csrf}, or {kind: "session"} (signed out, or not an officer) or
  // {kind: "later"}; rejects when the network fails.
  function signedIn() {
    var asked = { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } };
    return fetch(SESSION_PATH, asked).then(function (answer) {
      if (pathOf(answer) === "/login" || answer.status === 403) return { kind: "session" };
      if (!answer.ok) return { kind: "later" };
      return answer.json();
    });
  }

  // The fields posted as the form would post them, asking for the short answer ({id, receipt, code})
  // rather than the receipt page: sent (with the receipt's address and code), refused by the rules
  // (422), the session gone, or "later"; rejects when the network fails.
  function post(action, pairs, token, owner) {
    var body = new URLSearchParams();
    pairs.forEach(function (pair) { body.append(pair[0], pair[1]); });
    body.set("csrftoken", token);
    var sending = { method: "POST", body: body, credentials: "same-origin", cache: "no-store" };
    sending.headers = { Accept: "application/json", "X-Offline-Owner": owner };
    return fetch(action, sending).then(function (response) {
      // Signed out, or another officer signed in on this phone: the record waits for its own officer.
      if (pathOf(response) === "/login" || response.status === 409) return { kind: "session" };
      // The CSRF token was refused (a page kept from an earlier session), or the role may not record.
      if (response.status === 403) return { kind: "stale" };
      var type = response.headers.get("content-type") || "";
      if (response.ok && type.indexOf("json") >= 0) {
        return response.json().then(function (saved) {
          return { kind: "sent", url: new URL(saved.receipt, scope.location.href).href, code: saved.code };
        });
      }
      if (response.status === 422) return { kind: "refused", token: token };
      return { kind: "later" };
    });
  }

  // One kept record sent for `owner`, with `token` when the caller has one; asks the session for a fresh
  // token when there is none or it was refused.
  function send(owner, action, pairs, token) {
    var first = token ? post(action, pairs, token, owner) : Promise.resolve({ kind: "stale" });
    return first
      .then(function (outcome) {
        if (outcome.kind !== "stale") return outcome;
        return signedIn().then(function (who) {
          if (who.kind) return who;
          if (who.owner !== owner) return { kind: "session" };
          return post(action, pairs, who.csrf || "", owner).then(function (again) {
            return again.kind === "stale" ? { kind: "session" } : again;
          });
        });
      })
      .catch(function () { return { kind: "offline" }; });
  }

  scope.FairEngageOutbox = {
    SYNC_TAG: "fairengage-send",
    FORM_PATH: "/engagements/new",
    inStore: inStore,
    entriesOf: entriesOf,
    keptKey: keptKey,
    erase: erase,
    mark: mark,
    seal: seal,
    open: open,
    signedIn: signedIn,
    send: send,
  };
})(self);
