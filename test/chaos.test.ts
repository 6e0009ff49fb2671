import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChaos } from '../bench/chaos';
import { installQuietRuntime } from './helpers/temporal';

// The short chaos run: three runs, one worker killed (SIGKILL) while they stream.

test('when a worker is killed while runs stream, then every run completes and every client has exactly the transcript', async () => {
  installQuietRuntime();
  const report = await runChaos({ runs: 3, concurrency: 3, kills: 1, targets: ['worker'], killEveryMs: [3000, 3000] });
  assert.equal(report.kills.worker, 1);
  assert.equal(report.completed, 3);
  assert.equal(report.transcriptsEqual, 3);
  assert.equal(report.charsLost, 0);
  assert.equal(report.charsDuplicated, 0);
  assert.equal(report.sideEffectsNever, 0, 'every run made its tool call');
});
