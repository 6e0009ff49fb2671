import type { ToolPolicy } from '../shared/run-types';

/** What every new run gets unless its request says otherwise: shared by runs and sessions. */
export interface RunDefaults {
  defaultModel: string;
  toolNames: string[];
  toolPolicies: (names: string[]) => ToolPolicy[];
  toolConcurrency: number;
  limits: { maxSteps: number; maxInputChars: number; approvalTimeoutMs: number };
}

export const defaultMaxSteps = 10;

/** Accepted by both routers: run and session ids are generated, so anything else is unknown. */
export const idPattern = /^[A-Za-z0-9_.:-]{1,200}$/;
