import { readdirSync, readFileSync } from 'node:fs';

// Where a process's CPU goes: per thread (from /proc: the main JavaScript thread, Temporal's Rust
// core threads, and V8's helpers, libuv's pool and the workflow worker thread together) and, on the main thread, per module (from a V8 CPU
// profile: the self time of each sample's innermost frame, by the file it is in).

/** CPU (ms) of each named thread group of a process, from /proc/<pid>/task/* /stat. */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
      const group = Number(task) === pid ? 'main (JavaScript)' : threadGroup(name);
      out.set(group, (out.get(group) ?? 0) + ms);
    } catch {
      // the thread ended while being read
    }
  }
  return out;
}

function threadGroup(name: string): string {
  // Temporal's core: its tokio runtime, and its workflow-processing thread (not the JavaScript of
  // workflows, which runs in a Node worker thread).
  if (/^tokio|^temporal|^workflow-proces/i.test(name)) return 'Temporal core (Rust)';
  if (/^v8:ProfEvntProc/.test(name)) return 'profiler (measurement)';
  // Node 20 leaves V8's platform workers, libuv's pool and worker threads (the SDK runs workflow
  // code in one) unnamed: /proc cannot tell them apart (perf can: docs/architecture.md).
  if (name === 'node' || /^libuv|^V8 /.test(name)) return 'V8 helpers, libuv pool and the workflow worker thread';
  return `other (${name})`;
}

export function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of after) out.set(name, value - (before.get(name) ?? 0));
  return out;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** Self time per module category in a .cpuprofile, in ms (idle left out). */
export function moduleBreakdown(file: string): Map<string, number> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const out = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const node = byId.get(id)!;
    const category = categorize(node.callFrame);
    if (category === undefined) return;
    const ms = (profile.timeDeltas[index + 1] ?? profile.timeDeltas[index] ?? 0) / 1000;
    out.set(category, (out.get(category) ?? 0) + ms);
  });
  return out;
}

const categories: Array<[RegExp, string]> = [
  [/workflow-bundle|evalmachine|node_modules\/@temporalio\/workflow/, 'workflow code in the sandbox (workflow tasks, queries)'],
  [/node_modules\/@temporalio\/worker/, 'Temporal worker SDK (JavaScript)'],
  [/node_modules\/@temporalio\/(client|common|proto|activity)|node_modules\/protobufjs|node_modules\/long\//, 'Temporal client, payloads and protobuf'],
  [/node_modules\/@grpc/, 'gRPC (grpc-js)'],
  [/node_modules\/(express|router|body-parser|raw-body|helmet|cors|send|finalhandler|qs|on-finished|type-is|content-type|iconv-lite|express-rate-limit)\//, 'Express and middleware'],
  [/node_modules\/(openai|@anthropic-ai|eventsource-parser)|src\/activities\/(model-stream|models\/)/, 'model stream parsing (eventsource-parser, openai, providers)'],
  [/node_modules\/(zod|jose)\//, 'validation and tokens (zod, jose)'],
  [/node_modules\/gpt-tokenizer/, 'token counting (gpt-tokenizer)'],
  [/\/src\/api\//, 'our API (SSE, reads, merge)'],
  [/\/src\/relay\//, 'our relay (live events)'],
  [/\/src\/activities\//, 'our activities (model step, tools)'],
  [/\/src\/demo-model\/|\/bench\//, 'benchmark harness and scripted model'],
  [/\/src\//, 'our other code'],
  [/node_modules\//, 'other libraries'],
  [/^node:internal\/deps\/undici/, 'Node: fetch (undici)'],
  [/^node:(_http_|http|internal\/http)/, 'Node: http'],
  [/^node:(internal\/streams|stream|internal\/webstreams)/, 'Node: streams'],
  [/^node:(net|internal\/net|internal\/stream_base_commons|internal\/dns)/, 'Node: sockets'],
  [/^node:(internal\/crypto|crypto)/, 'Node: crypto'],
  [/^node:(internal\/timers|timers)/, 'Node: timers'],
  [/^node:(internal\/process\/task_queues|internal\/async_hooks|events|internal\/event_target)/, 'Node: promises, events, async hooks'],
  [/^node:/, 'Node: other'],
];

function categorize(frame: { functionName: string; url: string }): string | undefined {
  if (frame.functionName === '(idle)') return undefined;
  if (frame.functionName === '(garbage collector)') return 'garbage collection (main thread)';
  if (frame.functionName === '(program)' || frame.functionName === '(root)') return 'V8 and native code (unattributed)';
  for (const [pattern, category] of categories) if (pattern.test(frame.url)) return category;
  if (frame.url === '') return 'V8 and native code (unattributed)';
  return 'other';
}

/** The functions with the most self time in a .cpuprofile (ms), idle left out: for looking into a breakdown. */
export function topFunctions(file: string, count = 30): Array<[string, number]> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Array<ProfileNode & { callFrame: { lineNumber: number } }>; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const out = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') return;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|bench)\//, '$1/')}:${lineNumber + 1}`;
    out.set(key, (out.get(key) ?? 0) + (profile.timeDeltas[index + 1] ?? 0) / 1000);
  });
  return [...out].sort((a, b) => b[1] - a[1]).slice(0, count);
}
