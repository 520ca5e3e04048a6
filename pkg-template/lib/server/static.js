// Static files for the `static` option of createSyncServer: `{ '/': 'www', '/pkg/': 'pkg' }`
// serves each folder under its URL prefix (the longest prefix wins), GET and HEAD only.
// Paths arrive decoded and checked by http.js (no `.`/`..` segments, no encoded `/`); on top,
// dotfiles are never served and a file must resolve (symlinks too) inside its folder.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ValidationError } from '../errors.js';
import { HttpError } from './http.js';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.map': 'application/json',
  '.ts': 'text/plain; charset=utf-8', '.md': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
};

/** Checks the `static` option and returns its mounts, longest prefix first. */
function staticMounts(option) {
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw new ValidationError("createSyncServer: options.static must be an object like { '/': 'www' }");
  }
  const mounts = Object.entries(option).map(([prefix, dir]) => {
    if (!prefix.startsWith('/') || !prefix.endsWith('/')) {
      throw new ValidationError(`createSyncServer: a static prefix must start and end with /, got ${JSON.stringify(prefix)}`);
    }
    if (typeof dir !== 'string' || dir.length === 0) {
      throw new ValidationError(`createSyncServer: options.static[${JSON.stringify(prefix)}] must be a folder path`);
    }
    const segments = prefix.split('/').filter(Boolean);
    if (segments[0] !== undefined && /^v[0-9]+$/.test(segments[0])) {
      throw new ValidationError(`createSyncServer: the static prefix ${prefix} is reserved for the sync protocol`);
    }
    return { segments, dir: resolve(dir) };
  });
  return mounts.sort((a, b) => b.segments.length - a.segments.length);
}

const under = (segments, prefix) => prefix.every((s, i) => segments[i] === s);

async function fileIn(dir, rest) {
  let file = join(dir, ...rest);
  if (file !== dir && !file.startsWith(dir + sep)) return null;
  try {
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
    const real = await realpath(file);
    const root = await realpath(dir);
    const info = await stat(real);
    return info.isFile() && real.startsWith(root + sep) ? { path: real, size: info.size } : null;
  } catch {
    return null;
  }
}

/**
 * A handler `(req, res, target) → Promise<boolean>` serving the mounts: false when no mount
 * has the path (or the file does not exist), so the caller answers 404.
 */
function staticFiles(option) {
  const mounts = staticMounts(option);
  return async function serveStatic(req, res, target) {
    const mount = mounts.find((m) => under(target.segments, m.segments));
    if (!mount) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new HttpError(405, 'VALIDATION', `${req.method} is not allowed on static files`, { allow: 'GET, HEAD' });
    }
    const rest = target.segments.slice(mount.segments.length);
    if (rest.some((s) => s.startsWith('.'))) return false;
    const file = await fileIn(mount.dir, rest);
    if (!file) return false;
    res.writeHead(200, {
      'content-type': TYPES[extname(file.path).toLowerCase()] || 'application/octet-stream',
      'content-length': file.size,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    await pipeline(createReadStream(file.path), res);
    return true;
  };
}

export { staticFiles };
