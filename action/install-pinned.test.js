'use strict';
// Run with: node --test action/
// install() against the action's source pinned at a commit: which release
// runs, and that its binary runs only with the digest action/checksums.json
// of that source gives.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const lib = require('./lib');
const install = require('./install');
const { serve, tmp, actionSource } = require('./fixtures');

const asset = lib.assetName(process.platform, process.arch);
const BIN = Buffer.from('#!/bin/sh\necho fake ramp\n');
const EVIL = Buffer.from('#!/bin/sh\necho pwned\n');
const NOWHERE = { server: 'http://127.0.0.1:1' };
const posix = process.platform !== 'win32';

test('on GHES the release comes from public GitHub; no download sends a token', async (t) => {
  const ghes = await serve({});
  const pub = await serve({ [`/storage/v1.2.3/${asset}`]: BIN });
  t.after(() => { ghes.server.close(); pub.server.close(); });
  const env = {
    GITHUB_SERVER_URL: ghes.url, RUNNER_TEMP: tmp(), 'INPUT_GITHUB-TOKEN': 'ghes-token',
    GITHUB_ACTION_PATH: actionSource({ 'v1.2.3': { [asset]: lib.sha256(BIN) } }),
    GITHUB_ACTION_REPOSITORY: 'o/r', GITHUB_ACTION_REF: 'v1.2.3',
  };
  const { bin } = await install.install(env, { server: pub.url });
  assert.deepEqual(fs.readFileSync(bin), BIN);
  assert.deepEqual(ghes.hits, [`/o/r/releases/download/v1.2.3/${asset}`, `/storage/v1.2.3/${asset}`], 'tried GHES first (404)');
  assert.deepEqual([...ghes.auth, ...pub.auth].filter(Boolean), [], 'no token anywhere');
});

// pinnedRun stands up a release host serving `served` (and a checksums.txt
// that matches it) for the release asked for, and the action's source pinned
// at ref with action/checksums.json holding sums (null: no such file).
async function pinnedRun(t, { sums, ref, version, served = BIN }) {
  const tag = version || ref;
  const srv = await serve({
    [`/storage/${tag}/${asset}`]: served, [`/storage/${tag}/checksums.txt`]: `${lib.sha256(served)}  ${asset}\n`,
  });
  t.after(() => srv.server.close());
  const env = {
    GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp(), PATH: tmp(), RUNNER_TEMP: tmp(),
    GITHUB_ACTION_PATH: actionSource(sums), GITHUB_ACTION_REPOSITORY: 'o/r', GITHUB_ACTION_REF: ref,
  };
  if (version) env.INPUT_VERSION = version;
  return { srv, env, run: (more = {}) => install.install({ ...env, ...more }, NOWHERE) };
}

test('install accepts a binary matching action/checksums.json of the pinned source', async (t) => {
  const { run, srv } = await pinnedRun(t, { ref: 'v1.2.3', sums: { 'v1.2.3': { [asset]: lib.sha256(BIN) } } });
  const got = await run();
  assert.deepEqual(fs.readFileSync(got.bin), BIN);
  assert.equal(got.how, `release v1.2.3 of o/r, built from ${'c'.repeat(40)}, verified against action/checksums.json`);
  assert.ok(!srv.hits.some((u) => u.endsWith('checksums.txt')), 'checksums.txt is not consulted');
});

test('install refuses a binary whose hash differs from action/checksums.json, whatever checksums.txt says', async (t) => {
  // The download host serves another binary, with a checksums.txt that matches it.
  const { run, env } = await pinnedRun(t, { ref: 'v1.2.3', served: EVIL, sums: { 'v1.2.3': { [asset]: lib.sha256(BIN) } } });
  await assert.rejects(run(), /checksum mismatch .*got sha256 [0-9a-f]{64}, action\/checksums\.json of the pinned action says [0-9a-f]{64}; refusing to run it/);
  assert.equal(fs.existsSync(path.join(env.RUNNER_TOOL_CACHE, 'ramp', 'v1.2.3', process.arch, posix ? 'ramp' : 'ramp.exe')), false, 'nothing cached');
});

test('install refuses a release or an asset missing from action/checksums.json', async (t) => {
  let r = await pinnedRun(t, { ref: 'v1.2.3', sums: { 'v1.2.3': { ramp_plan9_mips: 'a'.repeat(64) } } });
  await assert.rejects(r.run(), new RegExp(`release v1\\.2\\.3 has no entry for ${asset} in ramp v1\\.2\\.3, so that binary cannot be verified and is not run \\(it lists ramp_plan9_mips\\)`));
  assert.deepEqual(r.srv.hits, [], 'nothing downloaded');

  r = await pinnedRun(t, { ref: 'v1.2.3', version: 'v1.3.0', sums: { 'v1.2.3': { [asset]: lib.sha256(BIN) } } });
  await assert.rejects(r.run(), /action\/checksums\.json of this action's source \(ref v1\.2\.3\), release v1\.2\.3 has no entry for ramp v1\.3\.0, so its binary cannot be verified and is not run: use ramp-deploy\/ramp@v1\.3\.0/);
  assert.deepEqual(r.srv.hits, []);

  r = await pinnedRun(t, { ref: 'v1.2.3', sums: null });
  await assert.rejects(r.run(), /this action's source \(ref v1\.2\.3\) has no action\/checksums\.json, so the ramp v1\.2\.3 binary cannot be checked against the commit you pinned/);
  assert.deepEqual(r.srv.hits, []);
});

test('install resolves a major ref through action/checksums.json, not the releases API', async (t) => {
  const sums = {
    'v1.2.3': { [asset]: lib.sha256(BIN) }, 'v1.10.0-rc.1': { [asset]: 'b'.repeat(64) },
    'v1.1.0': { [asset]: 'c'.repeat(64) }, 'v2.0.0': { [asset]: 'd'.repeat(64) },
  };
  const { run, srv } = await pinnedRun(t, { ref: 'v1', version: 'v1.2.3', sums });
  assert.match((await run({ INPUT_VERSION: '' })).how, /^release v1\.2\.3 of o\/r/);
  assert.match((await run({ INPUT_VERSION: 'v1' })).how, /^release v1\.2\.3 of o\/r/);
  assert.deepEqual(srv.hits, [`/o/r/releases/download/v1.2.3/${asset}`, `/storage/v1.2.3/${asset}`], 'the release asset only, once');
  await assert.rejects(run({ INPUT_VERSION: '', GITHUB_ACTION_REF: 'v3' }), /lists no v3\.x\.y release; refusing/);
});

test('a commit ref builds from source unless version names a release pinned in action/checksums.json', async (t) => {
  const sha = 'f'.repeat(40);
  const sums = { 'v1.2.3': { [asset]: lib.sha256(BIN) } };
  const bare = await pinnedRun(t, { ref: sha, sums });
  await assert.rejects(bare.run(), /not a release, so ramp is built from source, but Go is not on PATH/);
  const withVersion = await pinnedRun(t, { ref: sha, version: 'v1.2.3', sums });
  assert.match((await withVersion.run()).how, /^release v1\.2\.3 of o\/r/);
  const branch = await pinnedRun(t, { ref: 'main', version: 'v1.2.3', sums: null });
  await assert.rejects(branch.run(), /\(ref main\) has no action\/checksums\.json/);
  assert.deepEqual(branch.srv.hits, []);
});

