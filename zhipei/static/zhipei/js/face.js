/* Face capture: camera preview, optional liveness challenge, a short burst of JPEG frames
 * posted to the server, which alone decides. Used by the enrol and verify pages (and later the
 * study player and exams) through [data-face-capture] containers. No inline script (CSP). */
(function () {
  "use strict";

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function csrfToken(root) {
    var input = root.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function grab(video, canvas) {
    canvas.width = video.videoWidth || 640;
    canvas.height = video.videoHeight || 480;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.92); });
  }

  async function postForm(url, form, token) {
    var response = await fetch(url, {
      method: "POST", body: form, credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": "application/json" }
    });
    var data;
    try { data = await response.json(); } catch (e) { data = { ok: false, code: "BAD_RESPONSE", message: gettext("服务器返回异常，请稍后重试") }; }
    data.httpStatus = response.status;
    return data;
  }

  /* Capture a burst and submit it; returns the server's JSON answer. Exposed for the study player. */
  async function captureAndSubmit(root, video) {
    var token = csrfToken(root);
    var purpose = root.dataset.purpose;
    var frames = parseInt(root.dataset.frames || "5", 10);
    var interval = parseInt(root.dataset.interval || "300", 10);
    var status = root.querySelector("[data-face-status]");
    var instruction = root.querySelector("[data-face-instruction]");
    if (root.dataset.challengeUrl) {
      var ask = new FormData();
      ask.append("purpose", purpose);
      var challenge = await postForm(root.dataset.challengeUrl, ask, token);
      if (!challenge.ok) { return challenge; }
      if (instruction) { instruction.textContent = challenge.instruction; }
      if (challenge.challenge) {
        // An action takes longer than a glance: a longer burst to catch it in.
        frames = Math.max(frames, 8);
        interval = Math.max(interval, 250);
        await sleep(1200);
      }
    }
    if (status) { status.textContent = gettext("正在采集，请保持在画面中…"); }
    var canvas = document.createElement("canvas");
    var body = new FormData();
    body.append("purpose", purpose);
    for (var i = 0; i < frames; i++) {
      body.append("frames", await grab(video, canvas), "frame" + i + ".jpg");
      if (i < frames - 1) { await sleep(interval); }
    }
    if (status) { status.textContent = gettext("正在核验…"); }
    return postForm(root.dataset.url, body, token);
  }

  async function openCamera(video) {
    var stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" }, audio: false
    });
    video.srcObject = stream;
    await video.play();
    return stream;
  }

  async function setup(root) {
    var video = root.querySelector("video");
    var button = root.querySelector("[data-face-start]");
    var status = root.querySelector("[data-face-status]");
    var result = root.querySelector("[data-face-result]");
    try {
      await openCamera(video);
    } catch (e) {
      status.textContent = gettext("无法打开摄像头：请允许浏览器使用摄像头，或换用带摄像头的设备");
      root.dataset.state = "no-camera";
      return;
    }
    status.textContent = gettext("摄像头已就绪");
    root.dataset.state = "ready";
    button.disabled = false;
    button.addEventListener("click", async function () {
      button.disabled = true;
      root.dataset.state = "busy";
      var answer;
      try {
        answer = await captureAndSubmit(root, video);
      } catch (e) {
        answer = { ok: false, code: "NETWORK", message: gettext("网络异常，请稍后重试") };
      }
      status.textContent = answer.message || "";
      status.classList.toggle("is-ok", !!answer.ok);
      status.classList.toggle("is-error", !answer.ok);
      result.textContent = answer.decision || answer.status || answer.code || "";
      root.dataset.state = "done";
      root.dataset.result = result.textContent;
      if (answer.ok && root.dataset.next) {
        setTimeout(function () { window.location.href = root.dataset.next; }, 1500);
      } else {
        button.disabled = false;
      }
    });
  }

  window.ZhipeiFace = { captureAndSubmit: captureAndSubmit, openCamera: openCamera };
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-face-capture]").forEach(setup);
  });
})();
