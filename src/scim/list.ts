import type { Request } from 'express';
import type { SchemaDef } from './definitions';
import { Errors } from './errors';
import { isPlainObject } from './normalise';
import { parseProjection, type Projection } from './projection';
import { SEARCH_REQUEST_SCHEMA } from './schemas';

export interface ListQuery {
  filter?: string;
  startIndex: number;
  count: number;
  sortBy?: string;
  descending: boolean;
  attributes?: string | string[];
  excludedAttributes?: string | string[];
}

export interface PageLimits {
  defaultPageSize: number;
  maxPageSize: number;
}

/** A query parameter by name, in any letter case (clients differ on `startindex` vs `startIndex`). */
function queryParam(req: Request): (name: string) => string | undefined {
  const q: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.query)) q[k.toLowerCase()] = v;
  return (name) => {
    const v = q[name.toLowerCase()];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw Errors.invalidValue(`Query parameter "${name}" must be given once`);
    return v;
  };
}

/** `attributes` / `excludedAttributes` of a request on one resource. */
export function projectionOf(req: Request, definition: SchemaDef): Projection {
  const one = queryParam(req);
  return parseProjection(definition, one('attributes'), one('excludedAttributes'));
}

/** Whether a write asked for the resource back (RFC 7644 §3.9: attributes apply to PATCH too). */
export const wantsBody = (req: Request): boolean =>
  Object.keys(req.query).some((k) => k.toLowerCase() === 'attributes' || k.toLowerCase() === 'excludedattributes');

/** Query parameters of a GET list. */
export function listQueryFromRequest(req: Request, limits: PageLimits): ListQuery {
  const one = queryParam(req);
  return listQuery(
    {
      filter: one('filter'),
      startIndex: one('startIndex'),
      count: one('count'),
      sortBy: one('sortBy'),
      sortOrder: one('sortOrder'),
      attributes: one('attributes'),
      excludedAttributes: one('excludedAttributes'),
    },
    limits,
  );
}

/** The body of POST /.search (RFC 7644 §3.4.3). */
export function listQueryFromSearch(body: unknown, limits: PageLimits): ListQuery {
  if (!isPlainObject(body)) throw Errors.invalidSyntax('The body of a search must be a SearchRequest object');
  const schemas = body.schemas;
  if (Array.isArray(schemas) && schemas.length && !schemas.includes(SEARCH_REQUEST_SCHEMA)) {
    throw Errors.invalidSyntax(`A search body must declare the schema ${SEARCH_REQUEST_SCHEMA}`);
  }
  const str = (name: string): string | undefined => {
    const v = body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string') throw Errors.invalidValue(`"${name}" must be a string`);
    return v;
  };
  const names = (name: string): string | string[] | undefined => {
    const v = body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v;
    throw Errors.invalidValue(`"${name}" must be a list of attribute names`);
  };
  return listQuery(
    {
      filter: str('filter'),
      startIndex: str('startIndex'),
      count: str('count'),
      sortBy: str('sortBy'),
      sortOrder: str('sortOrder'),
      attributes: names('attributes'),
      excludedAttributes: names('excludedAttributes'),
    },
    limits,
  );
}

function listQuery(
  raw: {
    filter?: string;
    startIndex?: string;
    count?: string;
    sortBy?: string;
    sortOrder?: string;
    attributes?: string | string[];
    excludedAttributes?: string | string[];
  },
  limits: PageLimits,
): ListQuery {
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined || v.trim() === '') return undefined;
    if (!/^-?\d+$/.test(v.trim())) throw Errors.invalidValue(`"${name}" must be an integer (got "${v.slice(0, 40)}")`);
    return Number(v);
  };
  // RFC 7644 §3.4.2.4: startIndex below 1 is 1; a negative count is 0; the server may return fewer than asked.
  const startIndex = Math.max(1, int('startIndex', raw.startIndex) ?? 1);
  const count = Math.min(limits.maxPageSize, Math.max(0, int('count', raw.count) ?? limits.defaultPageSize));
  const order = raw.sortOrder?.toLowerCase();
  if (order !== undefined && order !== 'ascending' && order !== 'descending') {
    throw Errors.invalidValue(`"sortOrder" must be ascending or descending (got "${raw.sortOrder}")`);
  }
  const filter = raw.filter !== undefined && raw.filter.trim() === '' ? undefined : raw.filter;
  return {
    filter,
    startIndex,
    count,
    sortBy: raw.sortBy?.trim() || undefined,
    descending: order === 'descending',
    attributes: raw.attributes,
    excludedAttributes: raw.excludedAttributes,
  };
}
