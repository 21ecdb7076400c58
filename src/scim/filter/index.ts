export {
  FilterError,
  MAX_FILTER_DEPTH,
  MAX_FILTER_LENGTH,
  parseFilter,
  parsePatchPath,
  UnknownAttributeError,
  type AttrPath,
  type CompareOp,
  type Filter,
  type FilterValue,
  type PatchPath,
} from './parse';
export {
  assertKnownByAny,
  displayPath,
  isCaseExact,
  operandFor,
  resolveElementPath,
  resolvePath,
  storageOf,
  type Attribute,
  type AttributeType,
  type ElementSource,
  type Field,
  type Operand,
  type ResolvedPath,
  type Storage,
  type UnknownAttributes,
} from './attributes';
export { applyFilter, applySort, compileFilter, sortExpression, type FilterContext, type Sql } from './sql';
export { compileMatcher, elementMatcher, equalities, matches, matchesElement, type MatchOptions } from './match';
