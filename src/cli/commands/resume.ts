import { parse } from '../args.js';
import { control } from './pause.js';
import { RESUME } from './pause.decl.js';

/** `wa-bulk resume [--sender NUMBER | --campaign ID]`: pause's counterpart, in pause.ts. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parse(RESUME, argv);
  return control(values);
}
