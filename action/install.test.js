'use strict';
// Run with: node --test action/
// A local HTTP server plays the release download host (with a redirect, as
// github.com answers with one to its asset storage).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const http = require('http');
const https = require('https');
const os = require('os');
const path = require('path');
const lib = require('./lib');
const install = require('./install');

const asset = lib.assetName(process.platform, process.arch);
const BIN = Buffer.from('#!/bin/sh\necho fake ramp\n');

function serve(files) {
  const hits = [];
  const auth = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url);
    auth.push(req.headers.authorization);
    const m = /^\/o\/r\/releases\/download\/([^/]+)\/(.+)$/.exec(req.url);
    if (m) {
      res.writeHead(302, { Location: `/storage/${m[1]}/${m[2]}` });
      return res.end();
    }
    if (req.url === '/api/repos/o/r/releases?per_page=100') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(files.releases || []));
    }
    const body = files[req.url];
    if (body === undefined) {
      res.writeHead(404);
      return res.end('not found');
    }
    res.writeHead(200);
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ server, hits, auth, url: `http://127.0.0.1:${server.address().port}` });
  }));
}

function tmp() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ramp-install-'));
}

// A public GitHub stand-in that has nothing: no test reaches the real one.
const NOWHERE = { server: 'http://127.0.0.1:1', api: 'http://127.0.0.1:1' };
const posix = process.platform !== 'win32';

test('installRelease downloads, verifies, caches and reuses', async (t) => {
  const sums = `${lib.sha256(BIN)}  ${asset}\n`;
  const srv = await serve({ [`/storage/v1.2.3/${asset}`]: BIN, '/storage/v1.2.3/checksums.txt': sums });
  t.after(() => srv.server.close());
  const env = { GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp() };

  const bin = await install.installRelease('o/r', 'v1.2.3', env, NOWHERE);
  assert.equal(path.dirname(bin), path.join(env.RUNNER_TOOL_CACHE, 'ramp', 'v1.2.3', process.arch));
  assert.deepEqual(fs.readFileSync(bin), BIN);
  if (posix) assert.ok(fs.statSync(bin).mode & 0o100 && !(fs.statSync(path.dirname(bin)).mode & 0o077), 'executable, private');
  const first = srv.hits.length;
  assert.ok(first >= 4, 'two downloads, each redirected');

  assert.equal(await install.installRelease('o/r', 'v1.2.3', env, NOWHERE), bin);
  const again = srv.hits.slice(first);
  assert.ok(again.length > 0 && again.every((u) => u.endsWith('/checksums.txt')), `only checksums.txt again: ${again}`);

  fs.writeFileSync(bin, 'corrupted');
  assert.equal(await install.installRelease('o/r', 'v1.2.3', env, NOWHERE), bin);
  assert.deepEqual(fs.readFileSync(bin), BIN, 'a corrupted cache entry is downloaded again');
});

test('installRelease refuses a binary that does not match checksums.txt', async (t) => {
  const sums = `${'0'.repeat(64)}  ${asset}\n`;
  const srv = await serve({ [`/storage/v9.9.9/${asset}`]: BIN, '/storage/v9.9.9/checksums.txt': sums });
  t.after(() => srv.server.close());
  const env = { GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp() };
  await assert.rejects(install.installRelease('o/r', 'v9.9.9', env, NOWHERE), /checksum mismatch/);
  assert.equal(fs.existsSync(path.join(env.RUNNER_TOOL_CACHE, 'ramp', 'v9.9.9')), false, 'nothing cached');
});

test('installRelease reports a missing release', async (t) => {
  const srv = await serve({});
  t.after(() => srv.server.close());
  const env = { GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp() };
  await assert.rejects(install.installRelease('o/r', 'v0.0.1', env, NOWHERE), /HTTP 404/);
});

test('a planted binary with its own matching .sha256 is not used but replaced', async (t) => {
  const sums = `${lib.sha256(BIN)}  ${asset}\n`;
  const srv = await serve({ [`/storage/v1.2.3/${asset}`]: BIN, '/storage/v1.2.3/checksums.txt': sums });
  t.after(() => srv.server.close());
  const env = { GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp() };
  const bin = path.join(env.RUNNER_TOOL_CACHE, 'ramp', 'v1.2.3', process.arch, posix ? 'ramp' : 'ramp.exe');
  const evil = Buffer.from('#!/bin/sh\necho pwned\n');
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  fs.writeFileSync(bin, evil, { mode: 0o755 });
  fs.writeFileSync(`${bin}.sha256`, `${lib.sha256(evil)}\n`);
  assert.equal(await install.installRelease('o/r', 'v1.2.3', env, NOWHERE), bin);
  assert.deepEqual(fs.readFileSync(bin), BIN, 'the release binary, not the planted one');
  assert.ok(srv.hits.includes(`/storage/v1.2.3/${asset}`), 'downloaded again');
});

test('the cache is never a shared temp path', () => {
  const job = tmp();
  assert.equal(install.cacheRoot({ RUNNER_TEMP: job }), job);
  assert.equal(install.cacheRoot({ RUNNER_TOOL_CACHE: 'tc', RUNNER_TEMP: job }), 'tc');
  const own = install.cacheRoot({});
  assert.ok(own !== install.cacheRoot({}) && (!posix || !(fs.statSync(own).mode & 0o077)), 'fresh and private each time');
});

test('on GHES the release comes from public GitHub, which gets no token', async (t) => {
  const sums = `${lib.sha256(BIN)}  ${asset}\n`;
  const ghes = await serve({});
  const pub = await serve({
    [`/storage/v1.2.3/${asset}`]: BIN, '/storage/v1.2.3/checksums.txt': sums, releases: [{ tag_name: 'v1.2.3' }],
  });
  t.after(() => { ghes.server.close(); pub.server.close(); });
  const to = { server: pub.url, api: `${pub.url}/api` };
  const env = { GITHUB_SERVER_URL: ghes.url, GITHUB_API_URL: `${ghes.url}/api`, RUNNER_TEMP: tmp(), 'INPUT_GITHUB-TOKEN': 'ghes-token' };
  const bin = await install.installRelease('o/r', 'v1.2.3', env, to);
  assert.deepEqual(fs.readFileSync(bin), BIN);
  assert.ok(ghes.hits.some((u) => u.endsWith('/checksums.txt')), 'tried GHES first');
  assert.equal(await install.newestRelease('o/r', 'v1', env, to), 'v1.2.3', 'GHES has no v1 release');
  assert.equal(await install.newestRelease('o/r', 'v1', { ...env, GITHUB_API_URL: `${ghes.url}/none` }, to), 'v1.2.3', 'on 404');
  assert.ok(ghes.auth.includes('Bearer ghes-token'), 'GHES API gets its token');
  assert.ok(pub.hits.length >= 5);
  assert.deepEqual(pub.auth.filter(Boolean), [], 'public GitHub gets no token');
});

test('newestRelease resolves a major tag through the releases API', async (t) => {
  const releases = [
    { tag_name: 'v1.2.0' }, { tag_name: 'v1.10.1' }, { tag_name: 'v1.9.9' },
    { tag_name: 'v2.0.0' }, { tag_name: 'v1.11.0', prerelease: true }, { tag_name: 'v1.12.0', draft: true },
  ];
  const srv = await serve({ releases });
  t.after(() => srv.server.close());
  const env = { GITHUB_API_URL: `${srv.url}/api` };
  assert.equal(await install.newestRelease('o/r', 'v1', env, NOWHERE), 'v1.10.1');
  assert.equal(await install.newestRelease('o/r', 'v2', env, NOWHERE), 'v2.0.0');
  await assert.rejects(install.newestRelease('o/r', 'v3', env, NOWHERE), /no v3.x.y release/);
});

test('redirects never go from https to http; Authorization stays on one origin', () => {
  const h = { Authorization: 'Bearer t', Accept: 'x' };
  const from = new URL('https://ghe.example/a');
  assert.throws(() => install.redirectTarget(from, 'http://ghe.example/b', h), /refusing the redirect/);
  assert.throws(() => install.redirectTarget(from, 'file:///etc/passwd', h), /refusing the redirect/);
  assert.deepEqual(install.redirectTarget(from, '/b', h).headers, h);
  for (const to of ['https://ghe.example:8443/b', 'https://cdn.example/b', 'https://sub.ghe.example/b']) {
    assert.deepEqual(install.redirectTarget(from, to, h).headers, { Accept: 'x' }, to);
  }
  assert.deepEqual(install.redirectTarget(new URL('http://h/a'), 'https://h/b', h).headers, { Accept: 'x' });
});

test('get refuses an https to http redirect', async (t) => {
  const hits = [];
  const plain = http.createServer((req, res) => { hits.push(req.url); res.end('plain'); });
  await new Promise((r) => plain.listen(0, '127.0.0.1', r));
  t.after(() => plain.close());
  const tls = http.createServer((req, res) => {
    res.writeHead(302, { Location: `http://127.0.0.1:${plain.address().port}/x` });
    res.end();
  });
  await new Promise((r) => tls.listen(0, '127.0.0.1', r));
  t.after(() => tls.close());
  // https.get answers from tls (plain HTTP underneath): get sees an https URL redirected to http.
  t.mock.method(https, 'get', (u, opts, cb) => http.get(`http://${u.host}${u.pathname}`, opts, cb));
  await assert.rejects(install.get(`https://127.0.0.1:${tls.address().port}/`), /refusing the redirect/);
  assert.deepEqual(hits, []);
});

test('get does not send Authorization to another origin after a redirect', async (t) => {
  const seen = [];
  const other = http.createServer((req, res) => { seen.push(req.headers.authorization); res.end('ok'); });
  await new Promise((r) => other.listen(0, '127.0.0.1', r));
  t.after(() => other.close());
  const first = http.createServer((req, res) => {
    if (req.url === '/same') { seen.push(req.headers.authorization); return res.end('same'); }
    res.writeHead(307, { Location: req.url === '/' ? `http://127.0.0.1:${other.address().port}/x` : '/same' });
    res.end();
  });
  await new Promise((r) => first.listen(0, '127.0.0.1', r));
  t.after(() => first.close());
  const at = `http://127.0.0.1:${first.address().port}`;
  assert.equal((await install.get(`${at}/`, { Authorization: 'Bearer secret' })).toString(), 'ok');
  assert.equal((await install.get(`${at}/here`, { Authorization: 'Bearer secret' })).toString(), 'same');
  assert.deepEqual(seen, [undefined, 'Bearer secret']);
});

test('buildFromSource explains a missing Go', () => {
  const env = { PATH: tmp(), RUNNER_TEMP: tmp() };
  assert.throws(() => install.buildFromSource(tmp(), env), /Go is not on PATH/);
});
