import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console (web/): a single-page app the API serves at / from web/dist. It imports the typed
// client and the shared event types from ../src (never server code). `npm run dev:web` serves it
// with hot reload and sends API calls to the API at DURABLE_AGENTS_URL (default :3000).

const api = process.env.DURABLE_AGENTS_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1000 },
  server: { proxy: { '/v1': { target: api, changeOrigin: false } } },
});
