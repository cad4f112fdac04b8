// Known exploit syntaxes per attack class: what the heuristic extractor looks for in advisories and proofs of
// concept. Each entry reports a canonical literal (what a rule can match, after the usual lowercase / URL-decode
// transformations) rather than the whole payload. Entries are tried in order and a match that overlaps an
// earlier entry's match in the same text by more than one character is skipped, so `' OR 1=1` is not also
// reported as `OR 1=1`, and the `file:` of `SYSTEM "file:///...` is not also reported as an SSRF `file:///`
// (sharing one boundary character is allowed: `../` followed by `/etc/passwd` reports both).
//
// Weights feed the attack-class vote: 3 for syntax that only that class uses, 2 for strong hints, 1 for
// targets shared by several classes (/etc/passwd, file:///, alert().

import type { AttackClass } from '../vulns/model.js';

export interface PayloadPattern {
  attackClass: AttackClass;
  /** Global regex; case-insensitive unless the syntax is case-sensitive. */
  pattern: RegExp;
  /** The literal to report: fixed, or computed from the match. */
  token: string | ((m: RegExpExecArray) => string);
  weight: 1 | 2 | 3;
  /** Only look inside exploit requests (bodies, targets, header values), not in prose or other code. */
  requestOnly?: boolean;
}

const collapse = (m: RegExpExecArray): string => m[0].replace(/\s+/g, ' ');
const lower = (m: RegExpExecArray): string => m[0].replace(/\s+/g, ' ').toLowerCase();
const noSpace = (m: RegExpExecArray): string => m[0].replace(/\s+/g, '');

const p = (
  attackClass: AttackClass,
  pattern: RegExp,
  token: PayloadPattern['token'],
  weight: PayloadPattern['weight'] = 3,
  requestOnly = false,
): PayloadPattern => ({ attackClass, pattern, token, weight, ...(requestOnly ? { requestOnly } : {}) });

export const PAYLOAD_PATTERNS: readonly PayloadPattern[] = [
  // --- JNDI lookups (Log4Shell and relatives)
  p('jndi-injection', /\$\{\s*jndi\s*:/gi, '${jndi:'),
  p('jndi-injection', /\$\{\s*::-/g, '${::-'),
  p(
    'jndi-injection',
    /\$\{\s*(lower|upper|env|sys|date|main|ctx|bundle|k8s|docker|spring|web)\s*:/gi,
    (m) => `\${${m[1]!.toLowerCase()}:`,
  ),
  p('jndi-injection', /\/jndi\/(ldap|ldaps|rmi|iiop|corba|dns):\/\//gi, lower),

  // --- Expression languages (OGNL, SpEL, EL, MVEL)
  p('expression-injection', /%\{\s*\(\s*#/g, '%{(#'),
  p('expression-injection', /%\{\s*#/g, '%{#'),
  p('expression-injection', /\$\{\s*\(\s*#/g, '${(#'),
  p('expression-injection', /\$\{\s*#(?=[a-z_])/gi, '${#'),
  p('expression-injection', /#_memberAccess/g, '#_memberAccess'),
  p('expression-injection', /@ognl\.OgnlContext@/gi, '@ognl.OgnlContext@'),
  p('expression-injection', /#context\s*\[/g, '#context['),
  p('expression-injection', /\bT\s*\(\s*java\.lang\.(Runtime|ProcessBuilder|System)\s*\)/g, noSpace),
  p('expression-injection', /\.getClass\(\)\.forName\(/g, '.getClass().forName('),
  p('expression-injection', /%\{\s*\d+\s*\*\s*\d+\s*\}/g, noSpace),
  p('expression-injection', /#\{\s*\d+\s*\*\s*\d+\s*\}/g, noSpace),

  // --- Server-side template injection
  p('ssti', /\{\{\s*\d+\s*\*\s*['"]?\d+['"]?\s*\}\}/g, noSpace),
  p('ssti', /\$\{\s*\d+\s*\*\s*\d+\s*\}/g, noSpace),
  p('ssti', /<%=\s*\d+\s*\*\s*\d+\s*%>/g, collapse),
  p('ssti', /\*\{\s*\d+\s*\*\s*\d+\s*\}/g, noSpace),
  p(
    'ssti',
    /\{\{\s*(config|self|request|lipsum|cycler|joiner|namespace|url_for|get_flashed_messages)\b/g,
    (m) => `{{${m[1]!}`,
  ),
  // Python object-model walks, only inside a {{ }} or {% %} expression (the lookbehind keeps the match short).
  p('ssti', /(?<=\{[{%][^{}\n]{0,120})__(class|mro|subclasses|globals|builtins)__/g, (m) => m[0]),
  p('ssti', /freemarker\.template\.utility\.Execute/g, 'freemarker.template.utility.Execute'),
  p('ssti', /#set\s*\(\s*\$/g, '#set($'),
  p('ssti', /process\.mainModule\.require/g, 'process.mainModule.require'),

  // --- Cross-site scripting (AngularJS sandbox escapes first: they also look like templates)
  p('xss', /\{\{\s*constructor\.constructor\s*\(/g, '{{constructor.constructor('),
  p('xss', /<script[\s>/]/gi, '<script'),
  p('xss', /\bjavascript\s*:(?=\s*[a-z(/])/gi, 'javascript:', 2),
  p(
    'xss',
    /\bon(error|load|mouseover|focus|click|toggle|begin|animationstart|pageshow|pointerover)\s*=/gi,
    (m) => `on${m[1]!.toLowerCase()}=`,
  ),
  p('xss', /<svg[\s/>]/gi, '<svg', 2),
  p('xss', /<iframe[\s/>]/gi, '<iframe', 2),
  p('xss', /<img[\s/][^<>\n]{0,60}?\bsrc\s*=/gi, '<img', 1),
  p('xss', /(?<![.\w])alert\s*\(/g, 'alert(', 1),
  p('xss', /\bdocument\.(cookie|domain)\b/g, (m) => `document.${m[1]!}`, 1),

  // --- SQL injection
  p(
    'sqli',
    /'\s*(or|and)\s+'?(\d+)'?\s*=\s*'?(\d+)\b/gi,
    (m) => `' ${m[1]!.toUpperCase()} ${m[2]!}=${m[3]!}`,
  ),
  p(
    'sqli',
    /'\s*(or|and)\s+'(\w{1,10})'\s*=\s*'(\w{1,10})/gi,
    (m) => `' ${m[1]!.toUpperCase()} '${m[2]!}'='${m[3]!}`,
  ),
  p(
    'sqli',
    /"\s*(or|and)\s+"?(\d+)"?\s*=\s*"?(\d+)\b/gi,
    (m) => `" ${m[1]!.toUpperCase()} ${m[2]!}=${m[3]!}`,
  ),
  p('sqli', /\bunion\s+(all\s+)?select\b/gi, (m) => (m[1] ? 'UNION ALL SELECT' : 'UNION SELECT')),
  p(
    'sqli',
    /(?<![.\w])(sleep|benchmark|pg_sleep|extractvalue|updatexml|load_file)\s*\(/gi,
    (m) => `${m[1]!.toLowerCase()}(`,
  ),
  p('sqli', /\bwaitfor\s+delay\b/gi, 'WAITFOR DELAY'),
  p('sqli', /\binformation_schema\b/gi, 'information_schema', 2),
  p('sqli', /@@version\b/gi, '@@version', 2),
  p(
    'sqli',
    /'\s*;\s*(drop|insert|update|delete|exec|select|shutdown)\b/gi,
    (m) => `'; ${m[1]!.toUpperCase()}`,
  ),
  p('sqli', /\b(and|or)\s+(\d+)\s*=\s*(\d+)\b/gi, (m) => `${m[1]!.toUpperCase()} ${m[2]!}=${m[3]!}`, 2),
  p('sqli', /\border\s+by\s+\d+\s*(--|#)/gi, collapse, 2),
  p('sqli', /'\s*(--|#)(?=[\s\-'"]|$)/gm, (m) => `'${m[1]!}`, 2),

  // --- OS command injection: a separator, then a command an attacker runs to prove execution
  // `;` and `|` must touch the command ("; id" is prose, "| id |" a Markdown table); a backtick pair only
  // counts inside requests (Markdown uses backticks for inline code).
  p(
    'command-injection',
    /(?:(\|\||&&|\$\()\s*|([;|]))(id|whoami|uname(?:\s+-a)?|cat\s+\/etc\/passwd|ifconfig|ipconfig|nslookup|ping|wget|curl|nc|ncat|sleep\s+\d+|busybox|rev)(?=$|[\s;|&`)'"+<>])/gm,
    (m) => `${m[1] ?? m[2]!}${m[3]!.replace(/\s+/g, ' ')}`,
  ),
  p('command-injection', /`(id|whoami|uname(?: -a)?|cat \/etc\/passwd)`/g, (m) => m[0], 3, true),
  p('command-injection', /\$\{IFS\}/g, '${IFS}'),
  p('command-injection', /\/bin\/(ba)?sh\b/g, (m) => m[0], 2, true),
  p('command-injection', /\bnc(?:at)?\s+-[ec]\s/g, (m) => m[0].trim()),
  p('command-injection', /\bbash\s+-i\s*>&/g, 'bash -i >&'),
  p('command-injection', /\bpowershell(?:\.exe)?\s+-(?:enc|e|c|nop|w)\b/gi, lower, 2),
  p('command-injection', /\bcmd(?:\.exe)?\s+\/c\b/gi, lower, 2),

  // --- Path traversal and file inclusion
  p('path-traversal', /\.\.;\//g, '..;/'),
  p('path-traversal', /\.\.\.\.\/\//g, '....//'),
  p('path-traversal', /%252e%252e%252f|\.\.%252f/gi, lower),
  p('path-traversal', /%2e%2e(%2f|\/|%5c)/gi, lower),
  p('path-traversal', /\.\.(%2f|%5c)/gi, lower),
  p('path-traversal', /\.%2e\//gi, lower),
  p('path-traversal', /%%32%65/g, '%%32%65'),
  p('path-traversal', /%c0%ae|%c0%af|%c1%9c/gi, lower),
  p('path-traversal', /\.\.\//g, '../'),
  p('path-traversal', /\.\.\\/g, '..\\'),
  p('path-traversal', /php:\/\/(filter|input)\b/gi, lower),
  p('path-traversal', /\/etc\/(passwd|shadow|hosts)\b/g, (m) => m[0], 1),
  p('path-traversal', /\/proc\/self\/(environ|cmdline|maps)\b/g, (m) => m[0], 2),
  p('path-traversal', /\b(win\.ini|boot\.ini)\b/gi, lower, 1),
  p('path-traversal', /WEB-INF\/web\.xml/g, 'WEB-INF/web.xml', 2),

  // --- XXE
  p('xxe', /<!ENTITY\b/gi, '<!ENTITY'),
  p('xxe', /<!DOCTYPE\s+\w+\s*\[/gi, '<!DOCTYPE', 2),
  p('xxe', /\bSYSTEM\s+["'](file|https?|ftp|php|expect|jar|netdoc|gopher):/g, collapse),
  p('xxe', /\bexpect:\/\//g, 'expect://'),

  // --- SSRF
  p('ssrf', /169\.254\.169\.254/g, '169.254.169.254', 2),
  p('ssrf', /metadata\.google\.internal/gi, 'metadata.google.internal', 2),
  p('ssrf', /\b(gopher|dict|tftp):\/\//gi, lower, 2),
  p('ssrf', /\bfile:\/\/\//gi, 'file:///', 1),

  // --- Deserialization
  p('deserialization', /rO0AB[A-Za-z0-9+/]/g, 'rO0AB'),
  p('deserialization', /\baced0005/gi, 'aced0005'),
  p('deserialization', /\b[OC]:\d{1,3}:"[A-Za-z_\\][\w\\]{0,100}"/g, (m) => m[0]),
  p(
    'deserialization',
    /!!(python\/object|javax\.script\.ScriptEngineManager|java\.net\.URLClassLoader)/g,
    (m) => m[0],
  ),
  p('deserialization', /"@type"\s*:/g, '"@type":', 2),
  p('deserialization', /"\$type"\s*:/g, '"$type":', 2),
  p('deserialization', /jdk\.nashorn\.internal\.objects\.NativeString/g, (m) => m[0], 2),
  p(
    'deserialization',
    /\b(ObjectDataProvider|TypeConfuseDelegate|TextFormattingRunProperties)\b/g,
    (m) => m[0],
    2,
  ),

  // --- Code injection (Spring4Shell data binding, PHP/Java/Node/Python execution primitives)
  p('code-injection', /class\.module\.classLoader/gi, 'class.module.classLoader'),
  p('code-injection', /\bclass\.classLoader\b/g, 'class.classLoader'),
  p('code-injection', /Runtime\.getRuntime\(\)\.exec\s*\(/g, 'Runtime.getRuntime().exec(', 2),
  p('code-injection', /java\.lang\.ProcessBuilder/g, 'java.lang.ProcessBuilder', 1),
  p('code-injection', /\bphpinfo\s*\(\s*\)/gi, 'phpinfo()'),
  p('code-injection', /require\s*\(\s*['"]child_process['"]\s*\)/g, "require('child_process')"),
  p('code-injection', /__import__\s*\(\s*['"]os['"]\s*\)/g, "__import__('os')"),
  p('code-injection', /@GrabConfig\b/g, '@GrabConfig', 2),
  p('code-injection', /<\?php\b/gi, '<?php', 2, true),

  // --- File upload of server-side scripts
  p(
    'file-upload',
    /\bfilename\s*=\s*"?[^"\s;]{0,100}?\.(php\d?|phtml|phar|jspx?|aspx?|ashx|cer|war)"?/gi,
    (m) => `.${m[1]!.toLowerCase()}`,
  ),
  p('file-upload', /<%@\s*page\b/g, '<%@ page', 2),
  // Web shell bodies: request input handed to an execution function.
  p(
    'file-upload',
    /\b(eval|assert|system|passthru|shell_exec|exec|popen)\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\b/g,
    noSpace,
  ),

  // --- Authentication bypass via path parameters
  p('auth-bypass', /;\.(jsp|js|css|png|ico)\b/g, (m) => m[0], 2),
];

/** Phrases that name an attack class in prose; each distinct phrase adds 2 to the class's vote. */
export const CLASS_KEYWORDS: ReadonlyArray<[AttackClass, RegExp]> = [
  ['sqli', /\bsql[\s-]*injection\b|\bsqli\b/i],
  ['xss', /\bcross[\s-]*site[\s-]*scripting\b|\bxss\b/i],
  [
    'path-traversal',
    /\b(?:path|directory)[\s-]*traversal\b|\blocal file inclusion\b|\barbitrary file read\b/i,
  ],
  ['command-injection', /\b(?:os\s+)?command[\s-]*injection\b|\bshell injection\b/i],
  ['ssti', /\btemplate[\s-]*injection\b|\bssti\b/i],
  ['expression-injection', /\bognl\b|\bspel\b|\bexpression[\s-]*(?:language[\s-]*)?injection\b/i],
  ['jndi-injection', /\bjndi\b|\blog4shell\b/i],
  ['deserialization', /\bdeseriali[sz]ation\b|\bunseriali[sz]e\b|\binsecure deseriali/i],
  ['xxe', /\bxxe\b|\bxml external entit/i],
  ['ssrf', /\bssrf\b|\bserver[\s-]*side request forgery\b/i],
  [
    'auth-bypass',
    /\bauthentication[\s-]*bypass\b|\bauth[\s-]*bypass\b|\bbypass(?:es)?\s+(?:the\s+)?authentication\b/i,
  ],
  ['file-upload', /\b(?:unrestricted|arbitrary|malicious)\s+file\s+upload\b|\bfile upload vulnerabilit/i],
  ['code-injection', /\bcode[\s-]*injection\b|\bspring4shell\b/i],
  ['info-disclosure', /\binformation disclosure\b|\bsensitive information exposure\b/i],
];
