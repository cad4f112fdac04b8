import { BODY_CHAIN, HEADER_CHAIN, URL_CHAIN, type ClassKnowledge } from './types.js';

// OS command injection: a shell separator or substitution followed by a command, `$IFS` tricks,
// and the Shellshock function definition in headers.
export const commandInjection: ClassKnowledge = {
  attackClass: 'command-injection',
  components: ['args', 'body', 'path', 'headers', 'cookies'],
  signatures: [
    {
      id: 'shell-command',
      regexes: [
        '(?:[;|\\x60]|&&|\\$\\()\\s*(?:id|whoami|uname|ifconfig|ipconfig|cat|wget|curl|nc|ncat|bash|sh|ping|nslookup|echo|python[23]?|perl|php|powershell|cmd|touch|rm|ls|sleep)\\b',
        '\\$\\{?ifs\\b|\\$\\([^)]{0,100}\\)',
      ],
      transforms: { default: URL_CHAIN, body: BODY_CHAIN, headers: HEADER_CHAIN },
    },
    {
      // PHP-CGI argument injection (`?-d allow_url_include=1 -d auto_prepend_file=php://input`, with
      // `-` spelled as a soft hyphen `%AD` on Windows): PHP ini directives in a URL are never ordinary.
      id: 'php-cgi-arguments',
      regexes: [
        '(?:^|[\\s+])(?:-|\\xad)d\\s*[a-z_.]+\\s*=|allow_url_include|auto_(?:prepend|append)_file\\s*=',
      ],
      components: ['query'],
      unscoped: true,
      transforms: { default: ['URL_DECODE_UNI', 'LOWERCASE'] },
    },
    {
      // A function definition in a header value: never sent by a client, safe anywhere.
      id: 'shellshock',
      regexes: ['\\(\\s*\\)\\s*\\{[^}]{0,20}\\}\\s*;'],
      unscoped: true,
      transforms: { default: HEADER_CHAIN },
    },
  ],
  unscoped: false,
  cwes: ['CWE-78', 'CWE-77', 'CWE-88'],
  keywords: ['command injection', 'command', 'shell', 'os command', 'execute arbitrary commands'],
};
