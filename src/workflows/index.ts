export { agentTurn } from './agent-turn';
export { session } from './session';
export { toolCacheEntry } from './tool-cache-entry';
export { toolStats } from './tool-stats';
