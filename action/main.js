'use strict';
// The ramp action's main step: get the ramp binary for this runner (release
// asset or source build), run `ramp <command>` with the step's environment
// (the INPUT_* variables reach it as usual), and exit with its exit code.
// It leaves the post step what it needs in GITHUB_STATE (see lib.STATE).

const { spawn } = require('child_process');
const lib = require('./lib');
const { install } = require('./install');

async function main() {
  const command = (process.env.INPUT_COMMAND || 'deploy').trim() || 'deploy';
  if (!/^[a-z][a-z-]*$/.test(command)) {
    lib.error(`input "command": ${JSON.stringify(command)} is not a ramp command such as deploy, promote, rollback, pause, resume, status or comment`);
    return 2;
  }
  let bin;
  try {
    const got = await install(process.env);
    bin = got.bin;
    lib.info(`ramp: ${got.how}`);
  } catch (err) {
    lib.error(`could not get the ramp binary: ${err.message}`);
    return 1;
  }

  lib.saveState(lib.STATE.binary, bin);
  lib.saveState(lib.STATE.command, command);
  lib.saveState(lib.STATE.started, new Date().toISOString());

  const relay = lib.relaySignals(); // before the spawn: a cancel right after it must reach ramp
  const child = spawn(bin, [command], { stdio: 'inherit', env: process.env });
  relay.to(child);

  return new Promise((resolve) => {
    child.on('error', (err) => {
      lib.error(`could not run ${bin}: ${err.message}`);
      lib.saveState(lib.STATE.exit, '1');
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      lib.saveState(lib.STATE.exit, code !== null ? String(code) : `signal:${signal}`);
      resolve(lib.exitCodeOf(code, signal));
    });
  });
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      lib.error(`ramp action: ${err && err.message ? err.message : err}`);
      process.exit(1);
    },
  );
}

module.exports = { main };
