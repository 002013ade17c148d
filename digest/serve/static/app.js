// digest serve: sortable tables, the survey filter, scrolling to a highlight, dropping PDFs, polling a job.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  each(document.querySelectorAll("table.sortable"), function (table) {
    each(table.tHead.rows[0].cells, function (th) {
      th.addEventListener("click", function () {
        var i = th.cellIndex, up = th.getAttribute("aria-sort") !== "ascending";
        var key = function (row) { var c = row.cells[i]; return c.dataset.sort !== undefined ? c.dataset.sort : c.textContent.trim(); };
        each(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(table.tBodies[0].rows);
        rows.sort(function (a, b) { return collator.compare(key(a), key(b)) * (up ? 1 : -1); });
        rows.forEach(function (row) { table.tBodies[0].appendChild(row); });
      });
    });
  });

  var filter = $("filter"), tag = $("tag");
  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean), wanted = tag.value;
    each($("papers").tBodies[0].rows, function (row) {
      var text = row.textContent.toLowerCase(), tags = row.dataset.tags.split("|");
      row.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; }) || (wanted && tags.indexOf(wanted) < 0);
    });
  }
  if (filter && tag) { filter.addEventListener("input", applyFilter); tag.addEventListener("change", applyFilter); }

  var page = $("page");
  if (page) {  // scroll the page image so that the highlight stands a third of the way down its box
    var rects = JSON.parse(page.dataset.rects), box = page.parentElement;
    var scroll = function () {
      if (rects.length) box.scrollTop = rects[0][1] / page.dataset.height * page.clientHeight - box.clientHeight / 3;
    };
    if (page.complete) scroll(); else page.addEventListener("load", scroll);
  }

  var drop = $("drop"), input = $("pdfs");
  if (drop && input) {
    drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (e) { e.preventDefault(); drop.classList.remove("over"); input.files = e.dataTransfer.files; });
  }

  var job = $("job");
  function show(state) {
    job.dataset.state = state.state;
    $("state").textContent = state.state;
    $("stage").textContent = state.stage + (state.step ? " · " + state.step.name + " " + state.step.done + "/" + state.step.total : "");
    $("step").hidden = !state.step;
    if (state.step) { $("step").max = state.step.total || 1; $("step").value = state.step.done; }
    var body = $("job-papers").tBodies[0];
    body.textContent = "";
    state.papers.forEach(function (p) {
      var row = body.insertRow(), name = row.insertCell();
      row.className = p.status;
      if (p.status === "done") { var a = document.createElement("a"); a.href = "/paper/" + encodeURIComponent(p.paper_id); a.textContent = p.name; name.appendChild(a); }
      else name.textContent = p.name;
      [p.status, p.stage, p.error || ""].forEach(function (text) { row.insertCell().textContent = text; });
    });
  }
  function poll() {
    fetch("/api/jobs/" + job.dataset.job, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (state) { show(state); if (state.state !== "finished") setTimeout(poll, 1000); });
  }
  if (job && job.dataset.state !== "finished") poll();
})();
