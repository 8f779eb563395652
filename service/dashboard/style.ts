/**
 * The dashboard's stylesheet. Status is always written out as text; colour (data-tone) only repeats
 * it. Below 720 px the tables turn into one card per row, so nothing scrolls sideways at 390 px.
 */
export const DASHBOARD_CSS = `
:root {
  --fg: #1b1f24; --muted: #59636e; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --accent: #0969da;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 15px; line-height: 1.4;
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #161b22; --line: #30363d; --ok: #3fb950; --warn: #d29922; --bad: #f85149; --accent: #4493f8; }
}
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; background: var(--bg); color: var(--fg); }
body { overflow-wrap: anywhere; }
main { max-width: 1240px; margin: 0 auto; padding: 0 16px 32px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 16px 0; min-width: 0; }
h1 { font-size: 1.3rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 0 0 8px; }
button { font: inherit; padding: 4px 10px; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); cursor: pointer; }
button:hover { border-color: var(--accent); }
button:disabled { opacity: 0.5; cursor: default; }
input, select { font: inherit; padding: 4px 6px; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); max-width: 100%; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 12px 16px; border-bottom: 1px solid var(--line); max-width: 1240px; margin: 0 auto; }
.summary { display: flex; flex-wrap: wrap; gap: 6px; margin: 0; flex: 1; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 999px; border: 1px solid var(--line); font-size: 0.9rem; white-space: nowrap; }
.badge::before, .tone::before { content: ""; display: inline-block; width: 0.6em; height: 0.6em; border-radius: 50%; margin-right: 0.4em; background: var(--muted); vertical-align: 0.05em; }
[data-tone="ok"]::before { background: var(--ok); }
[data-tone="warn"]::before { background: var(--warn); }
[data-tone="bad"]::before { background: var(--bad); }
#notice:empty, #signin-error:empty { display: none; }
#notice { margin: 12px 0 0; padding: 8px 12px; border: 1px solid var(--warn); border-radius: 6px; }
#signin-error { color: var(--bad); }
#signin form { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
#signin input { flex: 1 1 16em; }
.checks { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 8px; }
.checks li { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; background: var(--bg); }
.checks .message { display: block; color: var(--muted); font-size: 0.9rem; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 8px; margin: 0; }
.figures div { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.figures dt { color: var(--muted); font-size: 0.85rem; }
.figures dd { margin: 0; font-size: 1.2rem; font-variant-numeric: tabular-nums; }
.legend { list-style: none; padding: 0; margin: 0 0 6px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
.legend svg { width: 28px; height: 10px; vertical-align: middle; margin-right: 4px; }
.chart { width: 100%; height: 160px; display: block; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; }
.chart .series { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
.series.accepted { stroke: var(--accent); }
.series.confirmed { stroke: var(--ok); stroke-dasharray: 6 3; }
.series.failed { stroke: var(--bad); stroke-dasharray: 2 3; }
.axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 0.85rem; margin: 4px 0 0; }
.filter { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: end; margin-bottom: 8px; }
.filter label { display: flex; flex-direction: column; gap: 2px; font-size: 0.9rem; max-width: 100%; }
.count { color: var(--muted); margin: 4px 0; }
table.rows { width: 100%; border-collapse: collapse; table-layout: auto; }
.rows th, .rows td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
.rows th { font-size: 0.85rem; color: var(--muted); font-weight: 600; overflow-wrap: normal; white-space: nowrap; }
.rows td.num { font-variant-numeric: tabular-nums; }
.rows td.error { color: var(--muted); max-width: 28em; }
.rows .id { font-variant-numeric: tabular-nums; white-space: nowrap; overflow-wrap: normal; }
.rows td.actions { white-space: nowrap; text-align: right; }
.rows td.actions button + button { margin-left: 6px; }
.pager { display: flex; gap: 8px; margin-top: 8px; }
.fields { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0 0 8px; }
.fields dt { color: var(--muted); }
.fields dd { margin: 0; min-width: 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 720px) {
  main { padding: 0 8px 24px; }
  section { padding: 10px; }
  .rows thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .rows, .rows tbody, .rows tr, .rows td { display: block; width: 100%; }
  .rows tr { border: 1px solid var(--line); border-radius: 6px; margin-bottom: 8px; background: var(--bg); padding: 4px 0; }
  .rows td { border: 0; padding: 2px 10px; max-width: none; }
  .rows td.error { max-width: none; }
  .rows td::before { content: attr(data-label); display: inline-block; min-width: 7.5em; color: var(--muted); font-size: 0.85rem; }
  .rows td.actions { text-align: left; padding-top: 6px; }
  .rows td.actions::before { content: none; }
  .fields { grid-template-columns: 1fr; }
  .fields dd { margin-bottom: 6px; }
}
`;
