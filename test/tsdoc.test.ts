// Every public value export carries TSDoc with an @example (the habit the design card asks for).
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const ENTRIES = ['src/index.ts', 'src/inference/llama.ts'];

/** Value exports (classes, functions, constants) of the public entry points that have no @example. */
function missingExamples(): string[] {
  const files = ENTRIES.map((e) => `${root}${e}`);
  const program = ts.createProgram(files, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, paths: { rhapsody: [`${root}src/index.ts`] }, baseUrl: root });
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
