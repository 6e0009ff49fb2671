// `npm run cluster:build` (also run before the tests): builds the cluster's Temporal server, SQL
// tool and UI server with Go where they are not cached yet (binaries.ts), and prints where they are.
import { ensureClusterPrograms, temporalServerVersion, temporalUiVersion } from './binaries';

try {
  const programs = await ensureClusterPrograms((line) => console.log(line));
  console.log(`Temporal server ${temporalServerVersion}: ${programs.server}`);
  console.log(`Temporal SQL tool: ${programs.sqlTool}`);
  console.log(`Temporal UI server ${temporalUiVersion}: ${programs.ui}`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
