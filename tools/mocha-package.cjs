'use strict';
// Mocha config for `npm test` run inside one package (packages/<name>, or through `npx lerna run test`): that
// package's compiled tests with the repository's settings and reporter, resolved from here rather than from the cwd.
const path = require('node:path');
const root = require('../.mocharc.json');

module.exports = { ...root, spec: ['dist/test/**/*.test.js'], reporter: path.join(__dirname, 'summary-reporter.cjs') };
