#!/usr/bin/env node
// A dependency-free static server for the demo: serves www/ at / and the built package at
// /pkg/, on 127.0.0.1 only. Usage: node scripts/serve.mjs [--port 8080]
// It is the tests' one static server (tests/js/support/server.mjs): a malformed or hostile
// request gets a 4xx and the server keeps serving.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../tests/js/support/server.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
const portArg = args.indexOf('--port');
const port = Number(portArg >= 0 ? args[portArg + 1] : process.env.PORT || 8080);

const site = await serveStatic({ port, mounts: { '/pkg/': join(root, 'pkg'), '/': join(root, 'www') } });
console.log(`eventjournal demo: ${site.origin}/  (Ctrl-C to stop)`);
