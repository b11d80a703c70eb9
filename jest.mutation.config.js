// The unit tests StrykerJS judges mutants with (stryker.config.mjs): those of the mutated parts (src/lb, src/flows,
// src/openflow), of the app that drives them and the decoders' fuzz, in band (Stryker runs its own workers) and
// without the summary reporter (it writes a file per run). VADC_MUTATION_TESTS (comma-separated folders under
// test/unit) narrows them, e.g. VADC_MUTATION_TESTS=lb for a quick look at src/lb.
const unit = require('./jest.unit.config');
const folders = (process.env.VADC_MUTATION_TESTS ?? 'lb,flows,openflow,app,fuzz').split(',').filter(Boolean);
module.exports = {
  ...unit,
  reporters: ['default'],
  maxWorkers: 1,
  roots: folders.map((folder) => `<rootDir>/test/unit/${folder}`),
};
