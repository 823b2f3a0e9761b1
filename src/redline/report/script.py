"""The report's one script: filters the attempts table and shows transcripts, writing text only."""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("attempts-data").textContent);
  var body = document.getElementById("attempts-body");
  var count = document.getElementById("attempts-count");
  var detail = document.getElementById("transcript");
  var filters = {
    category: document.getElementById("f-category"),
    family: document.getElementById("f-family"),
    outcome: document.getElementById("f-outcome")
  };
  var search = document.getElementById("f-text");
  var LIMIT = 500;

  function uniq(key) {
    var seen = {};
    data.forEach(function (a) { seen[a[key]] = true; });
    return Object.keys(seen).sort();
  }
  Object.keys(filters).forEach(function (key) {
    uniq(key).forEach(function (v) {
      var o = document.createElement("option");
      o.value = v;
      o.textContent = v;
      filters[key].appendChild(o);
    });
    filters[key].addEventListener("change", render);
  });
  search.addEventListener("input", render);

  function cell(tr, text) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    tr.appendChild(td);
  }
  function block(title, text, cls) {
    var div = document.createElement("div");
    div.className = "msg " + (cls || "");
    var b = document.createElement("b");
    b.textContent = title;
    var pre = document.createElement("pre");
    pre.textContent = text;
    div.appendChild(b);
    div.appendChild(pre);
    detail.appendChild(div);
  }
  function show(a) {
    detail.textContent = "";
    var h = document.createElement("h3");
    h.textContent = "Attempt " + a.id + ": " + a.behavior + " / " + a.attack + " / " + a.variant +
      " / sample " + a.sample;
    detail.appendChild(h);
    (a.conversation || []).forEach(function (m) {
      var title = m.role === "tool" ? "tool result: " + (m.name || "") + " (" + (m.tool_call_id || "") + ")"
        : (m.role || "message");
      if (m.content || !m.tool_calls) {
        block(title, typeof m.content === "string" ? m.content : JSON.stringify(m.content), m.role);
      }
      (m.tool_calls || []).forEach(function (c) {  // the tool-call view: one block per call
        var fn = c["function"] || {};
        block("tool call: " + fn.name + " (" + c.id + ")", fn.arguments || "{}", "toolcall");
      });
    });
    block("response", a.response || "", "assistant");
    if (a.decoded) { block("decoded response", a.decoded, "assistant"); }
    if (a.error) { block("error", a.error, "error"); }
    block("verdict", a.label + " / " + a.outcome + (a.harm === null ? "" : " / harm " + a.harm) +
          (a.rationale ? "\n" + a.rationale : ""), "verdict");
    detail.hidden = false;
  }
  function render() {
    var text = search.value.toLowerCase();
    var shown = 0, total = 0;
    body.textContent = "";
    data.forEach(function (a) {
      for (var key in filters) {
        if (filters[key].value && String(a[key]) !== filters[key].value) { return; }
      }
      if (text && (a.behavior + " " + a.goal + " " + a.response + " " + a.attack).toLowerCase()
          .indexOf(text) < 0) { return; }
      total += 1;
      if (shown >= LIMIT) { return; }
      shown += 1;
      var tr = document.createElement("tr");
      tr.className = "o-" + a.outcome;
      [a.id, a.behavior, a.category, a.attack, a.family, a.sample, a.label, a.outcome,
       a.harm === null ? "" : a.harm.toFixed(2),
       (a.decoded || a.response || a.error || "").slice(0, 140)].forEach(function (v) { cell(tr, v); });
      tr.addEventListener("click", function () { show(a); });
      body.appendChild(tr);
    });
    count.textContent = total + " of " + data.length + " attempts match" +
      (total > shown ? " (first " + shown + " shown)" : "");
  }
  render();
  document.body.setAttribute("data-ready", "1");
})();
"""
