'use strict';
// Run with: node --test action/
// Runs main.js as the runner does (node action/main.js, INPUT_* in the
// environment) against a local server playing the release host, with a shell
// script as the "ramp" release binary.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const lib = require('./lib');

const skip = process.platform === 'win32' ? 'needs a POSIX shell script as the fake binary' : false;
const asset = lib.assetName(process.platform, process.arch);

// The fake ramp records its arguments and one input, then behaves per FAKE_MODE.
const FAKE = `#!/bin/sh
echo "args=$* provider=$INPUT_PROVIDER" >> "$FAKE_LOG"
case "$FAKE_MODE" in
  exit3) exit 3 ;;
  trap) trap 'echo "got INT" >> "$FAKE_LOG"; exit 6' INT; echo "pid=$$" >> "$FAKE_LOG"; echo ready >> "$FAKE_LOG"; while :; do sleep 0.05; done ;;
esac
exit 0
`;

async function release(t) {
  const body = Buffer.from(FAKE);
  const files = {
    [`/o/r/releases/download/v1.2.3/${asset}`]: body,
    '/o/r/releases/download/v1.2.3/checksums.txt': `${'0'.repeat(64)}  ${asset}\n`, // not consulted
  };
  const server = http.createServer((req, res) => {
    const b = files[req.url];
    res.writeHead(b === undefined ? 404 : 200);
    res.end(b === undefined ? 'not found' : b);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ramp-main-'));
  fs.writeFileSync(path.join(dir, 'state'), '');
  // The action's source at the pinned release commit: action.yml and action/checksums.json.
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'action'), { recursive: true });
  fs.writeFileSync(path.join(src, 'action.yml'), 'name: ramp\n');
  const releases = { 'v1.2.3': { [asset]: lib.sha256(body) }, 'v9.9.9': { [asset]: lib.sha256(body) } };
  fs.writeFileSync(path.join(src, 'action', 'checksums.json'), JSON.stringify({ release: 'v1.2.3', releases }));
  // Preloaded by runMain: public GitHub (the fallback) is this server under /public, never the real one.
  const pub = `http://127.0.0.1:${server.address().port}/public`;
  fs.writeFileSync(path.join(dir, 'preload.js'), `Object.assign(require(${JSON.stringify(path.join(__dirname, 'install.js'))}).PUBLIC, ${JSON.stringify({ server: pub })});\n`);
  return {
    dir,
    env: {
      PATH: process.env.PATH, GITHUB_ACTION_REPOSITORY: 'o/r', GITHUB_ACTION_REF: 'v1.2.3', GITHUB_ACTION_PATH: src,
      GITHUB_SERVER_URL: `http://127.0.0.1:${server.address().port}`, RUNNER_TOOL_CACHE: path.join(dir, 'cache'),
      RUNNER_TEMP: dir, GITHUB_STATE: path.join(dir, 'state'), FAKE_LOG: path.join(dir, 'log'), INPUT_PROVIDER: 'local',
    },
  };
}

function runMain(env, onStdout) {
  const args = ['-r', path.join(env.RUNNER_TEMP, 'preload.js'), path.join(__dirname, 'main.js')];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; if (onStdout) onStdout(child); });
  child.stderr.on('data', (d) => { out += d; });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

function state(dir) {
  const text = fs.readFileSync(path.join(dir, 'state'), 'utf8');
  const out = {};
  for (const m of text.matchAll(/^(\w+)<<(\S+)\r?\n([\s\S]*?)\r?\n\2$/gm)) out[m[1]] = m[3];
  return out;
}

test('main downloads the release, runs the command and saves the state', { skip }, async (t) => {
  const { dir, env } = await release(t);
  const r = await runMain({ ...env, INPUT_COMMAND: 'status', FAKE_MODE: 'exit3' });
  assert.equal(r.code, 3, r.out);
  assert.equal(fs.readFileSync(env.FAKE_LOG, 'utf8'), 'args=status provider=local\n');
  const s = state(dir);
  assert.equal(s.ramp_command, 'status');
  assert.equal(s.ramp_exit, '3');
  assert.ok(s.ramp_binary.startsWith(path.join(env.RUNNER_TOOL_CACHE, 'ramp', 'v1.2.3')), s.ramp_binary);
  assert.ok(!Number.isNaN(Date.parse(s.ramp_started)));
  assert.match(r.out, /sha256 [0-9a-f]{64} matches action\/checksums\.json/);
  assert.match(r.out, /ramp: release v1\.2\.3 of o\/r, verified against action\/checksums\.json/);
});

test('main runs deploy by default and passes SIGINT on to ramp', { skip }, async (t) => {
  const { dir, env } = await release(t);
  t.after(() => { // never leave the fake ramp running: its pipes would keep this file's process alive
    const m = fs.existsSync(env.FAKE_LOG) && fs.readFileSync(env.FAKE_LOG, 'utf8').match(/pid=(\d+)/);
    if (m) try { process.kill(Number(m[1]), 'SIGKILL'); } catch { /* gone already */ }
  });
  let sent = false;
  const r = await runMain({ ...env, FAKE_MODE: 'trap' }, (child) => {
    const poll = setInterval(() => {
      if (!sent && fs.existsSync(env.FAKE_LOG) && fs.readFileSync(env.FAKE_LOG, 'utf8').includes('ready')) {
        sent = true;
        clearInterval(poll);
        child.kill('SIGINT');
      }
    }, 20);
    child.on('exit', () => clearInterval(poll));
  });
  assert.equal(r.code, 6, r.out);
  assert.match(fs.readFileSync(env.FAKE_LOG, 'utf8'), /args=deploy[\s\S]*got INT/);
  assert.equal(state(dir).ramp_exit, '6');
});

test('main refuses a malformed command', { skip }, async (t) => {
  const { env } = await release(t);
  const r = await runMain({ ...env, INPUT_COMMAND: 'deploy; rm -rf /' });
  assert.equal(r.code, 2);
  assert.match(r.out, /::error::input "command"/);
  assert.equal(fs.existsSync(env.FAKE_LOG), false);
});

test('main fails clearly when the release has no such asset', { skip }, async (t) => {
  const { env } = await release(t);
  const r = await runMain({ ...env, GITHUB_ACTION_REF: 'v9.9.9' });
  assert.equal(r.code, 1);
  assert.match(r.out, /::error::could not get the ramp binary: GET .*HTTP 404; then GET [^ ]*\/public\/o\/r\/.*HTTP 404/);
});

test('main refuses a release its pinned action/checksums.json does not list, and runs nothing', { skip }, async (t) => {
  const { env } = await release(t);
  const r = await runMain({ ...env, INPUT_VERSION: 'v1.0.0' });
  assert.equal(r.code, 1);
  assert.match(r.out, /::error::could not get the ramp binary: action\/checksums\.json of this action's source \(ref v1\.2\.3\), release v1\.2\.3 has no entry for ramp v1\.0\.0/);
  assert.equal(fs.existsSync(env.FAKE_LOG), false);
});
