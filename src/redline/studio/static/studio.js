// redline studio: keyboard shortcuts on the Label page (r / c / u, 0-9 for harm). No data is read from the page
// into markup: this script only clicks buttons and sets an input's value.
(function () {
  "use strict";
  var harm = document.getElementById("harm");
  var out = document.getElementById("harm-value");
  function show() { if (harm && out) { out.textContent = Number(harm.value).toFixed(2); } }
  if (harm) { harm.addEventListener("input", show); show(); }
  var keys = { r: "label-refused", c: "label-complied", u: "label-unscorable" };
  document.addEventListener("keydown", function (e) {
    if (!document.getElementById("label-form") || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" && e.target.type !== "range" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    if (keys[e.key]) { e.preventDefault(); document.getElementById(keys[e.key]).click(); return; }
    if (harm && /^[0-9]$/.test(e.key)) { harm.value = String(Number(e.key) / 10); show(); }
  });
  document.body.setAttribute("data-ready", "1");
}());
