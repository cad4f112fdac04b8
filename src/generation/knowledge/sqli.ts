import type { ClassKnowledge } from './types.js';

// SQL injection: AWS's built-in detection plus the constructs attackers use that libinjection-style
// tokenizers miss (time delays, error-based functions, UNION with comments).
export const sqli: ClassKnowledge = {
  attackClass: 'sqli',
  components: ['args', 'body', 'cookies'],
  signatures: [
    {
      id: 'sqli-detector',
      detector: 'sqli',
      transforms: { default: ['URL_DECODE_UNI', 'HTML_ENTITY_DECODE'] },
    },
    {
      id: 'sql-syntax',
      regexes: [
        // One alternative per function (each is judged alone against benign traffic); a delay takes a number.
        "union\\s+(?:all\\s+)?(?:distinct\\s+)?select|\\b(?:pg_)?sleep\\s*\\(\\s*\\d|\\bbenchmark\\s*\\(\\s*\\d|\\bextractvalue\\s*\\(|\\bupdatexml\\s*\\(|\\bload_file\\s*\\(|waitfor\\s+delay\\s+'\\d|into\\s+(?:out|dump)file",
        "information_schema|'\\s*(?:or|and)\\s+['\\d]|\\b(?:or|and)\\s+\\d+\\s*[=<>]\\s*\\d+",
      ],
      transforms: {
        default: [
          'URL_DECODE_UNI',
          'URL_DECODE_UNI',
          'REPLACE_COMMENTS',
          'COMPRESS_WHITE_SPACE',
          'LOWERCASE',
        ],
      },
    },
  ],
  unscoped: false,
  cwes: ['CWE-89', 'CWE-564', 'CWE-943'],
  keywords: ['sql', 'sql injection', 'sqli', 'database query'],
};
