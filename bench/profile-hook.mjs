import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

// Loaded into a worker or API process under benchmark (NODE_OPTIONS=--import bench/profile-hook.mjs,
// plain JavaScript: NODE_OPTIONS imports run before tsx is registered;
// with CPU_PROFILE_DIR set): SIGWINCH starts V8's CPU profiler, the next SIGWINCH stops it and
// writes <dir>/<pid>.cpuprofile, so a profile covers exactly the window the benchmark measures
// (not start-up, bundling or warm-up). Not SIGUSR2: Temporal's worker shuts down on it.

const dir = process.env.CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let profiling = false;
  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))));
  process.on('SIGWINCH', () => {
    if (!profiling) {
      profiling = true;
      void post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 1000 }))
        .then(() => post('Profiler.start'))
        .then(() => writeFileSync(join(dir, `${process.pid}.started`), ''));
      return;
    }
    profiling = false;
    void post('Profiler.stop').then(({ profile }) => writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(profile)));
  });
}
