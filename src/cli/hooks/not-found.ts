// oclif's command_not_found hook: an unknown command is a usage error (exit 2) with a suggestion on stderr,
// as one JSON object with --json. (@oclif/plugin-not-found offers its suggestion only as an interactive
// prompt and exits 127, so scripts and CI logs never see it.)
import { toConfiguredId, type Hook } from '@oclif/core';
import { EXIT_USAGE } from '../base-command';
import { suggestCommands } from '../suggest';

const hook: Hook<'command_not_found'> = async function (opts) {
  const ids = opts.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases]);
  const suggestion = suggestCommands(opts.id, ids);
  const bin = opts.config.bin;
  const meant = suggestion.ids.map((id) => `\`${bin} ${toConfiguredId(id, opts.config)}\``).join(' or ');
  const message = `${toConfiguredId(suggestion.typed, opts.config)} is not a ${bin} command${meant ? `; did you mean ${meant}?` : ''} (\`${bin} help\` lists them)`;
  if (opts.argv?.includes('--json')) process.stderr.write(`${JSON.stringify({ error: { code: 'unknown_command', message } })}\n`);
  else process.stderr.write(`Error: ${message}\n`);
  process.exitCode = EXIT_USAGE;
};

export default hook;
