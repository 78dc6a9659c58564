'use strict';
// Puts the ramp binary on the runner: the release asset matching the action's
// ref, downloaded and verified against action/checksums.json of the action's
// own source (the commit the workflow pinned; see pinned.js), cached in the
// tool cache; or a build from source with the runner's Go for any other ref.
//
// The release's checksums.txt is not consulted: it comes from the same place
// as the binary, so whoever could replace the one could replace the other.

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const lib = require('./lib');
const pinned = require('./pinned');

const DEFAULT_REPO = 'ramp-deploy/ramp';
// PUBLIC is public GitHub, where the releases are when the runner's own GitHub
// (an Enterprise Server) does not have them. No download sends a token.
// Tests point it elsewhere (its properties, not the object).
const PUBLIC = { server: 'https://github.com' };
const trim = (s) => String(s).replace(/\/+$/, '');

// redirectTarget is where a redirect from URL `from` to `location` leads and
// the headers to send there: never from https to http, and Authorization only
// while the origin (scheme, host and port) stays exactly the same.
function redirectTarget(from, location, headers) {
  const next = new URL(location, from);
  if (!['http:', 'https:'].includes(next.protocol) || (from.protocol === 'https:' && next.protocol !== 'https:')) {
    throw new Error(`refusing the redirect from ${from.origin}${from.pathname} to ${next.protocol}//${next.host}`);
  }
  if (next.origin === from.origin) return { url: next, headers };
  const kept = {};
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'authorization') kept[k] = v;
  return { url: next, headers: kept };
}

// get fetches url and returns the body as a Buffer, following redirects as
// redirectTarget allows. An HTTP error carries its status in err.status.
function get(url, headers = {}, redirects = 10) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'http:' ? http : https;
    const req = mod.get(u, { headers: { 'User-Agent': 'ramp-action', ...headers }, timeout: 60000 }, (res) => {
      const { statusCode: code, headers: h } = res;
      if ([301, 302, 303, 307, 308].includes(code) && h.location) {
        res.resume();
        if (redirects <= 0) return reject(new Error(`too many redirects fetching ${u.origin}${u.pathname}`));
        let next;
        try { next = redirectTarget(u, h.location, headers); } catch (err) { return reject(err); }
        return resolve(get(next.url.toString(), next.headers, redirects - 1));
      }
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (code >= 200 && code < 300) return resolve(Buffer.concat(chunks));
        reject(Object.assign(new Error(`GET ${u.origin}${u.pathname}: HTTP ${code}`), { status: code }));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${u.origin}${u.pathname}: timed out`)));
    req.on('error', reject);
  });
}

// fromEither returns { base, value } of fetch(base) for the runner's own
// GitHub; when that is not found (404) and public GitHub is another place,
// for public GitHub.
async function fromEither(own, pub, fetch) {
  try {
    return { base: own, value: await fetch(own) };
  } catch (err) {
    if (err.status !== 404 || trim(own) === trim(pub)) throw err;
    lib.info(`${err.message}; trying ${pub}`);
    try {
      return { base: pub, value: await fetch(pub) };
    } catch (err2) {
      throw Object.assign(new Error(`${err.message}; then ${err2.message}`), { status: err2.status });
    }
  }
}

const serverURL = (env) => trim(env.GITHUB_SERVER_URL || 'https://github.com');

// cacheRoot is where releases are kept: the tool cache, else this job's
// RUNNER_TEMP, else a fresh private directory (never a shared temp path).
function cacheRoot(env) {
  if (env.RUNNER_TOOL_CACHE || env.RUNNER_TEMP) return env.RUNNER_TOOL_CACHE || env.RUNNER_TEMP;
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ramp-'));
}

// installRelease returns the path of the ramp binary of release tag whose
// SHA-256 is want (from action/checksums.json of the action's own source).
// A binary in <cache>/ramp/<tag>/<arch>/ is used only when it has that
// digest, else it is downloaded again: from the runner's GitHub, else (404)
// from public GitHub. Whatever host serves it, a binary with another digest
// is refused and nothing is cached.
async function installRelease(repo, tag, want, env, pub = PUBLIC) {
  const asset = lib.assetName(process.platform, process.arch);
  const dir = path.join(cacheRoot(env), 'ramp', tag, process.arch);
  const bin = path.join(dir, process.platform === 'win32' ? 'ramp.exe' : 'ramp');
  if (fs.existsSync(bin)) {
    let got = '';
    try { got = lib.sha256(fs.readFileSync(bin)); } catch { /* unreadable: replaced below */ }
    if (got === want) {
      lib.info(`ramp ${tag} (${asset}) found in the cache, sha256 ${got} matches ${pinned.FILE}`);
      return bin;
    }
    lib.warning(`cached ramp ${tag} (${bin}) does not match ${pinned.FILE}; downloading it again`);
  }
  const at = (server) => `${trim(server)}/${repo}/releases/download/${tag}/${asset}`;
  const { base, value: data } = await fromEither(at(serverURL(env)), at(pub.server), (url) => {
    lib.info(`downloading ${url}`);
    return get(url);
  });
  const got = lib.sha256(data);
  if (got !== want) {
    throw new Error(`checksum mismatch for ${asset} of ramp ${tag} (${base}): got sha256 ${got}, `
      + `${pinned.FILE} of the pinned action says ${want}; refusing to run it`);
  }
  lib.info(`sha256 ${got} matches ${pinned.FILE}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${bin}.${crypto.randomUUID()}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o755 });
  fs.renameSync(tmp, bin);
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
async function install(env = process.env, pub = PUBLIC) {
  const dir = lib.actionDir(env);
  const self = lib.actionRef(env, dir);
  const repo = self.repo || DEFAULT_REPO;
  const version = (env.INPUT_VERSION || '').trim();
  const want = lib.classifyRef(version && version !== 'source' ? version : self.ref);
  if (version === 'source' || want.kind === 'source') {
    return { bin: buildFromSource(dir, env), how: `built from source (ref ${self.ref || 'local'})` };
  }
  const asset = lib.assetName(process.platform, process.arch);
  const sums = pinned.readPinned(dir);
  const { tag, sha256 } = pinned.expected(sums, want, asset, self.ref);
  const from = sums.commit ? `, built from ${sums.commit}` : '';
  return { bin: await installRelease(repo, tag, sha256, env, pub), how: `release ${tag} of ${repo}${from}, verified against ${pinned.FILE}` };
}

module.exports = {
  PUBLIC, get, redirectTarget, cacheRoot, installRelease, buildFromSource, install,
};
