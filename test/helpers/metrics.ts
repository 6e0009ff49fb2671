import type { Metrics } from '../../src/telemetry/metrics';
import { ensureDebianPackage } from '../../deploy/debian';
import { spawnSync } from 'node:child_process';

// Reading Prometheus' text format back, as a scraper would: every sample with its labels.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const samplePattern = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = samplePattern.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(labelPattern)) labels[key!] = value!.replace(/\\"/g, '"').replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there are none). */
export function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** A process's registry, read as its /metrics would say it. */
export async function samplesOf(metrics: Metrics): Promise<Sample[]> {
  return parseExposition(await metrics.text());
}

/** `promtool check metrics` (Debian's prometheus package): the exposition's names and types follow Prometheus' rules. */
export function promtoolProblems(text: string): string {
  ensureDebianPackage('promtool', 'prometheus');
  const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return checked.status === 0 ? '' : `${checked.stdout}${checked.stderr}`.trim() || `promtool exited ${checked.status}`;
}
