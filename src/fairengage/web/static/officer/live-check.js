/* The officer form's live check: each answer is sent to the server's own rule check (POST
 * /engagements/check, the save's dry-run) as the officer gives it, and every problem found for the
 * answers given so far is shown next to its question and in a summary at the top, in the page's
 * language (the server words them). Nothing is stored by the check. Without this script the form
 * works the same: the first save shows every problem at once.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch || !window.URLSearchParams) { return; }
  var form = document.querySelector("form[data-live-check]") || (script.closest && script.closest("form"));
  if (!form) { return; }
  // The page's language, so the server words each problem as the page does.
  var url = script.getAttribute("data-check-url") + "?lang=" + encodeURIComponent(document.documentElement.lang || "en");
  var anchors = {};
  try { anchors = JSON.parse(script.getAttribute("data-anchors") || "{}"); } catch (e) { anchors = {}; }
  var words = {
    title: script.getAttribute("data-title") || "",
    flagTitle: script.getAttribute("data-flag-title") || "",
    problem: script.getAttribute("data-problem") || "",
    flag: script.getAttribute("data-flag") || ""
  };
  var touched = {};
  var timer = null;
  var sent = 0;
  var shown = 0;
  var DELAY = 500;

  // Once the server has shown problems (a refused save), every question counts as answered.
  var serverSummary = document.getElementById("error-summary");
  var everything = !!serverSummary;

  var live = document.createElement("div");
  live.id = "live-check";
  live.className = "error-summary live-check";
  live.setAttribute("aria-live", "polite");
  live.setAttribute("aria-atomic", "true");
  live.hidden = true;
  form.parentNode.insertBefore(live, form);

  function anchorOf(name) {
    return anchors[name] || name;
  }

  function schedule(event) {
    var target = event && event.target;
    if (target && target.name && target.name !== "csrftoken" && target.name !== "form_key") {
      touched[anchorOf(target.name)] = true;
    }
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(check, DELAY);
  }

  function check() {
    timer = null;
    var body = new URLSearchParams(new FormData(form));
    var ticket = ++sent;
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (answer) {
      // An older answer arriving after a newer one must not overwrite it.
      if (ticket < shown) { return; }
      shown = ticket;
      show(answer.findings || []);
    }).catch(function () {
      // Offline or signed out: the save will check everything anyway.
    });
  }

  function clear() {
    var old = form.querySelectorAll(".live-error");
    for (var i = 0; i < old.length; i++) { old[i].parentNode.removeChild(old[i]); }
    var marked = form.querySelectorAll("[data-live-invalid]");
    for (var j = 0; j < marked.length; j++) {
      marked[j].removeAttribute("aria-invalid");
      marked[j].removeAttribute("data-live-invalid");
      var described = (marked[j].getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && id.indexOf("-live-") === -1;
      });
      if (described.length) { marked[j].setAttribute("aria-describedby", described.join(" ")); }
      else { marked[j].removeAttribute("aria-describedby"); }
    }
  }

  function place(finding, index) {
    var target = document.getElementById(finding.anchor);
    if (!target || !form.contains(target)) { return; }
    var note = document.createElement("span");
    note.id = finding.anchor + "-live-" + index;
    note.className = (finding.severity === "flag" ? "field-flag" : "field-error") + " live-error";
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = (finding.severity === "flag" ? words.flag : words.problem) + " ";
    note.appendChild(hidden);
    note.appendChild(document.createTextNode(finding.message));
    target.parentNode.insertBefore(note, target);
    if (finding.severity !== "flag") {
      target.setAttribute("aria-invalid", "true");
      target.setAttribute("data-live-invalid", "1");
    }
    var described = target.getAttribute("aria-describedby");
    target.setAttribute("aria-describedby", (described ? described + " " : "") + note.id);
  }

  function show(findings) {
    clear();
    var relevant = findings.filter(function (f) { return everything || touched[f.anchor]; });
    // The server's own field messages are from the last save; the live ones replace them.
    var stale = form.querySelectorAll(".field-error:not(.live-error)");
    for (var s = 0; s < stale.length; s++) { stale[s].hidden = true; }
    if (serverSummary) { serverSummary.hidden = true; }
    var seen = {};
    var refusals = [];
    var flags = [];
    relevant.forEach(function (f, i) {
      var key = f.anchor + "\u0000" + f.message;
      if (seen[key]) { return; }
      seen[key] = true;
      place(f, i);
      (f.severity === "flag" ? flags : refusals).push(f);
    });
    while (live.firstChild) { live.removeChild(live.firstChild); }
    if (!refusals.length && !flags.length) { live.hidden = true; return; }
    addList(refusals, words.title);
    addList(flags, words.flagTitle);
    live.hidden = false;
  }

  function addList(items, title) {
    if (!items.length) { return; }
    var heading = document.createElement("h2");
    heading.textContent = title;
    live.appendChild(heading);
    var list = document.createElement("ul");
    items.forEach(function (f) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + f.anchor;
      link.textContent = f.message;
      item.appendChild(link);
      list.appendChild(item);
    });
    live.appendChild(list);
  }

  form.addEventListener("change", schedule);
  form.addEventListener("focusout", schedule);
  form.addEventListener("input", schedule);
})();
