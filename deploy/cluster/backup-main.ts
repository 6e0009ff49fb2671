// `npm run cluster:backup`: dumps a stopped local cluster's two databases (backup.ts).
//   CLUSTER_DIR   the cluster's directory (default: .cluster)
//   BACKUP_DIR    where the backup goes (default: <CLUSTER_DIR>/backups/<time>)
// Restore into a new cluster: copy secrets.env into its directory, then
//   CLUSTER_DIR=<new> CLUSTER_RESTORE=<backup> npm run cluster
import { join, resolve } from 'node:path';
import { backupCluster } from './backup';
import { defaultPostgresDataDir } from './cluster';

const dir = resolve(process.env.CLUSTER_DIR ?? '.cluster');
const out = resolve(process.env.BACKUP_DIR ?? join(dir, 'backups', new Date().toISOString().replace(/[:.]/g, '-')));
try {
  const manifest = await backupCluster({ dir, postgresDataDir: defaultPostgresDataDir(dir), out, log: (line) => console.log(line) });
  console.log(`backup: ${out} (${manifest.numHistoryShards} history shards; payload keys ${manifest.payloadKeys.map((key) => key.slice(0, key.lastIndexOf(':'))).join(', ')}, which it does not hold: keep ${join(dir, 'secrets.env')} apart from it)`);
} catch (error) {
  console.error(`cluster:backup: ${(error as Error).message}`);
  process.exit(1);
}
