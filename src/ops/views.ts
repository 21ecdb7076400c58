import type { Enrollment } from '../enrollment/enrollments';
import type { GroupRecord, GroupRef, UserRecord } from '../membership/types';
import type { Assignment } from '../enrollment/assignments';
import type { Delivery, Webhook } from '../outbox/webhooks';
import type { Change, EntrySummary } from '../synclog/reader';
import { html, query, type Html } from './html';
import type { Found } from './queries';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const when = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : '');
const statusCell = (status: number, scimType: string | null) => html`<span class="s${String(status)[0]}">${status}</span>${scimType ? html` <span class="muted">${scimType}</span>` : ''}`;
const entryLink = (id: string | null) => (id ? (UUID.test(id) ? html`<a class="mono" href="/ops/log/${id}">${id.slice(0, 8)}</a>` : html`<span class="mono">${id}</span>`) : '');
const summary = (changes: EntrySummary['changes']) =>
  Object.entries(changes)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');

/** Filters as the page form and the API name them. */
export const FILTER_FIELDS = ['since', 'until', 'status', 'method', 'resourceType', 'resourceId', 'user', 'token', 'requestId'] as const;
export type FilterValues = Partial<Record<(typeof FILTER_FIELDS)[number], string>>;

export function logPage(values: FilterValues, items: EntrySummary[], next: string | null, problem?: string): Html {
  const text = (name: keyof FilterValues, label: string, hint: string, size = 14) =>
    html`<label for="f-${name}">${label}<input id="f-${name}" name="${name}" value="${values[name] ?? ''}" size="${size}" placeholder="${hint}"></label>`;
  const statuses = [
    ['', 'any'],
    ['failed', 'failed (4xx, 5xx)'],
    ['2xx', '2xx'],
    ['4xx', '4xx'],
    ['5xx', '5xx'],
  ];
  return html`<h1>Sync log</h1>
<form class="filters" method="get" action="/ops/log" aria-label="Filter the sync log">
  ${text('since', 'Since', '1h, 7d or ISO time', 12)}
  ${text('until', 'Until', 'ISO time', 12)}
  <label for="f-status">Status<select id="f-status" name="status">${statuses.map(
    ([v, l]) => html`<option value="${v}"${values.status === v ? html` selected` : ''}>${l}</option>`,
  )}</select></label>
  ${text('method', 'Method', 'PATCH', 7)}
  ${text('resourceType', 'Resource type', 'User, Group', 10)}
  ${text('resourceId', 'Resource id', 'id', 20)}
  ${text('user', 'User id', 'touched this user', 20)}
  ${text('token', 'Token label', 'okta-prod', 12)}
  ${text('requestId', 'Request id', 'X-Request-Id', 20)}
  <button class="primary" type="submit">Filter</button>
  <a href="/ops/log">Clear</a>
</form>
${problem ? html`<p class="error" role="alert">${problem}</p>` : ''}
${
  items.length
    ? html`<table>
<caption class="muted">Newest first${Object.values(values).some(Boolean) ? ', filtered' : ''}</caption>
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Status</th><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Token</th><th scope="col">ms</th><th scope="col">Changes</th><th scope="col">Request</th></tr></thead>
<tbody>${items.map(
        (e) => html`<tr>
<td class="mono">${when(e.at)}</td><td>${statusCell(e.status, e.scimType)}</td><td>${e.method}</td>
<td class="mono">${e.path.length > 80 ? `${e.path.slice(0, 79)}…` : e.path}</td><td>${e.tokenLabel ?? ''}</td>
<td class="num">${e.durationMs}</td><td>${summary(e.changes)}</td><td><a class="mono" href="/ops/log/${e.id}">${e.id.slice(0, 8)}</a></td></tr>`,
      )}</tbody>
</table>`
    : html`<p>No entries match.</p>`
}
${next ? html`<p class="pager"><a href="/ops/log${query({ ...values, cursor: next })}">Older entries</a></p>` : ''}`;
}

/** A body as indented JSON; focusable, so a long one can be scrolled with the keyboard. */
function pretty(body: string | null, label: string): Html | string {
  if (body === null) return html`<p class="muted">none</p>`;
  let text = body;
  try {
    text = JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    // not JSON: shown as it was received
  }
  return html`<pre tabindex="0" aria-label="${label}">${text}</pre>`;
}

const USER_KINDS = /^(user|membership)\./;

export function entryPage(requestId: string, entry: EntrySummary | null, changes: Change[]): Html {
  const changeRows = changes.map((c) => {
    const link = (id: string) =>
      USER_KINDS.test(c.kind) ? html`<a class="mono" href="/ops/users/${id}">${id}</a>` : c.kind.startsWith('group.') ? html`<a class="mono" href="/ops/groups/${id}">${id}</a>` : html`<span class="mono">${id}</span>`;
    return html`<tr><td>${c.kind}</td><td class="num">${c.count}</td><td>${c.groupId ? html`<a class="mono" href="/ops/groups/${c.groupId}">${c.groupId}</a>` : ''}</td>
<td>${c.ids.map((id, i) => html`${i ? ', ' : ''}${link(id)}`)}${c.count > c.ids.length ? html` <span class="muted">and ${c.count - c.ids.length} more</span>` : ''}</td></tr>`;
  });
  return html`<h1>Request <span class="mono">${requestId}</span></h1>
${
  entry
    ? html`<dl>
<dt>When (UTC)</dt><dd class="mono">${when(entry.at)}</dd>
<dt>Request</dt><dd class="mono">${entry.method} ${entry.path}</dd>
<dt>Status</dt><dd>${statusCell(entry.status, entry.scimType)}</dd>
${entry.error ? html`<dt>Error</dt><dd>${entry.error}</dd>` : ''}
<dt>Duration</dt><dd>${entry.durationMs} ms</dd>
<dt>Source</dt><dd>${entry.source}</dd>
<dt>Token</dt><dd>${entry.tokenLabel ?? html`<span class="muted">none</span>`}</dd>
<dt>Client</dt><dd>${entry.client ?? html`<span class="muted">not sent</span>`}</dd>
${entry.resourceType ? html`<dt>Resource</dt><dd>${entry.resourceType} ${resourceLink(entry)}${entry.externalId ? html` <span class="muted">externalId</span> ${entry.externalId}` : ''}</dd>` : ''}
</dl>
<h2>Request body</h2>${pretty(entry.requestBody, 'Request body')}
<h2>Response</h2>${pretty(entry.responseBody, 'Response body')}`
    : html`<p class="muted">This request's changes are committed; its entry is still being written. Reload in a moment.</p>`
}
<h2>Changes</h2>
${
  changes.length
    ? html`<table><thead><tr><th scope="col">Change</th><th scope="col">Count</th><th scope="col">Group</th><th scope="col">Ids</th></tr></thead><tbody>${changeRows}</tbody></table>`
    : html`<p>None: this request changed nothing.</p>`
}`;
}

function resourceLink(e: EntrySummary): Html | string {
  if (!e.resourceId) return '';
  if (e.resourceType === 'User') return html`<a class="mono" href="/ops/users/${e.resourceId}">${e.resourceId}</a>`;
  if (e.resourceType === 'Group') return html`<a class="mono" href="/ops/groups/${e.resourceId}">${e.resourceId}</a>`;
  return html`<span class="mono">${e.resourceId}</span>`;
}

export function searchPage(kind: 'users' | 'groups', q: string, found: Found[]): Html {
  const label = kind === 'users' ? 'userName or email starts with' : 'displayName starts with';
  return html`<h1>${kind === 'users' ? 'Users' : 'Groups'}</h1>
<form class="filters" method="get" action="/ops/${kind}" role="search">
  <label for="q">${label}<input id="q" name="q" value="${q}" size="30" autofocus></label>
  <button class="primary" type="submit">Search</button>
</form>
${
  q
    ? found.length
      ? html`<table><thead><tr><th scope="col">${kind === 'users' ? 'userName' : 'displayName'}</th><th scope="col">${kind === 'users' ? 'displayName' : 'externalId'}</th></tr></thead>
<tbody>${found.map((f) => html`<tr><td><a href="/ops/${kind}/${f.id}">${f.name}</a></td><td>${f.detail ?? ''}</td></tr>`)}</tbody></table>`
      : html`<p>Nothing found.</p>`
    : ''
}`;
}

export function userPage(
  user: UserRecord,
  groups: GroupRef[],
  enrollments: Enrollment[],
  names: { content: Map<string, string>; groups: Map<string, string> },
  recent: EntrySummary[],
  moreEnrollments: boolean,
): Html {
  const grantRows = (e: Enrollment) =>
    e.grants.map(
      (g) => html`<tr>
<td>${g.groupId ? html`<a href="/ops/groups/${g.groupId}">${names.groups.get(g.groupId) ?? g.groupId}</a>` : html`<span class="muted">direct</span>`}</td>
<td class="mono">${g.assignmentId ?? ''}</td>
<td class="mono">${when(g.startedAt)}</td><td>${entryLink(g.cause.started)}</td>
<td class="mono">${g.endedAt ? when(g.endedAt) : html`<span class="muted">open</span>`}</td><td>${entryLink(g.cause.ended)}</td></tr>`,
    );
  return html`<h1>${user.displayName ?? user.userName}</h1>
<dl>
<dt>userName</dt><dd>${user.userName}</dd>
<dt>id</dt><dd class="mono">${user.id}</dd>
<dt>Active</dt><dd>${user.active ? 'yes' : html`<strong>no</strong> (deactivated: enrollments paused)`}</dd>
${user.externalId ? html`<dt>externalId</dt><dd>${user.externalId}</dd>` : ''}
${user.emails.length ? html`<dt>Emails</dt><dd>${user.emails.map((m, i) => html`${i ? ', ' : ''}${m.value}${m.type ? html` <span class="muted">(${m.type})</span>` : ''}`)}</dd>` : ''}
${user.department ? html`<dt>Department</dt><dd>${user.department}</dd>` : ''}
<dt>Changes</dt><dd><a href="/ops/log${query({ user: user.id })}">Every log entry that touched this user</a></dd>
</dl>
<h2>Groups (${groups.length})</h2>
${groups.length ? html`<ul>${groups.map((g) => html`<li><a href="/ops/groups/${g.id}">${g.displayName}</a></li>`)}</ul>` : html`<p>None.</p>`}
<h2>Enrollments, and why</h2>
${
  enrollments.length
    ? enrollments.map(
        (e) => html`<section aria-label="${names.content.get(e.contentId) ?? e.contentId}">
<h3>${names.content.get(e.contentId) ?? e.contentId} <span class="muted">${e.state}, ${e.progress}%${e.mandatory ? ', mandatory' : ''}${e.dueAt ? `, due ${when(e.dueAt)}` : ''}</span></h3>
${
  e.grants.length
    ? html`<table><caption class="muted">Grants: each says which group and assignment gave access, and which request opened and ended it</caption>
<thead><tr><th scope="col">Group</th><th scope="col">Assignment</th><th scope="col">Granted (UTC)</th><th scope="col">By request</th><th scope="col">Ended (UTC)</th><th scope="col">By request</th></tr></thead>
<tbody>${grantRows(e)}</tbody></table>`
    : html`<p class="muted">No grants.</p>`
}
</section>`,
      )
    : html`<p>None.</p>`
}
${moreEnrollments ? html`<p class="muted">More enrollments exist: see GET /admin/v1/users/${user.id}/enrollments.</p>` : ''}
<h2>Recent log entries</h2>
${entriesTable(recent)}`;
}

export function groupPage(group: GroupRecord, memberCount: number, members: Found[], assignments: Assignment[], titles: Map<string, string>, recent: EntrySummary[]): Html {
  return html`<h1>${group.displayName}</h1>
<dl>
<dt>id</dt><dd class="mono">${group.id}</dd>
${group.externalId ? html`<dt>externalId</dt><dd>${group.externalId}</dd>` : ''}
<dt>Members</dt><dd>${memberCount}</dd>
</dl>
<h2>Assignments (${assignments.length})</h2>
${
  assignments.length
    ? html`<table><thead><tr><th scope="col">Content</th><th scope="col">Mandatory</th><th scope="col">Due</th><th scope="col">On leave</th><th scope="col">Assigned (UTC)</th></tr></thead>
<tbody>${assignments.map(
        (a) => html`<tr><td>${titles.get(a.contentId) ?? a.contentId}</td><td>${a.mandatory ? 'yes' : 'no'}</td>
<td>${a.dueDate ? when(a.dueDate) : a.dueInDays !== null ? `${a.dueInDays} days after joining` : ''}</td><td>${a.onLeave}</td><td class="mono">${when(a.createdAt)}</td></tr>`,
      )}</tbody></table>`
    : html`<p>None.</p>`
}
<h2>Recent pushes</h2>
${entriesTable(recent)}
<h2>Members${memberCount > members.length ? ` (first ${members.length} of ${memberCount})` : ''}</h2>
${members.length ? html`<ul>${members.map((m) => html`<li><a href="/ops/users/${m.id}">${m.name}</a>${m.detail ? html` <span class="muted">${m.detail}</span>` : ''}</li>`)}</ul>` : html`<p>None.</p>`}`;
}

function entriesTable(items: EntrySummary[]): Html {
  if (!items.length) return html`<p>None.</p>`;
  return html`<table><thead><tr><th scope="col">Time (UTC)</th><th scope="col">Status</th><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Changes</th><th scope="col">Request</th></tr></thead>
<tbody>${items.map(
    (e) => html`<tr><td class="mono">${when(e.at)}</td><td>${statusCell(e.status, e.scimType)}</td><td>${e.method}</td><td class="mono">${e.path}</td><td>${summary(e.changes)}</td><td>${entryLink(e.id)}</td></tr>`,
  )}</tbody></table>`;
}

export function webhooksPage(hooks: { hook: Webhook; deliveries: Delivery[] }[]): Html {
  if (!hooks.length) return html`<h1>Webhooks</h1><p>No subscriptions. Create one with <code>POST /admin/v1/webhooks</code>.</p>`;
  const state = (h: Webhook) =>
    h.parkedAt
      ? html`<span class="s5">parked</span> since ${when(h.parkedAt)} (resume: <code>POST /admin/v1/webhooks/${h.id}/resume</code>)`
      : h.attempts
        ? html`<span class="s4">retrying</span>: ${h.attempts} failed, next at ${when(h.nextAttemptAt)}`
        : html`<span class="s2">delivering</span>`;
  return html`<h1>Webhooks</h1>
${hooks.map(
  ({ hook, deliveries }) => html`<section aria-label="Webhook ${hook.url}">
<h2 class="mono">${hook.url}</h2>
<dl>
<dt>id</dt><dd class="mono">${hook.id}</dd>
<dt>Events</dt><dd>${hook.events.join(', ')}</dd>
<dt>State</dt><dd>${state(hook)}</dd>
${hook.lastError ? html`<dt>Last error</dt><dd>${hook.lastError}</dd>` : ''}
</dl>
${
  deliveries.length
    ? html`<table><caption class="muted">Latest delivery attempts</caption>
<thead><tr><th scope="col">When (UTC)</th><th scope="col">Attempt</th><th scope="col">Events</th><th scope="col">Positions</th><th scope="col">Answer</th><th scope="col">ms</th></tr></thead>
<tbody>${deliveries.map(
        (d) => html`<tr><td class="mono">${when(d.at)}</td><td class="num">${d.attempt}</td><td class="num">${d.events}</td><td class="mono">${d.firstSeq}–${d.lastSeq}</td>
<td>${d.status === null ? '' : html`<span class="s${String(d.status)[0]}">${d.status}</span> `}${d.error ?? ''}</td><td class="num">${d.durationMs}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">Nothing sent yet.</p>`
}
</section>`,
)}`;
}

export const messagePage = (title: string, message: string): Html => html`<h1>${title}</h1><p>${message}</p>`;
