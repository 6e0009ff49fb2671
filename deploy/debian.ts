import { spawnSync } from 'node:child_process';

// Programs from Debian's packages that a fresh machine may lack (PostgreSQL and HAProxy for
// `npm run cluster`; strace, chromium, prometheus for some tests): installed when missing, as root.
// What needs one fails with a clear message if it cannot be had; it is never skipped.

const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/** Installs `packageName` unless `present()` (default: `command` is on PATH). */
export function ensureDebianPackage(command: string, packageName = command, present: () => boolean = () => has(command)): void {
  if (present()) return;
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', packageName], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore' });
    install();
  }
  if (!present()) throw new Error(`${command} is needed and could not be installed (apt-get install ${packageName}, as root)`);
}
