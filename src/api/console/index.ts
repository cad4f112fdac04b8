/**
 * @module The review console at /console (issue 17 item 1): rules with their proof, a rule page
 * (JSON, lint, the test matrix with the evaluator's trace, diffs, candidates and judge), the
 * deployments with promote and roll back (confirmed, then run by the same deployments use case as
 * POST /v1/deployments/{id}/promote and /rollback, audited under the signed-in principal), and the
 * jobs. Server-rendered HTML; same authentication, rate limits and scopes as the API (session.ts):
 * `rules:read` to look, `rules:deploy` to change. A strict Content-Security-Policy: scripts, styles
 * and forms from this origin only, nothing inline, no framing.
 */
import type { Context, Env, Hono } from 'hono';
import { csrf } from 'hono/csrf';

import { DeployError, DeploymentNotFoundError, type Service } from '../../app/index.js';
import { InputError } from '../../core/errors.js';
import { jobsOverview, listRuleRows, rulePage, type RuleFilter, type RuleState } from '../../app/review.js';
import { requireScope, type Authenticator, type Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import type { FailedAuth, RateLimit } from '../middleware/guard.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import {
  confirmPage,
  deploymentsPage,
  jobsPage,
  loginPage,
  messagePage,
  highlightJson,
  rulePageView,
  rulesPage,
  stepResultPage,
  type Viewer,
} from './pages.js';
import { consolePrincipal, csrfToken, csrfValid, MAX_CREDENTIAL_CHARS, signIn, signOut } from './session.js';

const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface ConsoleDeps {
  service: Service;
  auth: Authenticator;
  rateLimit: RateLimit;
  failedAuth: FailedAuth;
  trustProxy: boolean;
}

/** Most rules in Count whose sampled requests one deployments page reads. */
const MAX_SOAK_LOOKUPS = 20;
const CVE = /^CVE-\d{4}-\d{4,7}$/i;
const DEPLOYMENT_ID = /^\d{1,18}$/;
const SEVERITIES = new Set(['critical', 'high', 'medium', 'low', 'unknown']);
const STATES = new Set(['draft', 'count', 'block']);
const ENGINES = new Set(['builtin', 'llm']);

const pick = (value: string | undefined, allowed: Set<string>) =>
  value !== undefined && allowed.has(value) ? value : undefined;

function pageHeaders(c: Context): void {
  c.header('Content-Security-Policy', CONSOLE_CSP);
  c.header('Cache-Control', 'no-store');
  c.header('X-Frame-Options', 'DENY');
}

/** Adds /console and its assets to the app. */
export function registerConsole<E extends Env>(app: Hono<E>, deps: ConsoleDeps): void {
  const { service, auth, rateLimit, failedAuth, trustProxy } = deps;

  /** The signed-in viewer with rules:read, or the answer that sends the browser elsewhere. */
  const viewerOf = async (c: Context): Promise<{ viewer: Viewer; principal: Principal } | Response> => {
    pageHeaders(c);
    let principal: Principal | undefined;
    try {
      principal = await consolePrincipal(c, auth);
    } catch (e) {
      // A credential that no longer verifies: counted as a failed authentication, then sign in again.
      await failedAuth(c, e).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 429) throw err;
      });
      signOut(c, trustProxy);
    }
    if (!principal) return c.redirect('/console/login', 303);
    await rateLimit(c, 'default', principal.id);
    try {
      requireScope(principal, 'rules:read');
    } catch {
      return c.html(
        messagePage('Not allowed', 'Your credential lacks the rules:read scope.', undefined),
        403,
      );
    }
    return {
      principal,
      viewer: {
        id: principal.id,
        canDeploy: principal.scopes.has('rules:deploy'),
        signedIn: principal.kind !== 'anonymous',
        csrf: csrfToken(c, trustProxy),
      },
    };
  };

  // Static assets: public (no secret in them), cacheable.
  app.get('/console/assets/console.css', (c) => {
    c.header('Content-Type', 'text/css; charset=utf-8');
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(CONSOLE_CSS);
  });
  app.get('/console/assets/console.js', (c) => {
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(CONSOLE_JS);
  });

  // A POST from another site is refused outright (its Origin header says so), before any handler.
  app.post('/console/*', csrf());

  app.get('/console/login', (c) => {
    pageHeaders(c);
    return c.html(loginPage());
  });

  app.post('/console/login', async (c) => {
    pageHeaders(c);
    const form = await c.req.parseBody();
    const credential = typeof form.credential === 'string' ? form.credential.trim() : '';
    if (!credential || credential.length > MAX_CREDENTIAL_CHARS)
      return c.html(loginPage('Paste an API key or a bearer token.'), 400);
    let principal: Principal;
    try {
      principal = await signIn(c, auth, credential, trustProxy);
    } catch (e) {
      const err = await failedAuth(c, e).catch((x: unknown) => x);
      if (err instanceof ApiError && err.status === 429) throw err;
      if (err instanceof ApiError && err.status === 401)
        return c.html(loginPage('That credential was not accepted.'), 401);
      throw err;
    }
    if (!principal.scopes.has('rules:read')) {
      signOut(c, trustProxy);
      return c.html(loginPage('That credential lacks the rules:read scope the console needs.'), 403);
    }
    return c.redirect('/console', 303);
  });

  app.post('/console/logout', async (c) => {
    pageHeaders(c);
    const form = await c.req.parseBody();
    if (!csrfValid(c, form.csrf))
      return c.html(messagePage('Refused', 'The form was stale; reload and try again.', undefined), 403);
    signOut(c, trustProxy);
    return c.redirect('/console/login', 303);
  });

  app.get('/console', async (c) => {
    const who = await viewerOf(c);
    if (who instanceof Response) return who;
    const q = c.req.query();
    const search = q.search?.trim().slice(0, 200) || undefined;
    const filter: RuleFilter = {
      ...(search ? { search } : {}),
      ...(pick(q.severity, SEVERITIES) ? { severity: q.severity as RuleFilter['severity'] } : {}),
      ...(pick(q.state, STATES) ? { state: q.state as RuleState } : {}),
      ...(pick(q.engine, ENGINES) ? { engine: q.engine! } : {}),
    };
    const rows = await listRuleRows(service.store, await service.deployments.list(), filter);
    return c.html(
      rulesPage(
        rows,
        {
          ...(search ? { search } : {}),
          ...(filter.severity ? { severity: filter.severity } : {}),
          ...(filter.state ? { state: filter.state } : {}),
          ...(filter.engine ? { engine: filter.engine } : {}),
        },
        who.viewer,
      ),
    );
  });

  app.get('/console/rules/:cveId', async (c) => {
    const who = await viewerOf(c);
    if (who instanceof Response) return who;
    const cveId = c.req.param('cveId');
    const v = c.req.query('version');
    const version = v !== undefined && /^\d{1,7}$/.test(v) ? Number(v) : undefined;
    const page = CVE.test(cveId)
      ? await rulePage(service.store, await service.deployments.list(), cveId, version)
      : undefined;
    if (!page)
      return c.html(messagePage('Not found', `No stored rule for ${cveId.slice(0, 40)}.`, who.viewer), 404);
    return c.html(rulePageView(page, who.viewer, await highlightJson(page.rule)));
  });

  app.get('/console/deployments', async (c) => {
    const who = await viewerOf(c);
    if (who instanceof Response) return who;
    const list = await service.deployments.list();
    // Soak status from AWS's sampled requests, for the first rules in Count (one GetWebACL and one
    // GetSampledRequests each).
    const counted = list.filter((d) => d.action === 'Count' && !d.removed).slice(0, MAX_SOAK_LOOKUPS);
    const statuses = await Promise.all(counted.map((d) => service.deployments.soakStatus(d)));
    const soaks = new Map(counted.map((d, i) => [d.id, statuses[i]]));
    return c.html(deploymentsPage(list, who.viewer, soaks));
  });

  for (const kind of ['promote', 'rollback'] as const) {
    app.post(`/console/deployments/:id/${kind}`, async (c) => {
      const who = await viewerOf(c);
      if (who instanceof Response) return who;
      const form = await c.req.parseBody();
      if (!csrfValid(c, form.csrf))
        return c.html(messagePage('Refused', 'The form was stale; reload and try again.', who.viewer), 403);
      if (!who.viewer.canDeploy)
        return c.html(messagePage('Not allowed', 'This needs the rules:deploy scope.', who.viewer), 403);
      const id = c.req.param('id');
      const d = DEPLOYMENT_ID.test(id) ? await service.deployments.get(id) : undefined;
      if (!d) return c.html(messagePage('Not found', 'No such deployment.', who.viewer), 404);
      // First the confirmation page; the step runs only when that page's form comes back.
      if (form.confirm !== 'yes') return c.html(confirmPage(kind, d, who.viewer));
      const soakRaw = typeof form.soakMinutes === 'string' ? form.soakMinutes.trim() : '';
      const soak = /^\d{1,3}$/.test(soakRaw) ? Number(soakRaw) : undefined;
      const ctx = { principal: who.principal.id, requestId: c.get('requestId' as never) as string };
      try {
        const result =
          kind === 'promote'
            ? await service.deployments.promoteById(id, soak !== undefined ? { soakMinutes: soak } : {}, ctx)
            : await service.deployments.rollbackById(id, ctx);
        return c.html(stepResultPage(await service.deployments.present(result), undefined, who.viewer));
      } catch (e) {
        if (e instanceof DeployError || e instanceof DeploymentNotFoundError || e instanceof InputError)
          return c.html(stepResultPage(undefined, (e as Error).message, who.viewer), 409);
        throw e;
      }
    });
  }

  app.get('/console/jobs', async (c) => {
    const who = await viewerOf(c);
    if (who instanceof Response) return who;
    return c.html(jobsPage(await jobsOverview(service.store, service.queue), who.viewer));
  });
}
