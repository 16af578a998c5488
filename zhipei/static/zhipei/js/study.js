/* The supervised player. The server's ledger decides what counts; this page only plays the
 * video at 1×, refuses seeking past what was watched, reports honestly every few seconds, and
 * does what the server asks (face check, question, "still there?"). No inline script (CSP). */
(function () {
  "use strict";

  function deviceId() {
    var key = "zhipei-device";
    var id = window.localStorage.getItem(key);
    if (!id) {
      id = Math.random().toString(36).slice(2) + Date.now().toString(36);
      window.localStorage.setItem(key, id);
    }
    return id;
  }

  /* A document lesson has no media clock: this stands in for the <video> element, its time
   * running only while "playing" (reading) and the page is shown. Same events as a video. */
  function readingClock(duration) {
    var clock = new EventTarget();
    var started = null, timer = null;
    clock.currentTime = 0; clock.paused = true; clock.ended = false; clock.seeking = false;
    clock.playbackRate = 1; clock.duration = duration;
    function tick() {
      var now = performance.now();
      if (started !== null) { clock.currentTime = Math.min(duration, clock.currentTime + (now - started) / 1000); }
      started = now;
      clock.dispatchEvent(new Event("timeupdate"));
      if (clock.currentTime >= duration && !clock.ended) {
        clock.ended = true;
        clock.pause();
        clock.dispatchEvent(new Event("ended"));
      }
    }
    clock.play = function () {
      if (clock.ended || !clock.paused) { return Promise.resolve(); }
      clock.paused = false;
      started = performance.now();
      timer = setInterval(tick, 250);
      clock.dispatchEvent(new Event("play"));
      return Promise.resolve();
    };
    clock.pause = function () {
      if (clock.paused) { return; }
      tick();
      clock.paused = true;
      started = null;
      clearInterval(timer);
      clock.dispatchEvent(new Event("pause"));
    };
    return clock;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clockText(s) { s = Math.max(0, Math.floor(s)); return pad(Math.floor(s / 60)) + ":" + pad(s % 60); }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector("[data-study]");
    if (!root) { return; }
    var token = root.querySelector("input[name=csrfmiddlewaretoken]").value;
    var doc = root.querySelector("[data-doc]");
    var video = doc ? readingClock(parseFloat(root.querySelector("[data-position]").max)) : root.querySelector(".player-video");
    var playButton = root.querySelector("[data-play]");
    var status = root.querySelector("[data-study-status]");
    var creditedText = root.querySelector("[data-credited]");
    var positionBar = root.querySelector("[data-position]");
    var clock = root.querySelector("[data-clock]");
    var endButton = root.querySelector("[data-end]");
    var facePanel = document.querySelector("[data-face-panel]");
    var faceVideo = facePanel.querySelector("video");
    var faceButton = facePanel.querySelector("[data-face-start]");
    var faceStatus = facePanel.querySelector("[data-face-status]");
    var faceResult = facePanel.querySelector("[data-face-result]");
    var quizBox = document.querySelector("[data-quiz]");
    var idleBox = document.querySelector("[data-idle]");

    var session = null, studyToken = "", base = root.dataset.api, seq = 0, timer = null;
    // The session row the last heartbeat left, sealed by the server: sent back, it saves the
    // next heartbeat a database read (the server still checks that it is current).
    var sealedRow = null;
    var furthest = 0, allowedMax = 0, interacted = true, maxRate = 1, playedSinceBeat = false;
    var ended = false, blocked = true, faceStarted = false, cameraReady = false, checking = false, quizId = null;

    function say(text) { status.textContent = text; }
    function url(path) { return base + session + "/" + path; }

    // tokenOnly: the heartbeat, authenticated by the study token alone; it carries no cookie
    // and no CSRF token (the server uses neither for it, and it is the most frequent request).
    async function send(target, body, asJson, tokenOnly) {
      var headers = { "X-Study-Token": studyToken, "Accept": "application/json" };
      if (!tokenOnly) { headers["X-CSRFToken"] = token; }
      if (asJson) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
      try {
        var response = await fetch(target, {
          method: "POST", body: body, headers: headers, credentials: tokenOnly ? "omit" : "same-origin"
        });
        var data = await response.json();
        data.httpStatus = response.status;
        return data;
      } catch (e) {
        return { ok: false, code: "NETWORK", message: gettext("网络异常，正在重试…") };
      }
    }

    ["mousemove", "keydown", "touchstart", "click", "scroll", "wheel"].forEach(function (name) {
      document.addEventListener(name, function () { interacted = true; }, { passive: true });
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState !== "visible") { video.pause(); }
    });
    video.addEventListener("ratechange", function () {
      if (video.playbackRate !== 1) {
        maxRate = Math.max(maxRate, video.playbackRate);
        video.playbackRate = 1;
        say(gettext("仅支持正常速度播放，倍速期间不计时"));
      }
    });
    video.addEventListener("seeking", function () {
      if (video.currentTime > allowedMax + 1) {
        video.currentTime = allowedMax;
        say(gettext("不能拖动到尚未学习的位置"));
      }
    });
    video.addEventListener("timeupdate", function () {
      if (!video.seeking && !video.paused) {
        allowedMax = Math.max(allowedMax, video.currentTime);
        playedSinceBeat = true;
      }
      positionBar.value = video.currentTime;
      clock.textContent = clockText(video.currentTime);
    });
    video.addEventListener("ended", function () { heartbeat(); });
    var playLabel = doc ? gettext("开始阅读") : gettext("播放");
    playButton.textContent = playLabel;
    video.addEventListener("play", function () { playButton.textContent = gettext("暂停"); });
    video.addEventListener("pause", function () { playButton.textContent = playLabel; });
    playButton.addEventListener("click", function () {
      if (blocked || ended) { return; }
      if (video.paused) { video.play(); } else { video.pause(); }
    });
    endButton.addEventListener("click", async function () {
      if (!session || ended) { return; }
      await heartbeat();
      var answer = await send(url("end/"), new FormData(), false);
      finish(interpolate(gettext("已结束本次学习，有效时长 %(n)s 秒"), { n: Math.round(answer.credited || 0) }, true));
    });
    window.addEventListener("pagehide", function () {
      if (!session || ended) { return; }
      var form = new FormData();
      form.append("csrfmiddlewaretoken", token);
      navigator.sendBeacon(url("end/"), form);
    });

    function finish(text) {
      ended = true;
      blocked = true;
      video.pause();
      playButton.disabled = true;
      if (timer) { clearInterval(timer); }
      say(text);
      root.dataset.state = "ended";
    }

    function setBlocked(value) {
      blocked = value;
      playButton.disabled = value || ended;
      if (value) { video.pause(); }
    }

    async function heartbeat() {
      if (!session || ended) { return; }
      seq += 1;
      var beat = {
        seq: seq,
        position: video.currentTime || 0,
        rate: maxRate !== 1 ? maxRate : video.playbackRate,
        visible: document.visibilityState === "visible",
        focused: document.hasFocus(),
        playing: playedSinceBeat || (!video.paused && !video.ended),
        interacted: interacted,
        sent_at: Date.now()
      };
      if (sealedRow) { beat.state = sealedRow; }
      interacted = false;
      maxRate = 1;
      playedSinceBeat = !video.paused && !video.ended;
      var answer = await send(url("heartbeat/"), beat, true, true);
      sealedRow = answer.state || null;
      handle(answer);
    }

    function handle(answer) {
      if (!answer || answer.ok === false) {
        if (answer && answer.httpStatus === 401) { window.location.href = "/login/"; }
        if (answer && answer.message) { say(answer.message); }
        return;
      }
      creditedText.textContent = Math.round(answer.credited);
      root.dataset.credited = answer.credited;
      furthest = answer.furthest;
      // Voided time (a failed check, a rewind) moves the furthest point back: so does the player,
      // or every later second would count as a seek.
      var slack = (answer.heartbeat_seconds || 10) * 2 + 5;
      if (video.currentTime > furthest + slack && !video.seeking) {
        video.currentTime = furthest;
        say(gettext("部分学习时间未被认可（人脸核验未通过或答题错误），已回到有效学习位置"));
      }
      allowedMax = Math.min(Math.max(allowedMax, furthest), furthest + slack);
      if (answer.status === "ended") {
        finish(interpolate(gettext("学习已结束：%(reason)s"), { reason: answer.end_message }, true));
        return;
      }
      if (answer.face_check) { askFace(faceStarted); }
      showQuiz(answer.quiz);
      showIdle(answer.idle_prompt);
      setBlocked(!!answer.pause || !!answer.face_check && answer.status !== "active" || !!answer.quiz);
    }

    async function askFace(automatic) {
      if (checking) { return; }
      video.pause();
      facePanel.hidden = false;
      facePanel.dataset.url = url("face/");
      facePanel.dataset.purpose = faceStarted ? "study_recheck" : "study_start";
      if (!cameraReady) {
        try {
          await window.ZhipeiFace.openCamera(faceVideo);
          cameraReady = true;
        } catch (e) {
          faceStatus.textContent = gettext("无法打开摄像头，无法计时。请允许使用摄像头，或联系机构使用非人脸核验方式");
          return;
        }
      }
      faceButton.disabled = false;
      faceStatus.textContent = automatic ? gettext("请正对摄像头，即将进行人脸抽查") : gettext("请点击“开始核验”，核验通过后开始计时");
      if (automatic) { setTimeout(checkFace, 1500); }
    }

    async function checkFace() {
      if (checking || ended) { return; }
      checking = true;
      faceButton.disabled = true;
      var answer = await window.ZhipeiFace.captureAndSubmit(facePanel, faceVideo);
      checking = false;
      faceResult.textContent = answer.decision || answer.code || "";
      facePanel.dataset.result = faceResult.textContent;
      faceStatus.textContent = answer.message || "";
      if (answer.ok) {
        faceStarted = true;
        facePanel.hidden = true;
        setBlocked(false);
        say(gettext("人脸核验通过，请点击播放开始学习"));
        root.dataset.state = "studying";
      } else if (answer.status === "ended") {
        finish(gettext("人脸核验连续失败，本次学习无效"));
      } else if (answer.code === "NOT_ENROLLED" || answer.code === "NO_CONSENT") {
        var link = document.createElement("a");
        link.href = "/face/";
        link.textContent = gettext("前往人脸采集");
        faceStatus.appendChild(document.createTextNode(" "));
        faceStatus.appendChild(link);
        say(gettext("尚未完成人脸采集，完成后才能开始计时"));
      } else {
        faceButton.disabled = false;
        say(interpolate(gettext("人脸核验未通过，暂停计时：%(reason)s"), { reason: answer.message || "" }, true));
      }
      heartbeat();
    }
    faceButton.addEventListener("click", checkFace);

    function showQuiz(quiz) {
      if (!quiz) { quizBox.hidden = true; quizId = null; return; }
      quizBox.querySelector("[data-quiz-left]").textContent = interpolate(gettext("剩余 %(n)s 秒"), { n: quiz.seconds_left }, true);
      if (quizId === quiz.id) { return; }
      quizId = quiz.id;
      video.pause();
      quizBox.querySelector("[data-quiz-text]").textContent = quiz.text;
      var options = quizBox.querySelector("[data-quiz-options]");
      options.textContent = "";
      quiz.options.forEach(function (text, index) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-secondary btn-block";
        button.textContent = String.fromCharCode(65 + index) + ". " + text;
        button.addEventListener("click", async function () {
          var answer = await send(url("quiz/"), { quiz: quiz.id, choice: index }, true);
          say(answer.correct ? gettext("回答正确，继续学习") : (answer.message || gettext("回答错误，请再答一题")));
          quizId = null;
          handle(answer);
        });
        options.appendChild(button);
      });
      quizBox.hidden = false;
    }

    function showIdle(prompt) {
      if (!prompt) { idleBox.hidden = true; return; }
      idleBox.querySelector("[data-idle-left]").textContent = interpolate(gettext("%(n)s 秒内无响应将结束本次学习"), { n: prompt.seconds_left }, true);
      idleBox.hidden = false;
    }
    idleBox.querySelector("[data-idle-confirm]").addEventListener("click", async function () {
      idleBox.hidden = true;
      handle(await send(url("activity/"), new FormData(), false));
    });

    (async function start() {
      var form = new FormData();
      form.append("device", deviceId());
      var answer = await send(root.dataset.startUrl, form, false);
      if (!answer.ok) { say(answer.message || gettext("无法开始学习")); return; }
      session = answer.session;
      studyToken = answer.token;
      root.dataset.session = session;
      furthest = allowedMax = answer.resume || 0;
      if (doc) {
        doc.src = answer.video_url;
        video.currentTime = furthest;
      } else {
        video.src = answer.video_url;
        video.addEventListener("loadedmetadata", function () {
          if (furthest > 0 && furthest < video.duration) { video.currentTime = furthest; }
        }, { once: true });
      }
      say(gettext("请先完成人脸核验，核验通过后开始计时"));
      root.dataset.state = "face";
      askFace(false);
      timer = setInterval(heartbeat, (answer.heartbeat_seconds || 10) * 1000);
      heartbeat();
    })();
  });
})();
