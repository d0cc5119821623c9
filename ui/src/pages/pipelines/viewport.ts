/**
 * Pan and zoom, and what to draw at a zoom: the math behind the graph views, kept pure.
 * A view maps graph coordinates to the screen: screen = graph * scale + (x, y).
 */

export interface View {
  scale: number;
  x: number;
  y: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const MIN_SCALE = 0.02;
export const MAX_SCALE = 3;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Zoom by `factor` keeping the screen point (cx, cy) where it is. */
export function zoomAt(view: View, factor: number, cx: number, cy: number): View {
  const scale = clamp(view.scale * factor, MIN_SCALE, MAX_SCALE);
  const k = scale / view.scale;
  return { scale, x: cx - (cx - view.x) * k, y: cy - (cy - view.y) * k };
}

/** The view that shows all of a `width`×`height` graph in the viewport, at most at `maxScale`. */
export function fitView(
  width: number,
  height: number,
  viewport: { width: number; height: number },
  padding = 24,
  maxScale = 1,
): View {
  if (width <= 0 || height <= 0) return { scale: 1, x: padding, y: padding };
  const scale = clamp(
    Math.min((viewport.width - 2 * padding) / width, (viewport.height - 2 * padding) / height),
    MIN_SCALE,
    maxScale,
  );
  return {
    scale,
    x: (viewport.width - width * scale) / 2,
    y: (viewport.height - height * scale) / 2,
  };
}

/** The view that puts graph point (gx, gy) in the middle of the viewport. */
export function centreOn(view: View, gx: number, gy: number, viewport: { width: number; height: number }): View {
  return { scale: view.scale, x: viewport.width / 2 - gx * view.scale, y: viewport.height / 2 - gy * view.scale };
}

/** The part of the graph the viewport shows, in graph coordinates. */
export function visibleRect(view: View, viewport: { width: number; height: number }): Rect {
  return {
    x: -view.x / view.scale,
    y: -view.y / view.scale,
    width: viewport.width / view.scale,
    height: viewport.height / view.scale,
  };
}

/**
 * How much of each node to draw at a scale: "full" (label, type, status), "label" (the label
 * only), "shape" (a coloured box: labels would be under 5 px and unreadable, and thousands of
 * text elements are what makes a big graph slow) or "overview" (boxes a few pixels wide: all
 * nodes of a kind drawn as one path, all edges as another, so a whole big graph is a handful of
 * elements; a click finds the node under the pointer).
 */
export type Detail = "full" | "label" | "shape" | "overview";

export function detailAt(scale: number): Detail {
  if (scale >= 0.75) return "full";
  if (scale >= 0.4) return "label";
  if (scale >= 0.15) return "shape";
  return "overview";
}

/** The key of the box (centre x, y; `size(key)` wide and high) under graph point (gx, gy). */
export function hitTest(
  positions: Record<string, [number, number]>,
  size: (key: string) => { width: number; height: number },
  gx: number,
  gy: number,
  slack = 0,
): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const [key, [x, y]] of Object.entries(positions)) {
    const { width, height } = size(key);
    const dx = Math.abs(gx - x) - width / 2;
    const dy = Math.abs(gy - y) - height / 2;
    if (dx > slack || dy > slack) continue;
    const distance = Math.hypot(gx - x, gy - y);
    if (distance < bestDistance) [best, bestDistance] = [key, distance];
  }
  return best;
}

/**
 * The window to cull against: the visible rect grown by half a viewport on each side and snapped
 * outward to a grid of that size, so panning redraws only when it crosses a grid line.
 */
export function cullWindow(view: View, viewport: { width: number; height: number }): Rect {
  const seen = visibleRect(view, viewport);
  const stepX = Math.max(1, seen.width / 2);
  const stepY = Math.max(1, seen.height / 2);
  const x0 = Math.floor(seen.x / stepX) * stepX - stepX;
  const y0 = Math.floor(seen.y / stepY) * stepY - stepY;
  const x1 = x0 + seen.width + 3 * stepX;
  const y1 = y0 + seen.height + 3 * stepY;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Whether a box centred at (x, y) overlaps `rect`. */
export function overlaps(x: number, y: number, width: number, height: number, rect: Rect): boolean {
  return (
    x + width / 2 >= rect.x &&
    x - width / 2 <= rect.x + rect.width &&
    y + height / 2 >= rect.y &&
    y - height / 2 <= rect.y + rect.height
  );
}
