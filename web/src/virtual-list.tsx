import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * A scrolling window over `total` rows of fixed height that renders only the visible ones. A
 * million rows are taller than a browser lets an element be, so past MAX_HEIGHT the scrollbar
 * is scaled: its position maps linearly onto the row range. `onRange` reports the visible rows
 * once scrolling pauses, so a fling to row 900,000 asks for the rows there and none between.
 */
const MAX_HEIGHT = 8_000_000;

export interface VirtualListProps {
  total: number;
  rowHeight: number;
  height: number;
  label: string;
  selected: number | null;
  onSelect: (row: number) => void;
  onRange: (first: number, last: number) => void;
  renderRow: (row: number) => ComponentChildren;
  rowId: (row: number) => string;
  /** resets the scroll position when it changes (a new filter) */
  resetKey: string;
}

export function VirtualList(props: VirtualListProps) {
  const { total, rowHeight, height } = props;
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const fullHeight = total * rowHeight;
  const physical = Math.min(fullHeight, MAX_HEIGHT);
  const visible = Math.ceil(height / rowHeight) + 1;
  // Fractional index of the row at the top edge.
  const position =
    fullHeight <= MAX_HEIGHT ? scrollTop / rowHeight : physical - height > 0 ? (scrollTop / (physical - height)) * Math.max(0, total - height / rowHeight) : 0;
  const first = Math.max(0, Math.floor(position));
  const last = Math.min(total - 1, first + visible);

  useEffect(() => {
    if (box.current) box.current.scrollTop = 0;
    setScrollTop(0);
  }, [props.resetKey]);

  const onRange = useRef(props.onRange);
  onRange.current = props.onRange;
  useEffect(() => {
    if (total === 0) return;
    const timer = setTimeout(() => onRange.current(first, last), 50);
    return () => clearTimeout(timer);
  }, [first, last, total]);

  const scrollTo = (row: number) => {
    const el = box.current;
    if (!el) return;
    if (row < first + 1 || row > first + visible - 3) {
      const target = Math.max(0, row - 2);
      el.scrollTop = fullHeight <= MAX_HEIGHT ? target * rowHeight : (target / Math.max(1, total - height / rowHeight)) * (physical - height);
    }
  };
  const onKey = (e: KeyboardEvent) => {
    if (total === 0) return;
    const cur = props.selected ?? first - 1;
    const step = e.key === 'ArrowDown' ? 1 : e.key === 'ArrowUp' ? -1 : e.key === 'PageDown' ? visible - 2 : e.key === 'PageUp' ? -(visible - 2) : e.key === 'Home' ? -Infinity : e.key === 'End' ? Infinity : 0;
    if (step === 0) return;
    e.preventDefault();
    const next = Math.max(0, Math.min(total - 1, cur + step));
    props.onSelect(next);
    scrollTo(next);
  };

  const rows: ComponentChildren[] = [];
  for (let r = first; r <= last; r++) {
    rows.push(
      <div
        key={r}
        id={props.rowId(r)}
        role="option"
        aria-selected={props.selected === r}
        aria-posinset={r + 1}
        aria-setsize={total}
        class="vrow"
        style={{ top: `${scrollTop + (r - position) * rowHeight}px` }}
        onClick={() => props.onSelect(r)}
      >
        {props.renderRow(r)}
      </div>,
    );
  }
  return (
    <div
      ref={box}
      class="vbody"
      role="listbox"
      tabIndex={0}
      aria-label={props.label}
      data-filter-key={props.resetKey}
      aria-activedescendant={props.selected !== null && props.selected >= first && props.selected <= last ? props.rowId(props.selected) : undefined}
      style={{ height: `${height}px` }}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      onKeyDown={onKey}
    >
      <div style={{ height: `${physical}px` }} aria-hidden="true" />
      {rows}
    </div>
  );
}
