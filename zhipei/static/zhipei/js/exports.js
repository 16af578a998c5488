/* 职培 Zhipei: the export job page. Polls the job's JSON status every 2 s and moves the
   <progress> bar; when the file is ready it shows the download link, when the job failed its
   reason. Markup: [data-export-job][data-status-url] with the data-export-* parts inside
   (templates/console/records/export_job.html). No inline script: the CSP forbids it. */
(function () {
  'use strict';

  var POLL_MS = 2000;
  var MAX_FAILURES = 5; // network errors in a row before the page asks for a reload

  function part(root, name) {
    return root.querySelector('[data-export-' + name + ']');
  }

  function show(el, visible) {
    if (el) el.hidden = !visible;
  }

  function render(root, state) {
    var bar = part(root, 'progress');
    if (bar) {
      bar.value = state.percent;
      bar.textContent = state.percent + '%';
    }
    part(root, 'label').textContent = state.status_label;
    part(root, 'rows').textContent = String(state.rows_done);
    part(root, 'total').textContent = String(state.rows_total);
    var finished = state.status === 'done' || state.status === 'failed';
    show(part(root, 'wait'), !finished);
    var error = part(root, 'error');
    if (state.status === 'failed') error.textContent = state.error || gettext('导出失败');
    show(error, state.status === 'failed');
    show(part(root, 'expired'), !!state.expired);
    if (state.download_url) {
      part(root, 'link').href = state.download_url;
      part(root, 'expires').textContent = state.expires_at || '';
    }
    show(part(root, 'ready'), !!state.download_url);
    return finished;
  }

  function poll(root) {
    var url = root.dataset.statusUrl;
    var failures = 0;

    function tick() {
      fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (response) {
          if (!response.ok) throw new Error('HTTP ' + response.status);
          return response.json();
        })
        .then(function (state) {
          failures = 0;
          if (!render(root, state)) window.setTimeout(tick, POLL_MS);
        })
        .catch(function () {
          failures += 1;
          if (failures >= MAX_FAILURES) {
            part(root, 'label').textContent = gettext('无法获取进度，请刷新页面');
            return;
          }
          window.setTimeout(tick, POLL_MS);
        });
    }

    window.setTimeout(tick, POLL_MS);
  }

  document.addEventListener('DOMContentLoaded', function () {
    var root = document.querySelector('[data-export-job]');
    if (!root) return;
    var status = root.dataset.status;
    if (status === 'queued' || status === 'running') poll(root);
  });
})();
