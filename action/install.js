'use strict';
// Puts the ramp binary on the runner: the release asset matching the action's
// ref (downloaded, verified against checksums.txt, cached in the tool cache),
// or a build from source with the runner's Go for any other ref.

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const lib = require('./lib');

const DEFAULT_REPO = 'ramp-deploy/ramp';

// get fetches url and returns the body as a Buffer, following redirects.
// headers (e.g. Authorization) are sent only to the first host.
function get(url, headers = {}, redirects = 10) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'http:' ? http : https;
    const req = mod.get(u, { headers: { 'User-Agent': 'ramp-action', ...headers }, timeout: 60000 }, (res) => {
      const { statusCode: code, headers: h } = res;
      if ([301, 302, 303, 307, 308].includes(code) && h.location) {
        res.resume();
        if (redirects <= 0) return reject(new Error(`too many redirects fetching ${u.origin}${u.pathname}`));
        const next = new URL(h.location, u);
        const keep = next.host === u.host ? headers : {};
        return resolve(get(next.toString(), keep, redirects - 1));
      }
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (code >= 200 && code < 300) return resolve(Buffer.concat(chunks));
        reject(new Error(`GET ${u.origin}${u.pathname}: HTTP ${code}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${u.origin}${u.pathname}: timed out`)));
    req.on('error', reject);
  });
}

// newestRelease resolves a major tag (v1) to the newest vX.Y.Z release with
// that major, through the releases API (GITHUB_API_URL aware).
async function newestRelease(repo, major, env) {
  const api = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  const token = env['INPUT_GITHUB-TOKEN'] || env.INPUT_GITHUB_TOKEN || '';
  const headers = { Accept: 'application/vnd.github+json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const body = await get(`${api}/repos/${repo}/releases?per_page=100`, headers);
  const n = (t) => t.slice(1).split('.').map(Number);
  const tags = JSON.parse(body.toString('utf8'))
    .filter((r) => !r.draft && !r.prerelease && new RegExp(`^${major}\\.\\d+\\.\\d+$`).test(r.tag_name))
    .map((r) => r.tag_name)
    .sort((a, b) => { const x = n(a); const y = n(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
  if (!tags.length) throw new Error(`no ${major}.x.y release of ${repo}`);
  return tags[tags.length - 1];
}

// installRelease returns the path of the verified ramp binary of release tag,
// from RUNNER_TOOL_CACHE/ramp/<tag>/<arch>/ when cached there, else downloaded.
async function installRelease(repo, tag, env) {
  const asset = lib.assetName(process.platform, process.arch);
  const root = env.RUNNER_TOOL_CACHE || path.join(os.tmpdir(), 'ramp-tool-cache');
  const dir = path.join(root, 'ramp', tag, process.arch);
  const bin = path.join(dir, process.platform === 'win32' ? 'ramp.exe' : 'ramp');
  const sumFile = `${bin}.sha256`;
  if (fs.existsSync(bin) && fs.existsSync(sumFile)) {
    if (lib.sha256(fs.readFileSync(bin)) === fs.readFileSync(sumFile, 'utf8').trim()) {
      lib.info(`ramp ${tag} (${asset}) found in the tool cache`);
      return bin;
    }
    lib.warning(`cached ramp ${tag} does not match its checksum; downloading it again`);
  }
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const base = `${server}/${repo}/releases/download/${tag}/`;
  lib.info(`downloading ${base}${asset}`);
  const [data, sums] = await Promise.all([get(base + asset), get(`${base}checksums.txt`)]);
  const digest = lib.verifyChecksum(data, asset, sums.toString('utf8'));
  lib.info(`sha256 ${digest} verified against checksums.txt`);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${crypto.randomUUID()}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o755 });
  fs.renameSync(tmp, bin);
  fs.writeFileSync(sumFile, `${digest}\n`);
  return bin;
}

// buildFromSource builds the action's own source with the runner's Go.
function buildFromSource(dir, env) {
  const out = fs.mkdtempSync(path.join(env.RUNNER_TEMP || os.tmpdir(), 'ramp-build-'));
  const bin = path.join(out, process.platform === 'win32' ? 'ramp.exe' : 'ramp');
  lib.info(`::group::Build ramp from source (${dir})`);
  const r = spawnSync('go', ['build', '-trimpath', '-o', bin, '.'], { cwd: dir, stdio: 'inherit', env });
  lib.info('::endgroup::');
  if (r.error && r.error.code === 'ENOENT') {
    throw new Error('this action ref is not a release, so ramp is built from source, but Go is not on PATH: add actions/setup-go before it, or use a release (ramp-deploy/ramp@v1, or the version input)');
  }
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`go build failed (exit ${r.status})`);
  return bin;
}

// install returns { bin, how } for this run: the version input wins over the
// action's own ref; "source" forces a build.
async function install(env = process.env) {
  const dir = lib.actionDir(env);
  const self = lib.actionRef(env, dir);
  const repo = self.repo || DEFAULT_REPO;
  const version = (env.INPUT_VERSION || '').trim();
  const want = lib.classifyRef(version && version !== 'source' ? version : self.ref);
  if (version === 'source' || want.kind === 'source') {
    return { bin: buildFromSource(dir, env), how: `built from source (ref ${self.ref || 'local'})` };
  }
  const tag = want.kind === 'major' ? await newestRelease(repo, want.tag, env) : want.tag;
  return { bin: await installRelease(repo, tag, env), how: `release ${tag} of ${repo}` };
}

module.exports = { get, newestRelease, installRelease, buildFromSource, install };
