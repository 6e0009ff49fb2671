// `npm run demo-model`: serves the built-in demo model alone (for pointing other clients at it).
import { demoResponder } from './demo-script';
import { startModelServer } from './server';

const port = Number(process.env.DEMO_MODEL_PORT ?? 8787);
const pace = {
  firstTokenDelayMs: Number(process.env.DEMO_MODEL_FIRST_TOKEN_DELAY_MS ?? 200),
  tokenDelayMs: Number(process.env.DEMO_MODEL_TOKEN_DELAY_MS ?? 30),
};
const host = process.env.DEMO_MODEL_HOST ?? '127.0.0.1';
const server = await startModelServer(demoResponder(pace), port, host);
console.log(`demo model: OPENAI_BASE_URL=${server.baseURL} (model name: anything)`);
