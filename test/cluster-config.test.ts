import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { ensureClusterPrograms, temporalServerVersion, temporalUiVersion } from '../deploy/cluster/binaries';
import { ensureDebianPackage } from '../deploy/debian';
import { cliVersion, findTemporalCli } from '../src/temporal/cli';

// docker-compose.yml and `npm run cluster` run the same topology from the same files under
// deploy/. No Docker engine here: compose is read, and what it mounts is checked to be those files,
// rendered by the real programs with compose's environment.

const root = join(import.meta.dirname, '..');
// Compose reads YAML merge keys (`<<: *anchor`): so does this parse.
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, any> };
const service = (name: string) => {
  const found = compose.services[name];
  assert.ok(found, `docker-compose.yml has a ${name} service`);
  return found;
};
/** The service's environment with compose's ${VAR:?...} placeholders given values. */
const environmentOf = (name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([key, value]) => [key, String(value).replace(/\$\{[A-Z_]+(:[?-][^}]*)?\}/g, 'from-the-environment')]));
/** The service's bind mounts: host path (from the repository) to container path. */
const mountsOf = (name: string) =>
  (service(name).volumes ?? [])
    .filter((volume: string) => volume.startsWith('./'))
    .map((volume: string) => {
      const [host, container] = volume.split(':');
      return { host: join(root, host!), container: container! };
    });

describe('one configuration for docker-compose.yml and npm run cluster', () => {
  test('when the embedded CLI is asked its versions, then the cluster and compose run the same Temporal server and UI', async () => {
    const cli = await findTemporalCli({ allowDownload: false });
    assert.equal(cli.kind, 'path');
    const version = cliVersion((cli as { path: string }).path);
    assert.match(version, new RegExp(`Server ${temporalServerVersion.replaceAll('.', '\\.')}\\b`), version);
    assert.match(version, new RegExp(`UI ${temporalUiVersion.replaceAll('.', '\\.')}\\b`), version);
    for (const name of ['temporal-1', 'temporal-2']) assert.equal(service(name).image, `temporalio/server:${temporalServerVersion}`);
    assert.equal(service('temporal-schema').image, `temporalio/admin-tools:${temporalServerVersion}`);
    assert.equal(service('temporal-ui').image, `temporalio/ui:${temporalUiVersion}`);
  });

  test('when compose starts Temporal, then its nodes and schema job read deploy/temporal, and the server renders that configuration with their environment', async () => {
    const programs = await ensureClusterPrograms(() => undefined);
    for (const name of ['temporal-1', 'temporal-2', 'temporal-schema']) {
      const mounts = mountsOf(name);
      assert.deepEqual(mounts.map((mount: { host: string }) => mount.host), [join(root, 'deploy/temporal')], `${name} mounts deploy/temporal`);
    }
    const mounted = mountsOf('temporal-1')[0]!.container;
    // The nodes start the server on the mounted directory, with the cluster's configuration.
    const entrypoint = (service('temporal-1').entrypoint as string[]).join(' ');
    const root_ = entrypoint.match(/--root (\S+)/)![1]!;
    const config = entrypoint.match(/--config (\S+)/)![1]!;
    assert.equal(join(root_, config), mounted);
    assert.match(entrypoint, /--env cluster\b/);
    assert.match(entrypoint, /NODE_ADDRESS=/);
    assert.equal(existsSync(join(root, 'deploy/temporal/cluster.yaml')), true);
    assert.match((service('temporal-schema').entrypoint as string[]).join(' '), new RegExp(`${mounted}/setup-schema.sh`));
    assert.equal(environmentOf('temporal-1').DYNAMIC_CONFIG_FILE_PATH, `${mounted}/dynamicconfig.yaml`);

    // Rendered by the server itself with a node's environment from compose.
    const env: NodeJS.ProcessEnv = { ...process.env, ...environmentOf('temporal-1'), NODE_ADDRESS: '10.1.2.3', DYNAMIC_CONFIG_FILE_PATH: join(root, 'deploy/temporal/dynamicconfig.yaml') };
    const rendered = spawnSync(programs.server, ['--root', root, '--config', 'deploy/temporal', '--env', 'cluster', 'render-config'], { env, encoding: 'utf8' });
    assert.equal(rendered.status, 0, rendered.stderr);
    const server = parse(rendered.stdout.slice(rendered.stdout.indexOf('archival:'))) as any;
    assert.equal(server.global.membership.broadcastAddress, '10.1.2.3');
    assert.equal(server.services.frontend.rpc.bindOnIP, '0.0.0.0');
    assert.equal(server.persistence.datastores.default.sql.connectAddr, 'postgresql:5432');
    assert.equal(server.persistence.datastores.default.sql.pluginName, 'postgres12');
    assert.equal(server.clusterMetadata.clusterInformation.active.rpcAddress, 'load-balancer:7233');
    // Without the database password, the server says so instead of starting.
    const { POSTGRES_PWD: _password, ...withoutPassword } = env;
    const refused = spawnSync(programs.server, ['--root', root, '--config', 'deploy/temporal', '--env', 'cluster', 'render-config'], { env: withoutPassword, encoding: 'utf8' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stdout + refused.stderr, /POSTGRES_PWD is required/);
  });

  test('when compose starts the load balancer and the UI, then they read deploy/haproxy/haproxy.cfg and deploy/temporal-ui/docker.yaml, valid with compose\'s environment', () => {
    ensureDebianPackage('haproxy');
    const [balancer] = mountsOf('load-balancer');
    assert.equal(balancer!.host, join(root, 'deploy/haproxy/haproxy.cfg'));
    const haproxyConfig = readFileSync(balancer!.host, 'utf8');
    const environment = environmentOf('load-balancer');
    // Every variable the configuration reads is set by compose.
    for (const [, name] of haproxyConfig.matchAll(/\$\{([A-Z_0-9]+)\}/g)) assert.ok(environment[name!], `compose sets ${name} for the load balancer`);
    const checked = spawnSync('haproxy', ['-c', '-f', balancer!.host], { env: { ...process.env, ...environment }, encoding: 'utf8' });
    assert.equal(checked.status, 0, checked.stdout + checked.stderr);
    // Only the load balancer's API port is published; the UI on the host's loopback only.
    for (const [name, entry] of Object.entries(compose.services)) {
      if (name === 'load-balancer') assert.deepEqual(entry.ports, ['3000:3000']);
      else if (name === 'temporal-ui') assert.deepEqual(entry.ports, ['127.0.0.1:8080:8080']);
      else assert.equal(entry.ports, undefined, `${name} publishes no port`);
    }
    const [ui] = mountsOf('temporal-ui');
    assert.equal(ui!.host, join(root, 'deploy/temporal-ui/docker.yaml'));
    assert.equal(ui!.container, '/home/ui-server/config/docker.yaml');
    // Workers and APIs reach Temporal through the load balancer.
    for (const name of ['worker-1', 'api-1']) assert.equal(environmentOf(name).TEMPORAL_ADDRESS, 'load-balancer:7233');
  });
});
