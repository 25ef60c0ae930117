// atbridgeLanes draws a transcript row's sequence lanes (host, ESP32,
// server) with its arrow, for the report and the live view alike.
var atbridgeLanes = (function () {
  "use strict";
  var X = [10, 75, 140]; // lane positions: host, ESP32, server
  var LANE = { to_device: [0, 1, "h"], to_host: [1, 0, "d"], to_server: [1, 2, "d"], to_client: [2, 1, "s"] };
  return function (kind, dir, flags) {
    var box = document.createElement("div");
    box.className = "lanes";
    for (var k = 0; k < 3; k++) {
      var l = document.createElement("div"); l.className = "lane l" + k; box.appendChild(l);
    }
    var a = LANE[dir];
    if (kind === "transaction") a = [0, 1, "h", true];
    if (a) {
      var from = X[a[0]], to = X[a[1]], cls = flags ? "e" : a[2];
      var bar = document.createElement("div");
      bar.className = "arrow " + cls;
      bar.style.left = Math.min(from, to) + "px";
      bar.style.width = Math.abs(to - from) + "px";
      box.appendChild(bar);
      var head = document.createElement("span");
      head.className = "head " + cls;
      head.textContent = a[3] ? "\u25C0\u25B6" : (to > from ? "\u25B6" : "\u25C0");
      head.style.left = (a[3] ? from + 22 : (to > from ? to - 9 : to - 1)) + "px";
      box.appendChild(head);
    } else {
      var dot = document.createElement("div");
      dot.className = "dot";
      dot.style.left = (kind === "link_state" || kind === "frame" ? X[2] - 4 : X[1] - 4) + "px";
      box.appendChild(dot);
    }
    return box;
  };
})();
