// Export of a shown range: the history API's answers as JSON (as they came) or as CSV,
// downloaded through a Blob and an <a download>.

export const CSV_HEADER = 'interface,time,in_min_bps,in_avg_bps,in_max_bps,out_min_bps,out_avg_bps,out_max_bps';

// A cell as RFC 4180 wants it. Text that a spreadsheet would run as a formula (=, +, -, @)
// gets a leading apostrophe: interface names come from devices.
function textCell(text) {
  let cell = String(text);
  if (/^[=+\-@\t\r]/.test(cell)) cell = `'${cell}`;
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

const numberCell = (v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '');

/**
 * CSV of history answers keyed by interface (as the API was asked): one row per point,
 * ISO-8601 UTC times, empty cells where the answer has no data.
 */
export function historyCsv(bodies) {
  const lines = [CSV_HEADER];
  for (const [iface, body] of Object.entries(bodies)) {
    for (const p of Array.isArray(body?.points) ? body.points : []) {
      if (typeof p?.time_ms !== 'number') continue;
      lines.push([
        textCell(iface),
        new Date(p.time_ms).toISOString(),
        numberCell(p.in_bps?.min),
        numberCell(p.in_bps?.avg),
        numberCell(p.in_bps?.max),
        numberCell(p.out_bps?.min),
        numberCell(p.out_bps?.avg),
        numberCell(p.out_bps?.max),
      ].join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Lets the browser save `text` as a file called `name`. */
export function downloadText(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started by now; keep the URL a little longer for slow browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
