'use strict';
// Run with: node --test action/
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const pinned = require('./pinned');

const A = 'a'.repeat(64);

function source(text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ramp-pinned-'));
  if (text !== undefined) {
    fs.mkdirSync(path.join(dir, 'action'));
    fs.writeFileSync(path.join(dir, 'action', 'checksums.json'), text);
  }
  return dir;
}

test('readPinned reads the file, or null when the source has none', () => {
  assert.equal(pinned.readPinned(source()), null);
  const doc = { release: 'v1.2.3', commit: 'c'.repeat(40), releases: { 'v1.2.3': { ramp_linux_amd64: A } } };
  assert.deepEqual(pinned.readPinned(source(JSON.stringify(doc))), doc);
});

test('readPinned refuses a malformed file instead of treating it as absent', () => {
  const bad = {
    '{': /not valid JSON/,
    '{"release":"v1"}': /no "releases" object/,
    '{"releases":[]}': /no "releases" object/,
    '{"releases":{"latest":{}}}': /"latest" is not a release tag/,
    '{"releases":{"v1.2.3":"x"}}': /"v1.2.3" is not a release tag with an object/,
    [`{"releases":{"v1.2.3":{"ramp_linux_amd64":"${A.toUpperCase()}"}}}`]: /v1.2.3 ramp_linux_amd64 is not a lower-case hex SHA-256/,
    '{"releases":{"v1.2.3":{"ramp_linux_amd64":"abc"}}}': /not a lower-case hex SHA-256/,
  };
  for (const [text, want] of Object.entries(bad)) {
    assert.throws(() => pinned.readPinned(source(text)), want, text);
  }
});

test('newestOf picks the newest full release of a major, numerically', () => {
  const tags = ['v1.2.0', 'v1.10.1', 'v1.9.9', 'v2.0.0', 'v1.11.0-rc.1', 'v10.0.0'];
  assert.equal(pinned.newestOf(tags, 'v1'), 'v1.10.1');
  assert.equal(pinned.newestOf(tags, 'v2'), 'v2.0.0');
  assert.equal(pinned.newestOf(tags, 'v10'), 'v10.0.0');
  assert.equal(pinned.newestOf(tags, 'v3'), '');
});

test('expected gives the pinned digest and refuses what it cannot verify', () => {
  const p = { release: 'v1.2.3', commit: '', releases: { 'v1.2.3': { ramp_linux_amd64: A }, 'v1.1.0': {} } };
  const rel = (tag) => ({ kind: 'release', tag });
  assert.deepEqual(pinned.expected(p, rel('v1.2.3'), 'ramp_linux_amd64', 'v1.2.3'), { tag: 'v1.2.3', sha256: A });
  assert.deepEqual(pinned.expected(p, { kind: 'major', tag: 'v1' }, 'ramp_linux_amd64', 'v1'), { tag: 'v1.2.3', sha256: A });
  assert.throws(() => pinned.expected(p, rel('v1.2.3'), 'ramp_darwin_arm64', 'v1.2.3'),
    /release v1\.2\.3 has no entry for ramp_darwin_arm64 in ramp v1\.2\.3, so that binary cannot be verified and is not run \(it lists ramp_linux_amd64\)/);
  assert.throws(() => pinned.expected(p, rel('v1.1.0'), 'ramp_linux_amd64', 'v1.2.3'), /\(it lists nothing\)/);
  assert.throws(() => pinned.expected(p, rel('v1.3.0'), 'ramp_linux_amd64', 'v1.2.3'), /has no entry for ramp v1\.3\.0/);
  assert.throws(() => pinned.expected(null, rel('v1.2.3'), 'ramp_linux_amd64', ''), /\(ref local\) has no action\/checksums\.json/);
});
