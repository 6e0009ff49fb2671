import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// Runs the @temporalio/workflow-streams peer (bench/peers/workflow-streams, its own package with
// its own pinned @temporalio version), installing it on first use.

const peerDir = join(import.meta.dirname, 'peers', 'workflow-streams');

export interface PeerRun {
  prompt: string;
  started: number;
  deltas: Array<{ text: string; at: number }>;
}

export function ensurePeerInstalled(): void {
  if (existsSync(join(peerDir, 'node_modules', '@temporalio', 'workflow-streams'))) return;
  console.log('installing the Workflow Streams peer (bench/peers/workflow-streams)...');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: peerDir, stdio: 'inherit' });
}

export async function runWorkflowStreamsPeer(address: string, modelBaseURL: string, prompts: string[]): Promise<PeerRun[]> {
  ensurePeerInstalled();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: peerDir,
    env: { ...process.env, TEMPORAL_ADDRESS: address, MODEL_BASE_URL: modelBaseURL, PROMPTS: prompts.join(',') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the Workflow Streams peer exited with ${code}`);
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as PeerRun);
}
