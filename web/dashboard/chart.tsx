/** @jsxImportSource preact */
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { alignForDrawing } from "./downsample.js";
import { formatNumber } from "./format.js";
import type { Series } from "./series.js";

export interface ChartProps {
  series: readonly Series[];
  colors: ReadonlyMap<string, string>;
  xLabel: string;
  yLabel: string;
  /** Says what the chart shows, for screen readers. */
  description: string;
  height?: number;
}

/**
 * A line chart of many series (uPlot, on a canvas), downsampled to the pixels it has. The curve nearest
 * the pointer is named above the chart, with its value there; the caller draws the legend.
 */
export function Chart({ series, colors, xLabel, yLabel, description, height = 320 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [hovered, setHovered] = useState<string | null>(null);

  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const observer = new ResizeObserver(() => setWidth(Math.floor(element.clientWidth)));
    observer.observe(element);
    setWidth(Math.floor(element.clientWidth));
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const element = box.current;
    if (element === null || width === 0) return;
    const started = performance.now();
    const data = alignForDrawing(series, Math.max(50, Math.floor(width / 2)));
    // The series under the pointer (uPlot focuses the nearest), named with its value at the pointer.
    let focused: number | null = null;
    const say = (u: uPlot) => {
      const index = u.cursor.idx;
      if (focused === null || index === null || index === undefined) {
        setHovered(null);
        return;
      }
      const y = u.data[focused]?.[index];
      const x = u.data[0][index];
      setHovered(
        `${series[focused - 1]?.label ?? ""}: ${yLabel} ${y === null || y === undefined ? "\u2013" : formatNumber(y)} at ${xLabel} ${x === undefined ? "" : formatNumber(x)}`,
      );
    };
    const plot = new uPlot(
      {
        width,
        height,
        legend: { show: false },
        cursor: { focus: { prox: 24 }, points: { show: series.length <= 8 } },
        focus: { alpha: 0.3 },
        scales: { x: { time: false } },
        axes: [
          { label: xLabel, stroke: "#333", grid: { stroke: "#e5e5e5" } },
          { label: yLabel, stroke: "#333", grid: { stroke: "#e5e5e5" }, size: 60 },
        ],
        series: [
          { label: xLabel },
          ...series.map((s) => ({
            label: s.label,
            stroke: colors.get(s.group) ?? "#555",
            width: series.length > 100 ? 1 : 1.5,
            spanGaps: true,
            points: { show: false },
          })),
        ],
        hooks: {
          setSeries: [
            (u: uPlot, index: number | null) => {
              focused = index;
              say(u);
            },
          ],
          setCursor: [say],
        },
      },
      data as uPlot.AlignedData,
      element,
    );
    element.dataset["drawMs"] = (performance.now() - started).toFixed(1);
    return () => plot.destroy();
  }, [series, colors, width, height, xLabel, yLabel]);

  return (
    <figure class="chart">
      <p class="chart-hover" aria-live="off">
        {hovered ?? (series.length === 1 ? "Point at the curve to read its values." : `${series.length} curves: point at one to name it.`)}
      </p>
      <div ref={box} class="chart-canvas" role="img" aria-label={description} data-series={series.length} />
    </figure>
  );
}
