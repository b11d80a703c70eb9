// What a configured command names, checked the same way where the config is read and where the command runs.
import { isAbsolute } from 'node:path';

/** The program a command names: argv[0], or a shell string's first word (the shell itself is checked too). */
export function programOf(command: string | readonly string[]): string | undefined {
  if (typeof command !== 'string') return command[0];
  return command.trim().split(/\s+/, 1)[0] || undefined;
}

/** A path with a slash that is not absolute depends on the daemon's working directory: refused, here and in config. */
export function relativePathProblem(file: string): string | undefined {
  return file.includes('/') && !isAbsolute(file) ? `"${file}" is a relative path: give the absolute path of the executable` : undefined;
}
