/**
 * Checks that a plain-JS runtime file (actors/<subsystem>/*.mjs) agrees with its declaration
 * (the `.d.mts` beside it, which is what TypeScript importers see). Used from a JSDoc typedef in
 * the `.mjs`: `Implements<typeof import('./x.mjs'), { f: typeof f }>` fails `npm run typecheck`
 * when an export is missing or its type is not assignable to the declared one.
 */
export type Implements<Declared, Actual extends Declared> = Actual;
