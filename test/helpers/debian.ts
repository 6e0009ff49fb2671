import { spawnSync } from 'node:child_process';

// Tools some tests need that a fresh machine may lack (strace, later chromium): installed from
// Debian's packages when missing, as root. A test that needs one fails if it cannot be had; it is
// never skipped.

const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

export function ensureDebianPackage(command: string, packageName = command): void {
  if (has(command)) return;
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', packageName], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore' });
    install();
  }
  if (!has(command)) throw new Error(`${command} is needed and could not be installed (apt-get install ${packageName}, as root)`);
}
