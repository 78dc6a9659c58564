'use strict';
// Run with: node --test action/
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const lib = require('./lib');

test('assetName maps Node platform/arch to release assets', () => {
  assert.equal(lib.assetName('linux', 'x64'), 'ramp_linux_amd64');
  assert.equal(lib.assetName('linux', 'arm64'), 'ramp_linux_arm64');
  assert.equal(lib.assetName('darwin', 'arm64'), 'ramp_darwin_arm64');
  assert.equal(lib.assetName('darwin', 'x64'), 'ramp_darwin_amd64');
  assert.equal(lib.assetName('win32', 'x64'), 'ramp_windows_amd64.exe');
  assert.equal(lib.assetName('win32', 'arm64'), 'ramp_windows_arm64.exe');
  assert.throws(() => lib.assetName('freebsd', 'x64'), /no ramp release binary for freebsd\/x64/);
  assert.throws(() => lib.assetName('linux', 'ia32'), /linux\/ia32/);
});

test('classifyRef tells releases, major tags and source refs apart', () => {
  assert.deepEqual(lib.classifyRef('v1.2.3'), { kind: 'release', tag: 'v1.2.3' });
  assert.deepEqual(lib.classifyRef('v10.0.12-rc.1'), { kind: 'release', tag: 'v10.0.12-rc.1' });
  assert.deepEqual(lib.classifyRef('v1'), { kind: 'major', tag: 'v1' });
  for (const ref of ['', 'main', 'feature/x', 'v1.2', '1.2.3', 'v1.2.3.4', 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3', 'v1-beta']) {
    assert.equal(lib.classifyRef(ref).kind, 'source', ref);
  }
  assert.equal(lib.classifyRef(undefined).kind, 'source');
});

test('actionRef prefers the runner variables, then the action path', () => {
  assert.deepEqual(
    lib.actionRef({ GITHUB_ACTION_REPOSITORY: 'o/r', GITHUB_ACTION_REF: 'v1' }, '/x'),
    { repo: 'o/r', ref: 'v1' },
  );
  const dir = path.join(path.sep, 'home', 'runner', 'work', '_actions', 'ramp-deploy', 'ramp', 'v1.4.0');
  assert.deepEqual(lib.actionRef({}, dir), { repo: 'ramp-deploy/ramp', ref: 'v1.4.0' });
  const branch = path.join(path.sep, 'w', '_actions', 'o', 'r', 'feature', 'x');
  assert.deepEqual(lib.actionRef({}, branch), { repo: 'o/r', ref: 'feature/x' });
  assert.deepEqual(lib.actionRef({}, path.join(path.sep, 'w', 'repo')), { repo: '', ref: '' });
});

test('sha256 is the lower-case hex digest', () => {
  assert.equal(lib.sha256(Buffer.from('')), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('fileCommand writes the heredoc format and refuses the delimiter', () => {
  const d = 'ghadelimiter_x';
  assert.equal(lib.fileCommand('k', 'v', d), `k<<${d}${os.EOL}v${os.EOL}${d}${os.EOL}`);
  assert.equal(lib.fileCommand('k', 'a\nb', d), `k<<${d}${os.EOL}a\nb${os.EOL}${d}${os.EOL}`);
  assert.throws(() => lib.fileCommand('k', `x\n${d}\ninjected=1`, d), /contains the delimiter/);
  assert.throws(() => lib.fileCommand('bad name', 'v', d), /invalid file-command name/);
});

// parseFileCommands reads a GITHUB_STATE file as the runner does.
function parseFileCommands(text) {
  const out = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]);
    if (!m) continue;
    const val = [];
    for (i++; lines[i] !== m[2]; i++) {
      assert.ok(i < lines.length, `no closing delimiter for ${m[1]}`);
      val.push(lines[i]);
    }
    out[m[1]] = val.join('\n');
  }
  return out;
}

test('saveState appends with a fresh random delimiter each time', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ramp-state-'));
  const file = path.join(dir, 'state');
  fs.writeFileSync(file, '');
  const env = { GITHUB_STATE: file };
  assert.equal(lib.saveState('ramp_binary', '/tmp/ramp', env), true);
  assert.equal(lib.saveState('ramp_exit', 'multi\nline', env), true);
  const text = fs.readFileSync(file, 'utf8');
  assert.deepEqual(parseFileCommands(text), { ramp_binary: '/tmp/ramp', ramp_exit: 'multi\nline' });
  const delims = [...text.matchAll(/<<(ghadelimiter_[0-9a-f-]{36})/g)].map((m) => m[1]);
  assert.equal(delims.length, 2);
  assert.notEqual(delims[0], delims[1]);
  assert.equal(lib.saveState('x', 'y', {}), false, 'no GITHUB_STATE: nothing written');
});

test('needsPost runs ramp post only when main did not end normally', () => {
  const s = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`STATE_ramp_${k}`, v]));
  const base = { started: '2026-01-01T00:00:00Z', command: 'deploy', binary: '/b' };
  assert.equal(lib.needsPost({}).run, false);
  for (const exit of ['0', '2', '3', '4', '5']) {
    assert.equal(lib.needsPost(s({ ...base, exit })).run, false, `exit ${exit}`);
  }
  for (const exit of ['1', '6', 'signal:SIGKILL', undefined]) {
    const st = { ...base };
    if (exit !== undefined) st.exit = exit;
    assert.equal(lib.needsPost(s(st)).run, true, `exit ${exit}`);
  }
  assert.equal(lib.needsPost(s({ ...base, command: 'status' })).run, false);
  assert.match(lib.needsPost(s(base)).why, /killed/);
});

test('exitCodeOf keeps codes and maps signals to 128+n', () => {
  assert.equal(lib.exitCodeOf(3, null), 3);
  assert.equal(lib.exitCodeOf(0, null), 0);
  assert.equal(lib.exitCodeOf(null, 'SIGTERM'), 128 + os.constants.signals.SIGTERM);
});

test('relaySignals passes on the cancel signals, also one that came before the child', (t) => {
  const sigs = ['SIGINT', 'SIGTERM'];
  const before = Object.fromEntries(sigs.map((s) => [s, process.listeners(s)]));
  t.after(() => { // leave this process's signal handling as it was
    for (const s of sigs) for (const l of process.listeners(s)) if (!before[s].includes(l)) process.removeListener(s, l);
  });
  const relay = lib.relaySignals('linux');
  process.emit('SIGTERM'); // between the handlers and the spawn
  const killed = [];
  const child = { exitCode: null, signalCode: null, kill: (s) => killed.push(s) };
  relay.to(child);
  assert.deepEqual(killed, ['SIGTERM']);
  process.emit('SIGINT');
  assert.deepEqual(killed, ['SIGTERM', 'SIGINT']);
  child.exitCode = 6;
  process.emit('SIGINT'); // the child is gone: nothing to pass on
  assert.deepEqual(killed, ['SIGTERM', 'SIGINT']);
});

test('escapeData escapes workflow command data', () => {
  assert.equal(lib.escapeData('a%b\r\nc'), 'a%25b%0D%0Ac');
});
