'use strict';
// Test fixtures of the shim's node tests (not a test file itself).
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

// serve plays the release download host: /o/r/releases/download/<tag>/<name>
// redirects to /storage/<tag>/<name> (as github.com redirects to its asset
// storage), which serves files[path]. It records each request's path and
// Authorization header.
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

// actionSource makes a directory standing for the action's source at the
// pinned commit: action.yml and, unless sums is null, action/checksums.json.
function actionSource(sums, release = 'v1.2.3') {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'action.yml'), 'name: ramp\n');
  if (sums !== null) {
    fs.mkdirSync(path.join(dir, 'action'));
    fs.writeFileSync(path.join(dir, 'action', 'checksums.json'), JSON.stringify({ release, commit: 'c'.repeat(40), releases: sums }));
  }
  return dir;
}

module.exports = { serve, tmp, actionSource };
