// Sortable tables: click a header to sort by that column; click again to reverse.
// The hash "#sort=<table-id>:<column>:<asc|desc>" sorts at load (bookmarks, tests).
(function () {
  "use strict";
  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell ? (cell.getAttribute("data-sort") || cell.textContent) : "";
    if (numeric) { var n = parseFloat(raw); return isNaN(n) ? -Infinity : n; }
    return raw.toLowerCase();
  }
  function sortTable(table, index, descending) {
    var head = table.tHead.rows[0].cells;
    var numeric = head[index].getAttribute("data-type") === "number";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
      var c = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    for (var i = 0; i < head.length; i++) { head[i].removeAttribute("aria-sort"); }
    head[index].setAttribute("aria-sort", descending ? "descending" : "ascending");
    table.setAttribute("data-sorted", index + ":" + (descending ? "desc" : "asc"));
  }
  function columnIndex(table, key) {
    var head = table.tHead.rows[0].cells;
    for (var i = 0; i < head.length; i++) {
      if (head[i].getAttribute("data-key") === key) { return i; }
    }
    return -1;
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.setAttribute("tabindex", "0");
      th.setAttribute("title", "Sort by this column");
      var activate = function () {
        var numeric = th.getAttribute("data-type") === "number";
        var current = th.getAttribute("aria-sort");
        var descending = current ? current === "ascending" : numeric;
        sortTable(table, index, descending);
      };
      th.addEventListener("click", activate);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); activate(); }
      });
    });
  });
  var m = /^#sort=([A-Za-z0-9_-]+):([A-Za-z0-9_]+):(asc|desc)$/.exec(window.location.hash);
  if (m) {
    var table = document.getElementById(m[1]);
    if (table && table.classList.contains("sortable")) {
      var index = columnIndex(table, m[2]);
      if (index >= 0) { sortTable(table, index, m[3] === "desc"); }
    }
  }
})();
