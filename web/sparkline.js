// A device's last hour of total traffic as a tiny line drawing on a <canvas>: in and out,
// a gap where there is no data. Drawn by hand (one Chart.js instance per overview row would
// be heavy on a wall screen with hundreds of devices).

/** The span a sparkline shows. */
export const SPARK_WINDOW_MS = 60 * 60 * 1000;

/**
 * Draws `points` ([{t, in, out}], oldest first; rates in bit/s, null for no data) over
 * [toMs - SPARK_WINDOW_MS, toMs] on `canvas`, both directions on one scale from zero.
 */
export function drawSparkline(canvas, points, toMs, colours) {
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 160;
  const cssHeight = canvas.clientHeight || 36;
  const width = Math.round(cssWidth * ratio);
  const height = Math.round(cssHeight * ratio);
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, width, height);
  const fromMs = toMs - SPARK_WINDOW_MS;
  const shown = points.filter((p) => p.t >= fromMs && p.t <= toMs);
  let max = 0;
  for (const p of shown) max = Math.max(max, p.in ?? 0, p.out ?? 0);
  if (max <= 0) max = 1;
  const pad = 2 * ratio;
  const x = (t) => ((t - fromMs) / SPARK_WINDOW_MS) * width;
  const y = (v) => height - pad - (v / max) * (height - 2 * pad);
  // Baseline.
  ctx.strokeStyle = colours.grid;
  ctx.lineWidth = ratio;
  ctx.beginPath();
  ctx.moveTo(0, height - pad + 0.5);
  ctx.lineTo(width, height - pad + 0.5);
  ctx.stroke();
  for (const [field, colour] of [['out', colours.out], ['in', colours.in]]) {
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 1.5 * ratio;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    let open = false;
    shown.forEach((p, i) => {
      const v = p[field];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        open = false;
        return;
      }
      const lonely = !open && !(typeof shown[i + 1]?.[field] === 'number');
      if (lonely) ctx.fillRect(x(p.t) - ratio, y(v) - ratio, 2 * ratio, 2 * ratio);
      if (open) ctx.lineTo(x(p.t), y(v));
      else ctx.moveTo(x(p.t), y(v));
      open = true;
    });
    ctx.stroke();
  }
}
