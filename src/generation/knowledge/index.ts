// Attack-class knowledge, one file per class, one registry.
import type { AttackClass } from '../../vulns/model.js';
import { codeInjection } from './code-injection.js';
import { commandInjection } from './command-injection.js';
import { deserialization } from './deserialization.js';
import { authBypass, infoDisclosure } from './endpoint-only.js';
import { expressionInjection } from './expression-injection.js';
import { fileUpload } from './file-upload.js';
import { jndiInjection } from './jndi-injection.js';
import { pathTraversal } from './path-traversal.js';
import { sqli } from './sqli.js';
import { ssrf } from './ssrf.js';
import { ssti } from './ssti.js';
import type { ClassKnowledge } from './types.js';
import { xss } from './xss.js';
import { xxe } from './xxe.js';

export type { ClassKnowledge, Component, Signature } from './types.js';
export { PROXY_HEADERS } from './types.js';

export const KNOWLEDGE: Readonly<Record<AttackClass, ClassKnowledge>> = {
  'jndi-injection': jndiInjection,
  'expression-injection': expressionInjection,
  ssti,
  'command-injection': commandInjection,
  'path-traversal': pathTraversal,
  sqli,
  xss,
  xxe,
  deserialization,
  ssrf,
  'code-injection': codeInjection,
  'file-upload': fileUpload,
  'auth-bypass': authBypass,
  'info-disclosure': infoDisclosure,
};
