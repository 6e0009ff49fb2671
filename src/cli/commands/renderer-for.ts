import { JsonRenderer } from '../render/json-renderer';
import type { Renderer } from '../render/renderer';
import { TextRenderer } from '../render/text-renderer';
import type { CliSettings } from '../settings';

export const rendererFor = (runId: string, settings: CliSettings): Renderer => (settings.json ? new JsonRenderer() : new TextRenderer(runId));
