/**
 * @module The console's style sheet and its one small script, served from /console/assets/ (the
 * Content-Security-Policy allows scripts and styles from this origin only, none inline). Every page
 * works without the script; it only filters the rules table as you type.
 */

export const CONSOLE_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #4a5360; --line: #c9d1d9; --bg: #ffffff;
  --accent: #0b5cad; --ok: #116329; --bad: #a40e26; --warn: #7a4a00; --code: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, summary:focus { outline: 3px solid #f2b600; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
header.top { display: flex; gap: 24px; align-items: center; padding: 10px 20px; background: #102a43; color: #fff; }
header.top a { color: #fff; }
header.top .brand { font-weight: 700; text-decoration: none; }
header.top nav ul { display: flex; gap: 16px; list-style: none; margin: 0; padding: 0; }
header.top nav a[aria-current="page"] { text-decoration: underline; text-underline-offset: 4px; font-weight: 600; }
header.top .who { margin-left: auto; display: flex; gap: 10px; align-items: center; font-size: 13px; }
header.top .who button { background: transparent; color: #fff; border: 1px solid #fff; border-radius: 4px; padding: 2px 8px; cursor: pointer; }
main { padding: 16px 20px 40px; max-width: 1400px; }
h1 { font-size: 22px; margin: 8px 0 12px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
caption { text-align: left; color: var(--muted); padding: 4px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin-bottom: 8px; }
form.filters label, form.stack label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); gap: 2px; }
input, select, button { font: inherit; }
input[type="search"], input[type="password"], input[type="number"], select { padding: 5px 8px; border: 1px solid #6e7781; border-radius: 4px; color: var(--fg); background: #fff; }
button, .button { background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: 6px 14px; cursor: pointer; text-decoration: none; display: inline-block; }
button.danger { background: var(--bad); }
button.secondary, .button.secondary { background: #fff; color: var(--accent); border: 1px solid var(--accent); }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 13px; border: 1px solid currentColor; white-space: nowrap; }
.state-draft { color: var(--muted); }
.state-count { color: var(--warn); }
.state-block { color: var(--ok); }
.verdict-proven, .yes { color: var(--ok); }
.verdict-failed, .no { color: var(--bad); }
.verdict-untested { color: var(--warn); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow: auto; font-size: 13px; line-height: 1.45; }
pre.diff .add { color: #116329; background: #dafbe1; display: block; }
pre.diff .del { color: #a40e26; background: #ffebe9; display: block; }
.hljs-attr { color: #0550ae; }
.hljs-string { color: #0a3069; }
.hljs-number, .hljs-literal { color: #953800; }
.hljs-punctuation { color: #24292f; }
.notice { border: 1px solid var(--line); border-left: 4px solid var(--accent); padding: 8px 12px; margin: 12px 0; background: #f6f8fa; }
.notice.error { border-left-color: var(--bad); }
.actions { display: flex; gap: 8px; flex-wrap: wrap; }
.actions form { margin: 0; }
details summary { cursor: pointer; color: var(--accent); }
ol.trace { margin: 4px 0; padding-left: 20px; font-size: 13px; }
ol.trace code { background: var(--code); padding: 0 3px; border-radius: 3px; word-break: break-all; }
progress { width: 160px; }
.muted { color: var(--muted); }
`;

export const CONSOLE_JS = `(function () {
  var input = document.querySelector('[data-filter-table]');
  if (!input) return;
  var table = document.getElementById(input.getAttribute('data-filter-table'));
  var status = document.getElementById('filter-status');
  if (!table) return;
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  input.addEventListener('input', function () {
    var q = input.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var hit = !q || row.textContent.toLowerCase().indexOf(q) !== -1;
      row.hidden = !hit;
      if (hit) shown++;
    });
    if (status) status.textContent = shown + ' of ' + rows.length + ' rules shown';
  });
})();
`;
