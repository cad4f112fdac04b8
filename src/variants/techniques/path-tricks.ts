// path-tricks: spell the same path differently. Every form below resolves to the same resource after
// the dot-segment removal servers and file APIs do (RFC 3986 §5.2.4, POSIX/Windows path resolution):
//
//   dot-segment     `/./` after the first `/` and before the last segment; in traversal values `../` →
//                   `.././`
//   double-slash    `//` between ordinary segments after the last `.`/`..` (under RFC 3986 an empty
//                   segment before a `..` changes how far it climbs); in traversal values `../` → `..//`
//   percent-dot     `..` → `%2e%2e` (and `.` → `%2e`) in path segments and URL-encoded traversal values
//   tomcat          `..` → `..;` in the path: Tomcat and Jetty strip the `;` path parameter and then go up
//   trailing-slash  a trailing `/` on the path
//   backslash       path-traversal class only: `../` → `..\` (Windows and IIS treat `\` as `/`)
//
// The path is edited as raw text, segment by segment. Traversal values are parameter values, JSON
// strings, header values (a traversal in a Cookie) and text bodies whose decoded text holds `../`; only
// the traversal sequences in them change.

import type { HttpRequest } from '../../requests/model.js';
import { type Edit, decodeSlot, editSlot, regexEdits } from '../encoding.js';
import { type Draft, type SlotWhere, hasQueryMark, joinTarget, mapSlots } from '../parts.js';
import type { VariantTechnique } from '../types.js';

type Trick = 'dot-segment' | 'double-slash' | 'percent-dot' | 'tomcat' | 'trailing-slash' | 'backslash';

const VALUE_SLOTS: readonly SlotWhere[] = ['query-value', 'form-value', 'json', 'header', 'body'];

const isDot = (seg: string) => {
  const d = decodeSlot(seg, 'path');
  return d === '.' || d === '..';
};

/** The raw path rewritten with one trick (unchanged when the trick does not apply). */
export function pathTrick(path: string, trick: Trick): string {
  if (!path.startsWith('/')) return path;
  const segs = path.split('/');
  switch (trick) {
    case 'dot-segment': {
      if (path === '/') return '/./';
      const out = ['', '.', ...segs.slice(1)];
      if (segs.length >= 3) out.splice(out.length - 1, 0, '.');
      return out.join('/');
    }
    case 'double-slash': {
      // Only after the last dot segment: an empty segment before a `..` changes how far it climbs.
      let lastDot = 0;
      segs.forEach((s, i) => {
        if (isDot(s)) lastDot = i;
      });
      let out = segs[0]! + '/' + (segs[1] ?? '');
      for (let i = 2; i < segs.length; i++) {
        const prev = segs[i - 1]!;
        const cur = segs[i]!;
        const ordinary = i > lastDot + 1 && prev !== '' && cur !== '' && !isDot(prev) && !isDot(cur);
        out += (ordinary ? '//' : '/') + cur;
      }
      return out;
    }
    case 'percent-dot':
      return segs.map((s) => (s === '..' ? '%2e%2e' : s === '.' ? '%2e' : s)).join('/');
    case 'tomcat':
      return segs.map((s) => (s === '..' ? '..;' : s)).join('/');
    case 'trailing-slash':
      return path === '/' || path.endsWith('/') ? path : path + '/';
    case 'backslash': {
      let out = segs[0]!;
      for (let i = 1; i < segs.length; i++) out += (segs[i - 1] === '..' ? '\\' : '/') + segs[i]!;
      return out;
    }
  }
}

const TRAVERSAL = /\.\.[/\\]/;

/** Edits for one trick on the decoded text of a traversal value. */
function valueEdits(decoded: string, trick: Trick, urlEncoded: boolean): Edit[] {
  if (!TRAVERSAL.test(decoded)) return [];
  switch (trick) {
    case 'dot-segment':
      return regexEdits(decoded, /\.\.\//, () => '.././');
    case 'double-slash':
      return regexEdits(decoded, /\.\.\//, () => '..//');
    case 'percent-dot':
      if (!urlEncoded) return [];
      return regexEdits(decoded, /\.\.(?=[/\\])/, () => '').map((e) => ({ ...e, text: '%2e%2e', raw: true }));
    case 'backslash':
      return regexEdits(decoded, /\.\.\//, () => '..\\');
    default:
      return [];
  }
}

function applyTrick(req: HttpRequest, trick: Trick): Draft {
  const d = mapSlots(
    req,
    VALUE_SLOTS,
    (raw, slot) => editSlot(raw, slot.kind, (dec) => valueEdits(dec, trick, slot.kind !== 'text')),
    trick,
  );
  // mapSlots kept the path as it was; put the rewritten path in front of the (possibly edited) query.
  const q = d.uri.indexOf('?');
  const query = q < 0 ? '' : d.uri.slice(q + 1);
  d.uri = joinTarget(pathTrick(req.path, trick), query, hasQueryMark(req));
  return d;
}

export const pathTricks: VariantTechnique = {
  name: 'path-tricks',
  description: 'same path spelled differently: /./, //, %2e%2e, ..;/ (Tomcat), trailing /, ..\\ (traversal)',
  derive(req) {
    const tricks: Trick[] = ['dot-segment', 'double-slash', 'percent-dot', 'tomcat', 'trailing-slash'];
    if (req.class === 'path-traversal') tricks.push('backslash');
    return tricks.map((t) => applyTrick(req, t));
  },
};
