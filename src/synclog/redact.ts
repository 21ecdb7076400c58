/** Keys whose values never reach the sync log (any case, anywhere in a body). */
const SECRET_KEY = /password|passwd|secret|token|authorization|credential|api[-_]?key/i;
/** Roster's own tokens, wherever they appear in a string. */
const TOKEN_IN_TEXT = /rst_(scim|admin)_[A-Za-z0-9_-]+/g;

export const REDACTED = '[redacted]';

/**
 * JSON of `value` with secrets removed, cut at about `maxChars` characters. The walk stops once the
 * budget is spent, so a 5 MB group PUT costs what its first `maxChars` cost; a cut body says how it
 * was cut. `__proto__` and friends are plain keys here: nothing is assigned, only written out.
 */
export function redactedJson(value: unknown, maxChars: number): string | null {
  if (value === undefined) return null;
  const out: string[] = [];
  let used = 0;
  let cut = false;
  const emit = (s: string): boolean => {
    if (cut) return false;
    if (used + s.length > maxChars) {
      cut = true;
      return false;
    }
    out.push(s);
    used += s.length;
    return true;
  };
  const walk = (v: unknown, depth: number): void => {
    if (cut) return;
    if (v === null || typeof v === 'number' || typeof v === 'boolean') return void emit(JSON.stringify(v));
    if (typeof v === 'string') return void emit(JSON.stringify(v.replace(TOKEN_IN_TEXT, REDACTED)));
    if (depth > 32) return void emit('"[nested too deep]"');
    if (Array.isArray(v)) {
      emit('[');
      v.forEach((item, i) => {
        if (i) emit(',');
        walk(item, depth + 1);
      });
      return void emit(']');
    }
    if (typeof v === 'object') {
      emit('{');
      let first = true;
      // A PATCH operation names its attribute in `path` (`"path": "password", "value": "…"`): its
      // value is as secret as the attribute.
      const path = (v as Record<string, unknown>).path;
      const secretValue = typeof path === 'string' && SECRET_KEY.test(path);
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
        if (item === undefined) continue;
        if (!first) emit(',');
        first = false;
        emit(`${JSON.stringify(k)}:`);
        if (SECRET_KEY.test(k) || (secretValue && k === 'value')) emit(JSON.stringify(REDACTED));
        else walk(item, depth + 1);
      }
      return void emit('}');
    }
    emit('null');
  };
  walk(value, 0);
  if (!cut) return out.join('');
  return JSON.stringify({ truncated: true, note: `cut at ${maxChars} characters`, start: out.join('') });
}

/** A string that may hold a token (a user agent, a path), with any Roster token removed. */
export const redactText = (s: string): string => s.replace(TOKEN_IN_TEXT, REDACTED);
