// Progressive enhancement for the nurse's form: without this file the form works in full
// (the Preview button brings the plan up to date). With it: the plan follows each answer,
// the medicine list can be searched, and a problem is shown beside its field and read out.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var form = document.getElementById("booklet-form");
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  // A link in the error summary puts the focus on the field itself, not only its box
  document.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest(".error-summary a[href^='#']") : null;
    if (!link) { return; }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) { return; }
    var field = target.matches("input, select, textarea") ? target
      : target.querySelector("input:checked, input:not([type=hidden]), select, textarea");
    if (field) {
      e.preventDefault();
      var group = field.closest("details");
      if (group) { group.open = true; }
      target.scrollIntoView();
      field.focus();
    }
  });

  // Searchable medicine lists
  document.querySelectorAll("input[type=search][data-list]").forEach(function (box) {
    var list = document.getElementById(box.getAttribute("data-list"));
    var count = document.getElementById(box.getAttribute("aria-describedby"));
    box.parentElement.hidden = false;
    var timer = null;
    box.addEventListener("input", function () {
      var words = box.value.toLowerCase().split(/[\s,+]+/).filter(Boolean);
      var shown = 0;
      list.querySelectorAll(".choice").forEach(function (item) {
        var text = item.getAttribute("data-search") || "";
        var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
        item.hidden = !ok;
        if (ok) { shown += 1; }
      });
      list.querySelectorAll("details").forEach(function (group) {
        var any = group.querySelector(".choice:not([hidden])");
        group.hidden = !any;
        if (words.length) { group.open = !!any; }
      });
      clearTimeout(timer);
      timer = setTimeout(function () {
        count.textContent = words.length ? shown + (shown === 1 ? " match" : " matches") : "";
      }, 300);
    });
    box.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); } });
  });

  // "When was it given?" only beside a ticked medicine
  document.querySelectorAll(".prior-when[data-for]").forEach(function (when) {
    var box = document.getElementById(when.getAttribute("data-for"));
    var sync = function () { when.hidden = !box.checked; };
    box.addEventListener("change", sync);
    sync();
  });

  if (!form) { return; }
  var plan = document.getElementById("plan");
  var status = document.getElementById("plan-status");
  var shownErrors = {};

  function fieldBox(key) {
    return form.querySelector('[data-key="' + key + '"]');
  }

  function showErrors(errors) {
    var keys = Object.keys(Object.assign({}, shownErrors, errors));
    keys.forEach(function (key) {
      var box = fieldBox(key);
      if (!box) { return; }
      var holder = box.querySelector(".field-error");
      var messages = errors[key] || [];
      holder.textContent = "";
      messages.forEach(function (m) {
        var p = document.createElement("p");
        var word = document.createElement("span");
        word.className = "error-word";
        word.textContent = "Error:";
        p.appendChild(word);
        p.appendChild(document.createTextNode(" " + m));
        holder.appendChild(p);
      });
      holder.hidden = messages.length === 0;
      box.classList.toggle("has-error", messages.length > 0);
      box.querySelectorAll("input:not([type=radio]):not([type=checkbox]), select").forEach(function (el) {
        if (messages.length) { el.setAttribute("aria-invalid", "true"); } else { el.removeAttribute("aria-invalid"); }
      });
    });
    shownErrors = errors;
  }

  var pending = null, seq = 0, last = null;
  function refresh(announce) {
    var mine = ++seq;
    var data = new FormData(form);
    data.delete("password");
    return fetch("/plan", { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (body) { return [r.status, body]; }); })
      .then(function (res) {
        if (mine !== seq) { return null; }
        var body = res[1];
        if (res[0] === 503) { status.textContent = body.busy; return null; }
        plan.innerHTML = body.html;
        showErrors(body.errors || {});
        var said = body.problems.length
          ? body.problems.length + (body.problems.length === 1 ? " problem: " : " problems: ") + body.problems.join(" ")
          : body.summary;
        if (announce || said !== last) { status.textContent = said; }
        last = said;
        return body;
      })
      .catch(function () { return null; });
  }

  form.addEventListener("change", function (e) {
    if (e.target.id === "f-password" || e.target.type === "search") { return; }
    clearTimeout(pending);
    pending = setTimeout(function () { refresh(false); }, 250);
  });
  form.addEventListener("input", function (e) {
    if (e.target.id === "f-password") {  // checked when the booklet is made, not here
      var box = fieldBox("password");
      var holder = box && box.querySelector(".field-error");
      if (holder) { holder.hidden = true; box.classList.remove("has-error"); }
      e.target.removeAttribute("aria-invalid");
      return;
    }
    if (e.target.type !== "text" && e.target.type !== "date") { return; }
    clearTimeout(pending);
    pending = setTimeout(function () { refresh(false); }, 700);
  });
  form.addEventListener("submit", function (e) {
    var by = e.submitter;
    if (by && by.name === "preview") {
      e.preventDefault();
      refresh(true);
      return;
    }
    // a booklet cannot be made while a problem is shown: say so here, not in a new tab
    var first = form.querySelector(".field-error:not([hidden])");
    if (first) {
      e.preventDefault();
      status.textContent = "";
      setTimeout(function () {
        status.textContent = "The booklet cannot be made yet: " + first.textContent.trim();
      }, 50);
      var box = first.closest("[data-key]");
      var field = box && box.querySelector("input, select");
      if (field) { field.focus(); }
    }
  });
  var hint = document.getElementById("plan-hint");
  if (hint) { hint.textContent = "This follows your answers as you fill in the form."; }
  if (!document.querySelector(".plan-problems, .plan-lead")) { refresh(false); }
})();
