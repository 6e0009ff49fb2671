// Fitting a conversation into a model's context window, before each model call.
export { fitContext, defaultReserveTokens, leftOutNote } from './fit-context';
export type { FitContextOptions, FitContextReport, FitContextResult } from './fit-context';
export { tokenCounterFor, encodingForModel, estimateEncoding } from './token-counter';
export type { TokenCounter } from './token-counter';
export { messageTokens } from './message-tokens';
