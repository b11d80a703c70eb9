#!/usr/bin/env node
// oclif entry point; commands are compiled into dist/commands by `npm run build`.
const { execute } = require('@oclif/core');
const { handle } = require('@oclif/core/handle');
execute({ dir: __dirname }).catch(handle);
