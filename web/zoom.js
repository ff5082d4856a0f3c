// Drag to zoom on a Chart.js chart whose x axis is time (linear, Unix milliseconds): press on
// the plot, drag sideways, release; the selected span goes to onSelect(fromMs, toMs). While
// dragging, `box` (an element over the chart) shows the selection.

/** Drags shorter than this many pixels are clicks, not selections. */
const MIN_DRAG_PX = 6;

export function attachDragZoom(chart, box, onSelect) {
  const canvas = chart.canvas;
  let start = null; // x of the press, canvas pixels
  let pointer = null;

  const local = (ev) => {
    const rect = canvas.getBoundingClientRect();
    return { x: ev.clientX - rect.left, y: ev.clientY - rect.top };
  };
  const clampX = (x) => Math.min(Math.max(x, chart.chartArea.left), chart.chartArea.right);

  const show = (a, b) => {
    const area = chart.chartArea;
    box.style.left = `${canvas.offsetLeft + Math.min(a, b)}px`;
    box.style.width = `${Math.abs(b - a)}px`;
    box.style.top = `${canvas.offsetTop + area.top}px`;
    box.style.height = `${area.bottom - area.top}px`;
    box.hidden = false;
  };
  const stop = () => {
    start = null;
    box.hidden = true;
    if (pointer !== null && canvas.hasPointerCapture(pointer)) canvas.releasePointerCapture(pointer);
    pointer = null;
  };

  canvas.addEventListener('pointerdown', (ev) => {
    const area = chart.chartArea;
    if (ev.button !== 0 || !area) return;
    const { x, y } = local(ev);
    if (x < area.left || x > area.right || y < area.top || y > area.bottom) return;
    ev.preventDefault();
    start = x;
    pointer = ev.pointerId;
    canvas.setPointerCapture(ev.pointerId);
    show(x, x);
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (start === null || ev.pointerId !== pointer) return;
    show(start, clampX(local(ev).x));
  });
  canvas.addEventListener('pointerup', (ev) => {
    if (start === null || ev.pointerId !== pointer) return;
    const from = start;
    const to = clampX(local(ev).x);
    stop();
    if (Math.abs(to - from) < MIN_DRAG_PX) return;
    const scale = chart.scales.x;
    const a = Math.round(scale.getValueForPixel(Math.min(from, to)));
    const b = Math.round(scale.getValueForPixel(Math.max(from, to)));
    if (Number.isFinite(a) && Number.isFinite(b) && b > a) onSelect(a, b);
  });
  canvas.addEventListener('pointercancel', stop);
  // Escape drops a selection in progress.
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && start !== null) stop();
  });
}
