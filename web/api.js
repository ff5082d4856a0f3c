// Calls to the netpulse HTTP API made by the page's modules, and reading its errors.

/** The server's {"error", "field"} body of a failed answer, tolerating anything else. */
export async function readError(res) {
  const body = await res.json().catch(() => null);
  return {
    message: typeof body?.error === 'string' ? body.error : `request failed (HTTP ${res.status})`,
    field: typeof body?.field === 'string' ? body.field : null,
  };
}

/**
 * GET /api/devices/{id}/history for one interface (ifIndex or name) over [fromMs, toMs):
 * the answer's body as the server sent it. Throws an Error with the server's message.
 */
export async function fetchHistory(id, iface, fromMs, toMs, maxPoints, signal) {
  const params = new URLSearchParams({
    interface: String(iface),
    from: String(Math.floor(fromMs / 1000)),
    to: String(Math.ceil(toMs / 1000)),
    max_points: String(maxPoints),
  });
  const res = await fetch(`/api/devices/${encodeURIComponent(id)}/history?${params}`, {
    headers: { Accept: 'application/json' },
    signal,
  });
  if (!res.ok) throw new Error((await readError(res)).message);
  return res.json();
}

/**
 * GET /api/devices/{id}/logs: one page of the device's timeline, newest first, as
 * `{entries, next_before}`. `before` (a `next_before`) pages back; `severity` and `q` filter.
 * Throws an Error with the server's message.
 */
export async function fetchLogs(id, { before = null, severity = '', q = '', limit = 100 }, signal) {
  const params = new URLSearchParams({ limit: String(limit) });
  if (before !== null) params.set('before', before);
  if (severity) params.set('severity', severity);
  if (q) params.set('q', q);
  const res = await fetch(`/api/devices/${encodeURIComponent(id)}/logs?${params}`, {
    headers: { Accept: 'application/json' },
    signal,
  });
  if (!res.ok) throw new Error((await readError(res)).message);
  return res.json();
}

/** GET /api/logs/unknown-sources (operators and admins): the list, latest first. */
export async function fetchUnknownSources(signal) {
  const res = await fetch('/api/logs/unknown-sources', { headers: { Accept: 'application/json' }, signal });
  if (!res.ok) throw new Error((await readError(res)).message);
  return res.json();
}

/** A request the API refused: the server's message, the field it names (or null), the HTTP status. */
export class ApiError extends Error {
  constructor(message, field, status) {
    super(message);
    this.field = field;
    this.status = status;
  }
}

/**
 * `method` `path` with `body` (if any) as JSON; resolves to the answer's JSON body (null when
 * it has none). Throws an ApiError with the server's message and field when refused.
 */
export async function apiJson(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (!res.ok) {
    const { message, field } = await readError(res);
    throw new ApiError(message, field, res.status);
  }
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/**
 * GET /api/devices/{id}/history?oids=all over [fromMs, toMs): the series of the device's
 * numeric extra OIDs, as the answer's `oids` ({oid: {type, per_second, points}}; OIDs without a
 * number in the range are left out). Throws an Error with the server's message.
 */
export async function fetchOidHistory(id, fromMs, toMs, maxPoints, signal) {
  const params = new URLSearchParams({
    oids: 'all',
    from: String(Math.floor(fromMs / 1000)),
    to: String(Math.ceil(toMs / 1000)),
    max_points: String(maxPoints),
  });
  const res = await fetch(`/api/devices/${encodeURIComponent(id)}/history?${params}`, {
    headers: { Accept: 'application/json' },
    signal,
  });
  if (!res.ok) throw new Error((await readError(res)).message);
  const body = await res.json();
  return body?.oids && typeof body.oids === 'object' ? body.oids : {};
}
