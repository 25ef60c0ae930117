// atbridge report: the transcript and its sequence lanes, rendered from the
// data in #data. Only the rows in view are in the DOM (virtualised), so a
// capture of tens of thousands of transactions scrolls and filters without
// freezing the page. Captured text is only ever set with textContent.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var R = D.rows, n = R.t.length;
  var ROW = 22;
  var lower = new Array(n);
  for (var i = 0; i < n; i++) {
    lower[i] = (D.names[R.n[i]] + " " + R.x[i]).toLowerCase();
  }
  var viewport = document.getElementById("viewport");
  var spacer = document.getElementById("spacer");
  var search = document.getElementById("search");
  var errorsOnly = document.getElementById("errors");
  var linkSel = document.getElementById("link");
  var count = document.getElementById("count");
  var kindBox = document.getElementById("kinds");
  var kindOn = {};
  // Echo rows repeat the command; hidden until asked for.
  D.kinds.forEach(function (k, i) {
    var used = false;
    for (var j = 0; j < n && !used; j++) used = R.k[j] === i;
    if (!used) return;
    kindOn[i] = k !== "echo";
    var l = document.createElement("label");
    var c = document.createElement("input");
    c.type = "checkbox"; c.checked = kindOn[i]; c.dataset.kind = k;
    c.addEventListener("change", function () { kindOn[i] = c.checked; refilter(); });
    l.appendChild(c); l.appendChild(document.createTextNode(" " + k));
    kindBox.appendChild(l);
  });
  var idx = [];
  function refilter() {
    var q = search.value.toLowerCase(), eo = errorsOnly.checked, lk = linkSel.value === "" ? -2 : +linkSel.value;
    idx = [];
    for (var i = 0; i < n; i++) {
      if (!kindOn[R.k[i]]) continue;
      if (eo && !R.f[i]) continue;
      if (lk !== -2 && R.l[i] !== lk) continue;
      if (q && lower[i].indexOf(q) < 0) continue;
      idx.push(i);
    }
    spacer.style.height = idx.length * ROW + "px";
    count.textContent = idx.length + " of " + n + " rows";
    shown = {};
    while (spacer.firstChild) spacer.removeChild(spacer.firstChild);
    draw();
  }
  var timer = 0;
  search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refilter, 120); });
  errorsOnly.addEventListener("change", refilter);
  linkSel.addEventListener("change", refilter);

  function fmtT(ns) { return (ns / 1e9).toFixed(6); }
  function rowEl(pos) {
    var i = idx[pos];
    var el = document.createElement("div");
    el.className = "row" + (R.f[i] & 1 ? " err" : "") + (R.f[i] & 2 ? " lost" : "");
    el.style.top = pos * ROW + "px";
    el.dataset.row = i;
    var t = document.createElement("span"); t.className = "t"; t.textContent = fmtT(R.t[i]); el.appendChild(t);
    el.appendChild(atbridgeLanes(D.kinds[R.k[i]], D.dirs[R.d[i]], R.f[i]));
    var k = document.createElement("span"); k.className = "k"; k.textContent = D.kinds[R.k[i]]; el.appendChild(k);
    var nm = document.createElement("span"); nm.className = "n"; nm.textContent = D.names[R.n[i]] + (R.l[i] >= 0 ? " #" + R.l[i] : ""); el.appendChild(nm);
    var x = document.createElement("span"); x.className = "x"; x.textContent = R.x[i]; x.title = R.x[i]; el.appendChild(x);
    return el;
  }
  var shown = {};
  function draw() {
    var first = Math.max(0, Math.floor(viewport.scrollTop / ROW) - 20);
    var last = Math.min(idx.length, Math.ceil((viewport.scrollTop + viewport.clientHeight) / ROW) + 20);
    var keep = {};
    for (var p = first; p < last; p++) {
      keep[p] = true;
      if (!shown[p]) { shown[p] = rowEl(p); spacer.appendChild(shown[p]); }
    }
    for (var q in shown) {
      if (!keep[q]) { spacer.removeChild(shown[q]); delete shown[q]; }
    }
  }
  var pending = false;
  viewport.addEventListener("scroll", function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  });
  // Clicking the overview timeline jumps to the first row at that time.
  var tl = document.getElementById("timeline");
  if (tl) tl.addEventListener("click", function (ev) {
    var r = tl.getBoundingClientRect();
    var at = (ev.clientX - r.left) / r.width * D.duration_ns;
    var lo = 0, hi = idx.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (R.t[idx[mid]] < at) lo = mid + 1; else hi = mid; }
    viewport.scrollTop = lo * ROW;
  });
  // "#q=text" in the address pre-fills the search (links into a report).
  var m = /^#q=(.*)$/.exec(location.hash);
  if (m) search.value = decodeURIComponent(m[1]);
  refilter();
  document.body.dataset.ready = "1";
})();
