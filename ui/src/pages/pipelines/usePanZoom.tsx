import { useCallback, useEffect, useRef, useState } from "react";
import { fitView, zoomAt, type View } from "./viewport";

/**
 * Pan (drag, arrow keys) and zoom (wheel at the pointer, + and -, 0 to fit) for an SVG graph
 * view. The view is state, updated at most once a frame.
 */
export function usePanZoom(content: { width: number; height: number } | undefined) {
  const ref = useRef<SVGSVGElement | null>(null);
  const [view, setView] = useState<View>({ scale: 1, x: 0, y: 0 });
  const [size, setSize] = useState({ width: 800, height: 500 });
  const pending = useRef<View | null>(null);
  const frame = useRef(0);
  const drag = useRef<{ x: number; y: number; moved: boolean } | null>(null);
  /** Whether the last pointer press was a drag (so its click is not a click on what is under it). */
  const dragged = useRef(false);
  const viewRef = useRef(view);
  viewRef.current = view;

  const schedule = useCallback((next: View) => {
    pending.current = next;
    viewRef.current = next;
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      if (pending.current) setView(pending.current);
    });
  }, []);

  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  useEffect(() => {
    const svg = ref.current;
    if (!svg) return;
    const observer = new ResizeObserver(([entry]) => {
      const { width, height } = entry.contentRect;
      if (width > 0 && height > 0) setSize({ width, height });
    });
    observer.observe(svg);
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      const box = svg.getBoundingClientRect();
      const factor = Math.exp(-event.deltaY * (event.ctrlKey ? 0.01 : 0.0015));
      schedule(zoomAt(viewRef.current, factor, event.clientX - box.left, event.clientY - box.top));
    };
    svg.addEventListener("wheel", onWheel, { passive: false });
    return () => {
      observer.disconnect();
      svg.removeEventListener("wheel", onWheel);
    };
  }, [schedule]);

  const fit = useCallback(() => {
    if (content) schedule(fitView(content.width, content.height, size));
  }, [content, size, schedule]);

  const zoomBy = useCallback(
    (factor: number) => schedule(zoomAt(viewRef.current, factor, size.width / 2, size.height / 2)),
    [size, schedule],
  );

  const handlers = {
    onPointerDown: (event: React.PointerEvent<SVGSVGElement>) => {
      if (event.button !== 0) return;
      drag.current = { x: event.clientX, y: event.clientY, moved: false };
      dragged.current = false;
    },
    onPointerMove: (event: React.PointerEvent<SVGSVGElement>) => {
      const from = drag.current;
      if (!from) return;
      const dx = event.clientX - from.x;
      const dy = event.clientY - from.y;
      if (!from.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!from.moved) event.currentTarget.setPointerCapture(event.pointerId);
      drag.current = { x: event.clientX, y: event.clientY, moved: true };
      const v = viewRef.current;
      schedule({ ...v, x: v.x + dx, y: v.y + dy });
    },
    onPointerUp: (event: React.PointerEvent<SVGSVGElement>) => {
      if (drag.current?.moved) {
        event.currentTarget.releasePointerCapture(event.pointerId);
        dragged.current = true;
      }
      drag.current = null;
    },
    onKeyDown: (event: React.KeyboardEvent<SVGSVGElement>) => {
      if (event.target !== event.currentTarget) return;
      const v = viewRef.current;
      const step = 60;
      const moves: Record<string, [number, number]> = {
        ArrowLeft: [step, 0],
        ArrowRight: [-step, 0],
        ArrowUp: [0, step],
        ArrowDown: [0, -step],
      };
      if (moves[event.key]) {
        event.preventDefault();
        schedule({ ...v, x: v.x + moves[event.key][0], y: v.y + moves[event.key][1] });
      } else if (event.key === "+" || event.key === "=") zoomBy(1.25);
      else if (event.key === "-") zoomBy(0.8);
      else if (event.key === "0") fit();
    },
  };

  return { ref, view, setView: schedule, size, fit, zoomBy, handlers, dragged };
}

/** Zoom and fit buttons for a graph view. */
export function ZoomControls({ zoomBy, fit }: { zoomBy: (f: number) => void; fit: () => void }) {
  return (
    <div className="graph-zoom" role="group" aria-label="Zoom">
      <button type="button" onClick={() => zoomBy(1.25)} aria-label="Zoom in">
        +
      </button>
      <button type="button" onClick={() => zoomBy(0.8)} aria-label="Zoom out">
        −
      </button>
      <button type="button" onClick={fit}>
        Fit
      </button>
    </div>
  );
}
