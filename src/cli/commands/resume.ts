import { parse } from '../args.js';
import { control } from './pause.js';
import { RESUME } from './pause.decl.js';

/** `wa-bulk resume [--sender NUMBER | --campaign ID]`: pause's counterpart; both run pause.ts's control(). */
export async function run(argv: string[]): Promise<number> {
  const { values } = parse(RESUME, argv);
  return control(values);
}
