// rulec catalog rule page: the target tabs (WAI-ARIA tabs pattern: arrow keys, Home and End move
// between tabs, Tab enters the panel) and the copy buttons.
(function () {
  'use strict';
  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));

  function select(tab, focus) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(t.getAttribute('aria-controls'));
      if (panel) panel.hidden = !on;
    });
    if (focus) tab.focus();
  }

  tabs.forEach(function (tab, i) {
    tab.addEventListener('click', function () { select(tab, false); });
    tab.addEventListener('keydown', function (e) {
      var next = null;
      if (e.key === 'ArrowRight') next = tabs[(i + 1) % tabs.length];
      else if (e.key === 'ArrowLeft') next = tabs[(i - 1 + tabs.length) % tabs.length];
      else if (e.key === 'Home') next = tabs[0];
      else if (e.key === 'End') next = tabs[tabs.length - 1];
      if (!next) return;
      e.preventDefault();
      select(next, true);
    });
  });

  function fallbackCopy(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'absolute';
    area.style.left = '-9999px';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  Array.prototype.forEach.call(document.querySelectorAll('button.copy'), function (button) {
    var status = button.parentNode.querySelector('.copy-status');
    function say(text) { if (status) status.textContent = text; }
    button.addEventListener('click', function () {
      var code = document.getElementById(button.getAttribute('data-copy'));
      if (!code) return;
      var text = code.textContent;
      // The clipboard API may be missing or refused (file:// in some browsers): fall back to a selection copy.
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () { say('Copied.'); }, function () { say(fallbackCopy(text) ? 'Copied.' : 'Copy failed: select the text and copy it.'); });
      } else {
        say(fallbackCopy(text) ? 'Copied.' : 'Copy failed: select the text and copy it.');
      }
    });
  });
})();
