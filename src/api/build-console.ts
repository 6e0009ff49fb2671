import { ensureConsoleBuilt } from './console-assets';

// `npm run build:web` and npm's `prepare` (every npm install and npm ci): the console's build,
// when it is missing or stale. An install without Vite (production) says so and goes on.

const result = await ensureConsoleBuilt((line) => console.log(line));
if (result.state === 'missing' || result.state === 'stale') console.log(`Console not built: ${result.reason}`);
else console.log(result.state === 'built' ? 'Console built into web/dist.' : 'Console is up to date (web/dist).');
