/* The console's live monitor (实时监控): polls console:live_data and updates the table in place,
 * without reloading the page. Cells are built as DOM nodes with textContent (no innerHTML with
 * data). A cell is rebuilt only when what it shows changed; a face image's src is set only when
 * the session's latest face check changed, so a thousand thumbnails are not fetched again (each
 * fetch of an evidence frame is an audited read). Polling pauses while the tab is hidden, and
 * stops after a long time without a click or a key so an unattended screen still reaches the
 * staff idle logout. No inline script. */
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function badge(text, kind) { return el("span", "badge badge-" + kind, text); }

  // Each cell: how to tell whether it changed (sig) and how to fill it (fill).
  var CELLS = [
    {
      sig: function (r) { return [r.trainee, r.id_masked, r.trainee_url].join("\u0001"); },
      fill: function (td, r) {
        var link = el("a", "", r.trainee);
        link.href = r.trainee_url;
        td.replaceChildren(link, el("div", "mono muted", r.id_masked));
      }
    },
    {
      sig: function (r) { return r.classes; },
      fill: function (td, r) { td.textContent = r.classes; }
    },
    {
      sig: function (r) { return r.course + "\u0001" + r.lesson; },
      fill: function (td, r) { td.replaceChildren(el("div", "", r.course), el("div", "muted", r.lesson)); }
    },
    {
      sig: function (r) { return r.status + "\u0001" + r.status_label; },
      fill: function (td, r) { td.replaceChildren(badge(r.status_label, r.status === "active" ? "ok" : "warn")); }
    },
    {
      className: "nowrap",
      sig: function (r) { return r.started_label + "\u0001" + r.age_label; },
      fill: function (td, r) { td.replaceChildren(el("div", "", r.started_label), el("div", "muted", r.age_label)); }
    },
    {
      className: "num",
      sig: function (r) { return String(r.credited_minutes); },
      fill: function (td, r) { td.textContent = Number(r.credited_minutes).toFixed(1); }
    },
    {
      className: "live-face",
      // An attempt never changes: its id says everything the cell shows.
      sig: function (r) { return r.face ? String(r.face.id) : ""; },
      fill: function (td, r) {
        if (!r.face) { td.replaceChildren(el("span", "muted", gettext("尚无核验"))); return; }
        var nodes = [];
        if (r.face.image) {
          var link = el("a");
          link.href = r.face.image;
          link.target = "_blank";
          link.rel = "noopener";
          var img = el("img", "live-thumb");
          img.alt = gettext("人脸核验图像");
          img.loading = "lazy";
          img.width = 64;
          img.height = 48;
          img.src = r.face.image;
          link.appendChild(img);
          nodes.push(link);
        }
        nodes.push(badge(r.face.label, r.face.ok ? "ok" : "danger"));
        nodes.push(el("div", "muted", r.face.at));
        td.replaceChildren.apply(td, nodes);
      }
    },
    {
      sig: function (r) { return r.warnings.map(function (w) { return w.level + ":" + w.text; }).join("\u0001"); },
      fill: function (td, r) {
        if (!r.warnings.length) { td.replaceChildren(el("span", "muted", "—")); return; }
        var list = el("ul", "plain live-warnings");
        r.warnings.forEach(function (w) {
          var item = el("li");
          item.dataset.warning = w.code;
          item.appendChild(badge(w.text, w.level === "danger" ? "danger" : "warn"));
          list.appendChild(item);
        });
        td.replaceChildren(list);
      }
    }
  ];

  function adopt(tr) {
    // A row the server rendered: keep its cells (and its image) until something changes. The
    // face cell's signature is the attempt id the server put on the row.
    tr.liveSigs = CELLS.map(function (cell, i) { return i === 6 ? tr.dataset.face || "" : null; });
  }

  function buildRow(r) {
    var tr = el("tr");
    tr.dataset.session = String(r.id);
    CELLS.forEach(function (cell) { tr.appendChild(el("td", cell.className || "")); });
    tr.liveSigs = CELLS.map(function () { return null; });
    return tr;
  }

  function update(tr, r) {
    CELLS.forEach(function (cell, i) {
      var sig = cell.sig(r);
      if (tr.liveSigs[i] !== sig) {
        cell.fill(tr.cells[i], r);
        tr.liveSigs[i] = sig;
      }
    });
    tr.dataset.face = r.face ? String(r.face.id) : "";
    tr.classList.toggle("live-warned", r.warnings.length > 0);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector("[data-live]");
    if (!root) { return; }
    var body = root.querySelector("[data-live-rows]");
    var status = root.querySelector("[data-live-status]");
    var paused = root.querySelector("[data-live-paused]");
    var pausedText = root.querySelector("[data-live-paused-text]");
    var refresh = Math.max(1, Number(root.dataset.refreshSeconds) || 3) * 1000;
    var idleLimit = Math.max(60, Number(root.dataset.idleSeconds) || 1740) * 1000;
    var rows = new Map();
    var timer = null, inFlight = false, stopped = false, lastInput = Date.now();

    Array.prototype.forEach.call(body.querySelectorAll("tr[data-session]"), function (tr) {
      adopt(tr);
      rows.set(tr.dataset.session, tr);
    });

    // The class filter applies on choosing: a new page load (and its own audit entry).
    var filter = root.querySelector("[data-live-filter]");
    filter.querySelector("select").addEventListener("change", function () { filter.submit(); });

    function say(text) { status.textContent = text; }

    function render(data) {
      Object.keys(data.counts).forEach(function (key) {
        var node = root.querySelector('[data-count="' + key + '"]');
        if (node) { node.textContent = String(data.counts[key]); }
      });
      var seen = new Set();
      var position = 0;
      data.rows.forEach(function (r) {
        var key = String(r.id);
        seen.add(key);
        var tr = rows.get(key);
        if (!tr) { tr = buildRow(r); rows.set(key, tr); }
        update(tr, r);
        // Move only rows that are out of place: moving a node does not reload its image.
        if (body.children[position] !== tr) { body.insertBefore(tr, body.children[position] || null); }
        position += 1;
      });
      rows.forEach(function (tr, key) {
        if (!seen.has(key)) { tr.remove(); rows.delete(key); }
      });
      var empty = body.querySelector("[data-live-empty]");
      if (data.rows.length && empty) { empty.remove(); }
      if (!data.rows.length && !empty) {
        var row = el("tr");
        row.dataset.liveEmpty = "";
        var cell = el("td", "empty", gettext("当前没有学员在学习"));
        cell.colSpan = 8;
        row.appendChild(cell);
        body.appendChild(row);
      }
      var now = new Date();
      say(interpolate(gettext("已更新 %(time)s · 每 %(n)s 秒自动刷新"), { time: now.toLocaleTimeString(document.documentElement.lang || undefined, { hour12: false }), n: refresh / 1000 }, true));
    }

    function stop(text) {
      stopped = true;
      clearTimeout(timer);
      pausedText.textContent = text;
      paused.hidden = false;
    }

    async function poll() {
      timer = null;
      if (stopped || inFlight || document.hidden) { return; }
      if (Date.now() - lastInput > idleLimit) {
        stop(gettext("长时间无操作，已暂停自动刷新。"));
        return;
      }
      inFlight = true;
      try {
        var response = await fetch(root.dataset.url, {
          credentials: "same-origin",
          headers: { "Accept": "application/json" },
          redirect: "manual"
        });
        var data = null;
        try { data = await response.json(); } catch (e) { data = null; }
        if (response.status === 401 || response.type === "opaqueredirect" || response.status === 403) {
          stop((data && data.message) || gettext("登录已失效，请刷新页面后重新登录。"));
          return;
        }
        if (!response.ok || !data || !data.ok) {
          say((data && data.message) || gettext("刷新失败，稍后自动重试"));
        } else {
          render(data);
        }
      } catch (e) {
        say(gettext("网络异常，稍后自动重试"));
      } finally {
        inFlight = false;
      }
      schedule();
    }

    function schedule() {
      if (!stopped && !document.hidden && timer === null) { timer = setTimeout(poll, refresh); }
    }

    document.addEventListener("visibilitychange", function () {
      if (document.hidden) {
        clearTimeout(timer);
        timer = null;
        say(gettext("页面不在前台，已暂停刷新"));
      } else if (!stopped) {
        poll();
      }
    });
    ["click", "keydown", "pointermove", "scroll", "touchstart"].forEach(function (name) {
      document.addEventListener(name, function () { lastInput = Date.now(); }, { passive: true });
    });
    root.querySelector("[data-live-resume]").addEventListener("click", function () {
      lastInput = Date.now();
      stopped = false;
      paused.hidden = true;
      poll();
    });
    schedule(); // the server rendered the first rows with the page
  });
})();
