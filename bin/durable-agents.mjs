#!/usr/bin/env node
// The CLI's entry for `npx durable-agents` (package.json bin): tsx compiles the TypeScript
// sources as they load, resolved from this package, wherever the command runs.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
