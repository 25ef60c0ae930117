// atbridge live view: follows a session over the page's WebSocket (live),
// or pages through a saved capture (atbridge view). The page keeps at most
// MAX rows, dropping the oldest, and only the rows in view are in the DOM,
// so it runs for hours at full rate in bounded memory. Captured text is only
// ever set with textContent.
(function () {
  "use strict";
  var C = JSON.parse(document.getElementById("config").textContent);
  var token = new URLSearchParams(location.search).get("token") || "";
  var MAX = 20000, DROP = 2000, ROW = 22, LAT = 500, PAGE = 1000;
  var rows = [];          // [t, dir, kind, name, link, text, flags, latency]
  var lower = [];         // search text of each row
  var idx = [];           // positions in rows that pass the filters
  var total = 0, txs = 0, errs = 0, skipped = 0, dropped = 0;
  var lat = {};           // command -> latencies (ns), the last LAT
  var links = {};
  var kindsSeen = {}, kindOn = {};
  var live = !!C.live, ended = false, next = -1, paging = false, seq = 0;
  var $ = function (id) { return document.getElementById(id); };
  var viewport = $("viewport"), spacer = $("spacer"), search = $("search"), errorsOnly = $("errors"),
    linkSel = $("link"), follow = $("follow"), count = $("count"), status = $("status");

  function fmtT(ns) { return (ns / 1e9).toFixed(6); }
  function fmtD(ns) {
    if (ns >= 1e9) return (ns / 1e9).toFixed(3) + "s";
    if (ns >= 1e6) return (ns / 1e6).toFixed(3) + "ms";
    return (ns / 1e3).toFixed(0) + "µs";
  }
  function passes(r, q, eo, lk) {
    if (kindOn[r[2]] === false) return false;
    if (eo && !r[6]) return false;
    if (lk !== -2 && r[4] !== lk) return false;
    return true;
  }
  function filterState() {
    return [search.value.toLowerCase(), errorsOnly.checked, linkSel.value === "" ? -2 : +linkSel.value];
  }
  function refilter() {
    var f = filterState();
    idx = [];
    for (var i = 0; i < rows.length; i++) {
      if (passes(rows[i], f[0], f[1], f[2]) && (!f[0] || lower[i].indexOf(f[0]) >= 0)) idx.push(i);
    }
    redraw(true);
  }
  function redraw(all) {
    spacer.style.height = idx.length * ROW + "px";
    var extra = dropped ? " (" + dropped + " older rows dropped from the page: download the capture for them)" : "";
    count.textContent = idx.length + " of " + rows.length + " rows" + extra;
    if (all) {
      shown = {};
      while (spacer.firstChild) spacer.removeChild(spacer.firstChild);
    }
    if (follow.checked && live) viewport.scrollTop = spacer.scrollHeight;
    draw();
  }
  var timer = 0;
  search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refilter, 120); });
  errorsOnly.addEventListener("change", refilter);
  linkSel.addEventListener("change", refilter);

  function kindBox(k) {
    if (kindsSeen[k]) return;
    kindsSeen[k] = true;
    kindOn[k] = k !== "echo"; // echo rows repeat the command
    var l = document.createElement("label");
    var c = document.createElement("input");
    c.type = "checkbox"; c.checked = kindOn[k]; c.dataset.kind = k;
    c.addEventListener("change", function () { kindOn[k] = c.checked; refilter(); });
    l.appendChild(c); l.appendChild(document.createTextNode(" " + k));
    $("kinds").appendChild(l);
  }

  function rowEl(pos) {
    var i = idx[pos], r = rows[i];
    var el = document.createElement("div");
    el.className = "row" + (r[6] & 1 ? " err" : "") + (r[6] & 2 ? " lost" : "");
    el.style.top = pos * ROW + "px";
    el.dataset.row = i;
    var t = document.createElement("span"); t.className = "t"; t.textContent = fmtT(r[0]); el.appendChild(t);
    el.appendChild(atbridgeLanes(r[2], r[1], r[6]));
    var k = document.createElement("span"); k.className = "k"; k.textContent = r[2]; el.appendChild(k);
    var nm = document.createElement("span"); nm.className = "n"; nm.textContent = r[3] + (r[4] >= 0 ? " #" + r[4] : ""); el.appendChild(nm);
    var x = document.createElement("span"); x.className = "x"; x.textContent = r[5]; x.title = r[5]; el.appendChild(x);
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
    for (var q in shown) if (!keep[q]) { spacer.removeChild(shown[q]); delete shown[q]; }
  }
  var pendingDraw = false;
  viewport.addEventListener("scroll", function () {
    if (pendingDraw) return;
    pendingDraw = true;
    requestAnimationFrame(function () {
      pendingDraw = false;
      draw();
      if (!live && next >= 0 && !paging && viewport.scrollTop + viewport.clientHeight > spacer.scrollHeight - 40 * ROW) {
        requestPage(next, false);
      }
    });
  });

  function count1(r) {
    total++;
    if (r[2] === "transaction") {
      txs++;
      if (r[7] > 0) { var a = lat[r[3]] || (lat[r[3]] = []); a.push(r[7]); if (a.length > LAT) a.shift(); }
    }
    if (r[6] & 1) errs++;
    if (r[4] >= 0 && (r[2] === "link_state" || (r[2] === "event" && /^ws_(connected|closed)/.test(r[5])))) {
      links[r[4]] = r[2] === "link_state" ? r[5].replace(/^now /, "") : r[5].split(":")[0];
    }
    kindBox(r[2]);
  }
  function add(list) {
    if (!list.length) return;
    var f = filterState(), base = rows.length;
    for (var i = 0; i < list.length; i++) {
      var r = list[i];
      rows.push(r);
      lower.push((r[3] + " " + r[5]).toLowerCase());
      count1(r);
      if (passes(r, f[0], f[1], f[2]) && (!f[0] || lower[base + i].indexOf(f[0]) >= 0)) idx.push(base + i);
    }
    if (rows.length > MAX) {
      var n = rows.length - MAX + DROP;
      rows.splice(0, n); lower.splice(0, n); dropped += n;
      refilter();
    } else {
      redraw(false);
    }
    cards();
  }
  function cards() {
    $("c-rows").textContent = total; $("c-tx").textContent = txs; $("c-err").textContent = errs; $("c-skip").textContent = skipped;
    var ls = Object.keys(links).map(function (l) { return "link " + l + ": " + links[l]; });
    $("links").textContent = ls.length ? ls.join(" · ") : "no WebSocket link yet";
  }
  var latTimer = 0;
  function latency() {
    var box = $("lat"), names = Object.keys(lat).sort(), stats = [], top = 1;
    names.forEach(function (n) {
      var a = lat[n].slice().sort(function (x, y) { return x - y; });
      var s = { n: n, c: a.length, p50: a[Math.floor((a.length - 1) * 0.5)], p95: a[Math.floor((a.length - 1) * 0.95)], max: a[a.length - 1] };
      stats.push(s); top = Math.max(top, s.p95);
    });
    while (box.firstChild) box.removeChild(box.firstChild);
    stats.forEach(function (s) {
      var b = document.createElement("div"); b.className = "bar"; b.dataset.cmd = s.n;
      var nm = document.createElement("span"); nm.className = "nm"; nm.textContent = s.n; b.appendChild(nm);
      var tr = document.createElement("span"); tr.className = "track";
      var p = document.createElement("span"); p.className = "p50"; p.style.width = (100 * s.p50 / top) + "%"; tr.appendChild(p);
      var w = document.createElement("span"); w.className = "p95"; w.style.left = (100 * s.p95 / top) + "%"; tr.appendChild(w);
      b.appendChild(tr);
      var v = document.createElement("span"); v.className = "v";
      v.textContent = s.c + "× p50 " + fmtD(s.p50) + " p95 " + fmtD(s.p95) + " max " + fmtD(s.max);
      b.appendChild(v);
      box.appendChild(b);
    });
    if (!stats.length) box.textContent = "No command answered yet.";
  }
  setInterval(latency, 1000);

  var ws;
  function requestPage(from, replace) {
    paging = true;
    seq++;
    if (replace) { rows = []; lower = []; idx = []; dropped = 0; total = 0; txs = 0; errs = 0; lat = {}; links = {}; viewport.scrollTop = 0; }
    ws.send(JSON.stringify({ type: "page", from: from, n: PAGE, seq: seq }));
  }
  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(proto + location.host + "/ws?token=" + encodeURIComponent(token));
    ws.onmessage = function (ev) {
      var m = JSON.parse(ev.data);
      switch (m.type) {
        case "hello":
          $("started").textContent = "started " + m.start + (m.tool ? " · recorded by " + m.tool : "");
          $("ports").textContent = m.ports.map(function (p) { return p.role + " " + p.name + " (" + p.line + ")"; }).join(", ");
          status.textContent = live ? "following the session" : "a saved capture, " + fmtD(m.duration_ns) + " long";
          duration = m.duration_ns;
          add(m.history || []);
          if (!live) requestPage(0, true);
          document.body.dataset.ready = "1";
          break;
        case "rows": add(m.rows); break;
        case "page":
          if (m.seq !== seq) break;
          paging = false; next = m.next;
          if (m.error) $("note").textContent = m.error;
          add(m.rows);
          document.body.dataset.page = String(m.seq);
          break;
        case "skipped":
          skipped += m.rows;
          $("note").textContent = skipped + " rows skipped (" + m.why + ")";
          cards();
          break;
        case "marked": $("mark-done").textContent = "marked: " + m.text; break;
        case "end": ended = true; status.textContent = "the session ended"; break;
      }
    };
    ws.onclose = function () {
      if (!ended) status.textContent = live ? "disconnected: the session ended or atbridge stopped" : "disconnected";
      document.body.dataset.closed = "1";
    };
  }
  var duration = 0;
  if (C.marks && live) {
    $("mark-box").hidden = false;
    var send = function () {
      var t = $("mark-text").value.trim();
      if (!t) return;
      ws.send(JSON.stringify({ type: "marker", text: t }));
      $("mark-text").value = "";
    };
    $("mark").addEventListener("click", send);
    $("mark-text").addEventListener("keydown", function (e) { if (e.key === "Enter") send(); });
  }
  if (C.download) {
    var a = $("download");
    a.hidden = false;
    a.href = "/capture.atcap?token=" + encodeURIComponent(token);
  }
  if (!live) {
    $("follow-box").hidden = true;
    $("seek-box").hidden = false;
    var sk = $("seek");
    sk.addEventListener("change", function () {
      var at = Math.floor(duration * sk.value / 1000);
      $("seek-at").textContent = fmtT(at) + " s";
      requestPage(at, true);
    });
  }
  var m0 = /^#q=(.*)$/.exec(location.hash);
  if (m0) search.value = decodeURIComponent(m0[1]);
  // For tests and the curious: what the page holds.
  window.atbridge = {
    rows: function () { return rows.length; },
    total: function () { return total; },
    shown: function () { return idx.length; },
    skipped: function () { return skipped; },
    texts: function () { return rows.map(function (r) { return r[2] + " " + r[3] + " " + r[5]; }); },
    latency: function () { return Object.keys(lat); },
    seek: function (ns) { requestPage(ns, true); return seq; },
    firstTime: function () { return rows.length ? rows[0][0] : -1; },
    mark: function (t) { ws.send(JSON.stringify({ type: "marker", text: t })); }
  };
  connect();
})();
