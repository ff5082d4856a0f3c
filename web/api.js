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
