'use strict';
// action/checksums.json: the SHA-256 of every release asset, committed by the
// release workflow into the very commit it tags (see .github/workflows/release.yml).
// The runner downloads the action's source at the ref the workflow pinned, so
// this file is bound to that commit: a binary is run only when its digest is
// the one this file gives, whatever the release download host serves.
//
//   { "release": "v1.4.0", "commit": "<source commit>",
//     "releases": { "v1.4.0": { "ramp_linux_amd64": "<sha256>", ... }, "v1.3.0": { ... } } }
//
// "releases" also carries every earlier release's digests (so that the
// version input may name an older release); "commit" is the commit the
// binaries were built from, the tagged commit's parent.

const fs = require('fs');
const path = require('path');

const FILE = 'action/checksums.json';
const HEX = /^[0-9a-f]{64}$/;
const RELEASE = /^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

// readPinned reads action/checksums.json of the action's source in dir, or
// returns null when there is none (a branch, a commit that is not a release
// commit, `uses: ./`). A file that is there but malformed is an error.
function readPinned(dir) {
  let text;
  try {
    text = fs.readFileSync(path.join(dir, FILE), 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${FILE} of the action is not valid JSON (${err.message})`);
  }
  const releases = doc && doc.releases;
  if (!releases || typeof releases !== 'object' || Array.isArray(releases)) {
    throw new Error(`${FILE} of the action has no "releases" object`);
  }
  for (const [tag, assets] of Object.entries(releases)) {
    if (!RELEASE.test(tag) || !assets || typeof assets !== 'object' || Array.isArray(assets)) {
      throw new Error(`${FILE} of the action: "${tag}" is not a release tag with an object of digests`);
    }
    for (const [name, sum] of Object.entries(assets)) {
      if (!HEX.test(sum)) throw new Error(`${FILE} of the action: ${tag} ${name} is not a lower-case hex SHA-256`);
    }
  }
  return { release: String(doc.release || ''), commit: String(doc.commit || ''), releases };
}

const parts = (t) => t.slice(1).split(/[.-]/, 3).map(Number);
const newer = (a, b) => { const x = parts(a); const y = parts(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; };

// newestOf is the newest full release vN.x.y of major vN among tags, or ''.
function newestOf(tags, major) {
  const full = tags.filter((t) => t.startsWith(`${major}.`) && /^v\d+\.\d+\.\d+$/.test(t)).sort(newer);
  return full.length ? full[full.length - 1] : '';
}

// expected returns { tag, sha256 }: the release to run for want (what
// lib.classifyRef made of the action ref or the version input: a release
// vX.Y.Z or a major vX, resolved to the newest vX.y.z the file lists) and
// the digest pinned for asset. It refuses, saying why and what to do, when
// the action's source has no checksums.json or the file has no such entry:
// a binary that cannot be checked against the pinned commit is never run.
function expected(pinned, want, asset, ref) {
  const at = `this action's source (ref ${ref || 'local'})`;
  if (!pinned) {
    throw new Error(`${at} has no ${FILE}, so the ramp ${want.tag} binary cannot be checked against the commit you pinned; `
      + 'use a ramp release as the action ref (ramp-deploy/ramp@vX.Y.Z, @vX, or the commit a release tag points at), '
      + 'or set version: source to build the action\'s source with the runner\'s Go');
  }
  const where = `${FILE} of ${at}${pinned.release ? `, release ${pinned.release}` : ''}`;
  const tag = want.kind === 'major' ? newestOf(Object.keys(pinned.releases), want.tag) : want.tag;
  if (!tag) throw new Error(`${where} lists no ${want.tag}.x.y release; refusing to run a binary it cannot verify`);
  const assets = pinned.releases[tag];
  if (!assets) {
    throw new Error(`${where} has no entry for ramp ${tag}, so its binary cannot be verified and is not run: `
      + `use ramp-deploy/ramp@${tag} as the action ref instead of the version input, or leave version empty`);
  }
  const sha256 = assets[asset];
  if (!sha256) {
    throw new Error(`${where} has no entry for ${asset} in ramp ${tag}, so that binary cannot be verified and is not run `
      + `(it lists ${Object.keys(assets).sort().join(', ') || 'nothing'}); set version: source to build ramp with the runner's Go`);
  }
  return { tag, sha256 };
}

module.exports = { FILE, readPinned, newestOf, expected };
