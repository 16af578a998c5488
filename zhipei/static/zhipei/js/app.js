/* 职培 Zhipei: the one script. Vanilla ES2017, no build step, no frameworks.
   The CSP allows only same-origin scripts, so every behaviour is attached here from data-* attributes:
     [data-sms-send]     send an SMS code (POST phone + purpose), then count down
     form[data-confirm]  ask before submitting (a submit button's own data-confirm wins)
     [data-dismiss]      close the surrounding .alert
     [data-copy="sel"]   copy the text of the element matching sel
     [data-nav-toggle]   open/close the phone menu named by aria-controls
   Visible strings go through gettext() and interpolate() from the translation catalog (jsi18n/,
   loaded before every script): the Chinese source text unless a catalog for the language has it. */
(function () {
  'use strict';

  // Lets CSS collapse the phone menus only when this script runs (no JS: menus stay visible).
  document.documentElement.classList.add('js');

  var TEXT = {
    sending: gettext('发送中…'),
    countdown: gettext('%(n)s 秒后可重新获取'),
    network: gettext('网络异常，请稍后重试'),
    failed: gettext('请求失败，请刷新页面后重试'),
    phoneRequired: gettext('请输入手机号'),
    copied: gettext('已复制'),
    copyFailed: gettext('复制失败，请手动选择复制'),
  };

  function msg(el, key, n) {
    return n === undefined ? TEXT[key] : interpolate(TEXT[key], { n: n }, true);
  }

  /* ---------- Live region for short announcements (copy feedback etc.) ---------- */
  var live = null;
  function announce(text) {
    if (!live) {
      live = document.createElement('div');
      live.className = 'sr-only';
      live.setAttribute('role', 'status');
      live.setAttribute('aria-live', 'polite');
      document.body.appendChild(live);
    }
    live.textContent = '';
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  /* ---------- CSRF ---------- */
  function getCookie(name) {
    var parts = document.cookie ? document.cookie.split(';') : [];
    for (var i = 0; i < parts.length; i++) {
      var c = parts[i].trim();
      if (c.substring(0, name.length + 1) === name + '=') {
        return decodeURIComponent(c.substring(name.length + 1));
      }
    }
    return '';
  }

  function csrfToken(form) {
    var input = (form || document).querySelector('input[name="csrfmiddlewaretoken"]');
    if (input && input.value) return input.value;
    return getCookie('csrftoken');
  }

  /* ---------- SMS code button ---------- */
  function storageKey(btn) {
    return 'zhipei.sms.' + (btn.dataset.purpose || 'default');
  }

  function rememberUntil(btn, until) {
    try { window.sessionStorage.setItem(storageKey(btn), String(until)); } catch (e) { /* storage disabled */ }
  }

  function recalledUntil(btn) {
    try { return Number(window.sessionStorage.getItem(storageKey(btn))) || 0; } catch (e) { return 0; }
  }

  function setStatus(el, text, kind) {
    if (!el) return;
    el.textContent = text || '';
    el.classList.remove('is-ok', 'is-error');
    if (kind) el.classList.add(kind === 'ok' ? 'is-ok' : 'is-error');
  }

  function startCountdown(btn, seconds) {
    var label = btn.dataset.label;
    var until = Date.now() + seconds * 1000;
    rememberUntil(btn, until);
    if (btn._zpTimer) window.clearInterval(btn._zpTimer);
    btn.disabled = true;
    // Count from the wall clock, not from ticks: background tabs throttle timers.
    function tick() {
      var left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) {
        window.clearInterval(btn._zpTimer);
        btn._zpTimer = null;
        btn.disabled = false;
        btn.textContent = label;
        rememberUntil(btn, 0);
        return;
      }
      btn.textContent = msg(btn, 'countdown', left);
    }
    tick();
    btn._zpTimer = window.setInterval(tick, 1000);
  }

  function findPhoneInput(btn, form) {
    var sel = btn.dataset.phoneInput || 'input[name="phone"]';
    return (form && form.querySelector(sel)) || document.querySelector(sel);
  }

  async function sendSms(btn) {
    var form = btn.closest('form');
    var status = (form && form.querySelector('[data-sms-status]')) || document.querySelector('[data-sms-status]');
    var phoneInput = findPhoneInput(btn, form);
    var phone = phoneInput ? phoneInput.value.trim() : '';
    if (!phone) {
      setStatus(status, msg(btn, 'phoneRequired'), 'error');
      if (phoneInput) phoneInput.focus();
      return;
    }

    btn.disabled = true;
    btn.textContent = msg(btn, 'sending');
    var body = new URLSearchParams();
    body.append('phone', phone);
    body.append('purpose', btn.dataset.purpose || '');

    var res;
    try {
      res = await fetch(btn.dataset.url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8',
          'X-CSRFToken': csrfToken(form),
          'X-Requested-With': 'XMLHttpRequest',
          'Accept': 'application/json',
        },
        body: body.toString(),
      });
    } catch (e) {
      setStatus(status, msg(btn, 'network'), 'error');
      btn.disabled = false;
      btn.textContent = btn.dataset.label;
      return;
    }

    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }

    if (!data || typeof data !== 'object') {
      // E.g. an HTML 403 page after a CSRF failure, or a proxy error page.
      setStatus(status, msg(btn, 'failed'), 'error');
      btn.disabled = false;
      btn.textContent = btn.dataset.label;
      return;
    }

    var ok = res.ok && data.ok === true;
    setStatus(status, data.message || (ok ? '' : msg(btn, 'failed')), ok ? 'ok' : 'error');
    var wait = parseInt(data.retry_after, 10);
    if (wait > 0) {
      startCountdown(btn, wait);
    } else {
      btn.disabled = false;
      btn.textContent = btn.dataset.label;
    }
    if (!ok && data.code === 'INVALID_PHONE' && phoneInput) {
      phoneInput.setAttribute('aria-invalid', 'true');
      phoneInput.focus();
    } else if (ok && phoneInput) {
      phoneInput.removeAttribute('aria-invalid');
      var codeInput = form && form.querySelector(btn.dataset.codeInput || 'input[name="code"]');
      if (codeInput) codeInput.focus();
    }
  }

  function initSms() {
    var buttons = document.querySelectorAll('[data-sms-send]');
    Array.prototype.forEach.call(buttons, function (btn) {
      btn.dataset.label = btn.textContent.trim();
      var form = btn.closest('form');
      var status = (form && form.querySelector('[data-sms-status]')) || document.querySelector('[data-sms-status]');
      if (status && !status.hasAttribute('aria-live')) {
        status.setAttribute('role', 'status');
        status.setAttribute('aria-live', 'polite');
      }
      // A reload (e.g. the form came back with an error) must not re-enable a button that is still cooling down.
      var left = Math.ceil((recalledUntil(btn) - Date.now()) / 1000);
      if (left > 0) startCountdown(btn, left);
      btn.addEventListener('click', function (event) {
        event.preventDefault();
        if (btn.disabled) return;
        sendSms(btn);
      });
    });
  }

  /* ---------- Confirm before submit ---------- */
  function initConfirm() {
    document.addEventListener('submit', function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      var submitter = event.submitter;
      var text = (submitter && submitter.dataset && submitter.dataset.confirm) || form.dataset.confirm;
      if (text && !window.confirm(text)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    }, true);
  }

  /* ---------- Dismissible alerts ---------- */
  function initDismiss() {
    document.addEventListener('click', function (event) {
      var btn = event.target.closest('[data-dismiss]');
      if (!btn) return;
      var box = btn.closest('.alert') || btn.parentElement;
      if (!box) return;
      var container = box.parentElement;
      box.remove();
      if (container && container.classList.contains('messages') && !container.querySelector('.alert')) {
        container.remove();
      }
      var main = document.getElementById('main');
      if (main) main.focus({ preventScroll: true });
    });
  }

  /* ---------- Copy to clipboard ---------- */
  function copyFallback(text) {
    var ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.className = 'sr-only';
    document.body.appendChild(ta);
    ta.select();
    var done = false;
    try { done = document.execCommand('copy'); } catch (e) { done = false; }
    ta.remove();
    return done;
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* fall back */ }
    }
    return copyFallback(text);
  }

  function initCopy() {
    document.addEventListener('click', async function (event) {
      var btn = event.target.closest('[data-copy]');
      if (!btn) return;
      event.preventDefault();
      var target = null;
      try { target = document.querySelector(btn.dataset.copy); } catch (e) { target = null; }
      if (!target) return;
      var isField = target.tagName === 'INPUT' || target.tagName === 'TEXTAREA';
      // innerText keeps one recovery code per line for a <ul class="code-list">.
      var text = isField ? target.value : (target.innerText || target.textContent || '');
      text = text.trim();
      if (!btn.dataset.label) btn.dataset.label = btn.textContent.trim();
      var ok = await copyText(text);
      var feedback = ok ? msg(btn, 'copied') : msg(btn, 'copyFailed');
      btn.textContent = feedback;
      btn.classList.toggle('copy-done', ok);
      announce(feedback);
      window.clearTimeout(btn._zpCopyTimer);
      btn._zpCopyTimer = window.setTimeout(function () {
        btn.textContent = btn.dataset.label;
        btn.classList.remove('copy-done');
      }, 2000);
    });
  }

  /* ---------- Phone navigation toggle ---------- */
  function navTarget(btn) {
    var id = btn.getAttribute('aria-controls');
    if (id) return document.getElementById(id);
    var sel = btn.dataset.navToggle;
    return sel ? document.querySelector(sel) : null;
  }

  function setNav(btn, nav, open) {
    nav.classList.toggle('is-open', open);
    btn.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  function initNav() {
    var toggles = document.querySelectorAll('[data-nav-toggle]');
    Array.prototype.forEach.call(toggles, function (btn) {
      var nav = navTarget(btn);
      if (!nav) return;
      btn.addEventListener('click', function () {
        setNav(btn, nav, !nav.classList.contains('is-open'));
      });
      document.addEventListener('keydown', function (event) {
        if (event.key === 'Escape' && nav.classList.contains('is-open')) {
          setNav(btn, nav, false);
          btn.focus();
        }
      });
    });
  }

  function init() {
    initSms();
    initConfirm();
    initDismiss();
    initCopy();
    initNav();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
