/**
 * @module The console's pages, rendered on the server with Hono's `html` templates (every
 * interpolated value is escaped; the only raw HTML is highlight.js's output, which escapes the rule
 * text itself). No inline script or style: the CSP forbids both.
 */
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

import type { Deployment, DeploymentView } from '../../app/index.js';
import type { SoakStatus } from '../../app/deployments.js';
import type { JobsOverview, RulePage, RuleRow } from '../../app/review.js';

/**
 * The rule as highlighted HTML (highlight.js escapes the text it wraps). highlight.js is loaded on the
 * first rule page, not with the API: imported at the top it held ~7 MB of every server's RSS, console
 * used or not.
 */
let highlighter: Promise<(text: string) => string> | undefined;
export function highlightJson(value: unknown): Promise<string> {
  highlighter ??= Promise.all([
    import('highlight.js/lib/core'),
    import('highlight.js/lib/languages/json'),
  ]).then(([{ default: hljs }, { default: json }]) => {
    hljs.registerLanguage('json', json);
    return (text: string) => hljs.highlight(text, { language: 'json' }).value;
  });
  return highlighter.then((highlight) => highlight(JSON.stringify(value, null, 2)));
}

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface Viewer {
  id: string;
  canDeploy: boolean;
  /** Signed in with a credential (a sign-out button), or anonymous (authentication disabled). */
  signedIn: boolean;
  csrf: string;
}

type Section = 'rules' | 'deployments' | 'jobs';

function layout(title: string, section: Section | undefined, viewer: Viewer | undefined, body: Html): Html {
  const link = (href: string, name: Section, label: string) =>
    html`<li><a href="${href}" ${section === name ? raw('aria-current="page"') : ''}>${label}</a></li>`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · wafgen console</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        <script src="/console/assets/console.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/console">wafgen console</a>
          ${
            viewer
              ? html`<nav aria-label="Console sections">
                    <ul>
                      ${link('/console', 'rules', 'Rules')}
                      ${link('/console/deployments', 'deployments', 'Deployments')}
                      ${link('/console/jobs', 'jobs', 'Jobs')}
                      <li><a href="/docs">API docs</a></li>
                    </ul>
                  </nav>
                  <div class="who">
                    <span>Signed in as ${viewer.id}${viewer.canDeploy ? '' : ' (read-only)'}</span> ${
                      viewer.signedIn
                        ? html`<form method="post" action="/console/logout">
                            <input type="hidden" name="csrf" value="${viewer.csrf}" /><button type="submit">
                              Sign out
                            </button>
                          </form>`
                        : ''
                    }
                  </div>`
              : ''
          }
        </header>
        <main id="main">${body}</main>
      </body>
    </html>`;
}

export function loginPage(message?: string): Html {
  return layout(
    'Sign in',
    undefined,
    undefined,
    html`<h1>Sign in</h1>
      <p>
        Use the credential you give the API: an API key (<code>X-API-Key</code>) or a bearer token (JWT). It
        is kept in an HttpOnly cookie for this console only.
      </p>
      ${message ? html`<p class="notice error" role="alert">${message}</p>` : ''}
      <form method="post" action="/console/login" class="stack">
        <label for="credential"
          >API key or bearer token
          <input
            id="credential"
            name="credential"
            type="password"
            autocomplete="off"
            required
            maxlength="4096"
        /></label>
        <p><button type="submit">Sign in</button></p>
      </form>`,
  );
}

export function messagePage(title: string, message: string, viewer: Viewer | undefined): Html {
  return layout(
    title,
    undefined,
    viewer,
    html`<h1>${title}</h1>
      <p class="notice error" role="alert">${message}</p>`,
  );
}

const tally = (t: { blocked: number; total: number }) => `${t.blocked}/${t.total}`;
const badge = (kind: string, value: string) => html`<span class="badge ${kind}-${value}">${value}</span>`;

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'];
const STATES = ['draft', 'count', 'block'];
const ENGINES = ['builtin', 'llm'];

function select(name: string, label: string, options: string[], value: string | undefined): Html {
  return html`<label for="f-${name}"
    >${label}
    <select id="f-${name}" name="${name}">
      <option value="">any</option>
      ${options.map((o) => html`<option value="${o}" ${o === value ? raw('selected') : ''}>${o}</option>`)}
    </select></label
  >`;
}

export function rulesPage(
  rows: RuleRow[],
  filter: { search?: string; severity?: string; state?: string; engine?: string },
  viewer: Viewer,
): Html {
  return layout(
    'Rules',
    'rules',
    viewer,
    html`<h1>Rules</h1>
      <form class="filters" method="get" action="/console" role="search">
        <label for="f-search"
          >Search (CVE, title, vendor, product)
          <input
            id="f-search"
            type="search"
            name="search"
            value="${filter.search ?? ''}"
            data-filter-table="rules-table"
            maxlength="200"
        /></label>
        ${select('severity', 'Severity', SEVERITIES, filter.severity)}
        ${select('state', 'State', STATES, filter.state)}
        ${select('engine', 'Engine', ENGINES, filter.engine)}
        <button type="submit">Filter</button>
      </form>
      <p id="filter-status" class="muted" role="status" aria-live="polite">${rows.length} rules shown</p>
      <table id="rules-table">
        <caption>
          The latest rule of each CVE: proof from the local evaluator (exploits and evasion variants blocked,
          benign requests blocked), capacity, and where it is deployed.
        </caption>
        <thead>
          <tr>
            <th scope="col">CVE</th>
            <th scope="col">Severity</th>
            <th scope="col">Engine</th>
            <th scope="col" class="num">Version</th>
            <th scope="col">State</th>
            <th scope="col">Verdict</th>
            <th scope="col" class="num">Exploits blocked</th>
            <th scope="col" class="num">Variants blocked</th>
            <th scope="col" class="num">Benign blocked</th>
            <th scope="col" class="num">WCU</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (r) =>
              html`<tr>
                <th scope="row">
                  <a href="/console/rules/${r.cveId}">${r.cveId}</a
                  >${r.kev ? html` <span class="badge">KEV</span>` : ''}${r.title ? html`<div class="muted">${r.title}</div>` : ''}
                </th>
                <td>${r.severity ?? 'unknown'}</td>
                <td>${r.engine}</td>
                <td class="num">${r.version}</td>
                <td>${badge('state', r.state)}</td>
                <td>${badge('verdict', r.verdict)}</td>
                <td class="num">${tally(r.exploits)}</td>
                <td class="num">${tally(r.variants)}</td>
                <td class="num">${tally(r.benign)}</td>
                <td class="num">${r.wcu}</td>
              </tr>`,
          )}
        </tbody>
      </table>`,
  );
}

function diffBlock(lines: string[] | null): Html {
  if (!lines) return html`<p class="muted">Too many changes to show as a line diff.</p>`;
  if (lines.length === 0) return html`<p class="muted">No difference.</p>`;
  return html`<pre class="diff" tabindex="0" aria-label="Line diff">
${lines.map((l) =>
      l.startsWith('+')
        ? html`<span class="add">${l}</span>`
        : l.startsWith('-')
          ? html`<span class="del">${l}</span>`
          : html`${l} `,
    )}</pre>`;
}

function traceList(trace: RulePage['matrix'][number]['trace']): Html {
  if (trace.length === 0) return html`<span class="muted">no statement judged</span>`;
  return html`<details>
    <summary>Trace (${trace.length} statements)</summary>
    <ol class="trace">
      ${trace.map(
        (t) =>
          html`<li>
            <code>${t.path}</code> ${t.statement}:
            <strong>${t.verdict}</strong>${t.where ? html` in <code>${t.where}</code>` : ''}${
              t.transformations && t.transformations.length > 0
                ? html` after ${t.transformations.join(' → ')}`
                : ''
            }${t.value !== undefined ? html`, saw <code>${t.value}</code>` : ''}${t.reason ? html` (${t.reason})` : ''}
          </li>`,
      )}
    </ol>
  </details>`;
}

/** `ruleJson`: the rule as {@link highlightJson} gives it. */
export function rulePageView(page: RulePage, viewer: Viewer, ruleJson: string): Html {
  const report = page.report;
  const tests = report.tests ?? {};
  const ex = tests.evidence ?? {};
  const va = tests.variants ?? {};
  const be = tests.benign ?? {};
  const exploits = page.matrix.filter((m) => !m.variantOf);
  const variants = page.matrix.filter((m) => m.variantOf);
  const candidates = report.candidates ?? [];
  const judge = report.judge;
  return layout(
    page.cveId,
    'rules',
    viewer,
    html`<h1>${page.cveId}${page.title ? html`: ${page.title}` : ''}</h1>
      <dl class="facts">
        <dt>Version</dt>
        <dd>
          ${page.version} of ${page.versions.length}
          ${
            page.versions.length > 1
              ? html`(<span>${page.versions.map((v, i) => html`${i > 0 ? ', ' : ''}${v === page.version ? html`<strong>${v}</strong>` : html`<a href="/console/rules/${page.cveId}?version=${v}">${v}</a>`}`)}</span>)`
              : ''
          }
        </dd>
        <dt>Severity</dt>
        <dd>${page.severity ?? 'unknown'}</dd>
        <dt>Engine</dt>
        <dd>${page.engine}</dd>
        <dt>Verdict</dt>
        <dd>${badge('verdict', String(report.verdict ?? 'unknown'))} ${report.summary ?? ''}</dd>
        <dt>Confidence</dt>
        <dd>${String(report.confidence ?? 'unknown')}</dd>
        <dt>State</dt>
        <dd>
          ${badge('state', page.state)}${page.deployed ? html` in ${page.deployed.target.name} (version ${page.deployed.version ?? '?'}) · <a href="/console/deployments">deployments</a>` : ''}
        </dd>
        <dt>Capacity</dt>
        <dd>${report.wcu ?? 0} WCU</dd>
        <dt>Proof</dt>
        <dd>
          ${ex.blocked ?? 0}/${ex.total ?? 0} exploit requests and ${va.blocked ?? 0}/${va.total ?? 0} evasion
          variants blocked; ${be.blocked ?? 0} of ${be.total ?? 0} benign requests blocked
        </dd>
      </dl>

      <h2 id="rule-json">Rule JSON</h2>
      <pre
        aria-labelledby="rule-json"
        tabindex="0"
      ><code class="hljs language-json">${raw(ruleJson)}</code></pre>

      <h2>Lint findings</h2>
      ${
        page.findings.length === 0
          ? html`<p>No findings.</p>`
          : html`<table>
              <caption>
                Schema, API constraints, capacity and the reviewer's lint
              </caption>
              <thead>
                <tr>
                  <th scope="col">Severity</th>
                  <th scope="col">Code</th>
                  <th scope="col">Where</th>
                  <th scope="col">Finding</th>
                </tr>
              </thead>
              <tbody>
                ${page.findings.map(
                  (f) =>
                    html`<tr>
                      <td>${f.severity}</td>
                      <td><code>${f.code}</code></td>
                      <td><code>${f.path}</code></td>
                      <td>${f.message}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }

      <h2 id="matrix">Test matrix</h2>
      ${page.matrixError ? html`<p class="notice error">The matrix could not be run: ${page.matrixError}</p>` : ''}
      ${
        page.matrix.length === 0 && !page.matrixError
          ? html`<p>No exploit request is stored for this CVE, so the rule is not shown to block one.</p>`
          : html`<table id="matrix-table">
              <caption>
                Each exploit request and evasion variant, run now through the local evaluator:
                ${exploits.filter((m) => m.blocked).length}/${exploits.length} exploits and
                ${variants.filter((m) => m.blocked).length}/${variants.length} variants blocked
              </caption>
              <thead>
                <tr>
                  <th scope="col">Request</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Result</th>
                  <th scope="col">Which statement matched which field, after which transforms</th>
                </tr>
              </thead>
              <tbody>
                ${page.matrix.map(
                  (m) =>
                    html`<tr>
                      <th scope="row"><code>${m.id}</code></th>
                      <td>
                        ${m.variantOf ? html`variant (${m.technique ?? '?'}) of <code>${m.variantOf}</code>` : 'exploit'}
                      </td>
                      <td class="${m.blocked ? 'yes' : 'no'}">
                        ${m.blocked ? 'blocked' : 'not blocked'} (${m.action})
                      </td>
                      <td>${traceList(m.trace)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
      <p>
        Benign traffic: ${be.total ?? 0} requests tested at generation, ${be.blocked ?? 0}
        blocked${
          (be.falsePositives ?? []).length > 0
            ? html`:
              ${(be.falsePositives ?? []).map((f, i) => html`${i > 0 ? ', ' : ''}<code>${String(f.id ?? '?')}</code>`)}`
            : ''
        }.
      </p>

      <h2>Changes</h2>
      ${
        page.diffs.length === 0
          ? html`<p>This is the only version, and no other version is deployed.</p>`
          : page.diffs.map(
              (d) =>
                html`<h3>Against ${d.against}</h3>
                  ${diffBlock(d.lines)}`,
            )
      }
      ${
        candidates.length > 0 || judge
          ? html`<h2>Candidates and judge</h2>
              ${
                candidates.length > 0
                  ? html`<table>
                      <caption>
                        Every candidate checked
                      </caption>
                      <thead>
                        <tr>
                          <th scope="col">Attempt</th>
                          <th scope="col">Strategy</th>
                          <th scope="col">Verdict</th>
                          <th scope="col" class="num">Exploits</th>
                          <th scope="col" class="num">Variants</th>
                          <th scope="col" class="num">Benign blocked</th>
                          <th scope="col" class="num">WCU</th>
                          <th scope="col">Chosen</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${candidates.map(
                          (cand) =>
                            html`<tr>
                              <td>
                                ${String(cand.attempt ?? '')}${cand.round ? ` (${String(cand.round)})` : ''}
                              </td>
                              <td>
                                ${String(cand.strategy ?? '')}${cand.model ? html` <span class="muted">${String(cand.provider ?? '')}:${String(cand.model)}</span>` : ''}
                              </td>
                              <td>${String(cand.verdict ?? '')}</td>
                              <td class="num">
                                ${String(cand.exploitsBlocked ?? 0)}/${String(cand.exploits ?? 0)}
                              </td>
                              <td class="num">
                                ${String(cand.variantsBlocked ?? 0)}/${String(cand.variants ?? 0)}
                              </td>
                              <td class="num">${String(cand.benignBlocked ?? 0)}</td>
                              <td class="num">${String(cand.wcu ?? '')}</td>
                              <td>${cand.chosen ? 'yes' : ''}</td>
                            </tr>`,
                        )}
                      </tbody>
                    </table>`
                  : ''
              }
              ${
                judge
                  ? html`<dl class="facts">
                      ${Object.entries(judge)
                        .filter(([, v]) => v === null || typeof v !== 'object')
                        .map(
                          ([k, v]) =>
                            html`<dt>${k}</dt>
                              <dd>${String(v)}</dd>`,
                        )}
                    </dl>`
                  : ''
              }`
          : ''
      }`,
  );
}

function minutesSince(iso: string | undefined, now: Date): number | undefined {
  if (!iso) return undefined;
  return Math.max(0, Math.floor((now.getTime() - new Date(iso).getTime()) / 60_000));
}

function soakCell(d: Deployment, status: SoakStatus | undefined, now: Date): Html | string {
  if (d.action === 'Block') return 'blocking';
  if (d.action !== 'Count') return '';
  const minutes = minutesSince(d.countSince, now);
  const since = minutes !== undefined ? html`in Count for ${minutes} min` : html`in Count`;
  if (!status) return since;
  if ('error' in status)
    return html`${since}; <span class="muted">sampled requests unavailable: ${status.error}</span>`;
  if (!status.sampling) return html`${since}; sampling is off, so AWS keeps no sample to count`;
  return html`${since}; <strong>${status.matches}</strong> sampled request${status.matches === 1 ? '' : 's'}
    matched (would have been blocked) of ~${status.population} sampled since ${status.window.start}`;
}

export function deploymentsPage(
  list: Deployment[],
  viewer: Viewer,
  soaks: ReadonlyMap<string, SoakStatus | undefined> = new Map(),
  now = new Date(),
): Html {
  return layout(
    'Deployments',
    'deployments',
    viewer,
    html`<h1>Deployments</h1>
      <p>
        Rules wafgen deployed into AWS WAF. A rule goes in with action Count; promote it to Block once its
        soak period shows no unexpected matches, or roll it back one
        version.${viewer.canDeploy ? '' : html` <strong>Read-only:</strong> your credential lacks the <code>rules:deploy</code> scope.`}
      </p>
      ${
        list.length === 0
          ? html`<p>
              Nothing deployed yet. <code>wafgen deploy CVE-… --web-acl NAME</code> or
              <code>POST /v1/deployments</code> puts a rule in Count mode.
            </p>`
          : html`<table id="deployments-table">
              <caption>
                Each rule in each web ACL or rule group, as wafgen's deployment records say
              </caption>
              <thead>
                <tr>
                  <th scope="col">Rule</th>
                  <th scope="col">Target</th>
                  <th scope="col">Mode</th>
                  <th scope="col" class="num">Version</th>
                  <th scope="col">Soak</th>
                  <th scope="col">Last step</th>
                  ${viewer.canDeploy ? html`<th scope="col">Actions</th>` : ''}
                </tr>
              </thead>
              <tbody>
                ${list.map((d) => {
                  return html`<tr>
                    <th scope="row">
                      ${d.cveId ? html`<a href="/console/rules/${d.cveId}">${d.ruleName}</a>` : d.ruleName}
                    </th>
                    <td>
                      ${d.target.kind === 'web-acl' ? 'web ACL' : 'rule group'} ${d.target.name}
                      <div class="muted">
                        ${d.target.scope}${d.target.region ? `, ${d.target.region}` : ''}
                      </div>
                    </td>
                    <td>
                      ${d.removed ? badge('state', 'removed') : badge('state', d.action === 'Block' ? 'block' : 'count')}
                    </td>
                    <td class="num">${d.version ?? ''}</td>
                    <td>${soakCell(d, soaks.get(d.id), now)}</td>
                    <td>
                      ${d.operation} by ${d.principal ?? '?'}
                      <div class="muted">${d.at}</div>
                    </td>
                    ${
                      viewer.canDeploy
                        ? html`<td>
                            <div class="actions">
                              ${
                                !d.removed && d.action === 'Count'
                                  ? html`<form method="post" action="/console/deployments/${d.id}/promote">
                                      <input type="hidden" name="csrf" value="${viewer.csrf}" /><button
                                        type="submit"
                                        aria-label="Promote ${d.ruleName} in ${d.target.name} to Block"
                                      >
                                        Promote to Block
                                      </button>
                                    </form>`
                                  : ''
                              }${
                                !d.removed
                                  ? html`<form method="post" action="/console/deployments/${d.id}/rollback">
                                      <input type="hidden" name="csrf" value="${viewer.csrf}" /><button
                                        type="submit"
                                        class="danger"
                                        aria-label="Roll back ${d.ruleName} in ${d.target.name}"
                                      >
                                        Roll back
                                      </button>
                                    </form>`
                                  : ''
                              }
                            </div>
                          </td>`
                        : ''
                    }
                  </tr>`;
                })}
              </tbody>
            </table>`
      }`,
  );
}

const STEP_WORDS = {
  promote: {
    title: 'Promote to Block',
    explain: 'The rule will block the requests it matches instead of counting them.',
  },
  rollback: {
    title: 'Roll back',
    explain:
      'The previous stored version goes back in (Block if it had been promoted here, else Count); with no earlier version the rule is removed.',
  },
} as const;

/** The confirmation step before a promote or rollback (works without script). */
export function confirmPage(kind: 'promote' | 'rollback', d: Deployment, viewer: Viewer): Html {
  const words = STEP_WORDS[kind];
  return layout(
    words.title,
    'deployments',
    viewer,
    html`<h1>${words.title}: ${d.ruleName}</h1>
      <p>
        ${words.explain} Target: ${d.target.kind === 'web-acl' ? 'web ACL' : 'rule group'}
        <strong>${d.target.name}</strong> (${d.target.scope}${d.target.region ? `, ${d.target.region}` : ''});
        now ${d.action ?? 'removed'}, version ${d.version ?? '?'}. The step is recorded in the audit trail
        under your name.
      </p>
      <form method="post" action="/console/deployments/${d.id}/${kind}" class="stack">
        <input type="hidden" name="csrf" value="${viewer.csrf}" />
        <input type="hidden" name="confirm" value="yes" />
        ${
          kind === 'promote' && d.target.kind === 'web-acl'
            ? html`<label for="soak"
                >Soak check: promote only if in Count at least this many minutes with no sampled match (empty:
                no check)
                <input id="soak" name="soakMinutes" type="number" min="1" max="180" inputmode="numeric"
              /></label>`
            : ''
        }
        <p class="actions">
          <button type="submit" ${kind === 'rollback' ? raw('class="danger"') : ''}>
            Confirm: ${words.title.toLowerCase()}
          </button>
          <a class="button secondary" href="/console/deployments">Cancel</a>
        </p>
      </form>`,
  );
}

export function stepResultPage(
  view: DeploymentView | undefined,
  error: string | undefined,
  viewer: Viewer,
): Html {
  return layout(
    error ? 'Refused' : 'Done',
    'deployments',
    viewer,
    html`<h1>${error ? 'The step was refused' : 'Done'}</h1>
      ${error ? html`<p class="notice error" role="alert">${error}</p>` : html`<p class="notice" role="status">${view?.summary ?? ''}</p>`}
      ${
        view
          ? html`<h2>Change</h2>
              <pre tabindex="0" aria-label="The change">${view.plan}</pre>`
          : ''
      }
      <p><a href="/console/deployments">Back to deployments</a></p>`,
  );
}

export function jobsPage(o: JobsOverview, viewer: Viewer): Html {
  return layout(
    'Jobs',
    'jobs',
    viewer,
    html`<h1>Jobs</h1>
      <h2>Queue</h2>
      <dl class="facts">
        <dt>Backend</dt>
        <dd>${o.queue.kind} (${o.queue.up ? 'answering' : 'not answering'})</dd>
        ${
          o.queue.counts
            ? Object.entries(o.queue.counts).map(
                ([k, v]) =>
                  html`<dt>${k}</dt>
                    <dd>${v}</dd>`,
              )
            : ''
        }
      </dl>
      <h2>Batches</h2>
      ${
        o.batches.length === 0
          ? html`<p>No jobs yet.</p>`
          : html`<table>
              <caption>
                Progress by source, over the newest ${o.jobs.length} jobs
              </caption>
              <thead>
                <tr>
                  <th scope="col">Source</th>
                  <th scope="col">Progress</th>
                  <th scope="col" class="num">Done</th>
                  <th scope="col" class="num">Failed</th>
                  <th scope="col" class="num">All</th>
                </tr>
              </thead>
              <tbody>
                ${o.batches.map(
                  (b) =>
                    html`<tr>
                      <th scope="row">${b.source}</th>
                      <td>
                        <progress
                          max="${b.total}"
                          value="${b.done + b.failed}"
                          aria-label="${b.source}: ${b.done + b.failed} of ${b.total} finished"
                        >
                          ${b.done + b.failed}/${b.total}
                        </progress>
                      </td>
                      <td class="num">${b.done}</td>
                      <td class="num">${b.failed}</td>
                      <td class="num">${b.total}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
      <h2>Newest jobs</h2>
      ${
        o.jobs.length === 0
          ? html`<p>No jobs.</p>`
          : html`<table>
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">CVE</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Attempts</th>
                  <th scope="col">Updated</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                ${o.jobs.map(
                  (j) =>
                    html`<tr>
                      <th scope="row"><code>${j.id}</code></th>
                      <td>${j.cveId ? html`<a href="/console/rules/${j.cveId}">${j.cveId}</a>` : ''}</td>
                      <td>${j.status}</td>
                      <td class="num">${j.attempts}</td>
                      <td>${j.updatedAt}</td>
                      <td>${j.error ?? ''}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }`,
  );
}
