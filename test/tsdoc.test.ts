// Every public value export carries TSDoc with an @example (the habit the design card asks for).
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
// every public entry point (package.json `exports` / tsup `entry`, the CLI aside)
const ENTRIES = ['src/index.ts', 'src/inference/llama.ts', 'src/testing.ts', 'src/report.ts', 'machines/index.ts'];

/** Value exports (classes, functions, constants) of the public entry points that have no @example. */
function missingExamples(): string[] {
  const files = ENTRIES.map((e) => `${root}${e}`);
  // tsconfig's options: its `paths` resolve every `rhapsody/*` subpath an entry re-exports from
  const { options } = ts.parseJsonConfigFileContent(ts.readConfigFile(`${root}tsconfig.json`, ts.sys.readFile).config, ts.sys, root);
  const program = ts.createProgram(files, options);
  const checker = program.getTypeChecker();
  const missing: string[] = [];
  for (const file of files) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (!(symbol.flags & ts.SymbolFlags.Value)) continue;
      if (!symbol.getJsDocTags(checker).some((t) => t.name === 'example')) missing.push(`${exported.name} (${symbol.declarations?.[0]?.getSourceFile().fileName.replace(root, '')})`);
    }
  }
  return [...new Set(missing)].sort();
}

describe('public API docs', () => {
  it('every value export has TSDoc with an @example', () => {
    expect(missingExamples()).toEqual([]);
  }, 60_000);
});
