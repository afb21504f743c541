// Runbooker portal: keeps lists (jobs, workers, sync sources) current from
// the live event stream (GET /api/v1/events). The pages are complete
// without it; a reload shows the same.
(function () {
  "use strict";
  var live = document.querySelector("[data-live-events]");
  if (!live || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var id = live.id;
  var kinds = live.getAttribute("data-live-events").split(" ");
  var src = live.getAttribute("data-live-src") || location.pathname;
  var pending = false;

  // refresh replaces the live part of the page with a fresh copy, at most
  // every two seconds however many events come.
  function refresh() {
    pending = false;
    fetch(src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
        var cur = document.getElementById(id);
        if (fresh && cur && !cur.contains(document.activeElement)) {
          cur.replaceWith(document.importNode(fresh, true));
        }
      })
      .catch(function () {});
  }
  function soon() {
    if (!pending) {
      pending = true;
      setTimeout(refresh, 2000);
    }
  }
  var es = new EventSource("/api/v1/events");
  kinds.concat(["reload"]).forEach(function (k) {
    es.addEventListener(k, soon);
  });
})();
