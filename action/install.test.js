'use strict';
// Run with: node --test action/
// A local HTTP server plays the release download host (with a redirect, as
// github.com answers with one to its asset storage).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const lib = require('./lib');
const install = require('./install');

const asset = lib.assetName(process.platform, process.arch);
const BIN = Buffer.from('#!/bin/sh\necho fake ramp\n');

function serve(files) {
  const hits = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url);
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
    resolve({ server, hits, url: `http://127.0.0.1:${server.address().port}` });
  }));
}

function tmp() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ramp-install-'));
}

test('installRelease downloads, verifies, caches and reuses', async (t) => {
  const sums = `${lib.sha256(BIN)}  ${asset}\n`;
  const srv = await serve({ [`/storage/v1.2.3/${asset}`]: BIN, '/storage/v1.2.3/checksums.txt': sums });
  t.after(() => srv.server.close());
  const env = { GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp() };

  const bin = await install.installRelease('o/r', 'v1.2.3', env);
  assert.equal(path.dirname(bin), path.join(env.RUNNER_TOOL_CACHE, 'ramp', 'v1.2.3', process.arch));
  assert.deepEqual(fs.readFileSync(bin), BIN);
  if (process.platform !== 'win32') assert.ok(fs.statSync(bin).mode & 0o100, 'executable');
  const first = srv.hits.length;
  assert.ok(first >= 4, 'two downloads, each redirected');

  assert.equal(await install.installRelease('o/r', 'v1.2.3', env), bin);
  assert.equal(srv.hits.length, first, 'second call served from the tool cache');

  fs.writeFileSync(bin, 'corrupted');
  assert.equal(await install.installRelease('o/r', 'v1.2.3', env), bin);
  assert.deepEqual(fs.readFileSync(bin), BIN, 'a corrupted cache entry is downloaded again');
});

test('installRelease refuses a binary that does not match checksums.txt', async (t) => {
  const sums = `${'0'.repeat(64)}  ${asset}\n`;
  const srv = await serve({ [`/storage/v9.9.9/${asset}`]: BIN, '/storage/v9.9.9/checksums.txt': sums });
  t.after(() => srv.server.close());
  const env = { GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp() };
  await assert.rejects(install.installRelease('o/r', 'v9.9.9', env), /checksum mismatch/);
  assert.equal(fs.existsSync(path.join(env.RUNNER_TOOL_CACHE, 'ramp', 'v9.9.9')), false, 'nothing cached');
});

test('installRelease reports a missing release', async (t) => {
  const srv = await serve({});
  t.after(() => srv.server.close());
  const env = { GITHUB_SERVER_URL: srv.url, RUNNER_TOOL_CACHE: tmp() };
  await assert.rejects(install.installRelease('o/r', 'v0.0.1', env), /HTTP 404/);
});

test('newestRelease resolves a major tag through the releases API', async (t) => {
  const releases = [
    { tag_name: 'v1.2.0' }, { tag_name: 'v1.10.1' }, { tag_name: 'v1.9.9' },
    { tag_name: 'v2.0.0' }, { tag_name: 'v1.11.0', prerelease: true }, { tag_name: 'v1.12.0', draft: true },
  ];
  const srv = await serve({ releases });
  t.after(() => srv.server.close());
  const env = { GITHUB_API_URL: `${srv.url}/api` };
  assert.equal(await install.newestRelease('o/r', 'v1', env), 'v1.10.1');
  assert.equal(await install.newestRelease('o/r', 'v2', env), 'v2.0.0');
  await assert.rejects(install.newestRelease('o/r', 'v3', env), /no v3.x.y release/);
});

test('get does not send headers to another host after a redirect', async (t) => {
  let seen;
  const other = http.createServer((req, res) => { seen = req.headers.authorization; res.end('ok'); });
  await new Promise((r) => other.listen(0, '127.0.0.1', r));
  t.after(() => other.close());
  const first = http.createServer((req, res) => {
    res.writeHead(307, { Location: `http://127.0.0.1:${other.address().port}/x` });
    res.end();
  });
  await new Promise((r) => first.listen(0, '127.0.0.1', r));
  t.after(() => first.close());
  const body = await install.get(`http://127.0.0.1:${first.address().port}/`, { Authorization: 'Bearer secret' });
  assert.equal(body.toString(), 'ok');
  assert.equal(seen, undefined);
});

test('buildFromSource explains a missing Go', () => {
  const env = { PATH: tmp(), RUNNER_TEMP: tmp() };
  assert.throws(() => install.buildFromSource(tmp(), env), /Go is not on PATH/);
});
