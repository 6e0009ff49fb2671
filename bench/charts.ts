// Latency distributions as SVG: cumulative distribution curves on a logarithmic time axis, one
// per series. Plain SVG, no library: a few dozen lines are enough.

export interface Series {
  name: string;
  values: number[];
}

const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

export function cdfChart(title: string, series: Series[], options: { minMs?: number; maxMs?: number } = {}): string {
  const width = 760;
  const height = 380;
  const left = 60;
  const right = 200;
  const top = 40;
  const bottom = 50;
  const all = series.flatMap((entry) => entry.values).filter((value) => value > 0);
  const minMs = options.minMs ?? 10 ** Math.floor(Math.log10(Math.max(0.01, Math.min(...all.slice(0, 100_000)))));
  const maxMs = options.maxMs ?? 10 ** Math.ceil(Math.log10(Math.max(...all.slice(0, 100_000))));
  const x = (value: number) => left + ((Math.log10(Math.max(value, minMs)) - Math.log10(minMs)) / (Math.log10(maxMs) - Math.log10(minMs))) * (width - left - right);
  const y = (fraction: number) => top + (1 - fraction) * (height - top - bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${title}</text>`,
  ];
  for (let decade = Math.log10(minMs); decade <= Math.log10(maxMs) + 1e-9; decade++) {
    const value = 10 ** decade;
    parts.push(`<line x1="${x(value)}" y1="${top}" x2="${x(value)}" y2="${height - bottom}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(value)}" y="${height - bottom + 16}" text-anchor="middle">${value >= 1 ? value : value.toFixed(Math.round(-decade))} ms</text>`);
  }
  for (const fraction of [0, 0.5, 0.9, 0.99, 1]) {
    parts.push(`<line x1="${left}" y1="${y(fraction)}" x2="${width - right}" y2="${y(fraction)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${y(fraction) + 4}" text-anchor="end">${fraction === 0.99 ? 'p99' : fraction === 0.9 ? 'p90' : fraction === 0.5 ? 'p50' : fraction}</text>`);
  }
  parts.push(`<text x="${(left + width - right) / 2}" y="${height - 12}" text-anchor="middle">latency (log scale)</text>`);
  series.forEach((entry, index) => {
    const sorted = Float64Array.from(entry.values).sort();
    const step = Math.max(1, Math.floor(sorted.length / 400));
    const points: string[] = [];
    for (let i = 0; i < sorted.length; i += step) points.push(`${x(sorted[i]!).toFixed(1)},${y((i + 1) / sorted.length).toFixed(1)}`);
    points.push(`${x(sorted[sorted.length - 1]!).toFixed(1)},${y(1).toFixed(1)}`);
    const color = colors[index % colors.length]!;
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(' ')}"/>`);
    parts.push(`<rect x="${width - right + 15}" y="${top + index * 22}" width="14" height="4" fill="${color}"/>`);
    parts.push(`<text x="${width - right + 35}" y="${top + index * 22 + 6}">${entry.name}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
