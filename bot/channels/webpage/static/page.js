// The chat page's script. Every text that came from the server or the resident is put into the page with
// textContent, never as HTML (the Content-Security-Policy enforces this with Trusted Types). What the resident
// typed stays in the box until its answer has arrived: a slow or failed request shows a retry button and
// loses nothing. The conversation shown is kept in sessionStorage, so reloading the tab keeps it and closing
// the tab forgets it (a shared computer keeps nothing). Each request carries a random message id that its
// retries keep, so a question whose answer was slow is answered (and recorded) once however often it is sent.
"use strict";
(function () {
  var ENDPOINT = "web/messages";
  var STORE = "resident-bot-transcript";
  var MAX_KEPT = 100;

  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var box = document.getElementById("question");
  var send = document.getElementById("send");
  var status = document.getElementById("status");
  var problem = document.getElementById("problem");
  var problemText = document.getElementById("problem-text");
  var retry = document.getElementById("retry");
  var TIMEOUT_MS = Number(form.dataset.timeoutMs) || 20000;
  var transcript = [];
  var busy = false;
  var failed = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function keep() {
    try {
      sessionStorage.setItem(STORE, JSON.stringify(transcript.slice(-MAX_KEPT)));
    } catch (e) { /* storage off or full: the page still works, a reload just starts afresh */ }
  }

  function kept() {
    try {
      var data = JSON.parse(sessionStorage.getItem(STORE) || "[]");
      return Array.isArray(data) ? data : [];
    } catch (e) {
      return [];
    }
  }

  function newId() {
    // crypto.getRandomValues works on plain-HTTP intranet pages too (crypto.randomUUID needs HTTPS).
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function buttons(items, cls, label) {
    var group = el("div", cls);
    group.setAttribute("role", "group");
    if (label) group.setAttribute("aria-label", label);
    items.forEach(function (item) {
      var b = el("button", null, item.label);
      b.type = "button";
      b.addEventListener("click", function () {
        submit({ body: item.do, said: item.label });
      });
      group.appendChild(b);
    });
    return group;
  }

  function said(view) {
    return view.paragraphs.map(function (p) { return p.text; }).join("\n");
  }

  // After 没帮助: one optional line saying what was wrong, sent with the same rating and kept with it.
  function commentBox(entry, group, item) {
    var box = entry.view.feedback.comment;
    var f = el("form", "comment");
    f.noValidate = true;
    var id = "comment-" + item.do.arg;
    var label = el("label", "label", box.label);
    label.htmlFor = id;
    var input = el("input");
    input.type = "text";
    input.id = id;
    input.maxLength = box.max;
    input.placeholder = box.placeholder;
    input.autocomplete = "off";
    input.setAttribute("enterkeyhint", "send");
    var send = el("button", null, box.send);
    send.type = "submit";
    var row = el("div", "row");
    row.appendChild(input);
    row.appendChild(send);
    f.appendChild(label);
    f.appendChild(row);
    f.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) { input.focus(); return; }
      var body = { action: item.do.action, arg: item.do.arg, comment: text };
      submit({ body: body, rate: function (view) {
        entry.commented = said(view);
        var thanks = el("p", "thanks", entry.commented);
        group.replaceChild(thanks, f);
        thanks.scrollIntoView({ block: "nearest" });
        keep();
      } });
    });
    return f;
  }

  function feedback(entry) {
    var fb = entry.view.feedback;
    var group = el("div", "feedback");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", fb.prompt);
    group.appendChild(el("p", null, fb.prompt));
    var all = fb.buttons.map(function (item, i) {
      var b = el("button", null, item.label);
      b.type = "button";
      b.setAttribute("aria-pressed", entry.rated === i ? "true" : "false");
      b.disabled = entry.rated !== undefined;
      b.addEventListener("click", function () {
        submit({ body: item.do, rate: function (view) {
          entry.rated = i;
          entry.thanks = said(view);
          all.forEach(function (other, j) {
            other.setAttribute("aria-pressed", j === i ? "true" : "false");
            other.disabled = true;
          });
          group.appendChild(el("p", "thanks", entry.thanks)).scrollIntoView({ block: "nearest" });
          if (item.do.action === "not_helpful" && fb.comment) {
            // Not focused: on a phone that would push the keyboard up for what is only an offer.
            group.appendChild(commentBox(entry, group, item));
          }
          keep();
        } });
      });
      group.appendChild(b);
      return b;
    });
    if (entry.thanks) group.appendChild(el("p", "thanks", entry.thanks));
    var rated = fb.buttons[entry.rated];
    if (entry.commented) {
      group.appendChild(el("p", "thanks", entry.commented));
    } else if (rated && rated.do.action === "not_helpful" && fb.comment) {
      group.appendChild(commentBox(entry, group, rated));
    }
    return group;
  }

  function show(entry) {
    var m;
    if (entry.who === "you") {
      m = el("div", "msg you");
      m.appendChild(el("span", "sr", log.dataset.you));
      m.appendChild(el("p", null, entry.text));
    } else {
      var view = entry.view;
      m = el("div", "msg bot");
      m.lang = view.lang;
      m.appendChild(el("span", "sr", log.dataset.bot));
      view.paragraphs.forEach(function (p) {
        m.appendChild(el("p", p.kind, p.text));
      });
      if (view.source) m.appendChild(el("p", "source", view.source));
      if (view.choices.length) m.appendChild(buttons(view.choices, "options choices"));
      if (view.suggestions.length) {
        m.appendChild(el("p", "title", view.suggestions_title));
        m.appendChild(buttons(view.suggestions, "options suggestions", view.suggestions_title));
      }
      if (view.feedback) m.appendChild(feedback(entry));
    }
    log.appendChild(m);
    return m;
  }

  function add(entry) {
    transcript.push(entry);
    keep();
    return show(entry);
  }

  function tell(message, request) {
    problemText.textContent = message;
    failed = request || null;
    retry.hidden = !request;
    problem.hidden = false;
  }

  function post(body) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    return fetch(ENDPOINT, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal
    }).then(function (response) {
      return response.json().then(
        function (data) { return { status: response.status, data: data }; },
        function () { return { status: response.status, data: null }; });
    }).finally(function () { clearTimeout(timer); });
  }

  function submit(request) {
    if (busy) return Promise.resolve();
    if (!request.body.message_id) {
      // A copy with this message's id: a button's action is shared by its presses, a retry keeps the id.
      request.body = Object.assign({}, request.body, { message_id: newId() });
    }
    busy = true;
    log.setAttribute("aria-busy", "true");
    problem.hidden = true;
    status.textContent = status.dataset.waiting;
    return post(request.body).then(function (result) {
      if (result.status === 403 && result.data && result.data.code === "session" && !request.renewed) {
        // The session ran out: loading the page again renews the cookie; then the same request once more.
        request.renewed = true;
        return fetch("./", { credentials: "same-origin", cache: "no-store" }).then(function () {
          return post(request.body);
        });
      }
      return result;
    }).then(function (result) {
      finish();
      if (result.status >= 500 || !result.data) {
        tell(problem.dataset.failed, request);
      } else if (result.status !== 200) {
        // 429 (too fast) and 409 (its first attempt still being answered) can be retried after a while; a
        // refused question (empty, too long) cannot as it is.
        var again = result.status === 429 || result.status === 409;
        tell(result.data.error || problem.dataset.badRequest, again ? request : null);
      } else if (request.rate) {
        request.rate(result.data);
      } else {
        if (request.said) add({ who: "you", text: request.said });
        if (request.typed) box.value = "";
        var shown = add({ who: "bot", view: result.data });
        shown.scrollIntoView({ block: "nearest" });
      }
    }, function () {
      finish();
      tell(problem.dataset.failed, request);
    });
  }

  function finish() {
    busy = false;
    log.removeAttribute("aria-busy");
    status.textContent = "";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value.trim();
    if (!text) {
      tell(problem.dataset.empty, null);
      box.focus();
      return;
    }
    submit({ body: { text: text }, said: text, typed: true });
  });

  box.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter is a new line; Enter that confirms an input method's candidate is neither.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  retry.addEventListener("click", function () {
    if (failed) submit(failed);
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-action]"), function (b) {
    b.addEventListener("click", function () {
      submit({ body: { action: b.dataset.action, arg: "" }, said: b.textContent });
    });
    b.disabled = false;
  });

  box.disabled = false;
  send.disabled = false;
  transcript = kept();
  transcript.forEach(show);
  if (transcript.length) {
    log.lastElementChild.scrollIntoView({ block: "nearest" });
  } else {
    submit({ body: { action: "welcome", arg: "" } });
  }
})();
