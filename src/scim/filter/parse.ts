// SCIM filter grammar (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): a tokenizer and a
// recursive-descent parser. Precedence: not > and > or. Keywords and operators are case-insensitive.

export const MAX_FILTER_LENGTH = 10_000;
export const MAX_FILTER_DEPTH = 50;

/** A bad filter or PATCH path; the SCIM layer answers it with 400 and this `scimType`. */
export class FilterError extends Error {
  readonly scimType: 'invalidFilter' | 'invalidPath';

  constructor(message: string, scimType: 'invalidFilter' | 'invalidPath' = 'invalidFilter') {
    super(message);
    this.name = 'FilterError';
    this.scimType = scimType;
  }
}

/** An attribute or schema the resource type does not define (see `unknownAttributes: 'absent'`). */
export class UnknownAttributeError extends FilterError {
  constructor(message: string) {
    super(message, 'invalidFilter');
    this.name = 'UnknownAttributeError';
  }
}

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

/** `[schema:]attribute[.subAttribute]`; names as the client typed them (resolution canonicalises). */
export interface AttrPath {
  schema?: string;
  attribute: string;
  subAttribute?: string;
}

/**
 * The filter tree. Inside a value path's `filter`, paths are relative to one element of the
 * multi-valued attribute (`emails[type eq "work"]` has `{ attribute: 'type' }`).
 * `emails[type eq "work"].value eq "x"` parses as the value path `emails[type eq "work" and value eq "x"]`:
 * one element satisfies both.
 */
export type Filter =
  | { kind: 'compare'; path: AttrPath; op: CompareOp; value: FilterValue }
  | { kind: 'present'; path: AttrPath }
  | { kind: 'and' | 'or'; left: Filter; right: Filter }
  | { kind: 'not'; expr: Filter }
  | { kind: 'valuePath'; path: AttrPath; filter: Filter };

/** A parsed PATCH `path`: `attrPath` or `valuePath [subAttr]`. */
export interface PatchPath {
  /** The path as sent, for messages. */
  raw: string;
  schema?: string;
  attribute: string;
  subAttribute?: string;
  filter?: Filter;
}

const COMPARE_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const NAME = /^[A-Za-z$][A-Za-z0-9_$-]*$/;
const URN = /^urn:[A-Za-z0-9._:-]+$/i;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

type Token =
  | { type: '(' | ')' | '[' | ']'; pos: number; end: number }
  | { type: 'string'; value: string; pos: number; end: number }
  | { type: 'word'; text: string; pos: number; end: number };

function describe(token: Token | undefined): string {
  if (!token) return 'the end of the filter';
  switch (token.type) {
    case 'string':
      return `string ${JSON.stringify(token.value)} at position ${token.pos + 1}`;
    case 'word':
      return `'${token.text}' at position ${token.pos + 1}`;
    default:
      return `'${token.type}' at position ${token.pos + 1}`;
  }
}

function tokenize(input: string, scimType: FilterError['scimType']): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ type: c, pos: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === '"') {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= input.length) {
          throw new FilterError(`unterminated string starting at position ${start + 1}`, scimType);
        }
        const ch = input[i] as string;
        if (ch === '"') {
          i++;
          break;
        }
        if (ch !== '\\') {
          value += ch;
          i++;
          continue;
        }
        const esc = input[i + 1];
        switch (esc) {
          case '"':
          case '\\':
          case '/':
            value += esc;
            break;
          case 'b':
            value += '\b';
            break;
          case 'f':
            value += '\f';
            break;
          case 'n':
            value += '\n';
            break;
          case 'r':
            value += '\r';
            break;
          case 't':
            value += '\t';
            break;
          case 'u': {
            const hex = input.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              throw new FilterError(`invalid \\u escape at position ${i + 1}`, scimType);
            }
            value += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            throw new FilterError(`invalid escape '\\${esc ?? ''}' at position ${i + 1}`, scimType);
        }
        i += 2;
      }
      tokens.push({ type: 'string', value, pos: start, end: i });
      continue;
    }
    const start = i;
    while (i < input.length && !/[\s()[\]"]/.test(input[i] as string)) i++;
    tokens.push({ type: 'word', text: input.slice(start, i), pos: start, end: i });
  }
  return tokens;
}

function toAttrPath(token: Token | undefined, scimType: FilterError['scimType']): AttrPath {
  if (!token || token.type !== 'word') {
    throw new FilterError(`expected an attribute name, found ${describe(token)}`, scimType);
  }
  const text = token.text;
  let schema: string | undefined;
  let rest = text;
  if (/^urn:/i.test(text)) {
    const colon = text.lastIndexOf(':');
    schema = text.slice(0, colon);
    rest = text.slice(colon + 1);
    if (!URN.test(schema)) {
      throw new FilterError(`invalid schema URN in attribute path '${text}' at position ${token.pos + 1}`, scimType);
    }
  }
  const parts = rest.split('.');
  if (parts.length > 2 || !parts.every((p) => NAME.test(p))) {
    throw new FilterError(`invalid attribute path '${text}' at position ${token.pos + 1}`, scimType);
  }
  const path: AttrPath = { attribute: parts[0] as string };
  if (schema !== undefined) path.schema = schema;
  if (parts[1] !== undefined) path.subAttribute = parts[1];
  return path;
}

class Parser {
  private index = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly scimType: FilterError['scimType'],
    private readonly raw = '',
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private next(): Token | undefined {
    return this.tokens[this.index++];
  }

  private fail(message: string): never {
    throw new FilterError(message, this.scimType);
  }

  private isKeyword(token: Token | undefined, keyword: string): boolean {
    return token?.type === 'word' && token.text.toLowerCase() === keyword;
  }

  atEnd(): boolean {
    return this.index >= this.tokens.length;
  }

  expectEnd(): void {
    const token = this.peek();
    if (!token) return;
    if (token.type === ')') this.fail(`unbalanced parentheses: unexpected ')' at position ${token.pos + 1}`);
    if (token.type === ']') this.fail(`unbalanced brackets: unexpected ']' at position ${token.pos + 1}`);
    this.fail(`unexpected ${describe(token)}`);
  }

  /** or := and ("or" and)* */
  parseOr(depth: number, inValuePath: boolean): Filter {
    let left = this.parseAnd(depth, inValuePath);
    while (this.isKeyword(this.peek(), 'or')) {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd(depth, inValuePath) };
    }
    return left;
  }

  /** and := unary ("and" unary)* */
  private parseAnd(depth: number, inValuePath: boolean): Filter {
    let left = this.parseUnary(depth, inValuePath);
    while (this.isKeyword(this.peek(), 'and')) {
      this.next();
      left = { kind: 'and', left, right: this.parseUnary(depth, inValuePath) };
    }
    return left;
  }

  /** unary := "not" "(" or ")" / "(" or ")" / attrExp / valuePath */
  private parseUnary(depth: number, inValuePath: boolean): Filter {
    if (depth > MAX_FILTER_DEPTH) this.fail(`filter is nested deeper than ${MAX_FILTER_DEPTH} levels`);
    const token = this.peek();
    if (!token) this.fail('unexpected end of filter: expected an expression');
    if (this.isKeyword(token, 'not')) {
      this.next();
      const open = this.peek();
      if (open?.type !== '(') this.fail(`'not' must be followed by '(', found ${describe(open)}`);
      return { kind: 'not', expr: this.parseGroup(depth + 1, inValuePath) };
    }
    if (token.type === '(') return this.parseGroup(depth + 1, inValuePath);
    if (token.type !== 'word') this.fail(`expected an attribute name, found ${describe(token)}`);
    if (this.isKeyword(token, 'and') || this.isKeyword(token, 'or')) {
      this.fail(`expected an expression before ${describe(token)}`);
    }
    this.next();
    const path = toAttrPath(token, this.scimType);
    const after = this.peek();
    if (after?.type === '[') {
      if (inValuePath) this.fail(`value paths cannot be nested (at position ${after.pos + 1})`);
      if (path.subAttribute !== undefined) {
        this.fail(`a value path needs a plain attribute before '[', found '${token.text}'`);
      }
      return this.parseValuePath(path, depth + 1);
    }
    return this.parseComparison(path, token);
  }

  private parseGroup(depth: number, inValuePath: boolean): Filter {
    const open = this.next() as Token;
    const inner = this.parseOr(depth, inValuePath);
    const close = this.next();
    if (close?.type !== ')') {
      this.fail(`unbalanced parentheses: '(' at position ${open.pos + 1} is not closed, found ${describe(close)}`);
    }
    return inner;
  }

  /** The inside of `attr[...]` and what may follow it: `].sub op value` or `].sub pr`. */
  parseValuePath(path: AttrPath, depth: number): Filter {
    const inner = this.parseBracket(depth);
    const dot = this.peek();
    if (dot?.type === 'word' && dot.text.startsWith('.') && dot.pos === this.tokens[this.index - 1]?.end) {
      const sub = this.parseSubAfterBracket();
      const condition = this.parseComparison({ attribute: sub }, dot);
      return { kind: 'valuePath', path, filter: { kind: 'and', left: inner, right: condition } };
    }
    return { kind: 'valuePath', path, filter: inner };
  }

  parseBracket(depth: number): Filter {
    if (depth > MAX_FILTER_DEPTH) this.fail(`filter is nested deeper than ${MAX_FILTER_DEPTH} levels`);
    const open = this.next() as Token;
    if (this.peek()?.type === ']') this.fail(`empty value filter '[]' at position ${open.pos + 1}`);
    const inner = this.parseOr(depth, true);
    const close = this.next();
    if (close?.type !== ']') {
      this.fail(`unbalanced brackets: '[' at position ${open.pos + 1} is not closed, found ${describe(close)}`);
    }
    return inner;
  }

  /** PATH = attrPath / valuePath [subAttr] */
  parsePatchPath(): PatchPath {
    const token = this.next();
    const path = toAttrPath(token, this.scimType);
    const result: PatchPath = { raw: this.raw, ...path };
    const open = this.peek();
    if (open?.type === '[') {
      if (path.subAttribute !== undefined) {
        this.fail(`a value path needs a plain attribute before '[', found ${describe(token)}`);
      }
      result.filter = this.parseBracket(1);
      if (!this.atEnd()) result.subAttribute = this.parseSubAfterBracket();
    }
    this.expectEnd();
    return result;
  }

  /** `.sub` right after `]` (no space). */
  parseSubAfterBracket(): string {
    const close = this.tokens[this.index - 1] as Token;
    const dot = this.next();
    if (dot?.type !== 'word' || !dot.text.startsWith('.')) {
      this.fail(`expected '.subAttribute' or the end after ']', found ${describe(dot)}`);
    }
    if (dot.pos !== close.end) this.fail(`unexpected space before '${dot.text}' at position ${dot.pos + 1}`);
    const sub = dot.text.slice(1);
    if (!NAME.test(sub)) this.fail(`invalid sub-attribute '${dot.text}' at position ${dot.pos + 1}`);
    return sub;
  }

  private parseComparison(path: AttrPath, pathToken: Token): Filter {
    const opToken = this.next();
    if (!opToken) {
      this.fail(`missing operator after '${pathToken.type === 'word' ? pathToken.text : ''}' at the end of the filter`);
    }
    if (opToken.type !== 'word') this.fail(`expected an operator, found ${describe(opToken)}`);
    const op = opToken.text.toLowerCase();
    if (op === 'pr') {
      const following = this.peek();
      if (following && (following.type === 'string' || (following.type === 'word' && isValueWord(following.text)))) {
        this.fail(`'pr' takes no value, found ${describe(following)}`);
      }
      return { kind: 'present', path };
    }
    if (!COMPARE_OPS.has(op)) this.fail(`unknown operator '${opToken.text}' at position ${opToken.pos + 1}`);
    const valueToken = this.next();
    if (!valueToken) this.fail(`missing value after '${opToken.text}' at position ${opToken.pos + 1}`);
    return { kind: 'compare', path, op: op as CompareOp, value: this.toValue(valueToken, opToken) };
  }

  private toValue(token: Token, opToken: Token & { type: 'word' }): FilterValue {
    if (token.type === 'string') return token.value;
    if (token.type === 'word') {
      const text = token.text.toLowerCase();
      if (text === 'true') return true;
      if (text === 'false') return false;
      if (text === 'null') return null;
      if (NUMBER.test(token.text)) return Number(token.text);
      // Lenient where clients are not: an unquoted word is a string (`userName sw O`, as Microsoft's
      // SCIM test suite sends), unless it is a keyword, which means the value is missing.
      if (text !== 'and' && text !== 'or' && text !== 'not') return token.text;
    }
    this.fail(
      `missing value after '${opToken.text}': expected a quoted string, number, true, false or null, found ${describe(token)}`,
    );
  }
}

function isValueWord(text: string): boolean {
  const lower = text.toLowerCase();
  return lower === 'true' || lower === 'false' || lower === 'null' || NUMBER.test(text);
}

/** Parses a SCIM filter such as `emails[type eq "work"].value co "@example.com" and not (active eq false)`. */
export function parseFilter(input: string): Filter {
  if (typeof input !== 'string') throw new FilterError('filter must be a string');
  if (input.length > MAX_FILTER_LENGTH) {
    throw new FilterError(`filter is longer than ${MAX_FILTER_LENGTH} characters`);
  }
  const tokens = tokenize(input, 'invalidFilter');
  if (tokens.length === 0) throw new FilterError('filter is empty');
  const parser = new Parser(tokens, 'invalidFilter');
  const filter = parser.parseOr(0, false);
  parser.expectEnd();
  return filter;
}

/** Parses a PATCH operation `path`: `name.familyName`, `emails[type eq "work"].value`, `urn:…:User:manager.value`. */
export function parsePatchPath(input: string): PatchPath {
  if (typeof input !== 'string') throw new FilterError('path must be a string', 'invalidPath');
  if (input.length > MAX_FILTER_LENGTH) {
    throw new FilterError(`path is longer than ${MAX_FILTER_LENGTH} characters`, 'invalidPath');
  }
  const tokens = tokenize(input, 'invalidPath');
  if (tokens.length === 0) throw new FilterError('path is empty', 'invalidPath');
  return new Parser(tokens, 'invalidPath', input).parsePatchPath();
}
