'use strict';
// Run with: node --test action/
// A local HTTP server plays the release download host (with a redirect, as
// github.com answers with one to its asset storage).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const lib = require('./lib');
const install = require('./install');
const { serve, tmp } = require('./fixtures');

const asset = lib.assetName(process.platform, process.arch);
const BIN = Buffer.from('#!/bin/sh\necho fake ramp\n');

// A public GitHub stand-in that has nothing: no test reaches the real one.
const NOWHERE = { server: 'http://127.0.0.1:1' };
const posix = process.platform !== 'win32';
const EVIL = Buffer.from('#!/bin/sh\necho pwned\n');

test('installRelease downloads, verifies, caches and reuses without asking again', async (t) => {
  const srv = await serve({ [`/storage/v1.2.3/${asset}`]: BIN });
  t.after(() => srv.server.close());
  const env = { GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp() };

  const bin = await install.installRelease('o/r', 'v1.2.3', lib.sha256(BIN), env, NOWHERE);
  assert.equal(path.dirname(bin), path.join(env.RUNNER_TOOL_CACHE, 'ramp', 'v1.2.3', process.arch));
  assert.deepEqual(fs.readFileSync(bin), BIN);
  if (posix) assert.ok(fs.statSync(bin).mode & 0o100 && !(fs.statSync(path.dirname(bin)).mode & 0o077), 'executable, private');
  assert.deepEqual(srv.hits, [`/o/r/releases/download/v1.2.3/${asset}`, `/storage/v1.2.3/${asset}`], 'the asset only, no checksums.txt');

  assert.equal(await install.installRelease('o/r', 'v1.2.3', lib.sha256(BIN), env, NOWHERE), bin);
  assert.equal(srv.hits.length, 2, 'a verified cache entry needs no request');

  fs.writeFileSync(bin, 'corrupted');
  assert.equal(await install.installRelease('o/r', 'v1.2.3', lib.sha256(BIN), env, NOWHERE), bin);
  assert.deepEqual(fs.readFileSync(bin), BIN, 'a corrupted cache entry is downloaded again');
});

test('installRelease refuses a binary whose digest is not the pinned one', async (t) => {
  const srv = await serve({ [`/storage/v9.9.9/${asset}`]: BIN });
  t.after(() => srv.server.close());
  const env = { GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp() };
  await assert.rejects(install.installRelease('o/r', 'v9.9.9', '0'.repeat(64), env, NOWHERE),
    /checksum mismatch for ramp_\w+ of ramp v9\.9\.9 .*action\/checksums\.json of the pinned action says 0{64}; refusing/);
  assert.equal(fs.existsSync(path.join(env.RUNNER_TOOL_CACHE, 'ramp', 'v9.9.9')), false, 'nothing cached');
});

test('installRelease reports a missing release', async (t) => {
  const srv = await serve({});
  t.after(() => srv.server.close());
  const env = { GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp() };
  await assert.rejects(install.installRelease('o/r', 'v0.0.1', 'a'.repeat(64), env, NOWHERE), /HTTP 404/);
});

test('a planted binary with its own matching .sha256 is not used but replaced', async (t) => {
  const srv = await serve({ [`/storage/v1.2.3/${asset}`]: BIN });
  t.after(() => srv.server.close());
  const env = { GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp() };
  const bin = path.join(env.RUNNER_TOOL_CACHE, 'ramp', 'v1.2.3', process.arch, posix ? 'ramp' : 'ramp.exe');
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  fs.writeFileSync(bin, EVIL, { mode: 0o755 });
  fs.writeFileSync(`${bin}.sha256`, `${lib.sha256(EVIL)}\n`);
  assert.equal(await install.installRelease('o/r', 'v1.2.3', lib.sha256(BIN), env, NOWHERE), bin);
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
