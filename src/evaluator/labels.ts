// Label matching per AWS: a LABEL key is the label's name, optionally preceded by contiguous
// namespaces or the full prefix; a NAMESPACE key is a contiguous run of namespaces ending in ":".
// A key without the `awswaf:` prefix is resolved in the context of the rule doing the matching.

export function labelMatches(
  label: string,
  scope: 'LABEL' | 'NAMESPACE',
  key: string,
  contextPrefix: string,
): boolean {
  const qualified = key.startsWith('awswaf:');
  const full = qualified ? key : contextPrefix + key;
  if (scope === 'LABEL') {
    if (label === full) return true;
    // Trailing components of the label after the context prefix.
    return (
      label.startsWith(qualified ? '' : contextPrefix) &&
      label.endsWith(':' + key) &&
      label.length > key.length
    );
  }
  // NAMESPACE: the label's namespace part (everything up to the last ':') must contain the key as
  // a run of whole components, starting right after the context prefix or anywhere for awswaf: keys.
  const namespace = label.slice(0, label.lastIndexOf(':') + 1);
  if (qualified) return namespace.startsWith(key);
  if (!namespace.startsWith(contextPrefix)) return false;
  const rest = namespace.slice(contextPrefix.length);
  return rest.startsWith(key) || rest.includes(':' + key);
}

/** Fully qualified label a rule adds, from the rule's context prefix. */
export const qualifyLabel = (name: string, contextPrefix: string): string =>
  name.startsWith('awswaf:') ? name : contextPrefix + name;

export const webAclPrefix = (name: string, account = '000000000000'): string =>
  `awswaf:${account}:webacl:${name}:`;
export const ruleGroupPrefix = (name: string, account = '000000000000'): string =>
  `awswaf:${account}:rulegroup:${name}:`;
