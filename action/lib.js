'use strict';
// Shared helpers of the ramp action's JavaScript shim (main.js, post.js).
// Node's standard library only: the action ships no node_modules.

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const OS_NAMES = { linux: 'linux', darwin: 'darwin', win32: 'windows' };
const ARCH_NAMES = { x64: 'amd64', arm64: 'arm64' };

// assetName is the release asset of the ramp binary for a platform and arch
// as Node names them (process.platform, process.arch): ramp_<os>_<arch>[.exe].
function assetName(platform, arch) {
  const o = OS_NAMES[platform];
  const a = ARCH_NAMES[arch];
  if (!o || !a) {
    throw new Error(`no ramp release binary for ${platform}/${arch} (there are linux, darwin and windows × x64, arm64)`);
  }
  return `ramp_${o}_${a}${o === 'windows' ? '.exe' : ''}`;
}

// classifyRef says what an action ref (or the version input) names: a
// release tag vX.Y.Z[-pre], a major tag vX (moved to the newest vX.Y.Z at
// each release), or anything else (branch, SHA, `uses: ./`): built from source.
function classifyRef(ref) {
  const r = String(ref || '').trim();
  if (/^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(r)) return { kind: 'release', tag: r };
  if (/^v\d+$/.test(r)) return { kind: 'major', tag: r };
  return { kind: 'source', tag: r };
}

// actionRef finds the repository and ref the action runs from:
// GITHUB_ACTION_REPOSITORY and GITHUB_ACTION_REF when the runner sets them,
// else the runner's checkout path .../_actions/<owner>/<repo>/<ref>. A local
// action (`uses: ./`) has neither: ref is "".
function actionRef(env, actionDir) {
  let repo = (env.GITHUB_ACTION_REPOSITORY || '').trim();
  let ref = (env.GITHUB_ACTION_REF || '').trim();
  if (!ref) {
    const parts = path.resolve(actionDir).split(/[\\/]+/);
    const i = parts.lastIndexOf('_actions');
    if (i >= 0 && parts.length > i + 3) {
      repo = repo || `${parts[i + 1]}/${parts[i + 2]}`;
      ref = parts.slice(i + 3).join('/');
    }
  }
  return { repo, ref };
}

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

// fileCommand formats one name/value pair for GITHUB_STATE, GITHUB_OUTPUT or
// GITHUB_ENV with a heredoc delimiter that appears in neither.
function fileCommand(name, value, delimiter) {
  const v = String(value);
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) throw new Error(`invalid file-command name ${JSON.stringify(name)}`);
  if (name.includes(delimiter) || v.includes(delimiter)) {
    throw new Error(`value of ${name} contains the delimiter`);
  }
  return `${name}<<${delimiter}${os.EOL}${v}${os.EOL}${delimiter}${os.EOL}`;
}

// saveState hands a value to the post step (it sees STATE_<name>): it appends
// to the file GITHUB_STATE names, with a fresh random delimiter each time.
// Outside an action (no GITHUB_STATE) it does nothing and returns false.
function saveState(name, value, env = process.env) {
  const file = env.GITHUB_STATE;
  if (!file) return false;
  const delimiter = `ghadelimiter_${crypto.randomUUID()}`;
  fs.appendFileSync(file, fileCommand(name, value, delimiter), { encoding: 'utf8' });
  return true;
}

// The state keys the shim writes (the ramp binary writes its own: rollout, finished).
const STATE = {
  binary: 'ramp_binary', // path of the binary main ran
  command: 'ramp_command', // the command it ran (deploy, resume, ...)
  started: 'ramp_started', // when main started it (ISO 8601)
  exit: 'ramp_exit', // its exit code, or signal:<NAME>; absent if main itself was killed
};

// Commands whose run can leave a rollout mid-way if the step dies.
const ROLLOUT_COMMANDS = ['deploy', 'resume', 'promote', 'rollback', 'comment'];
// Exit codes after which the binary itself left nothing to finish: promoted or
// done, invalid input, rolled back, provider error (handled by the engine), paused.
const FINAL_EXITS = ['0', '2', '3', '4', '5'];

// needsPost decides from the STATE_* variables whether the post step must run
// `ramp post`: main started a rollout command and did not see it end normally
// (it was killed, cancelled (exit 6) or died with an unexpected error (exit 1)).
function needsPost(env) {
  const started = env[`STATE_${STATE.started}`];
  const command = env[`STATE_${STATE.command}`];
  const exit = env[`STATE_${STATE.exit}`];
  if (!started) return { run: false, why: 'the main step did not start ramp' };
  if (!ROLLOUT_COMMANDS.includes(command)) return { run: false, why: `ramp ${command} does not drive a rollout` };
  if (exit !== undefined && FINAL_EXITS.includes(exit)) return { run: false, why: `the main step finished (exit ${exit})` };
  const how = exit === undefined ? 'was killed before ramp exited' : `ended with ${exit}`;
  return { run: true, why: `the main step ${how}` };
}

// escapeData escapes a workflow command's message.
function escapeData(s) {
  return String(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function info(msg) {
  process.stdout.write(`${msg}\n`);
}

function warning(msg) {
  process.stdout.write(`::warning::${escapeData(msg)}\n`);
}

function error(msg) {
  process.stdout.write(`::error::${escapeData(msg)}\n`);
}

// actionDir is the directory holding action.yml: GITHUB_ACTION_PATH when it
// does, else the parent of this file's directory.
function actionDir(env = process.env) {
  const p = env.GITHUB_ACTION_PATH;
  if (p && fs.existsSync(path.join(p, 'action.yml'))) return p;
  return path.resolve(__dirname, '..');
}

// relaySignals keeps this process alive on the runner's cancel signals and
// passes them on to the child given to the returned relay's to(), so ramp can
// act on on-cancel in time (on Linux and macOS the runner signals only this
// process: SIGINT, then SIGTERM). Call it before spawning the child: a signal
// that came between the spawn and the handlers would kill this process and
// never reach the child. One that comes before to() is passed on by it. On
// Windows the runner's Ctrl+C / Ctrl+Break reaches every process on the
// console, child included, and child.kill would terminate it outright, so
// nothing is passed on there.
function relaySignals(platform = process.platform) {
  const sigs = platform === 'win32' ? ['SIGINT', 'SIGBREAK'] : ['SIGINT', 'SIGTERM'];
  let child = null;
  const pending = [];
  const pass = (sig) => {
    if (platform !== 'win32' && child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  for (const sig of sigs) {
    process.on(sig, () => (child ? pass(sig) : pending.push(sig)));
  }
  return {
    to(c) {
      child = c;
      for (const sig of pending.splice(0)) pass(sig);
    },
  };
}

// exitCodeOf maps a child's (code, signal) to this process's exit code.
function exitCodeOf(code, signal) {
  if (code !== null && code !== undefined) return code;
  const n = (signal && os.constants.signals[signal]) || 0;
  return 128 + n;
}

module.exports = {
  assetName, classifyRef, actionRef, sha256,
  fileCommand, saveState, needsPost, STATE, ROLLOUT_COMMANDS, escapeData,
  info, warning, error, actionDir, exitCodeOf, relaySignals,
};
