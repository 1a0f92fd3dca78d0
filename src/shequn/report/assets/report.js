/* shequn report page: tabs, filters, charts and tables drawn from the embedded JSON.
 *
 * Safety: every name and text from the data reaches the page through textContent,
 * attribute setters or ECharts' canvas; the only HTML strings are tooltip formatters,
 * which escape every value with esc(). The page makes no network request (CSP too).
 */
(function () {
  'use strict';

  var payload = JSON.parse(document.getElementById('shequn-data').textContent);
  var R = payload.report;
  var X = payload.explorer;
  var ALL = '*';
  var MAX_ROWS = 20;
  var MAX_EDGES = 150;
  var WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  var HOURS = [];
  for (var hh = 0; hh < 24; hh++) HOURS.push((hh < 10 ? '0' : '') + hh + ':00');

  var state = { group: ALL, member: null, from: 0, to: Math.max(0, X.weeks.length - 1), tab: 'overview' };
  var views = [];      // {section, render, chart?: {id, inst, option}}
  var chartsById = {};

  // ---------- small helpers ----------
  function esc(value) {
    return String(value).replace(/[&<>"'`]/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' }[c];
    });
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    var key;
    for (key in (attrs || {})) {
      if (!Object.prototype.hasOwnProperty.call(attrs, key) || attrs[key] === null || attrs[key] === undefined) continue;
      if (key === 'text') node.textContent = String(attrs[key]);
      else if (key === 'className') node.className = attrs[key];
      else node.setAttribute(key, String(attrs[key]));
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function isShare(column) { return /share|rate|ratio|stickiness|retention|retained|pct|percent/.test(column); }
  function fmt(value, column) {
    if (value === null || value === undefined) return '–';
    if (typeof value === 'number') {
      if (column && isShare(column) && Math.abs(value) <= 1.0000001) return (value * 100).toFixed(1) + ' %';
      if (Number.isInteger(value)) return value.toLocaleString('en-US');
      return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
    }
    if (typeof value === 'boolean') return value ? 'yes' : 'no';
    if (typeof value === 'object') return JSON.stringify(value);
    var s = String(value);
    if (/^\d{4}-\d{2}-\d{2}T00:00:00$/.test(s)) return s.slice(0, 10);
    return s;
  }
  var memberIndex = {};
  X.members.forEach(function (key, i) { memberIndex[key] = i; });
  var groupNames = {};
  (R.groups || []).forEach(function (g) { groupNames[g.key] = g.name; });
  function groupLabel(key) {
    if (key === ALL) return 'All groups';
    var name = groupNames[key];
    return name && name !== key ? name + ' (' + key.split('/')[0] + ')' : key;
  }
  function memberLabel(key) {
    var i = memberIndex[key];
    return i === undefined ? String(key) : X.names[i];
  }
  function display(value, column) {
    if (typeof value === 'string' && memberIndex[value] !== undefined) return memberLabel(value);
    if (column === 'group' && typeof value === 'string') return groupLabel(value);
    return fmt(value, column);
  }
  function weekKey(value) { return typeof value === 'string' ? value.slice(0, 10) : null; }
  function inRange(week) {
    if (!X.weeks.length || week === null) return true;
    return week >= X.weeks[state.from] && week <= X.weeks[state.to];
  }
  function tooltip(params) {
    var list = Array.isArray(params) ? params : [params];
    var head = list.length ? list[0].name : '';
    var lines = head !== '' && head !== undefined ? [esc(head)] : [];
    list.forEach(function (p) {
      var v = p.value;
      if (p.seriesType === 'heatmap' && Array.isArray(v)) v = v[2];
      if (p.dataType === 'edge') { lines.push(esc(p.data.sourceName) + ' → ' + esc(p.data.targetName) + ': ' + esc(fmt(p.data.value))); return; }
      if (Array.isArray(v)) v = v[v.length - 1];
      lines.push((p.marker || '') + esc(p.seriesName || '') + (p.seriesName ? ': ' : '') + esc(fmt(v, p.seriesName)));
    });
    return lines.join('<br>');
  }
  function baseOption(extra) {
    var option = {
      animation: false,
      grid: { left: 56, right: 24, top: 40, bottom: 40, containLabel: true },
      tooltip: { trigger: 'axis', formatter: tooltip, confine: true },
      legend: { type: 'scroll', top: 0 }
    };
    for (var key in extra) if (Object.prototype.hasOwnProperty.call(extra, key)) option[key] = extra[key];
    return option;
  }

  // ---------- the explorer cube under the filters ----------
  // the cube holds each group's rows; "all groups" (-1) is all of them (a member is one
  // index in every group, so counting distinct members still counts each once)
  function groupIndex() {
    return state.group === ALL ? -1 : X.groups.indexOf(state.group);
  }
  function cubeEach(fn, ignoreMember) {
    var c = X.cube, g = groupIndex(), n = c.n.length;
    for (var i = 0; i < n; i++) {
      if ((g >= 0 && c.g[i] !== g) || c.w[i] < state.from || c.w[i] > state.to) continue;
      if (!ignoreMember && state.member !== null && c.m[i] !== state.member) continue;
      fn(c.w[i], c.m[i], c.d[i], c.h[i], c.n[i]);
    }
  }
  function weekAxis() { return X.weeks.slice(state.from, state.to + 1); }
  function weekly() {
    var size = state.to - state.from + 1, messages = [], seen = [], active = [], pooled = false;
    for (var i = 0; i < size; i++) { messages.push(0); seen.push({}); }
    cubeEach(function (w, m, d, h, n) {
      messages[w - state.from] += n;
      if (m < 0) pooled = true; else seen[w - state.from][m] = 1;
    });
    for (i = 0; i < size; i++) active.push(Object.keys(seen[i]).length);
    return { messages: messages, active: active, pooled: pooled };
  }
  function heat() {
    var cells = {};
    cubeEach(function (w, m, d, h, n) { var k = d * 24 + h; cells[k] = (cells[k] || 0) + n; });
    var data = [], max = 0;
    for (var d = 0; d < 7; d++) for (var h = 0; h < 24; h++) {
      var v = cells[d * 24 + h] || 0; max = Math.max(max, v); data.push([h, d, v]);
    }
    return { data: data, max: max };
  }
  function posters() {
    var per = {}, total = 0;
    cubeEach(function (w, m, d, h, n) { per[m] = (per[m] || 0) + n; total += n; }, true);
    var list = Object.keys(per).map(function (m) { return { m: Number(m), n: per[m] }; });
    list.sort(function (a, b) { return b.n - a.n || a.m - b.m; });
    return { list: list, total: total };
  }

  // ---------- metric tables under the filters ----------
  function hasColumn(name, column) {
    return R.metrics[name].columns.some(function (c) { return c.name === column; });
  }
  function numericColumns(name) {
    return R.metrics[name].columns.filter(function (c) {
      return /^(u?int|int|float|double|decimal|halffloat)/.test(c.type) && !/^(weekday|hour|dow|day_of_week)$/.test(c.name);
    }).map(function (c) { return c.name; });
  }
  function filteredRows(name) {
    var m = R.metrics[name], rows = m.rows;
    if (hasColumn(name, 'group')) {
      var mine = rows.filter(function (r) { return r.group === state.group; });
      // a metric without a whole-community row shows every group under "All groups"
      if (mine.length || state.group !== ALL) rows = mine;
    }
    if (hasColumn(name, 'week')) rows = rows.filter(function (r) { return inRange(weekKey(r.week)); });
    if (state.member !== null) {
      var key = X.members[state.member];
      var cols = ['member', 'source', 'target'].filter(function (c) { return hasColumn(name, c); });
      if (cols.length) rows = rows.filter(function (r) { return cols.some(function (c) { return r[c] === key; }); });
    }
    return rows;
  }

  // ---------- views ----------
  function addView(section, render) { var v = { section: section, render: render, stale: true }; views.push(v); return v; }
  function addChart(section, container, id, build, tall) {
    var node = el('div', { className: 'chart' + (tall ? ' tall' : ''), 'data-chart-id': id, role: 'img' });
    container.appendChild(node);
    var note = el('p', { className: 'note' });
    container.appendChild(note);
    var view = addView(section, function () {
      var option = build(note);
      if (!view.inst) view.inst = echarts.init(node, null, { renderer: 'canvas' });
      view.option = option;
      view.inst.setOption(option, true);
    });
    view.id = id; view.node = node;
    chartsById[id] = view;
    return view;
  }
  function renderTable(container, name, rows, limit) {
    clear(container);
    limit = limit || MAX_ROWS;
    var m = R.metrics[name];
    if (!rows.length) { container.appendChild(el('p', { className: 'note', text: 'No rows under the current filters.' })); return; }
    var head = el('tr', {}, m.columns.map(function (c) {
      return el('th', { className: /^(u?int|float|double|decimal)/.test(c.type) ? 'num' : '', title: c.name + ' — ' + m.explain, text: c.name.replace(/_/g, ' ') });
    }));
    var body = rows.slice(0, limit).map(function (r) {
      return el('tr', {}, m.columns.map(function (c) {
        var v = r[c.name];
        var raw = typeof v === 'string' && memberIndex[v] !== undefined ? v : null;
        return el('td', { className: typeof v === 'number' ? 'num' : '', title: raw, text: display(v, c.name) });
      }));
    });
    container.appendChild(el('div', { className: 'table-wrap' }, [el('table', {}, [el('thead', {}, [head]), el('tbody', {}, body)])]));
    if (rows.length > limit) {
      var more = el('button', { type: 'button', className: 'more', text: 'Show ' + Math.min(100, rows.length - limit) + ' more of ' + (rows.length - limit).toLocaleString('en-US') + ' rows' });
      more.addEventListener('click', function () { renderTable(container, name, rows, limit + 100); });
      container.appendChild(more);
    }
    if (m.total_rows > m.rows.length) {
      container.appendChild(el('p', { className: 'more', text: 'The page holds the first ' + m.rows.length.toLocaleString('en-US') + ' of ' + m.total_rows.toLocaleString('en-US') + ' rows; all are in shequn report --json.' }));
    }
  }
  function metricBlock(section, parent, name) {
    var m = R.metrics[name];
    var block = el('div', { className: 'block', id: 'metric-' + name.replace(/\./g, '-'), 'data-metric': name });
    block.appendChild(el('h3', {}, [m.title, el('span', { className: 'info', title: m.explain, tabindex: '0', 'aria-label': m.explain, text: 'ⓘ' })]));
    block.appendChild(el('details', { className: 'explain' }, [el('summary', { text: 'What this means (' + name + ')' }), el('p', { text: m.explain })]));
    parent.appendChild(block);
    var shape = chartShape(name);
    if (shape) addChart(section, block, 'metric-' + name, function (note) { return shape(note); }, shape.tall);
    var tableBox = el('div');
    block.appendChild(tableBox);
    addView(section, function () { renderTable(tableBox, name, filteredRows(name)); });
  }

  // ---------- chart shapes for any metric, chosen by its columns ----------
  function firstColumn(name, pattern) {
    var found = R.metrics[name].columns.filter(function (c) { return pattern.test(c.name); });
    return found.length ? found[0].name : null;
  }
  function chartShape(name) {
    var numeric = numericColumns(name);
    var valueCol = numeric.filter(function (c) { return c !== 'group'; });
    var weekday = firstColumn(name, /^(weekday|dow|day_of_week)$/);
    var hour = firstColumn(name, /^hour$/);
    var cohort = firstColumn(name, /cohort/);
    var offset = firstColumn(name, /offset|^age|weeks_since|week_number|^period|^k$/);
    var category = firstColumn(name, /^(role|source_kind|method|join_method|source|kind|generation|term|topic|bucket|band)$/);
    if (hasColumn(name, 'source') && hasColumn(name, 'target')) {
      var f = function () { return graphOption(name); }; f.tall = true; return f;
    }
    if (weekday && hour && valueCol.length) {
      var value = valueCol.filter(function (c) { return c !== weekday && c !== hour; })[0];
      return function () { return heatOption(filteredRows(name), hour, weekday, value); };
    }
    if (cohort && offset) {
      var share = valueCol.filter(function (c) { return isShare(c); })[0] || valueCol.filter(function (c) { return c !== offset; }).slice(-1)[0];
      if (share) return function () { return cohortOption(name, cohort, offset, share); };
    }
    if (hour && hasColumn(name, 'week') && valueCol.length) {
      var perHour = valueCol.filter(function (c) { return c !== hour; })[0];
      return function () { return weekHourOption(filteredRows(name), perHour); };
    }
    if (hasColumn(name, 'week') && valueCol.length) return function (note) { return weekLineOption(name, valueCol, note); };
    if (category && valueCol.length && !hasColumn(name, 'member')) return function () { return barOption(name, category, valueCol[0]); };
    return null;
  }
  function weekLineOption(name, columns, note) {
    var rows = filteredRows(name);
    var weeks = rows.map(function (r) { return weekKey(r.week); });
    var distinct = {};
    weeks.forEach(function (w) { distinct[w] = 1; });
    if (Object.keys(distinct).length !== weeks.length) {
      // several rows a week (e.g. per member): the table shows them, a line cannot
      note.textContent = 'Several rows per week: see the table.';
      rows = []; weeks = [];
    } else note.textContent = '';
    var selected = {};
    columns.forEach(function (c, i) { selected[c] = i < 3; });
    return baseOption({
      legend: { type: 'scroll', top: 0, selected: selected },
      xAxis: { type: 'category', data: weeks },
      yAxis: { type: 'value' },
      series: columns.map(function (c) {
        return { name: c, type: 'line', showSymbol: false, data: rows.map(function (r) { return r[c]; }) };
      })
    });
  }
  function heatOption(rows, hourCol, dayCol, valueCol) {
    var cells = {}, max = 0;
    rows.forEach(function (r) { var k = r[dayCol] * 24 + r[hourCol]; cells[k] = (cells[k] || 0) + (r[valueCol] || 0); });
    var data = [];
    for (var d = 0; d < 7; d++) for (var h = 0; h < 24; h++) { var v = cells[d * 24 + h] || 0; max = Math.max(max, v); data.push([h, d, v]); }
    return heatChart(data, max, valueCol);
  }
  function heatChart(data, max, label) {
    return baseOption({
      legend: { show: false },
      tooltip: { trigger: 'item', confine: true, formatter: function (p) { return esc(WEEKDAYS[p.value[1]] + ' ' + HOURS[p.value[0]]) + '<br>' + esc(label) + ': ' + esc(fmt(p.value[2], label)); } },
      grid: { left: 48, right: 24, top: 16, bottom: 64, containLabel: true },
      xAxis: { type: 'category', data: HOURS, splitArea: { show: true } },
      yAxis: { type: 'category', data: WEEKDAYS, inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max: Math.max(1, max), calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
      series: [{ name: label, type: 'heatmap', data: data }]
    });
  }
  function weekHourOption(rows, valueCol) {
    var weeks = [], data = [], max = 0;
    rows.forEach(function (r) { var w = weekKey(r.week); if (weeks.indexOf(w) < 0) weeks.push(w); });
    rows.forEach(function (r) {
      var v = r[valueCol] || 0; max = Math.max(max, v);
      data.push([r.hour, weeks.indexOf(weekKey(r.week)), v]);
    });
    return baseOption({
      legend: { show: false },
      tooltip: { trigger: 'item', confine: true, formatter: function (p) { return esc(weeks[p.value[1]] + ' ' + HOURS[p.value[0]]) + '<br>' + esc(valueCol) + ': ' + esc(fmt(p.value[2], valueCol)); } },
      grid: { left: 80, right: 24, top: 16, bottom: 64, containLabel: true },
      xAxis: { type: 'category', data: HOURS },
      yAxis: { type: 'category', data: weeks, inverse: true },
      visualMap: { min: 0, max: Math.max(1, max), calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
      series: [{ name: valueCol, type: 'heatmap', data: data }]
    });
  }
  function cohortOption(name, cohortCol, offsetCol, valueCol) {
    var rows = filteredRows(name);
    var cohorts = [], offsets = [], data = [];
    rows.forEach(function (r) {
      var c = fmt(r[cohortCol]), o = fmt(r[offsetCol]);
      if (cohorts.indexOf(c) < 0) cohorts.push(c);
      if (offsets.indexOf(o) < 0) offsets.push(o);
    });
    rows.forEach(function (r) { data.push([offsets.indexOf(fmt(r[offsetCol])), cohorts.indexOf(fmt(r[cohortCol])), r[valueCol]]); });
    var max = 0;
    data.forEach(function (d) { if (typeof d[2] === 'number') max = Math.max(max, d[2]); });
    return baseOption({
      legend: { show: false },
      tooltip: { trigger: 'item', confine: true, formatter: function (p) { return esc(cohortCol + ' ' + cohorts[p.value[1]] + ', ' + offsetCol + ' ' + offsets[p.value[0]]) + '<br>' + esc(valueCol) + ': ' + esc(fmt(p.value[2], valueCol)); } },
      grid: { left: 80, right: 24, top: 16, bottom: 64, containLabel: true },
      xAxis: { type: 'category', data: offsets, name: offsetCol },
      yAxis: { type: 'category', data: cohorts, inverse: true },
      visualMap: { min: 0, max: max || 1, calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
      series: [{ name: valueCol, type: 'heatmap', data: data }]
    });
  }
  function barOption(name, category, valueCol) {
    var rows = filteredRows(name).slice(0, 30);
    return baseOption({
      legend: { show: false },
      xAxis: { type: 'category', data: rows.map(function (r) { return fmt(r[category]); }), axisLabel: { interval: 0, rotate: rows.length > 8 ? 30 : 0 } },
      yAxis: { type: 'value' },
      series: [{ name: valueCol, type: 'bar', data: rows.map(function (r) { return r[valueCol]; }) }]
    });
  }
  function graphOption(name) {
    var rows = filteredRows(name).slice();
    var weight = hasColumn(name, 'weight') ? 'weight' : null;
    rows.sort(function (a, b) { return (weight ? (b[weight] || 0) - (a[weight] || 0) : 0); });
    rows = rows.slice(0, MAX_EDGES);
    var nodes = {}, links = [];
    rows.forEach(function (r) {
      [r.source, r.target].forEach(function (k) { nodes[k] = (nodes[k] || 0) + (weight ? r[weight] || 0 : 1); });
      links.push({ source: String(r.source), target: String(r.target), value: weight ? r[weight] : 1, sourceName: memberLabel(r.source), targetName: memberLabel(r.target) });
    });
    var max = 1;
    Object.keys(nodes).forEach(function (k) { max = Math.max(max, nodes[k]); });
    return baseOption({
      legend: { show: false },
      tooltip: { trigger: 'item', confine: true, formatter: function (p) {
        if (p.dataType === 'edge') return esc(p.data.sourceName) + ' → ' + esc(p.data.targetName) + ': ' + esc(fmt(p.data.value));
        return esc(p.data.label_text) + '<br>' + esc(weight || 'edges') + ': ' + esc(fmt(p.data.value));
      } },
      series: [{
        type: 'graph', layout: 'force', roam: true, draggable: true,
        force: { repulsion: 120, edgeLength: [40, 140] },
        edgeSymbol: ['none', 'arrow'], edgeSymbolSize: 6,
        lineStyle: { opacity: 0.5, curveness: 0.1 },
        label: { show: false },
        data: Object.keys(nodes).map(function (k) {
          return { id: k, name: k, label_text: memberLabel(k), value: nodes[k], symbolSize: 6 + 24 * Math.sqrt(nodes[k] / max) };
        }),
        links: links
      }]
    });
  }

  // ---------- the fixed views: overview, activity, hours ----------
  function kpi(parent, label, explain) {
    var v = el('div', { className: 'v', text: '–' });
    parent.appendChild(el('div', { className: 'kpi', title: explain }, [v, el('div', { className: 'k', text: label })]));
    return v;
  }
  function buildOverview(tab) {
    var box = el('div', { className: 'kpis' });
    tab.appendChild(box);
    var msgs = kpi(box, 'messages', 'Posts by members and bots in the selected group, member and weeks (edits and system lines never count).');
    var posters = kpi(box, 'members who posted', 'Distinct members with at least one post in the selected group and weeks.');
    var perWeek = kpi(box, 'messages per week', 'Messages divided by the number of weeks selected.');
    var peak = kpi(box, 'busiest hour', "The hour of the day (the group's local time) with the most messages in the selection.");
    addView('overview', function () {
      var w = weekly(), total = 0, seen = {}, pooled = false;
      w.messages.forEach(function (n) { total += n; });
      cubeEach(function (wk, m) { if (m < 0) pooled = true; else seen[m] = 1; });
      msgs.textContent = total.toLocaleString('en-US');
      posters.textContent = Object.keys(seen).length.toLocaleString('en-US') + (pooled ? '+' : '');
      perWeek.textContent = w.messages.length ? Math.round(total / w.messages.length).toLocaleString('en-US') : '–';
      var hours = []; for (var h = 0; h < 24; h++) hours.push(0);
      cubeEach(function (wk, m, d, hr, n) { hours[hr] += n; });
      var best = hours.indexOf(Math.max.apply(null, hours));
      peak.textContent = total ? HOURS[best] : '–';
    });
    var recBlock = el('div', { className: 'block', id: 'recommendations' }, [el('h3', { text: 'What to do' })]);
    var list = el('ul', { className: 'recs' });
    recBlock.appendChild(list);
    tab.appendChild(recBlock);
    addView('overview', function () {
      clear(list);
      var recs = R.recommendations.filter(function (r) { return state.group === ALL || r.group === state.group || r.group === ALL; });
      if (!recs.length) list.appendChild(el('li', { className: 'note', text: 'Nothing to flag under the current filters.' }));
      recs.forEach(function (r) {
        var source = r.metric && R.metrics[r.metric] ? R.metrics[r.metric] : null;
        list.appendChild(el('li', { title: source ? source.title + ': ' + source.explain : null }, [
          el('span', { className: 'sev sev-' + r.severity, text: r.severity }), r.text
        ]));
      });
    });
    var chartBlock = el('div', { className: 'block' }, [el('h3', {}, ['Messages per week', el('span', { className: 'info', title: 'Messages posted each local week (Monday to Sunday on the group\'s clock) under the filters.', text: 'ⓘ' })])]);
    tab.appendChild(chartBlock);
    addChart('overview', chartBlock, 'overview-weekly', function () {
      var w = weekly();
      return baseOption({ legend: { show: false }, xAxis: { type: 'category', data: weekAxis() }, yAxis: { type: 'value' },
        series: [{ name: 'messages', type: 'bar', data: w.messages }] });
    });
    var omitted = R.sections.filter(function (s) { return s.metrics.length === 0 && s.note; });
    if (omitted.length) {
      tab.appendChild(el('div', { className: 'block', id: 'omitted' }, [el('h3', { text: 'Not in this report' }),
        el('ul', {}, omitted.map(function (s) { return el('li', { text: s.title + ': ' + s.note }); }))]));
    }
  }
  function buildActivity(tab) {
    var block = el('div', { className: 'block' }, [el('h3', {}, ['Messages and posting members per week',
      el('span', { className: 'info', title: 'Per local week under every filter: messages (bars) and distinct members who posted (line). With a member selected, that member\'s messages.', text: 'ⓘ' })])]);
    tab.appendChild(block);
    addChart('activity', block, 'activity-weekly', function (note) {
      var w = weekly();
      note.textContent = w.pooled ? 'Members beyond the ' + X.members.length + ' most active are pooled: posting-member counts leave them out.' : '';
      return baseOption({
        xAxis: { type: 'category', data: weekAxis() },
        yAxis: [{ type: 'value', name: 'messages' }, { type: 'value', name: 'members' }],
        series: [{ name: 'messages', type: 'bar', data: w.messages },
                 { name: 'posting members', type: 'line', yAxisIndex: 1, data: w.active }]
      });
    });
    if (R.metrics['activity.weekly']) {
      var move = el('div', { className: 'block' }, [el('h3', {}, ['Members arriving, returning and leaving',
        el('span', { className: 'info', title: R.metrics['activity.weekly'].explain, text: 'ⓘ' })])]);
      tab.appendChild(move);
      addChart('activity', move, 'activity-movement', function (note) {
        var rows = filteredRows('activity.weekly');
        note.textContent = state.member !== null ? 'These counts are for the whole group; the member filter does not apply.' : '';
        var series = ['new_members', 'returning', 'reactivated', 'churned'].map(function (c) {
          return { name: c.replace('_', ' '), type: 'bar', stack: c === 'churned' ? 'out' : 'in', data: rows.map(function (r) { return c === 'churned' ? -r[c] : r[c]; }) };
        });
        return baseOption({ xAxis: { type: 'category', data: rows.map(function (r) { return weekKey(r.week); }) }, yAxis: { type: 'value' }, series: series });
      });
    }
    var top = el('div', { className: 'block', id: 'top-posters' }, [el('h3', {}, ['Top posters',
      el('span', { className: 'info', title: 'Members by messages in the selected group and weeks; share = their part of all messages there.', text: 'ⓘ' })])]);
    var box = el('div');
    top.appendChild(box);
    tab.appendChild(top);
    addView('activity', function () {
      clear(box);
      var p = posters();
      var rows = p.list.slice(0, 20).map(function (x, i) {
        var name = x.m < 0 ? '(other members)' : X.names[x.m];
        return el('tr', { className: x.m === state.member ? 'selected' : '' }, [
          el('td', { className: 'num', text: String(i + 1) }), el('td', { title: x.m < 0 ? null : X.members[x.m], text: name }),
          el('td', { className: 'num', text: x.n.toLocaleString('en-US') }), el('td', { className: 'num', text: p.total ? (100 * x.n / p.total).toFixed(1) + ' %' : '–' })
        ]);
      });
      box.appendChild(el('div', { className: 'table-wrap' }, [el('table', {}, [
        el('thead', {}, [el('tr', {}, [el('th', { className: 'num', text: '#' }), el('th', { text: 'member' }), el('th', { className: 'num', text: 'messages' }), el('th', { className: 'num', text: 'share' })])]),
        el('tbody', {}, rows)])]));
    });
  }
  function buildHours(tab) {
    var block = el('div', { className: 'block' }, [el('h3', {}, ['When the group talks',
      el('span', { className: 'info', title: "Messages per weekday and hour on the group's own clock (its timezone, DST included), under every filter.", text: 'ⓘ' })])]);
    tab.appendChild(block);
    addChart('hours', block, 'hours-heatmap', function () { var h = heat(); return heatChart(h.data, h.max, 'messages'); });
  }

  // ---------- layout: tabs and sections ----------
  var FIXED = { overview: buildOverview, activity: buildActivity, hours: buildHours };
  var tabsNode = document.getElementById('tabs');
  var sectionsNode = document.getElementById('sections');
  var tabButtons = {};
  R.sections.forEach(function (section) {
    var fixed = FIXED[section.id];
    if (!fixed && section.metrics.length === 0) return; // omitted; listed on the overview
    var tab = el('section', { className: 'tab', id: 'tab-' + section.id, 'data-section': section.id, role: 'tabpanel' });
    tab.appendChild(el('p', { className: 'about', text: section.about }));
    if (fixed) fixed(tab);
    if (section.id !== 'overview') section.metrics.forEach(function (name) { metricBlock(section.id, tab, name); });
    if (section.note) tab.appendChild(el('p', { className: 'note', text: section.note }));
    sectionsNode.appendChild(tab);
    var button = el('button', { type: 'button', role: 'tab', 'data-tab': section.id, text: section.title });
    button.addEventListener('click', function () { showTab(section.id); });
    tabsNode.appendChild(button);
    tabButtons[section.id] = { button: button, tab: tab };
  });

  function renderVisible() {
    views.forEach(function (v) {
      if (v.section !== state.tab) return;
      v.render(); v.stale = false;
      if (v.inst) v.inst.resize();
    });
  }
  function showTab(id) {
    state.tab = id;
    Object.keys(tabButtons).forEach(function (key) {
      var t = tabButtons[key];
      t.tab.hidden = key !== id;
      t.button.setAttribute('aria-selected', key === id ? 'true' : 'false');
    });
    renderVisible();
  }
  function refresh() {
    views.forEach(function (v) { v.stale = true; });
    renderVisible();
    var parts = [groupLabel(state.group)];
    if (state.member !== null) parts.push(X.names[state.member]);
    if (X.weeks.length) parts.push(X.weeks[state.from] + ' – ' + X.weeks[state.to]);
    document.getElementById('filter-summary').textContent = parts.join(' · ');
  }

  // ---------- filters ----------
  var fGroup = document.getElementById('filter-group');
  var fMember = document.getElementById('filter-member');
  var fFrom = document.getElementById('filter-from');
  var fTo = document.getElementById('filter-to');
  X.groups.forEach(function (g) { fGroup.appendChild(el('option', { value: g, text: groupLabel(g) })); });
  fMember.appendChild(el('option', { value: '', text: 'All members' }));
  X.members.forEach(function (key, i) { fMember.appendChild(el('option', { value: String(i), title: key, text: X.names[i] })); });
  X.weeks.forEach(function (w, i) {
    fFrom.appendChild(el('option', { value: String(i), text: w }));
    fTo.appendChild(el('option', { value: String(i), text: w }));
  });
  function syncControls() {
    fGroup.value = state.group; fMember.value = state.member === null ? '' : String(state.member);
    fFrom.value = String(state.from); fTo.value = String(state.to);
  }
  function setFilter(name, value) {
    if (name === 'group') state.group = X.groups.indexOf(value) >= 0 ? value : ALL;
    else if (name === 'member') state.member = value === '' || value === null ? null : Number(value);
    else if (name === 'from') state.from = Number(value);
    else if (name === 'to') state.to = Number(value);
    if (state.from > state.to) { var t = state.from; state.from = state.to; state.to = t; }
    syncControls();
    refresh();
  }
  fGroup.addEventListener('change', function () { setFilter('group', fGroup.value); });
  fMember.addEventListener('change', function () { setFilter('member', fMember.value); });
  fFrom.addEventListener('change', function () { setFilter('from', fFrom.value); });
  fTo.addEventListener('change', function () { setFilter('to', fTo.value); });
  document.getElementById('filters').addEventListener('submit', function (e) { e.preventDefault(); });
  document.getElementById('filter-reset').addEventListener('click', function () {
    state.group = ALL; state.member = null; state.from = 0; state.to = Math.max(0, X.weeks.length - 1);
    syncControls(); refresh();
  });
  window.addEventListener('resize', function () { views.forEach(function (v) { if (v.inst && v.section === state.tab) v.inst.resize(); }); });

  var scope = R.scope || {};
  document.getElementById('report-subtitle').textContent = [
    scope.community ? 'community ' + scope.community : 'all communities',
    (R.period.start || '').slice(0, 10) + ' – ' + (R.period.end || '').slice(0, 10) + ' (UTC)',
    R.groups.length + ' group' + (R.groups.length === 1 ? '' : 's'),
    'engine ' + R.engine,
    'generated ' + (R.generated_at || '').slice(0, 16).replace('T', ' ') + ' UTC'
  ].join(' · ');

  syncControls();
  showTab('overview');
  refresh();

  // for tests and curious operators: the state and what each chart currently shows
  window.shequnReport = {
    state: state,
    setFilter: setFilter,
    showTab: showTab,
    charts: function () { return Object.keys(chartsById); },
    instance: function (id) { return chartsById[id] ? chartsById[id].inst : null; },
    chartData: function (id) {
      var v = chartsById[id];
      if (!v || !v.option) return null;
      return JSON.parse(JSON.stringify({ x: v.option.xAxis ? [].concat(v.option.xAxis)[0].data : null,
        series: v.option.series.map(function (s) { return { name: s.name, data: s.data, links: s.links }; }) }));
    }
  };
}());
