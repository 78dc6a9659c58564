'use strict';
// Run with: node --test action/
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { post } = require('./post');

// fakeRamp writes a script that records its arguments and one STATE_ value.
function fakeRamp() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ramp-post-'));
  const log = path.join(dir, 'calls');
  const bin = path.join(dir, 'ramp');
  fs.writeFileSync(bin, `#!/bin/sh\necho "$* rollout=$STATE_rollout" >> '${log}'\nexit 0\n`, { mode: 0o755 });
  return { bin, log };
}

function silence(t) {
  const write = process.stdout.write;
  process.stdout.write = () => true;
  t.after(() => { process.stdout.write = write; });
}

const skip = process.platform === 'win32' ? 'needs a POSIX shell script as the fake binary' : false;

test('post runs `ramp post` when main was killed mid-rollout', { skip }, async (t) => {
  silence(t);
  const { bin, log } = fakeRamp();
  const env = {
    ...process.env, STATE_ramp_binary: bin, STATE_ramp_command: 'deploy',
    STATE_ramp_started: '2026-01-01T00:00:00Z', STATE_rollout: 'r-1',
  };
  assert.equal(await post(env), 0);
  assert.equal(fs.readFileSync(log, 'utf8'), 'post rollout=r-1\n');
});

test('post runs `ramp post` after a cancelled main (exit 6)', { skip }, async (t) => {
  silence(t);
  const { bin, log } = fakeRamp();
  const env = {
    ...process.env, STATE_ramp_binary: bin, STATE_ramp_command: 'deploy',
    STATE_ramp_started: 'x', STATE_ramp_exit: '6',
  };
  assert.equal(await post(env), 0);
  assert.match(fs.readFileSync(log, 'utf8'), /^post /);
});

test('post does nothing after a normal end', { skip }, async (t) => {
  silence(t);
  const { bin, log } = fakeRamp();
  for (const exit of ['0', '3', '5']) {
    const env = { STATE_ramp_binary: bin, STATE_ramp_command: 'deploy', STATE_ramp_started: 'x', STATE_ramp_exit: exit };
    assert.equal(await post(env), 0);
  }
  assert.equal(await post({}), 0);
  assert.equal(fs.existsSync(log), false, 'ramp never called');
});

test('post warns and fails when the binary is gone', async (t) => {
  silence(t);
  const env = { STATE_ramp_binary: path.join(os.tmpdir(), 'no-such-ramp'), STATE_ramp_command: 'deploy', STATE_ramp_started: 'x' };
  assert.equal(await post(env), 1);
});
