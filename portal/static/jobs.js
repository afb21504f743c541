// Runbooker portal: the job page's live console. Without it the page shows
// the records present when it was rendered and a Refresh link.
(function () {
  'use strict';
  var con = document.getElementById('console');
  if (!con || !con.dataset.live || !window.EventSource) return;
  var lastSeq = parseInt(con.dataset.lastSeq || '0', 10) || 0;
  var refresh = document.getElementById('job-refresh');
  if (refresh) refresh.hidden = true;
  var es = new EventSource(con.dataset.live);

  function atBottom() { return con.scrollTop + con.clientHeight >= con.scrollHeight - 24; }

  function status(s) {
    var el = document.getElementById('job-status');
    if (el && s.status) {
      el.textContent = s.status;
      el.className = 'status status-' + s.status;
    }
    var reason = document.getElementById('job-reason');
    if (reason) reason.textContent = s.reason ? ' ' + s.reason : '';
    if (s.ended) {
      var ended = document.getElementById('job-ended');
      if (ended) ended.textContent = s.ended;
    }
    if (s.exception) {
      var ex = document.getElementById('job-exception');
      if (ex) { ex.textContent = s.exception; ex.hidden = false; }
    }
    var resume = document.getElementById('resume-form');
    if (resume && s.status !== 'Suspended') resume.hidden = true;
  }

  es.addEventListener('record', function (e) {
    var r = JSON.parse(e.data);
    if (r.seq <= lastSeq) return; // already shown
    lastSeq = r.seq;
    var stick = atBottom();
    var span = document.createElement('span');
    span.className = 'rec ' + r.type;
    span.title = (r.time || '').replace('T', ' ').slice(0, 19);
    span.textContent = r.text;
    con.appendChild(span);
    var empty = document.getElementById('console-empty');
    if (empty) empty.hidden = true;
    if (stick) con.scrollTop = con.scrollHeight;
  });
  es.addEventListener('status', function (e) { status(JSON.parse(e.data)); });
  es.addEventListener('end', function (e) {
    es.close();
    var s = JSON.parse(e.data);
    status(s);
    var stop = document.getElementById('stop-form');
    if (stop) stop.hidden = true;
    var empty = document.getElementById('console-empty');
    if (empty && !con.querySelector('.rec')) { empty.textContent = 'This job wrote nothing.'; empty.hidden = false; }
  });
})();
