import { Html, html } from './html';

const STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --band: #f6f8fa;
  --ok: #116329; --warn: #9a6700; --bad: #cf222e; --link: #0550ae; --focus: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, pre:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem 1rem; }
.skip:focus { left: .5rem; z-index: 1; }
header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem; background: var(--band); border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
header nav { display: flex; gap: 1rem; flex: 1; }
header form { margin: 0; }
main { padding: 1rem 1.5rem 3rem; max-width: 1400px; }
h1 { font-size: 1.4rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--band); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
pre { background: var(--band); border: 1px solid var(--line); padding: .75rem; overflow: auto; max-height: 28rem; white-space: pre-wrap; word-break: break-word; }
.s2 { color: var(--ok); font-weight: 600; } .s4 { color: var(--warn); font-weight: 600; } .s5 { color: var(--bad); font-weight: 600; }
.muted { color: var(--muted); }
.error { border: 1px solid var(--bad); color: var(--bad); padding: .6rem .8rem; margin: 0 0 1rem; }
form.filters { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; margin-bottom: 1rem; }
form.filters label, form.stack label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); gap: .15rem; }
input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
button { cursor: pointer; background: var(--band); }
button.primary { background: var(--link); color: #fff; border-color: var(--link); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; }
.pager { margin-top: 1rem; }
`;

export interface LayoutOptions {
  title: string;
  /** The signed-in tenant; absent on the sign-in page. */
  tenant?: string;
}

/** Every page: one layout, inline styles only (no external assets), a skip link and a keyboard-usable nav. */
export function layout(opts: LayoutOptions, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · Roster operations</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <span class="brand">Roster operations</span>
  ${
    opts.tenant
      ? html`<nav aria-label="Main"><a href="/ops/log">Sync log</a><a href="/ops/users">Users</a><a href="/ops/groups">Groups</a><a href="/ops/webhooks">Webhooks</a></nav>
  <span class="muted">Tenant <strong>${opts.tenant}</strong></span>
  <form method="post" action="/ops/logout"><button type="submit">Sign out</button></form>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
${body}
</main>
</body>
</html>`;
}
