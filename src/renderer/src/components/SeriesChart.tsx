import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

export interface ChartSeries {
  label: string
  /** [timestamps in seconds, values] — null is a gap. */
  points: Array<[number, number | null]>
}

const COLORS = ['#0b5cad', '#c2410c', '#15803d', '#7c3aed']

/**
 * A time-series chart. The uPlot instance is created once per set of series labels and only fed
 * new data afterwards (setData), so live updates never rebuild the chart.
 */
export function SeriesChart({
  title,
  unit,
  series,
  height = 180,
  xRange,
}: {
  title: string
  unit: string
  series: ChartSeries[]
  height?: number
  /** The window shown, in seconds: a chart of a few points still spans the whole window. */
  xRange?: [number, number] | undefined
}) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const labels = series.map((s) => s.label).join('|')

  // biome-ignore lint/correctness/useExhaustiveDependencies: the chart is rebuilt only when its series change, data flows through setData below
  useEffect(() => {
    const el = box.current
    if (!el) return
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height,
      title,
      series: [
        {},
        ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false })),
      ],
      axes: [{}, { label: unit, size: 60 }],
      scales: { x: { time: true } },
    }
    plot.current = new uPlot(opts, toData(series), el)
    return () => {
      plot.current?.destroy()
      plot.current = null
    }
  }, [labels, title, unit, height])

  useEffect(() => {
    const p = plot.current
    if (!p) return
    p.setData(toData(series), xRange === undefined)
    if (xRange) p.setScale('x', { min: xRange[0], max: xRange[1] })
  }, [series, xRange])

  return <div ref={box} className="chart" role="img" aria-label={title} />
}

function toData(series: ChartSeries[]): uPlot.AlignedData {
  const ts = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b)
  const cols = series.map((s) => {
    const m = new Map(s.points)
    return ts.map((t) => m.get(t) ?? null)
  })
  return [ts, ...cols] as uPlot.AlignedData
}
