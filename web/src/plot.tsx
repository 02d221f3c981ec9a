import { useEffect, useRef } from 'preact/hooks';

type PlotModule = typeof import('@observablehq/plot');

/** Renders an Observable Plot chart (the library loads with the first chart, not with the console). */
export function PlotChart({ make, label, deps }: { make: (plot: PlotModule) => SVGSVGElement | HTMLElement; label: string; deps: unknown[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let live = true;
    let chart: Element | null = null;
    void import('@observablehq/plot').then((plot) => {
      if (!live || !box.current) return;
      chart = make(plot);
      chart.setAttribute('role', 'img');
      chart.setAttribute('aria-label', label);
      box.current.replaceChildren(chart);
    });
    return () => {
      live = false;
      chart?.remove();
    };
  }, deps);
  return <div class="plot" ref={box} />;
}
