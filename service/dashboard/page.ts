/**
 * The dashboard's HTML. It holds no data: the script (script.ts) asks the API with the session cookie
 * and follows `GET /events`, so the page itself can be served without authentication.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>steadfast</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <h1>steadfast</h1>
  <p class="summary">
    <span class="badge" id="status" data-tone="unknown">status: loading</span>
    <span class="badge" id="role" data-tone="unknown">role: unknown</span>
    <span class="badge" id="live" data-tone="unknown">updates: connecting</span>
  </p>
  <button type="button" id="signout" hidden>Sign out</button>
</header>
<main>
  <p id="notice" role="status" aria-live="polite"></p>

  <section id="signin" hidden aria-labelledby="signin-title">
    <h2 id="signin-title">Sign in</h2>
    <p>This service needs its API token (API_TOKEN). It is sent once; a session cookie keeps you signed in for 12 hours.</p>
    <form id="signin-form">
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required>
      <button type="submit">Sign in</button>
      <p id="signin-error" role="alert"></p>
    </form>
  </section>

  <div id="app" hidden>
    <section aria-labelledby="health-title">
      <h2 id="health-title">Health</h2>
      <ul id="checks" class="checks"></ul>
    </section>

    <section aria-labelledby="figures-title">
      <h2 id="figures-title">Outbox</h2>
      <dl id="figures" class="figures"></dl>
    </section>

    <section aria-labelledby="rates-title">
      <h2 id="rates-title">Rates, per second</h2>
      <ul id="rates-legend" class="legend"></ul>
      <svg id="chart" class="chart" viewBox="0 0 600 160" preserveAspectRatio="none" role="img" aria-labelledby="chart-title">
        <title id="chart-title">accepted, confirmed and failed per second over the last minutes</title>
      </svg>
      <p class="axis"><span id="chart-span"></span><span id="chart-max"></span></p>
    </section>

    <section aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">In flight</h2>
      <form id="filter" class="filter">
        <label>Destination contains <input id="filter-destination" name="destination" type="search" maxlength="200" autocomplete="off"></label>
        <label>Status
          <select id="filter-status" name="status">
            <option value="">any</option>
            <option value="waiting">waiting (not sent yet)</option>
            <option value="sent">sent (awaiting confirmation)</option>
            <option value="failing">failing (last attempt failed)</option>
            <option value="exhausted">exhausted (becoming a dead letter)</option>
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <p id="deliveries-count" class="count"></p>
      <table id="deliveries" class="rows">
        <thead><tr><th scope="col">id</th><th scope="col">destination</th><th scope="col">status</th><th scope="col">attempts</th><th scope="col">last error</th><th scope="col">next attempt</th><th scope="col"><span class="visually-hidden">actions</span></th></tr></thead>
        <tbody></tbody>
      </table>
      <nav class="pager" aria-label="in-flight pages">
        <button type="button" id="deliveries-first">First page</button>
        <button type="button" id="deliveries-next">Next page</button>
      </nav>
    </section>

    <section id="detail" hidden aria-labelledby="detail-title">
      <h2 id="detail-title">Delivery</h2>
      <dl id="detail-fields" class="fields"></dl>
      <button type="button" id="detail-close">Close</button>
    </section>

    <section aria-labelledby="dead-title">
      <h2 id="dead-title">Dead letters</h2>
      <p><span id="dead-count" class="count"></span> <button type="button" id="redrive-all">Redrive all</button></p>
      <table id="dead-letters" class="rows">
        <thead><tr><th scope="col">id</th><th scope="col">destination</th><th scope="col">attempts</th><th scope="col">reason</th><th scope="col">dead-lettered</th><th scope="col"><span class="visually-hidden">actions</span></th></tr></thead>
        <tbody></tbody>
      </table>
      <nav class="pager" aria-label="dead-letter pages">
        <button type="button" id="dead-first">First page</button>
        <button type="button" id="dead-next">Next page</button>
      </nav>
    </section>
  </div>
</main>
</body>
</html>
`;
