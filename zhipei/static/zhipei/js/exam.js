/* The exam page. The server holds the paper, the answers and the clock: this page shows the
 * questions, saves every answer as it is given, counts down from the server's remaining time,
 * reports leaving the page, and does the face checks the server asks for. No inline script. */
(function () {
  "use strict";

  var LETTERS = "ABCDEFGH";

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clockText(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" : "") + pad(m) + ":" + pad(s % 60);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector("[data-exam]");
    if (!root) { return; }
    var token = root.querySelector("input[name=csrfmiddlewaretoken]").value;
    var list = root.querySelector("[data-exam-questions]");
    var clock = root.querySelector("[data-exam-clock]");
    var saved = root.querySelector("[data-exam-saved]");
    var errorBox = root.querySelector("[data-exam-error]");
    var panel = document.querySelector("[data-face-panel]");
    var faceVideo = panel.querySelector("video");
    var faceButton = panel.querySelector("[data-face-start]");
    var faceStatus = panel.querySelector("[data-face-status]");
    var faceTitle = panel.querySelector("[data-face-title]");
    var attempt = root.dataset.attempt || null;
    var deadline = 0, finished = false, checking = false, cameraReady = false, pending = 0;

    async function call(method, url, body) {
      var options = { method: method, credentials: "same-origin", headers: { "X-CSRFToken": token, "Accept": "application/json" } };
      if (body !== undefined) { options.body = JSON.stringify(body); options.headers["Content-Type"] = "application/json"; }
      var response;
      try { response = await fetch(url, options); } catch (e) { return { ok: false, code: "NETWORK", message: gettext("网络异常，答案将在恢复后重试") }; }
      var data;
      try { data = await response.json(); } catch (e) { data = { ok: false, code: "BAD_RESPONSE", message: gettext("服务器返回异常") }; }
      data.httpStatus = response.status;
      return data;
    }

    function api(path) { return root.dataset.api + attempt + "/" + (path ? path + "/" : ""); }
    function resultUrl() { return "/exams/attempts/" + attempt + "/"; }
    function finish(url) {
      finished = true;
      window.location.href = url || resultUrl();
    }
    function showError(message) { errorBox.textContent = message || ""; }
    // Closed attempts (time up, void, handed in elsewhere) go to the result page.
    function handleClosed(answer) {
      if (["TIME_UP", "ATTEMPT_CLOSED", "FACE_FAILED"].indexOf(answer.code) >= 0 || answer.status === "submitted") {
        finish(answer.result_url);
        return true;
      }
      return false;
    }

    async function openCamera() {
      if (cameraReady) { return true; }
      try {
        await window.ZhipeiFace.openCamera(faceVideo);
        cameraReady = true;
        faceButton.disabled = false;
        faceStatus.textContent = gettext("摄像头已就绪");
      } catch (e) {
        faceStatus.textContent = gettext("无法打开摄像头：考试需要摄像头进行人脸核验");
        return false;
      }
      return true;
    }

    /* --- answers ----------------------------------------------------------------------- */

    // Saves go one at a time, in the order given: two clicks in quick succession must not
    // land out of order and leave the older answer on the server.
    var queue = Promise.resolve();
    function saveAnswer(question, value, item) {
      pending += 1;
      saved.textContent = gettext("正在保存…");
      queue = queue.then(function () { return sendAnswer(question, value, item); });
      return queue;
    }

    async function sendAnswer(question, value, item) {
      var answer = await call("POST", api("answer"), { question: question, value: value });
      pending -= 1;
      if (answer.ok) {
        item.dataset.saved = "1";
        saved.textContent = interpolate(gettext("已保存 %(n)s 题"), { n: answer.saved }, true);
        showError("");
        if (answer.face_due) { faceCheck(); }
        syncClock(answer.remaining);
      } else if (!handleClosed(answer)) {
        item.dataset.saved = "0";
        saved.textContent = "";
        showError(answer.message);
      }
    }

    function choiceValue(item) {
      var picked = [];
      item.querySelectorAll("input:checked").forEach(function (input) { picked.push(parseInt(input.value, 10)); });
      return picked.length ? picked : null;
    }

    function fillValue(item) {
      var texts = [];
      item.querySelectorAll("input[type=text]").forEach(function (input) { texts.push(input.value); });
      return texts.some(function (t) { return t.trim() !== ""; }) ? texts : null;
    }

    function render(state) {
      list.textContent = "";
      state.questions.forEach(function (q, n) {
        var item = document.createElement("li");
        item.className = "exam-question card";
        item.dataset.question = q.id;
        item.dataset.kind = q.kind;
        var stem = document.createElement("p");
        stem.textContent = interpolate(gettext("%(stem)s（%(score)s 分）"), { stem: q.stem, score: q.score }, true);
        item.appendChild(stem);
        var given = state.answers[String(q.id)];
        if (q.kind === "fill") {
          for (var b = 0; b < q.blanks; b++) {
            var input = document.createElement("input");
            input.type = "text";
            input.maxLength = 200;
            input.setAttribute("aria-label", interpolate(gettext("第 %(n)s 题第 %(b)s 空"), { n: n + 1, b: b + 1 }, true));
            input.value = given && given[b] ? given[b] : "";
            input.addEventListener("change", function () { saveAnswer(q.id, fillValue(item), item); });
            item.appendChild(input);
          }
        } else {
          q.options.forEach(function (text, i) {
            var label = document.createElement("label");
            label.className = "exam-option";
            var input = document.createElement("input");
            input.type = q.kind === "multiple" ? "checkbox" : "radio";
            input.name = "q" + q.id;
            input.value = String(i);
            input.checked = !!given && given.indexOf(i) >= 0;
            input.addEventListener("change", function () { saveAnswer(q.id, choiceValue(item), item); });
            label.appendChild(input);
            var span = document.createElement("span");
            span.textContent = LETTERS[i] + ". " + text;
            label.appendChild(span);
            item.appendChild(label);
          });
        }
        list.appendChild(item);
      });
      saved.textContent = interpolate(gettext("已保存 %(n)s 题"), { n: Object.keys(state.answers).length }, true);
    }

    /* --- clock ------------------------------------------------------------------------- */

    function syncClock(remaining) {
      if (typeof remaining === "number") { deadline = performance.now() + remaining * 1000; }
    }

    function tick() {
      if (finished || !attempt) { return; }
      var left = (deadline - performance.now()) / 1000;
      clock.textContent = clockText(left);
      root.dataset.remaining = String(Math.max(0, Math.round(left)));
      if (left <= 0) { submit(true); }
    }

    async function submit(timeUp) {
      if (finished) { return; }
      if (!timeUp && !window.confirm(gettext("确定交卷吗？交卷后不能再修改答案。"))) { return; }
      // Let answers in flight land first (the server still refuses any after the deadline).
      for (var i = 0; i < 20 && pending > 0; i++) { await new Promise(function (r) { setTimeout(r, 100); }); }
      var answer = await call("POST", api("submit"));
      if (answer.ok || handleClosed(answer)) { finish(answer.result_url); return; }
      showError(answer.message);
    }

    /* --- face checks --------------------------------------------------------------------- */

    async function faceCheck() {
      if (checking || finished) { return; }
      checking = true;
      panel.hidden = false;
      panel.dataset.purpose = "exam_recheck";
      panel.dataset.url = api("face");
      faceTitle.textContent = interpolate(gettext("人脸抽查（请在 %(n)s 秒内完成）"), { n: root.dataset.responseSeconds }, true);
      panel.scrollIntoView({ behavior: "smooth", block: "start" });
      if (!(await openCamera())) { checking = false; return; }
      faceButton.textContent = gettext("开始核验");
      faceButton.disabled = false;
      faceButton.onclick = async function () {
        faceButton.disabled = true;
        var answer;
        try { answer = await window.ZhipeiFace.captureAndSubmit(panel, faceVideo); } catch (e) { answer = { ok: false, message: gettext("网络异常，请重试") }; }
        faceStatus.textContent = answer.message || "";
        panel.dataset.result = answer.decision || answer.code || "";
        if (answer.status === "submitted" || handleClosed(answer)) { finish(answer.result_url); return; }
        if (answer.ok) {
          panel.hidden = true;
          checking = false;
        } else {
          faceButton.disabled = false;
        }
      };
    }

    /* --- start and resume ---------------------------------------------------------------- */

    async function load(state) {
      if (!state.ok) { if (!handleClosed(state)) { showError(state.message); } return; }
      if (state.status !== "in_progress") { finish(state.result_url); return; }
      attempt = String(state.attempt);
      root.dataset.attempt = attempt;
      root.hidden = false;
      panel.hidden = true;
      syncClock(state.remaining);
      render(state);
      setInterval(tick, 500);
      tick();
      if (state.face_due) { faceCheck(); }
      // The server's view of time and of due face checks, every 30 s.
      setInterval(async function () {
        if (finished || checking) { return; }
        var fresh = await call("GET", api(""));
        if (fresh.status && fresh.status !== "in_progress") { finish(fresh.result_url); return; }
        if (fresh.ok) {
          syncClock(fresh.remaining);
          if (fresh.face_due) { faceCheck(); }
        }
      }, 30000);
    }

    document.addEventListener("visibilitychange", function () {
      if (document.hidden && attempt && !finished) { call("POST", api("leave")); }
    });

    root.querySelectorAll("[data-exam-submit]").forEach(function (button) {
      button.addEventListener("click", function () { submit(false); });
    });

    if (attempt) {
      call("GET", api("")).then(load);
      return;
    }
    if (panel.hidden) { return; }  // the exam cannot be started (the page says why)
    openCamera();
    faceButton.addEventListener("click", async function start() {
      if (attempt) { return; }
      faceButton.disabled = true;
      var answer;
      try { answer = await window.ZhipeiFace.captureAndSubmit(panel, faceVideo); } catch (e) { answer = { ok: false, message: gettext("网络异常，请重试") }; }
      faceStatus.textContent = answer.message || "";
      panel.dataset.result = answer.decision || answer.code || "";
      if (!answer.ok) { faceButton.disabled = false; return; }
      faceButton.removeEventListener("click", start);
      load(await call("POST", root.dataset.startUrl));
    });
  });
})();
