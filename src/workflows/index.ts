export { agentTurn } from './agent-turn';
export { session } from './session';
