import { join } from 'node:path';
import { cacheBase, executableName, goInstall, isFile, onPath } from '../../src/temporal/go-install';

// The cluster's Temporal programs: the server and its SQL tool, and the Web UI server, at the
// versions the embedded dev server (Temporal CLI 1.5.1) carries, so that `npm start` and
// `npm run cluster` run the same Temporal (test/cluster-config.test.ts checks the CLI says so).
// Built once with Go from the module proxy into ~/.cache/durable-agents, like the CLI.

export const temporalServerVersion = '1.29.1';
export const temporalUiVersion = '2.42.1';

export interface ClusterPrograms {
  server: string;
  sqlTool: string;
  ui: string;
}

export const serverCacheDir = () => join(cacheBase(), `temporal-server-${temporalServerVersion}`);
export const uiCacheDir = () => join(cacheBase(), `temporal-ui-${temporalUiVersion}`);

/** The programs, built first where missing (minutes, once). Throws, saying what to do, without Go. */
export async function ensureClusterPrograms(log: (line: string) => void): Promise<ClusterPrograms> {
  const programs: ClusterPrograms = {
    server: join(serverCacheDir(), executableName('temporal-server')),
    sqlTool: join(serverCacheDir(), executableName('temporal-sql-tool')),
    ui: join(uiCacheDir(), executableName('temporal-ui-server')),
  };
  const missingServer = !isFile(programs.server) || !isFile(programs.sqlTool);
  const missingUi = !isFile(programs.ui);
  if (!missingServer && !missingUi) return programs;
  const go = onPath(executableName('go'));
  if (!go) {
    throw new Error(
      `The cluster needs the Temporal server ${temporalServerVersion} and UI ${temporalUiVersion}, built with Go from source, and \`go\` is not on PATH. ` +
        `Install Go (1.23+) and run again: they are built once into ${cacheBase()}.`,
    );
  }
  if (missingServer) {
    await goInstall(go, {
      label: `Temporal server v${temporalServerVersion}`,
      packages: [`go.temporal.io/server/cmd/server@v${temporalServerVersion}`, `go.temporal.io/server/cmd/tools/sql@v${temporalServerVersion}`],
      // Newer Go refuses the linkname uses of this release's dependencies.
      ldflags: '-checklinkname=0',
      dir: serverCacheDir(),
      programs: { server: 'temporal-server', sql: 'temporal-sql-tool' },
      log: (line) => log(`[temporal-server] ${line}`),
    });
  }
  if (missingUi) {
    await goInstall(go, {
      label: `Temporal UI server v${temporalUiVersion}`,
      packages: [`github.com/temporalio/ui-server/v2/cmd/server@v${temporalUiVersion}`],
      dir: uiCacheDir(),
      programs: { server: 'temporal-ui-server' },
      log: (line) => log(`[temporal-ui] ${line}`),
    });
  }
  return programs;
}
