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
      const made = make(plot);
      // One image with one name for assistive technology (the tables beside each chart hold its
      // data); Plot's own labelled groups inside it are hidden from it.
      chart = made instanceof SVGSVGElement ? document.createElement('div') : made;
      if (made !== chart) chart.appendChild(made);
      chart.setAttribute('role', 'img');
      chart.setAttribute('aria-label', label);
      for (const svg of chart.querySelectorAll('svg')) svg.setAttribute('aria-hidden', 'true');
      box.current.replaceChildren(chart);
    });
    return () => {
      live = false;
      chart?.remove();
    };
  }, deps);
  return <div class="plot" ref={box} />;
}
