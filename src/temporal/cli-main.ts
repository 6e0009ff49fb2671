// `npm run temporal:cli` (also run before the tests): finds the Temporal CLI, building it with Go
// on first use, and prints where it is.
import { cliVersion, findTemporalCli } from './cli';

try {
  const cli = await findTemporalCli();
  if (cli.kind === 'path') console.log(`Temporal CLI: ${cli.path} (${cli.source}): ${cliVersion(cli.path)}`);
  else console.log('Temporal CLI: none found or built; the Temporal SDK will download the dev server (needs internet)');
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
