'use strict';
// The ramp action's post step (post-if: always()). When the main step ended
// normally it does nothing. When it was cancelled or died mid-rollout it runs
// `ramp post` with the same environment (INPUT_* and the STATE_* values main
// and ramp saved), which finishes the rollout as on-cancel says and completes
// the deployment status and the summary.

const fs = require('fs');
const { spawn } = require('child_process');
const lib = require('./lib');

function post(env = process.env) {
  const decision = lib.needsPost(env);
  if (!decision.run) {
    lib.info(`ramp post: ${decision.why}; nothing to do`);
    return Promise.resolve(0);
  }
  const bin = env[`STATE_${lib.STATE.binary}`];
  if (!bin || !fs.existsSync(bin)) {
    lib.warning(`ramp post: ${decision.why}, but the ramp binary is gone (${bin || 'unknown'}); cannot finish the rollout`);
    return Promise.resolve(1);
  }
  lib.info(`ramp post: ${decision.why}; running ramp post`);
  return new Promise((resolve) => {
    const relay = lib.relaySignals(); // before the spawn: a cancel right after it must reach ramp
    const child = spawn(bin, ['post'], { stdio: 'inherit', env });
    relay.to(child);
    child.on('error', (err) => {
      lib.error(`ramp post: could not run ${bin}: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(lib.exitCodeOf(code, signal)));
  });
}

if (require.main === module) {
  post().then(
    (code) => process.exit(code),
    (err) => {
      lib.error(`ramp post: ${err && err.message ? err.message : err}`);
      process.exit(1);
    },
  );
}

module.exports = { post };
