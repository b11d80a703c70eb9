// Flags every `vadc lab` command takes to find its lab.
import { Flags } from '@oclif/core';
import { DEFAULT_LAB_NAME } from '../lab';

export const labLocatorFlags = {
  name: Flags.string({ char: 'n', description: 'lab name: 1-5 characters a-z0-9, a prefix of every name it makes', default: DEFAULT_LAB_NAME }),
  'base-dir': Flags.directory({ description: 'parent of the lab directory (default: the system temp dir)' }),
};
