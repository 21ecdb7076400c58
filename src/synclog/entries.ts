/** One request, as the sync log keeps it. */
export interface SyncLogEntry {
  id: string;
  tenantId: string | null;
  at: string;
  source: 'scim' | 'admin' | 'cli' | 'rule';
  tokenLabel: string | null;
  client: string | null;
  method: string;
  path: string;
  resourceType: string | null;
  resourceId: string | null;
  externalId: string | null;
  status: number;
  scimType: string | null;
  error: string | null;
  durationMs: number;
  requestBody: string | null;
  responseBody: string | null;
}

export interface SyncLogRow {
  seq?: number | string;
  id: string;
  tenant_id: string | null;
  at: string;
  source: string;
  token_label: string | null;
  client: string | null;
  method: string;
  path: string;
  resource_type: string | null;
  resource_id: string | null;
  external_id: string | null;
  status: number;
  scim_type: string | null;
  error: string | null;
  duration_ms: number;
  request_body: string | null;
  response_body: string | null;
}

export const toRow = (e: SyncLogEntry): SyncLogRow => ({
  id: e.id,
  tenant_id: e.tenantId,
  at: e.at,
  source: e.source,
  token_label: e.tokenLabel,
  client: e.client,
  method: e.method,
  path: e.path,
  resource_type: e.resourceType,
  resource_id: e.resourceId,
  external_id: e.externalId,
  status: e.status,
  scim_type: e.scimType,
  error: e.error,
  duration_ms: e.durationMs,
  request_body: e.requestBody,
  response_body: e.responseBody,
});

export const fromRow = (r: SyncLogRow): SyncLogEntry => ({
  id: r.id,
  tenantId: r.tenant_id,
  at: r.at,
  source: r.source as SyncLogEntry['source'],
  tokenLabel: r.token_label,
  client: r.client,
  method: r.method,
  path: r.path,
  resourceType: r.resource_type,
  resourceId: r.resource_id,
  externalId: r.external_id,
  status: Number(r.status),
  scimType: r.scim_type,
  error: r.error,
  durationMs: Number(r.duration_ms),
  requestBody: r.request_body,
  responseBody: r.response_body,
});
