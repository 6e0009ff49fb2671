import { proxyActivities } from '@temporalio/workflow';

// The floor of what a run can cost on Temporal: a workflow with one activity that returns at
// once (bench/cost.ts measures it next to real runs, on the same Temporal).

const { floorActivity } = proxyActivities<{ floorActivity(): Promise<string> }>({ startToCloseTimeout: '10 seconds' });

export async function floorWorkflow(): Promise<string> {
  return floorActivity();
}
