(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function finding(f) {
    var li = el('li');
    li.appendChild(el('span', 'st ' + f.status, f.status));
    li.appendChild(el('b', '', f.subject + ': '));
    li.appendChild(document.createTextNode(f.message + (f.of ? ' (' + f.count + ' of ' + f.of + ')' : f.count ? ' (' + f.count + ')' : '')));
    if (f.fault) { li.appendChild(document.createTextNode(' — ')); li.appendChild(el('span', 'fault', f.fault)); }
    return li;
  }

  function verdict(v) {
    var d = el('div');
    var h = el('h3');
    h.appendChild(el('span', 'st ' + v.status, v.status));
    h.appendChild(document.createTextNode(v.check + (v.subject ? ' · ' + v.subject : '')));
    d.appendChild(h);
    var obs = v.observed || v.reason || '';
    if (obs) { d.appendChild(el('div', 'obs', obs + (v.expected ? ' (expected ' + v.expected + ')' : ''))); }
    var fs = (v.findings || []).slice().sort(function (a, b) { return (a.status === 'failing' ? 0 : 1) - (b.status === 'failing' ? 0 : 1); });
    if (fs.length) {
      var ul = el('ul');
      fs.forEach(function (f) { ul.appendChild(finding(f)); });
      d.appendChild(ul);
    }
    return d;
  }

  var shown = '';

  window.tracerigReveal = function (r) {
    var box = $('reveal'), key = JSON.stringify(r);
    if (key === shown) { return; } // a reconnected stream sends it again
    shown = key;
    while (box.firstChild) { box.removeChild(box.firstChild); }
    box.appendChild(el('p', 'verdict-head ' + (r.passed ? 'pass' : 'fail'), r.passed ? 'PASSED' : 'FAILED'));
    box.appendChild(el('p', '', r.summary || ''));
    var bar = el('div', 'row');
    if (r.report) {
      var a = el('a', '', 'Open report.html');
      a.href = r.report; a.target = '_blank'; a.rel = 'noopener'; a.id = 'reveal-report';
      bar.appendChild(a);
    }
    var hide = el('button', '', 'Back to the topology');
    hide.type = 'button'; hide.id = 'reveal-hide';
    hide.addEventListener('click', function () { box.hidden = true; $('show-reveal').hidden = false; });
    var close = el('button', 'danger', 'Close');
    close.type = 'button'; close.id = 'reveal-close';
    close.addEventListener('click', function () {
      close.disabled = true;
      fetch('api/close', { method: 'POST' }).then(function () { close.textContent = 'Closed'; });
    });
    bar.appendChild(hide); bar.appendChild(close);
    box.appendChild(bar);
    (r.verdicts || []).forEach(function (v) { box.appendChild(verdict(v)); });
    box.hidden = false;
    $('show-reveal').hidden = true;
  };

  window.addEventListener('load', function () {
    $('show-reveal').addEventListener('click', function () { $('reveal').hidden = false; $('show-reveal').hidden = true; });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && shown && !$('reveal').hidden) { $('reveal').hidden = true; $('show-reveal').hidden = false; }
    });
  });
})();
