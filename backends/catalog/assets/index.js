// rulec catalog index: filters the rules of index-data.js (loaded before this script as a global,
// because fetch() of a local file is refused from file://). The filter state lives in the URL's
// fragment, so a filtered view can be linked to (the ATT&CK heatmap does) and survives Back.
(function () {
  'use strict';
  var data = window.RULEC_CATALOG;
  var form = document.getElementById('filters');
  var body = document.querySelector('#results tbody');
  var count = document.getElementById('count');
  var more = document.getElementById('more');
  if (!data || !form || !body || !count || !more) return;
  // Drawing thousands of rows takes the browser seconds: the first PAGE matches are drawn, the rest on request.
  var PAGE = 200;
  var limit = PAGE;
  var KEYS = ['q', 'tactic', 'technique', 'level', 'status', 'logsource', 'support'];
  var controls = {};
  KEYS.forEach(function (k) { controls[k] = document.getElementById(k); });

  // Search text per rule, lower-cased once.
  var haystack = data.rules.map(function (r) {
    return [r.t, r.i, r.d, r.f, r.ls, r.ta.join(' '), r.a.join(' ')].join('\n').toLowerCase();
  });

  function state() {
    var s = {};
    KEYS.forEach(function (k) { s[k] = controls[k].value; });
    return s;
  }

  function fromHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ''));
    KEYS.forEach(function (k) {
      var v = params.get(k) || '';
      var c = controls[k];
      if (c.tagName === 'SELECT' && v && !Array.prototype.some.call(c.options, function (o) { return o.value === v; })) {
        // A link to a value this catalog has no rule for: keep it, so the filter shows 0 rules instead of all.
        var o = document.createElement('option');
        o.value = v;
        o.textContent = v;
        c.appendChild(o);
      }
      c.value = v;
    });
  }

  function toHash(s) {
    var params = new URLSearchParams();
    KEYS.forEach(function (k) { if (s[k]) params.set(k, s[k]); });
    var h = params.toString();
    var url = location.pathname + location.search + (h ? '#' + h : '');
    try { history.replaceState(null, '', url); } catch (e) { /* some file:// setups refuse it; the filter still works */ }
  }

  function matches(r, i, s, words) {
    if (s.level && r.l !== s.level) return false;
    if (s.status && r.s !== s.status) return false;
    if (s.logsource && r.ls !== s.logsource) return false;
    if (s.tactic && !s.technique) {
      if (r.ta.indexOf(s.tactic) < 0) return false;
    } else if (s.technique) {
      // A technique (under the tactic, when one is given too), as the heatmap counts it.
      var placed = r.a.some(function (p) {
        var parts = p.split('/');
        return (!s.tactic || parts[0] === s.tactic) && (!s.technique || parts[1] === s.technique);
      });
      if (!placed) return false;
    }
    if (s.support) {
      var sp = s.support.split(':');
      var t = data.targets.indexOf(sp[0]);
      if (t < 0 || (r.x[t] === 1) !== (sp[1] === 'ok')) return false;
    }
    for (var w = 0; w < words.length; w++) if (haystack[i].indexOf(words[w]) < 0) return false;
    return true;
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function render() {
    var s = state();
    var words = s.q.toLowerCase().split(/\s+/).filter(Boolean);
    var frag = document.createDocumentFragment();
    var shown = 0;
    data.rules.forEach(function (r, i) {
      if (!matches(r, i, s, words)) return;
      shown++;
      if (shown > limit) return;
      var tr = document.createElement('tr');
      var title = document.createElement('td');
      var a = document.createElement('a');
      a.href = r.p;
      a.textContent = r.t;
      title.appendChild(a);
      tr.appendChild(title);
      cell(tr, r.l, r.l ? 'level-' + r.l : '');
      cell(tr, r.s);
      cell(tr, r.ls);
      cell(tr, r.a.map(function (p) { return p.split('/')[1]; }).filter(function (v, j, all) { return all.indexOf(v) === j; }).join(' '));
      data.targets.forEach(function (t, j) {
        var td = cell(tr, r.x[j] ? '✓' : '✗', 'target ' + (r.x[j] ? 'ok' : 'no'));
        td.title = r.x[j] ? 'compiles for ' + t : 'refused by ' + t;
        var sr = document.createElement('span');
        sr.className = 'visually-hidden';
        sr.textContent = r.x[j] ? ' compiles' : ' refused';
        td.appendChild(sr);
      });
      frag.appendChild(tr);
    });
    body.replaceChildren(frag);
    var text = shown === data.rules.length ? shown + ' rules' : shown + ' of ' + data.rules.length + ' rules';
    count.textContent = shown > limit ? text + ', the first ' + limit + ' listed' : text;
    more.hidden = shown <= limit;
    more.textContent = 'List all ' + shown + ' rules';
    return s;
  }

  function refilter() {
    limit = PAGE;
    toHash(render());
  }

  more.addEventListener('click', function () {
    limit = Infinity;
    render();
  });

  form.addEventListener('input', refilter);
  form.addEventListener('change', refilter);
  form.addEventListener('submit', function (e) { e.preventDefault(); });
  form.addEventListener('reset', function () {
    // After the browser has reset the controls.
    setTimeout(refilter, 0);
  });
  window.addEventListener('hashchange', function () { limit = PAGE; fromHash(); render(); });
  fromHash();
  render();
})();
