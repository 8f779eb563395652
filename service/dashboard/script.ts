/**
 * The dashboard's script (plain ES2020 for the browser, no framework). It reads the API with the
 * session cookie, writes only through textContent (destinations and errors are not markup), and follows
 * `GET /events`: each snapshot updates health, figures and the chart, and when the outbox's figures
 * moved the visible pages are read again. Mutations (redrive, cancel of a delivery or a dead letter,
 * sign-in) are same-origin fetches, which the cookie guard of auth.ts accepts. No backticks in here:
 * this is a template literal.
 */
export const DASHBOARD_JS = `'use strict';
(function () {
  var SVG = 'http://www.w3.org/2000/svg';
  var view = {
    deliveryPages: [0], deadPages: [0],
    deliveryNext: null, deadNext: null,
    filter: { destination: '', status: '' },
    detailId: null, figures: null, failure: null, events: null, refreshing: false, refreshAgain: false, started: false,
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === 'text') node.textContent = attributes[name];
      else if (name === 'className') node.className = attributes[name];
      else node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }
  function notice(text) { $('notice').textContent = text || ''; }

  function ApiError(status, error) {
    this.status = status;
    this.code = (error && error.code) || 'http_' + status;
    this.message = (error && error.message) || 'HTTP ' + status;
  }

  function api(method, path, body) {
    var init = { method: method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        if (response.ok) return json;
        var error = new ApiError(response.status, json && json.error);
        if (response.status === 401 && path !== '/session') signInNeeded();
        throw error;
      });
    });
  }

  // --- sign-in -------------------------------------------------------------------------------

  function signInNeeded() {
    closeEvents();
    view.started = false;
    $('app').hidden = true;
    $('signout').hidden = true;
    $('signin').hidden = false;
    setBadge('live', 'unknown', 'updates: signed out');
    $('token').focus();
  }

  $('signin-form').addEventListener('submit', function (event) {
    event.preventDefault();
    $('signin-error').textContent = '';
    api('POST', '/session', { token: $('token').value }).then(function () {
      $('token').value = '';
      $('signin').hidden = true;
      start();
    }, function (error) {
      $('signin-error').textContent = error.status === 401 ? 'That token is not valid.' : error.message;
    });
  });

  $('signout').addEventListener('click', function () {
    api('DELETE', '/session').then(signInNeeded, function (error) { notice(error.message); });
  });

  // --- rendering helpers ---------------------------------------------------------------------

  function setBadge(id, tone, text) {
    var badge = $(id);
    badge.dataset.tone = tone;
    badge.textContent = text;
  }

  function destinationText(destination) {
    if (typeof destination === 'string') return destination;
    if (!destination || typeof destination !== 'object') return String(destination);
    if (destination.transport === 'http') return (destination.method || 'POST') + ' ' + destination.url;
    if (destination.transport === 'amqp') {
      if (destination.queue !== undefined) return 'amqp queue ' + destination.queue;
      return 'amqp exchange ' + destination.exchange + ' / ' + (destination.routingKey || '');
    }
    return JSON.stringify(destination);
  }

  function timeText(iso) {
    if (!iso) return '';
    var date = new Date(iso);
    var seconds = Math.round((date.getTime() - Date.now()) / 1000);
    var clock = date.toLocaleTimeString();
    if (seconds > 0) return 'in ' + seconds + ' s (' + clock + ')';
    if (seconds > -2) return 'now';
    return clock;
  }

  function stateText(state) {
    return { waiting: 'waiting (not sent yet)', sent: 'sent, awaiting confirmation', failing: 'failing, will retry', exhausted: 'exhausted, becoming a dead letter' }[state] || state;
  }

  function cell(label, text, className) {
    return el('td', { 'data-label': label, text: text === undefined || text === null ? '' : String(text), className: className || '' });
  }

  function button(text, label, onClick) {
    var node = el('button', { type: 'button', text: text, 'aria-label': label });
    node.addEventListener('click', function () {
      node.disabled = true;
      onClick().then(refresh, function (error) { notice(error.message); }).then(function () { node.disabled = false; });
    });
    return node;
  }

  function replaceRows(table, rows, emptyText, columns) {
    var body = $(table).tBodies[0];
    body.textContent = '';
    if (rows.length === 0) body.appendChild(el('tr', {}, [el('td', { colspan: String(columns), text: emptyText })]));
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function idButton(id) {
    var node = el('button', { type: 'button', text: '#' + id, className: 'id', 'aria-label': 'show delivery ' + id });
    node.addEventListener('click', function () { showDetail(id); });
    return node;
  }

  // --- in flight -----------------------------------------------------------------------------

  function deliveriesPath() {
    var query = new URLSearchParams({ after: String(view.deliveryPages[view.deliveryPages.length - 1]), limit: '50' });
    if (view.filter.destination) query.set('destination', view.filter.destination);
    if (view.filter.status) query.set('status', view.filter.status);
    return '/deliveries?' + query.toString();
  }

  function loadDeliveries() {
    return api('GET', deliveriesPath()).then(function (page) {
      view.deliveryNext = page.nextAfter;
      $('deliveries-count').textContent = page.count + (page.count === 1 ? ' delivery' : ' deliveries') + (view.filter.destination || view.filter.status ? ' match the filter' : ' in flight');
      replaceRows('deliveries', page.deliveries.map(function (delivery) {
        var row = el('tr', { 'data-delivery-id': String(delivery.deliveryId), 'data-state': delivery.state });
        var id = el('td', { 'data-label': 'id' }, [idButton(delivery.deliveryId)]);
        var actions = el('td', { className: 'actions' }, [button('Cancel', 'cancel delivery ' + delivery.deliveryId, function () {
          return api('DELETE', '/deliveries/' + delivery.deliveryId).then(function () { notice('Delivery ' + delivery.deliveryId + ' cancelled: it is not sent again.'); });
        })]);
        [id, cell('destination', destinationText(delivery.destination)), cell('status', stateText(delivery.state), 'state'), cell('attempts', delivery.attempts, 'num'),
          cell('last error', delivery.lastError || '', 'error'), cell('next attempt', delivery.state === 'exhausted' ? 'none' : timeText(delivery.nextAttemptAt) || 'now'), actions]
          .forEach(function (node) { row.appendChild(node); });
        return row;
      }), view.filter.destination || view.filter.status ? 'No delivery in flight matches.' : 'Nothing in flight.', 7);
      $('deliveries-next').disabled = page.nextAfter === null;
      $('deliveries-first').disabled = view.deliveryPages.length === 1;
    });
  }

  $('filter').addEventListener('submit', function (event) {
    event.preventDefault();
    view.filter = { destination: $('filter-destination').value.trim(), status: $('filter-status').value };
    view.deliveryPages = [0];
    loadDeliveries().catch(function (error) { notice(error.message); });
  });
  $('deliveries-next').addEventListener('click', function () {
    if (view.deliveryNext === null) return;
    view.deliveryPages.push(view.deliveryNext);
    loadDeliveries().catch(function (error) { notice(error.message); });
  });
  $('deliveries-first').addEventListener('click', function () {
    view.deliveryPages = [0];
    loadDeliveries().catch(function (error) { notice(error.message); });
  });

  // --- one delivery --------------------------------------------------------------------------

  var FIELD_NAMES = { status: 'status', attempts: 'attempts', lastError: 'last error', reason: 'reason', redrivenAs: 'redriven as', cancelledAt: 'cancelled at', destination: 'destination' };

  function showDetail(id) {
    view.detailId = id;
    return loadDetail().then(function () { $('detail').scrollIntoView({ block: 'nearest' }); }, function (error) { notice(error.message); });
  }

  function loadDetail() {
    var id = view.detailId;
    if (id === null) return Promise.resolve();
    return api('GET', '/deliveries/' + id).then(function (status) {
      $('detail').hidden = false;
      $('detail-title').textContent = 'Delivery #' + id;
      var fields = $('detail-fields');
      fields.textContent = '';
      Object.keys(FIELD_NAMES).forEach(function (key) {
        if (status[key] === undefined || status[key] === null) return;
        var value = key === 'destination' ? destinationText(status[key]) : key === 'redrivenAs' ? '#' + status[key] : String(status[key]);
        fields.appendChild(el('dt', { text: FIELD_NAMES[key] }));
        fields.appendChild(el('dd', { text: value, 'data-field': key }));
      });
    });
  }

  $('detail-close').addEventListener('click', function () {
    view.detailId = null;
    $('detail').hidden = true;
  });

  // --- dead letters --------------------------------------------------------------------------

  function loadDeadLetters() {
    var after = view.deadPages[view.deadPages.length - 1];
    return api('GET', '/dead-letters?after=' + after + '&limit=50').then(function (page) {
      view.deadNext = page.nextAfter;
      $('dead-count').textContent = page.count + (page.count === 1 ? ' dead letter' : ' dead letters');
      $('redrive-all').disabled = page.count === 0;
      replaceRows('dead-letters', page.deadLetters.map(function (dead) {
        var row = el('tr', { 'data-delivery-id': String(dead.deliveryId) });
        var actions = el('td', { className: 'actions' }, [button('Redrive', 'redrive dead letter ' + dead.deliveryId, function () {
          return api('POST', '/dead-letters/' + dead.deliveryId + '/redrive').then(function () {
            return api('GET', '/deliveries/' + dead.deliveryId);
          }).then(function (status) {
            notice('Dead letter ' + dead.deliveryId + ' sent again' + (status.redrivenAs ? ' as delivery ' + status.redrivenAs : '') + '.');
          });
        }), button('Cancel', 'cancel dead letter ' + dead.deliveryId, function () {
          return api('DELETE', '/dead-letters/' + dead.deliveryId).then(function () {
            notice('Dead letter ' + dead.deliveryId + ' cancelled: it is not sent again.');
          });
        })]);
        [el('td', { 'data-label': 'id' }, [idButton(dead.deliveryId)]), cell('destination', destinationText(dead.destination)), cell('attempts', dead.attempts, 'num'),
          cell('reason', dead.reason, 'error'), cell('dead-lettered', new Date(dead.deadLetteredAt).toLocaleString()), actions]
          .forEach(function (node) { row.appendChild(node); });
        return row;
      }), 'No dead letters.', 6);
      $('dead-next').disabled = page.nextAfter === null;
      $('dead-first').disabled = view.deadPages.length === 1;
    });
  }

  $('redrive-all').addEventListener('click', function () {
    $('redrive-all').disabled = true;
    api('POST', '/dead-letters/redrive').then(function (answer) {
      notice(answer.redriven.length + ' dead letters sent again.');
    }, function (error) { notice(error.message); }).then(refresh);
  });
  $('dead-next').addEventListener('click', function () {
    if (view.deadNext === null) return;
    view.deadPages.push(view.deadNext);
    loadDeadLetters().catch(function (error) { notice(error.message); });
  });
  $('dead-first').addEventListener('click', function () {
    view.deadPages = [0];
    loadDeadLetters().catch(function (error) { notice(error.message); });
  });

  // --- health, figures, rates ----------------------------------------------------------------

  function renderHealth(report) {
    var tone = report.status === 'ok' ? 'ok' : report.status === 'degraded' ? 'warn' : 'bad';
    setBadge('status', tone, 'status: ' + report.status);
    setBadge('role', report.role === 'active' ? 'ok' : 'warn', 'role: ' + report.role);
    var list = $('checks');
    list.textContent = '';
    Object.keys(report.checks).forEach(function (name) {
      var check = report.checks[name];
      var item = el('li', { 'data-check': name }, [
        el('strong', { text: name + ': ' }),
        el('span', { className: 'tone', 'data-tone': check.ok ? 'ok' : 'bad', text: (check.ok ? 'ok' : 'failing') + ' (' + check.reason + ')' }),
      ]);
      if (check.message) item.appendChild(el('span', { className: 'message', text: check.message }));
      list.appendChild(item);
    });
  }

  var FIGURES = [['inFlight', 'in flight'], ['deadLettered', 'dead letters'], ['accepted', 'accepted (all time)'], ['confirmed', 'confirmed (all time)'], ['failed', 'failed attempts (this process)']];

  function renderFigures(stats) {
    var list = $('figures');
    list.textContent = '';
    if (!stats) {
      list.appendChild(el('div', {}, [el('dt', { text: 'outbox' }), el('dd', { text: 'not running here' })]));
      return;
    }
    FIGURES.forEach(function (figure) {
      list.appendChild(el('div', { 'data-figure': figure[0] }, [el('dt', { text: figure[1] }), el('dd', { text: String(stats[figure[0]]) })]));
    });
  }

  var SERIES = [['accepted', 'accepted'], ['confirmed', 'confirmed'], ['failed', 'failed attempts']];

  function renderRates(rates, intervalMs) {
    var chart = $('chart');
    Array.prototype.slice.call(chart.querySelectorAll('polyline')).forEach(function (line) { line.remove(); });
    var max = 1;
    rates.forEach(function (sample) { SERIES.forEach(function (series) { max = Math.max(max, sample[series[0]]); }); });
    var span = Math.max(rates.length - 1, 1);
    SERIES.forEach(function (series) {
      var points = rates.map(function (sample, i) { return (i / span * 600).toFixed(1) + ',' + (160 - sample[series[0]] / max * 150).toFixed(1); });
      if (points.length < 2) return;
      var line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('class', 'series ' + series[0]);
      line.setAttribute('points', points.join(' '));
      chart.appendChild(line);
    });
    var last = rates[rates.length - 1];
    var legend = $('rates-legend');
    legend.textContent = '';
    SERIES.forEach(function (series) {
      var sample = document.createElementNS(SVG, 'svg');
      sample.setAttribute('viewBox', '0 0 28 10');
      sample.setAttribute('aria-hidden', 'true');
      var line = document.createElementNS(SVG, 'line');
      line.setAttribute('class', 'series ' + series[0]);
      line.setAttribute('x1', '0'); line.setAttribute('y1', '5'); line.setAttribute('x2', '28'); line.setAttribute('y2', '5');
      sample.appendChild(line);
      var item = el('li', { 'data-rate': series[0] });
      item.appendChild(sample);
      item.appendChild(document.createTextNode(series[1] + ': ' + (last ? last[series[0]].toFixed(1) : '0') + '/s'));
      legend.appendChild(item);
    });
    var minutes = Math.round(rates.length * intervalMs / 6000) / 10;
    $('chart-span').textContent = rates.length < 2 ? 'collecting samples' : 'last ' + minutes + ' min';
    $('chart-max').textContent = 'top: ' + max.toFixed(1) + '/s';
  }

  // --- live updates --------------------------------------------------------------------------

  function refresh() {
    if (view.refreshing) { view.refreshAgain = true; return Promise.resolve(); }
    view.refreshing = true;
    return Promise.all([loadDeliveries(), loadDeadLetters(), loadDetail()]).then(function () {
      // Only a failure of an earlier refresh is cleared; what an action reported stays.
      if (view.failure !== null && $('notice').textContent === view.failure) notice('');
      view.failure = null;
    }, function (error) {
      if (error.status === 401) return;
      view.failure = error.code === 'standby' ? 'This process is a standby: another one runs the outbox. ' + error.message : error.message;
      notice(view.failure);
    }).then(function () {
      view.refreshing = false;
      if (view.refreshAgain) { view.refreshAgain = false; return refresh(); }
    });
  }

  function moved(before, now) {
    if (!before || !now) return before !== now;
    return ['accepted', 'confirmed', 'deadLettered', 'failed', 'inFlight', 'sent'].some(function (key) { return before[key] !== now[key]; });
  }

  function onSnapshot(event) {
    var snapshot = JSON.parse(event.data);
    setBadge('live', 'ok', 'updates: live');
    renderHealth(snapshot.health);
    renderFigures(snapshot.stats);
    renderRates(snapshot.rates, snapshot.rateIntervalMs);
    if (moved(view.figures, snapshot.stats)) refresh();
    view.figures = snapshot.stats;
  }

  function openEvents() {
    closeEvents();
    var source = new EventSource('/events');
    view.events = source;
    source.addEventListener('snapshot', onSnapshot);
    source.addEventListener('error', function () {
      setBadge('live', 'warn', 'updates: reconnecting');
      // A refused stream (401, 503) is not retried by the browser: try again, and find out why.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(function () {
          if (view.events !== source) return;
          api('GET', '/deliveries?limit=1').then(openEvents, function (error) {
            if (error.status !== 401) { notice(error.message); openEvents(); }
          });
        }, 5000);
      }
    });
  }

  function closeEvents() {
    if (view.events) view.events.close();
    view.events = null;
  }

  function start() {
    if (view.started) return;
    // Asked first so that a signed-out page shows its form without a failed (401) request.
    api('GET', '/session').then(function (session) {
      if (session.authenticationRequired && !session.signedIn) return signInNeeded();
      view.started = true;
      $('app').hidden = false;
      $('signout').hidden = !session.authenticationRequired;
      openEvents();
      return refresh();
    }).catch(function (error) { notice(error.message); });
  }

  start();
})();
`;
