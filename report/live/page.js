(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var SVGNS = 'http://www.w3.org/2000/svg';
  var COLOUR = { breaking: '#c62828', continuing: '#2e8540', unseen: '#a0a6b0', unchecked: '#5a6b8c' };
  var setup = null, points = [], windows = [], phase = '', now = 0, edges = null, catalog = {}, limit = 1200;

  function el(tag, attrs, text) {
    var e = tag.indexOf('svg:') === 0 ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
    for (var k in attrs || {}) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // Topology ------------------------------------------------------------
  function edgeKey(from, to, topic) { return from + '\u0000' + to + '\u0000' + (topic || ''); }

  function findEdges() {
    edges = {};
    nodes = nodeBoxes();
    document.querySelectorAll('#topology path.edge').forEach(function (p) {
      var k = edgeKey(p.dataset.from, p.dataset.to, p.dataset.topic);
      edges[k] = { path: p, label: null };
    });
    document.querySelectorAll('#topology g.edge-label').forEach(function (g) {
      var e = edges[edgeKey(g.dataset.from, g.dataset.to, g.dataset.topic)];
      if (!e) { return; }
      e.label = g;
      var m = /translate\(([-\d.]+),([-\d.]+)\)/.exec(g.getAttribute('transform') || '');
      e.home = m ? { x: Number(m[1]), y: Number(m[2]) } : null;
      e.width = 0;
    });
  }

  // LABEL_AT are where along its edge a label tries after its own spot.
  var LABEL_AT = [0.7, 0.58, 0.46, 0.34], nodes = [];
  function nodeBoxes() {
    var out = [];
    document.querySelectorAll('#topology rect').forEach(function (r) {
      if (r.closest('g.edge-label')) { return; }
      var x = Number(r.getAttribute('x')), y = Number(r.getAttribute('y'));
      out.push({ x0: x, x1: x + Number(r.getAttribute('width')), y0: y, y1: y + Number(r.getAttribute('height')) });
    });
    return out;
  }

  // placeLabels keeps the edges' labels from covering each other: each sits
  // where the drawing put it, near its callee, unless a label placed before
  // it or a service is there, when it moves back along its edge towards the
  // caller to the first free spot. Breaking edges are placed first.
  function placeLabels() {
    var placed = [], list = [];
    for (var k in edges) {
      var e = edges[k];
      if (e.label && e.home && e.width > 0) { list.push(e); }
    }
    list.sort(function (a, b) { return (b.path.dataset.state === 'breaking') - (a.path.dataset.state === 'breaking'); });
    list.forEach(function (e) {
      var spots = [e.home], len = e.path.getTotalLength ? e.path.getTotalLength() : 0;
      if (len > 0) { LABEL_AT.forEach(function (f) { spots.push(e.path.getPointAtLength(len * f)); }); }
      var box = function (p) { return { x0: p.x - e.width / 2 - 2, x1: p.x + e.width / 2 + 2, y0: p.y - 10, y1: p.y + 10 }; };
      var apart = function (b) {
        return function (o) { return b.x1 <= o.x0 || o.x1 <= b.x0 || b.y1 <= o.y0 || o.y1 <= b.y0; };
      };
      var free = function (b) { return placed.every(apart(b)) && nodes.every(apart(b)); };
      var at = spots[0];
      for (var i = 0; i < spots.length; i++) {
        if (free(box(spots[i]))) { at = spots[i]; break; }
      }
      placed.push(box(at));
      e.label.setAttribute('transform', 'translate(' + at.x.toFixed(1) + ',' + at.y.toFixed(1) + ')');
    });
  }

  function fmtNum(v) { return v >= 10 ? Math.round(v).toString() : v.toFixed(1); }
  function fmtMs(ms) { return ms >= 1000 ? (ms / 1000).toFixed(ms >= 10000 ? 0 : 1) + 's' : Math.round(ms) + 'ms'; }

  function edgeText(st) {
    if (st.state === 'unseen') { return ''; }
    // Short enough for the labels of a fan-out to sit side by side: the
    // error share only when there are errors.
    var s = fmtNum(st.rate) + '/s';
    if (st.errors > 0) { s += ' · ' + Math.max(1, Math.round(st.errors * 100)) + '% err'; }
    if (st.p99_ms > 0) { s += ' · p99 ' + fmtMs(st.p99_ms); }
    return s;
  }

  function paintEdge(e, st) {
    var c = COLOUR[st.state] || COLOUR.unseen, p = e.path;
    p.setAttribute('stroke', c);
    p.setAttribute('stroke-width', st.state === 'breaking' ? '2.8' : '1.6');
    p.setAttribute('marker-end', 'url(#arrow-' + c.slice(1) + ')');
    if (!p.dataset.topic) {
      if (st.state === 'unseen') { p.setAttribute('stroke-dasharray', '5,4'); } else { p.removeAttribute('stroke-dasharray'); }
    }
    p.setAttribute('data-state', st.state);
    var tip = p.querySelector('title');
    if (tip) {
      tip.textContent = st.from + ' -> ' + st.to + (st.topic ? ' (topic ' + st.topic + ')' : '') + ': ' + st.state +
        (st.state === 'unseen' ? '' : ', ' + st.rate.toFixed(1) + '/s, ' + (st.errors * 100).toFixed(1) + '% errors' +
          (st.p99_ms > 0 ? ', p99 ' + fmtMs(st.p99_ms) : '') + ', ' + st.hops + ' hops in all');
    }
    if (!e.label) { return; }
    var text = e.label.querySelector('text'), rect = e.label.querySelector('rect');
    text.textContent = edgeText(st);
    text.setAttribute('fill', st.state === 'breaking' ? c : '#222');
    var w = text.textContent ? text.getComputedTextLength() + 10 : 0;
    e.width = w;
    rect.setAttribute('x', (-w / 2).toFixed(1));
    rect.setAttribute('width', w.toFixed(1));
    rect.setAttribute('stroke', c);
    rect.style.display = w ? '' : 'none';
    if (st.state === 'breaking' && e.label.nextSibling) {
      e.label.parentNode.appendChild(e.label); // on top of the labels it may touch
    }
  }

  function paintEdges(states) {
    if (!edges) { findEdges(); }
    (states || []).forEach(function (st) {
      var e = edges[edgeKey(st.from, st.to, st.topic)];
      if (e) { paintEdge(e, st); }
    });
    placeLabels();
  }

  // Series --------------------------------------------------------------
  var CHARTS = [
    { id: 'series-requests', title: 'requests/s', lines: [{ k: 'asked', c: '#8a94a6', dash: '6,4' }, { k: 'sent', c: '#1f5fbf' }] },
    { id: 'series-spans', title: 'spans/s', lines: [{ k: 'ended', c: '#1f5fbf' }, { k: 'arrived', c: '#2e8540' }] },
    { id: 'series-queue', title: 'export queue (spans)', lines: [{ k: 'queue', c: '#8a5a00' }] },
    { id: 'series-loss', title: 'lost spans/s', lines: [{ k: 'lost', c: '#c62828' }] }
  ];

  function niceMax(v) {
    if (!(v > 0)) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  // thin merges the older half of the series in pairs past limit points,
  // exactly as the run's view does (series.go), so this page draws what a
  // page opened later is given.
  function thin(pts, lim) {
    if (pts.length <= lim || lim < 2) { return pts; }
    var half = Math.floor(lim / 2);
    half -= half % 2;
    var out = [];
    for (var i = 0; i < half; i += 2) {
      var prev = i > 0 ? pts[i - 1].t : 0;
      out.push(merge(pts[i], pts[i + 1], pts[i].t - prev, pts[i + 1].t - pts[i].t));
    }
    return out.concat(pts.slice(half));
  }

  function merge(a, b, wa, wb) {
    wa = Math.max(wa, 0); wb = Math.max(wb, 0);
    if (wa + wb === 0) { wa = 1; wb = 1; }
    var mean = function (x, y) { return (x * wa + y * wb) / (wa + wb); };
    var p = { t: b.t, asked: -1, sent: mean(a.sent, b.sent), ended: mean(a.ended, b.ended),
      arrived: mean(a.arrived, b.arrived), queue: Math.max(a.queue, b.queue), lost: mean(a.lost, b.lost) };
    if (a.asked >= 0 || b.asked >= 0) { p.asked = mean(Math.max(a.asked, 0), Math.max(b.asked, 0)); }
    return p;
  }

  function drawChart(def) {
    var svg = $(def.id);
    var W = svg.clientWidth || 400, H = svg.clientHeight || 130;
    var L = 46, R = 10, T = 22, B = 20, pw = W - L - R, ph = H - T - B;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var tmax = Math.max(10, now, points.length ? points[points.length - 1].t : 0);
    var ymax = 0;
    points.forEach(function (p) { def.lines.forEach(function (l) { ymax = Math.max(ymax, p[l.k]); }); });
    ymax = niceMax(ymax);
    var x = function (t) { return L + pw * t / tmax; }, y = function (v) { return T + ph - ph * v / ymax; };
    windows.forEach(function (f) {
      var x0 = x(Math.max(0, f.start)), x1 = x(Math.max(f.start, f.open ? Math.max(f.end, now) : f.end));
      svg.appendChild(el('svg:rect', { x: x0.toFixed(1), y: T, width: Math.max(2, x1 - x0).toFixed(1), height: ph, fill: 'rgba(198,40,40,0.14)', 'class': 'band' }));
      svg.appendChild(el('svg:text', { x: (x0 + 3).toFixed(1), y: T + 13, fill: '#8e1b1b' }, f.number ? '#' + f.number : 'live ' + f.id));
    });
    svg.appendChild(el('svg:line', { x1: L, y1: T + ph, x2: L + pw, y2: T + ph, stroke: '#8a94a6' }));
    svg.appendChild(el('svg:line', { x1: L, y1: T, x2: L, y2: T + ph, stroke: '#8a94a6' }));
    [0, ymax / 2, ymax].forEach(function (v) {
      svg.appendChild(el('svg:text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end' }, fmtNum(v)));
      if (v > 0) { svg.appendChild(el('svg:line', { x1: L, y1: y(v), x2: L + pw, y2: y(v), stroke: '#e3e7ee' })); }
    });
    [0, tmax / 2, tmax].forEach(function (t, i) {
      svg.appendChild(el('svg:text', { x: x(t), y: H - 5, 'text-anchor': ['start', 'middle', 'end'][i] }, Math.round(t) + 's'));
    });
    var lx = L + 6;
    var ttl = el('svg:text', { x: lx, y: 15, 'class': 'ttl' }, def.title);
    svg.appendChild(ttl);
    def.lines.forEach(function (l) {
      var pts = points.filter(function (p) { return !(l.k === 'asked' && p.asked < 0); });
      var attrs = { fill: 'none', stroke: l.c, 'stroke-width': 2, 'data-points': pts.length, 'data-series': l.k,
        points: pts.map(function (p) { return x(p.t).toFixed(1) + ',' + y(p[l.k]).toFixed(1); }).join(' ') };
      if (l.dash) { attrs['stroke-dasharray'] = l.dash; }
      svg.appendChild(el('svg:polyline', attrs));
      if (def.lines.length > 1) {
        var k = el('svg:text', { x: W - R, y: 15, 'text-anchor': 'end', fill: l.c }, l.k);
        svg.appendChild(k);
        var kw = k.getComputedTextLength ? k.getComputedTextLength() : 40;
        k.setAttribute('x', W - R - (l.k === def.lines[0].k ? kw + 12 : 0));
      }
    });
  }

  function drawCharts() { CHARTS.forEach(drawChart); }
  window.addEventListener('resize', drawCharts);

  // Header --------------------------------------------------------------
  function setPhase(p) {
    phase = p;
    var b = $('phase');
    b.textContent = p === 'load' ? 'load running' : p === 'settling' ? 'settling: spans arriving' : p === 'done' ? 'done' : p;
    b.className = 'badge ' + p;
    var stop = $('stop-load');
    if (stop && p !== 'load') {
      stop.disabled = true;
      stop.textContent = 'Load stopped';
    }
  }

  function setElapsed(t) {
    var s = Math.max(0, Math.floor(t));
    $('elapsed').textContent = Math.floor(s / 60) + ':' + ('0' + (s % 60)).slice(-2);
  }

  function setConn(up) {
    var c = $('conn');
    c.textContent = up ? 'live' : 'disconnected';
    c.className = 'badge ' + (up ? 'up' : 'down');
  }

  if ($('stop-load')) {
    $('stop-load').addEventListener('click', function () {
      var b = $('stop-load');
      b.disabled = true;
      fetch('api/stop', { method: 'POST' }).then(function (r) { b.textContent = r.ok ? 'Stopping…' : 'Cannot stop'; });
    });
  }

  // Events --------------------------------------------------------------
  function onFrame(f) {
    now = f.t;
    var last = points[points.length - 1];
    if (!last || f.point.t > last.t) { points.push(f.point); points = thin(points, limit); }
    windows = f.faults || [];
    setPhase(f.phase);
    setElapsed(f.t);
    paintEdges(f.edges);
    drawCharts();
  }

  function connect() {
    var es = new EventSource('events');
    es.addEventListener('setup', function (e) { onSetup(JSON.parse(e.data)); });
    es.addEventListener('history', function (e) {
      var h = JSON.parse(e.data);
      points = h.points || [];
      windows = h.faults || [];
      if (points.length) { now = points[points.length - 1].t; setElapsed(now); }
      drawCharts();
    });
    es.addEventListener('frame', function (e) { onFrame(JSON.parse(e.data)); });
    es.addEventListener('reveal', function (e) { window.tracerigReveal(JSON.parse(e.data)); });
    es.onopen = function () { setConn(true); };
    es.onerror = function () { setConn(false); };
  }

  function onSetup(s) {
    var first = setup === null;
    setup = s;
    if (s.points >= 2) { limit = s.points; }
    catalog = {};
    (s.catalog || []).forEach(function (k) { catalog[k.kind] = k; });
    if (first) { window.tracerigFaults(s, catalog); }
  }

  window.tracerigPhase = function () { return phase; };
  window.addEventListener('load', function () { drawCharts(); connect(); });
})();
