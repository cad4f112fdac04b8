// Generalisation: a rule learned from one exploit request must stop the next exploit of the same
// vulnerability or class — another object id, another host, another spelling of the path, another
// gadget or template family — and let ordinary traffic through. Every request tested here is one the
// learning step did not see, written for this test (not taken from the benchmark corpus).
import { beforeAll, describe, expect, it } from 'vitest';

import { compileDocument, isCaught } from '../../src/evaluator/index.js';
import { loadBenignSample } from '../../src/generation/benign.js';
import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import { mergeFacts } from '../../src/generation/facts.js';
import { runGeneration } from '../../src/generation/loop.js';
import { buildRequest, type HttpRequest, type RequestInit } from '../../src/requests/model.js';
import type { Rule } from '../../src/waf/model/shapes.generated.js';
import { VulnRecordSchema, type VulnRecordInput } from '../../src/vulns/model.js';

let benign: HttpRequest[];
beforeAll(async () => {
  benign = await loadBenignSample();
});

const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const req = (
  id: string,
  init: Partial<RequestInit> & { uri: string },
  host = 'target.example',
): HttpRequest =>
  buildRequest({
    id,
    method: 'GET',
    headers: [['Host', host], ['User-Agent', UA], ...(init.headers ?? [])],
    expect: 'block',
    ...init,
    ...(init.headers ? { headers: [['Host', host], ['User-Agent', UA], ...init.headers] } : {}),
  });
const record = (over: Partial<VulnRecordInput>) =>
  VulnRecordSchema.parse({
    id: 'CVE-2099-0042',
    source: 'test',
    fetchedAt: new Date(0).toISOString(),
    ...over,
  });

async function learn(rec: ReturnType<typeof record>, train: HttpRequest[]): Promise<Rule> {
  const { rule } = await runGeneration(
    { record: rec, exploits: train, facts: mergeFacts(rec), benign, evidenceSources: [] },
    new BuiltinEngine(),
  );
  return rule;
}
const blocks = (rule: Rule, r: HttpRequest) =>
  isCaught('rule', compileDocument({ kind: 'rule', rule }, { trace: false }).evaluate(r));

describe('rules generalise beyond the sample they learned from', () => {
  it('1. never requires instance noise: object ids, hosts, session values', async () => {
    const rec = record({
      description: 'Path traversal in the project export handler lets attackers read files.',
    });
    const rule = await learn(rec, [
      req('train', {
        uri: '/api/projects/7731/export?file=../../../../etc/passwd',
        headers: [['Cookie', 'session=9b1f2c77aa01']],
        class: 'path-traversal',
      }),
    ]);
    const text = JSON.stringify(rule).toLowerCase();
    for (const noise of ['7731', 'target.example', '9b1f2c77aa01']) expect(text).not.toContain(noise);
    const next = req(
      'next',
      { uri: '/api/projects/1204/export?file=..%2f..%2f..%2fetc%2fshadow' },
      'shop.example.org',
    );
    expect(blocks(rule, next)).toBe(true);
  });

  it('2/4. a payload-less bypass is stopped under every spelling of its endpoint', async () => {
    const rec = record({
      description: 'An authentication bypass lets unauthenticated users call the configuration export.',
      cwes: ['CWE-288'],
    });
    const rule = await learn(rec, [req('train', { uri: '/admin/api/config/export', class: 'auth-bypass' })]);
    const spellings = [
      '/ADMIN/Api/Config/Export', // mixed case
      '/admin//api/./config/export', // repeated slashes and dot segments
      '/admin;jsessionid=x/api/config/export', // path parameter
      '/admin/api;x=y/config/export',
      '/admin%5capi%5cconfig%5cexport', // backslashes
      '/admin/%2561pi/config/export', // double URL encoding
      '/static/..;/admin/api/config/export', // Tomcat `..;/`
    ];
    for (const uri of spellings)
      expect({ uri, blocked: blocks(rule, req(uri, { uri })) }).toEqual({ uri, blocked: true });
    expect(blocks(rule, req('other', { uri: '/admin/api/config/list', expect: 'allow' }))).toBe(false);
  });

  it('2. scopes to a route given as a query parameter, not to the bare path it shares with everything', async () => {
    const rec = record({
      description: 'SQL injection in the markers REST route of a WordPress plugin.',
      cwes: ['CWE-89'],
    });
    const rule = await learn(rec, [
      req('train', {
        uri: '/?rest_route=/mapsplug/v1/markers&filter=%7B%7D&fields=*%20from%20wp_users%20union%20select%20user_pass--',
        class: 'sqli',
      }),
    ]);
    expect(JSON.stringify(rule)).toContain('rest_route=/mapsplug/v1/markers');
    const next = req('next', {
      uri: '/?fields=id%2Cname%20UNION%20ALL%20SELECT%20user_login%2Cuser_pass%20FROM%20wp_users--&rest_route=/mapsplug/v1/markers',
    });
    expect(blocks(rule, next)).toBe(true);
    // The same SQL words through another route of the site are not this vulnerability.
    expect(
      blocks(rule, req('other', { uri: '/?rest_route=/wp/v2/posts&search=union%20select', expect: 'allow' })),
    ).toBe(false);
  });

  it('3. covers the other gadget families of a deserialization bug, not only the sample', async () => {
    const rec = record({
      description: 'Insecure deserialization of XML in the REST plugin.',
      cwes: ['CWE-502'],
    });
    const xml = (body: string) => ({
      method: 'POST',
      headers: [['Content-Type', 'application/xml']] as [string, string][],
      body,
    });
    const rule = await learn(rec, [
      req('train', {
        uri: '/orders/3',
        ...xml(
          '<map><entry><jdk.nashorn.internal.objects.NativeString><value class="java.lang.ProcessBuilder"><command><string>id</string></command></value></jdk.nashorn.internal.objects.NativeString></entry></map>',
        ),
        class: 'deserialization',
      }),
    ]);
    const families = [
      '<java version="1.8" class="java.beans.XMLDecoder"><object class="java.lang.ProcessBuilder"><array class="java.lang.String" length="1"><void index="0"><string>id</string></void></array></object></java>',
      '<sorted-set><dynamic-proxy><interface>java.lang.Comparable</interface><handler class="java.beans.EventHandler"><target class="java.lang.ProcessBuilder"/></handler></dynamic-proxy></sorted-set>',
      'rO0ABXNyABdqYXZhLnV0aWwuUHJpb3JpdHlRdWV1ZZTaMLT7P4KxAwACSQAEc2l6ZQ==',
    ];
    for (const [i, body] of families.entries())
      expect({ i, blocked: blocks(rule, req(`family-${i}`, { uri: '/orders/9', ...xml(body) })) }).toEqual({
        i,
        blocked: true,
      });
  });

  it('3. covers other template syntaxes than the sample for template injection', async () => {
    const rec = record({
      description: 'Server-side template injection in the preview endpoint.',
      cwes: ['CWE-1336'],
    });
    const rule = await learn(rec, [req('train', { uri: '/preview?name={{7*7}}', class: 'ssti' })]);
    for (const payload of [
      '<#assign ex="freemarker.template.utility.Execute"?new()>${ex("id")}',
      "{{''.__class__.__mro__[1].__subclasses__()}}",
      "${''.getClass().forName('java.lang.Runtime').getRuntime().exec('id')}",
    ])
      expect({
        payload,
        blocked: blocks(rule, req('next', { uri: `/preview?name=${encodeURIComponent(payload)}` })),
      }).toEqual({
        payload,
        blocked: true,
      });
  });

  it('5. description mode has rules for auth bypass, code injection and SSRF, and picks the expression language from the product', async () => {
    const bypass = await learn(
      record({
        title: 'Appliance - Authentication Bypass',
        description:
          'An authentication bypass using an alternate path or channel lets an attacker use the administrative interface.',
      }),
      [],
    );
    expect(
      blocks(
        bypass,
        req('a', {
          uri: '/api/v2/cmdb/system/admin',
          headers: [['Forwarded', 'for="[127.0.0.1]:8000";by="[127.0.0.1]:9000"']],
        }),
      ),
    ).toBe(true);
    expect(blocks(bypass, req('b', { uri: '/./RestAPI/LicenseMgr' }))).toBe(true);

    const code = await learn(
      record({
        title: 'CI server - Remote Code Execution',
        description: 'Groovy script code injection through a crafted URL.',
        cwes: ['CWE-94'],
      }),
      [],
    );
    expect(
      blocks(
        code,
        req('c', {
          uri: "/descriptorByName/x/checkScriptCompile?value=@GrabConfig(disableChecksums=true)%0a@Grab(group='x',module='y',version='1')",
        }),
      ),
    ).toBe(true);

    const ssrf = await learn(
      record({
        title: 'Operations Manager API - Server-Side Request Forgery',
        description: 'The API is susceptible to server-side request forgery.',
        cwes: ['CWE-918'],
      }),
      [],
    );
    expect(
      blocks(
        ssrf,
        req('d', {
          uri: '/casa/nodes/thumbprints',
          method: 'POST',
          headers: [['Content-Type', 'application/json']],
          body: '["127.0.0.1:443/ui/"]',
        }),
      ),
    ).toBe(true);

    const spel = await learn(
      record({
        product: 'spring_cloud_function',
        cwes: ['CWE-917'],
        description: 'A crafted routing-expression leads to remote code execution.',
      }),
      [],
    );
    expect(
      blocks(
        spel,
        req('e', {
          uri: '/functionRouter',
          method: 'POST',
          headers: [
            [
              'spring.cloud.function.routing-expression',
              'T(java.net.InetAddress).getByName("x.attacker.example")',
            ],
          ],
        }),
      ),
    ).toBe(true);
  });

  it('6. SQL words in prose and query languages in search boxes are not SQL injection', async () => {
    const rule = await learn(
      record({
        title: 'Plugin - SQL Injection',
        description: 'SQL injection in the orderby parameter of the listing API.',
        cwes: ['CWE-89'],
      }),
      [
        req('train', {
          uri: '/wp-json/listing/v1/items?orderby=id AND (SELECT 1 FROM (SELECT SLEEP(5))x)',
          class: 'sqli',
        }),
      ],
    );
    const ordinary = [
      req('jql', {
        uri: `/rest/api/2/search?jql=${encodeURIComponent('project = OPS AND status in ("In Progress", Open) ORDER BY updated DESC')}`,
        expect: 'allow',
      }),
      req('cql', {
        uri: `/wiki/rest/api/search?cql=${encodeURIComponent('type = page and text ~ "select union" order by lastmodified desc')}`,
        expect: 'allow',
      }),
      req('prose', {
        uri: '/support/tickets',
        method: 'POST',
        headers: [['Content-Type', 'application/x-www-form-urlencoded']],
        body: `message=${encodeURIComponent("Hi, O'Brien here. Please select the union of both lists and drop the old table from the report; 1 or 2 rows is fine.")}`,
        expect: 'allow',
      }),
    ];
    for (const r of ordinary)
      expect({ id: r.id, blocked: blocks(rule, r) }).toEqual({ id: r.id, blocked: false });
    // …and the next injection through the same parameter, spelled differently, is stopped.
    expect(
      blocks(
        rule,
        req('next', {
          uri: '/wp-json/listing/v1/items?orderby=1%20OR%201%3D1%20UNION%20SELECT%20user_pass%20FROM%20wp_users',
        }),
      ),
    ).toBe(true);
  });
});
