// `npm run temporal:cli`: finds or builds the Temporal CLI and prints its path and version.
import { cliVersion, findTemporalCli } from './cli';

const cli = await findTemporalCli({ allowDownload: false });
if (cli.kind === 'path') {
  console.log(`${cli.path} (${cli.source}): ${cliVersion(cli.path)}`);
}
