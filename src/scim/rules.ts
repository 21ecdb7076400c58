import type { Dialect } from '../db/knex';
import { StoreError } from '../membership/errors';
import type { CompiledRule, RuleCompiler } from '../membership/types';
import { compileFilter, compileMatcher, FilterError, parseFilter, resolvePath, type Filter } from './filter';
import { renderUser } from './resources';

/** Compiled rules kept per process; a tenant has few, and each is a few closures. */
const CACHE_SIZE = 1000;

/**
 * Rule groups' rules are SCIM filters on Users, so HR pushes and the rules speak one language: the
 * SQL compiler gives the set-based form (a rule changed) and the matcher the one-user form (a user
 * pushed), which the filter differential test holds to the same answers.
 */
export function userRuleCompiler(dialect: Dialect): RuleCompiler {
  const cache = new Map<string, CompiledRule>();
  return (rule) => {
    const hit = cache.get(rule);
    if (hit) return hit;
    let compiled: CompiledRule;
    try {
      const ast = parseFilter(rule);
      refuseGroups(ast);
      const where = compileFilter(ast, { dialect, resource: 'User' });
      const match = compileMatcher(ast, 'User');
      compiled = { where, matches: (user) => match(renderUser(user, undefined, '')) };
    } catch (err) {
      if (err instanceof FilterError || err instanceof StoreError) {
        throw new StoreError('invalid', `rule is not a valid filter on users: ${err.message}`, { rule });
      }
      throw err;
    }
    if (cache.size >= CACHE_SIZE) cache.clear();
    cache.set(rule, compiled);
    return compiled;
  };
}

/** A rule on group membership would make rule groups depend on each other (and on themselves). */
function refuseGroups(f: Filter): void {
  switch (f.kind) {
    case 'and':
    case 'or':
      refuseGroups(f.left);
      refuseGroups(f.right);
      return;
    case 'not':
      refuseGroups(f.expr);
      return;
    default:
      if (resolvePath('User', f.path).attribute.name === 'groups') throw new StoreError('invalid', 'a rule cannot use groups: rule groups would depend on each other');
  }
}
