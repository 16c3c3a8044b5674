import type { Histogram } from '../../tensor/value-summary.js';
import { formatNumber } from './tool-kit.js';

const SVG = 'http://www.w3.org/2000/svg';
/** The plot's drawing size (the SVG scales to its box through its viewBox). */
const WIDTH = 640;
const HEIGHT = 200;
const AXIS = 22;

/**
 * A histogram as an inline SVG built through the DOM (no markup strings, no style attributes: the
 * page's CSP allows neither; bars get their geometry as SVG attributes and their colour from style.css).
 * Bar heights are linear in the counts; every bin that holds a value is at least one pixel tall.
 */
export function histogramSvg(histogram: Histogram, label: string): SVGSVGElement {
  const svg = svgEl('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT + AXIS}`, role: 'img', 'aria-label': label, class: 'histogram', 'data-testid': 'histogram' });
  const counts = histogram.counts;
  const top = Math.max(1, ...counts);
  const width = WIDTH / counts.length;
  const bars = svgEl('g', { class: 'bars' });
  counts.forEach((c, i) => {
    const height = c === 0 ? 0 : Math.max(1, (c / top) * (HEIGHT - 4));
    const bar = svgEl('rect', { x: (i * width).toFixed(2), y: (HEIGHT - height).toFixed(2), width: Math.max(0.5, width - 1).toFixed(2), height: height.toFixed(2), 'data-count': String(c) });
    const lo = histogram.min + ((histogram.max - histogram.min) * i) / counts.length;
    const hi = histogram.min + ((histogram.max - histogram.min) * (i + 1)) / counts.length;
    bar.append(svgEl('title', {}, `${formatNumber(lo)} to ${formatNumber(hi)}: ${c}`));
    bars.append(bar);
  });
  svg.append(
    svgEl('line', { x1: '0', y1: String(HEIGHT), x2: String(WIDTH), y2: String(HEIGHT), class: 'axis' }),
    bars,
    svgEl('text', { x: '2', y: String(HEIGHT + AXIS - 6), class: 'tick', 'text-anchor': 'start' }, formatNumber(histogram.min)),
    svgEl('text', { x: String(WIDTH - 2), y: String(HEIGHT + AXIS - 6), class: 'tick', 'text-anchor': 'end' }, formatNumber(histogram.max)),
  );
  return svg;
}

function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}
