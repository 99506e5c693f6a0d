(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var setup = null, catalog = {}, polling = null;

  function opt(sel, value, text) {
    var o = document.createElement('option');
    o.value = value;
    o.textContent = text === undefined ? value : text;
    sel.appendChild(o);
  }

  function clear(e) { while (e.firstChild) { e.removeChild(e.firstChild); } }

  function service(name) {
    return (setup.targets.services || []).filter(function (s) { return s.name === name; })[0];
  }

  function fillTargets() {
    var k = catalog[$('fault-kind').value], sel = $('fault-target'), t = setup.targets;
    clear(sel);
    var seen = {};
    var add = function (v) { if (!seen[v]) { seen[v] = true; opt(sel, v); } };
    switch (k.target) {
      case 'route': case 'service': case 'instance':
        (t.services || []).forEach(function (s) { add(s.name); }); break;
      case 'edge':
        (t.edges || []).forEach(function (e) { add(e.from + ' -> ' + e.to); }); break;
      case 'async-edge':
        (t.edges || []).filter(function (e) { return e.topic; }).forEach(function (e) { add(e.from + ' -> ' + e.to); }); break;
      case 'broker':
        (t.brokers || []).forEach(add); break;
    }
    $('target-row').hidden = k.target === 'none';
    var empty = k.target !== 'none' && sel.options.length === 0;
    if (empty) { opt(sel, '', '(none in this topology)'); }
    $('fault-plant').disabled = empty;
    fillService();
  }

  function fillService() {
    var k = catalog[$('fault-kind').value], scoped = k.target === 'route' || k.target === 'service' || k.target === 'instance';
    var s = scoped ? service($('fault-target').value) : null;
    var route = $('fault-route'), inst = $('fault-instance');
    clear(route); clear(inst);
    $('route-row').hidden = !(s && k.target === 'route');
    $('instance-row').hidden = !s;
    if (!s) { return; }
    opt(route, '', 'every route');
    (s.routes || []).forEach(function (r) { opt(route, r); });
    if (k.target !== 'instance') { opt(inst, '', 'every instance'); }
    for (var i = 0; i < Math.max(1, s.instances); i++) { opt(inst, String(i), s.name + '-' + i); }
  }

  function paramInput(p) {
    var wrap, input;
    if (p.input === 'list') {
      wrap = document.createElement('fieldset');
      wrap.appendChild(Object.assign(document.createElement('legend'), { textContent: p.name }));
      var on = (p.value || '').split(',');
      (p.options || []).forEach(function (o) {
        var l = document.createElement('label'), c = document.createElement('input');
        c.type = 'checkbox'; c.value = o; c.checked = on.indexOf(o) >= 0;
        l.appendChild(c); l.appendChild(document.createTextNode(o));
        wrap.appendChild(l);
      });
    } else {
      wrap = document.createElement('label');
      wrap.appendChild(document.createTextNode(p.name + ' '));
      if (p.input === 'select') {
        input = document.createElement('select');
        (p.options || []).forEach(function (o) { opt(input, o); });
        input.value = p.value;
      } else if (p.input === 'bool') {
        input = document.createElement('input'); input.type = 'checkbox'; input.checked = p.value === 'true';
      } else {
        input = document.createElement('input');
        input.type = p.input === 'number' ? 'number' : 'text';
        if (p.input === 'number') { input.step = 'any'; }
        input.value = p.value;
        input.placeholder = p.input === 'duration' ? 'e.g. 300ms' : p.input === 'latency' ? 'e.g. 40ms or p50=20ms p99=200ms' : '';
      }
      wrap.appendChild(input);
    }
    wrap.dataset.param = p.name;
    if (p.help) { wrap.title = p.help; }
    return wrap;
  }

  function paramValue(p, wrap) {
    if (p.input === 'list') {
      return Array.prototype.filter.call(wrap.querySelectorAll('input'), function (c) { return c.checked; })
        .map(function (c) { return c.value; }).join(',');
    }
    var input = wrap.querySelector('input,select');
    return p.input === 'bool' ? String(input.checked) : input.value.trim();
  }

  function fillParams() {
    var k = catalog[$('fault-kind').value], box = $('fault-params');
    clear(box);
    k.params.forEach(function (p) { box.appendChild(paramInput(p)); });
    $('fault-help').textContent = k.help || '';
    fillTargets();
  }

  function typed(p, v) {
    switch (p.input) {
      case 'number': return Number(v);
      case 'bool': return v === 'true';
      case 'list': return v ? v.split(',') : [];
      case 'latency': return latency(v);
    }
    return v;
  }

  // latency reads a latency as a route writes it: a duration ("40ms"), or
  // a distribution's fields as key=value (or key: value) pairs
  // ("p50=20ms p99=200ms", "dist=pareto min=1ms alpha=1.5"). What it cannot
  // read goes as it is, for the fault API to say what is wrong with it.
  function latency(v) {
    if (!/[=:]/.test(v)) { return v; }
    var out = {};
    v.replace(/\s*[=:]\s*/g, '=').split(/[\s,]+/).forEach(function (kv) {
      if (!kv) { return; }
      var i = kv.indexOf('='), k = i < 0 ? kv : kv.slice(0, i), val = i < 0 ? '' : kv.slice(i + 1);
      out[k] = val !== '' && isFinite(val) ? Number(val) : val;
    });
    return out;
  }

  // body returns the fault as a scenario's faults list item writes it:
  // the target, and only the parameters that differ from the defaults.
  function body() {
    var k = catalog[$('fault-kind').value], params = {}, target = $('fault-target').value;
    switch (k.target) {
      case 'route': case 'service': case 'instance':
        params.service = target;
        if (k.target === 'route' && $('fault-route').value) { params.route = $('fault-route').value; }
        var inst = $('fault-instance').value, def = k.target === 'instance' ? '0' : '';
        if (inst !== def) { params.instance = Number(inst); }
        break;
      case 'edge': case 'async-edge':
        var ends = target.split(' -> ');
        params.from = ends[0]; params.to = ends[1]; break;
      case 'broker': params.broker = target; break;
    }
    var wraps = $('fault-params').children;
    k.params.forEach(function (p, i) {
      var v = paramValue(p, wraps[i]);
      if (v !== '' && (p.required || v !== p.default)) { params[p.name] = typed(p, v); }
    });
    var out = {}, d = $('fault-for').value.trim();
    if (d) { out['for'] = d; }
    out[k.kind] = params;
    return out;
  }

  function errorText(r) {
    if (r.status === 503) { return Promise.resolve('the load is over'); }
    return r.json().then(function (j) { return j.error || r.statusText; }, function () { return r.status + ' ' + r.statusText; });
  }

  function plant(ev) {
    ev.preventDefault();
    $('fault-error').textContent = ''; $('fault-msg').textContent = '';
    fetch('faults', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body()) })
      .then(function (r) {
        if (r.status === 201) {
          return r.json().then(function (j) { $('fault-msg').textContent = 'planted, id ' + j.id; refresh(); });
        }
        return errorText(r).then(function (m) { $('fault-error').textContent = m; });
      }, function () { $('fault-error').textContent = 'no answer from the run'; });
  }

  function del(path) {
    return fetch(path, { method: 'DELETE' }).then(function (r) {
      if (r.ok) { $('fault-error').textContent = ''; return refresh(); }
      return errorText(r).then(function (m) { $('fault-error').textContent = m; });
    });
  }

  function showList(active) {
    var ul = $('fault-list');
    clear(ul);
    if (!active.length) { ul.appendChild(Object.assign(document.createElement('li'), { className: 'none', textContent: 'none' })); return; }
    active.forEach(function (f) {
      var li = document.createElement('li'), b = document.createElement('button');
      li.dataset.id = f.id;
      li.appendChild(Object.assign(document.createElement('span'), {
        textContent: (f.number ? '#' + f.number : 'live ' + f.id) + ' ' + (f.desc || f.kind)
      }));
      b.type = 'button'; b.textContent = 'Clear'; b.id = 'fault-clear-' + f.id;
      b.addEventListener('click', function () { del('faults/' + f.id); });
      li.appendChild(b);
      ul.appendChild(li);
    });
  }

  function refresh() {
    return fetch('faults').then(function (r) {
      if (r.status === 503) { stopPolling('the load is over'); return; }
      if (r.ok) { return r.json().then(function (s) { showList(s.active || []); }); }
    }, function () {});
  }

  function stopPolling(msg) {
    if (polling) { clearInterval(polling); polling = null; }
    var ul = $('fault-list');
    clear(ul);
    ul.appendChild(Object.assign(document.createElement('li'), { className: 'none', textContent: msg }));
    $('fault-plant').disabled = true;
    $('fault-clear-all').disabled = true;
  }

  window.tracerigFaults = function (s, cat) {
    setup = s; catalog = cat;
    var kind = $('fault-kind');
    (s.catalog || []).forEach(function (k) { opt(kind, k.kind); });
    kind.addEventListener('change', fillParams);
    $('fault-target').addEventListener('change', fillService);
    $('fault-form').addEventListener('submit', plant);
    $('fault-clear-all').addEventListener('click', function () { del('faults'); });
    if (s.catalog && s.catalog.length) { fillParams(); }
    refresh();
    polling = setInterval(function () {
      if (window.tracerigPhase() === 'done') { stopPolling('the load is over'); return; }
      refresh();
    }, 1000);
  };
})();
