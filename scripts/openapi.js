#!/usr/bin/env node
// Writes docs/openapi.yaml from the zod schemas in src/api (src/api/openapi.ts). `--check` only compares and
// exits 1 when the committed file is stale (the unit suite checks the same).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', 'tsconfig.json') });
const { openApiYaml } = require('../src/api/openapi');

const file = path.join(__dirname, '..', 'docs', 'openapi.yaml');
const { version } = require('../package.json');
const text = openApiYaml(version);
if (process.argv.includes('--check')) {
  if (fs.readFileSync(file, 'utf8') !== text) {
    process.stderr.write('docs/openapi.yaml is not what the zod schemas generate: run `npm run openapi`\n');
    process.exit(1);
  }
} else {
  fs.writeFileSync(file, text);
  process.stderr.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}
