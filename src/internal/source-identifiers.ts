// What a function's source text may reference from outside, found without a parser: every
// identifier token that is not a keyword or a property name after `.`. Conservative: it may list
// more than the function really reads (an object key, a local), never fewer. Names the function
// declares itself (parameters, const/let/var, function and class names, catch bindings) are
// listed apart, so that an outer binding of the same name that cannot be shipped is not an error.

const KEYWORDS = new Set(
  (
    'break case catch class const continue debugger default delete do else export extends false finally for function if ' +
    'import in instanceof new null return super switch this throw true try typeof var void while with yield let static ' +
    'enum await implements package protected interface private public async of get set undefined arguments'
  ).split(' '),
);

const ID = /[A-Za-z_$][\w$]*/y;

/** The source with comments, strings and template text blanked (template `${…}` kept as code). */
export function codeOnly(src: string): string {
  let out = '';
  let i = 0;
  const braces: number[] = []; // template nesting: brace depth at each `${`
  let depth = 0;
  const n = src.length;
  const template = (): void => {
    // inside a template literal, after the opening backtick or a closing `}`
    while (i < n) {
      const c = src[i]!;
      if (c === '\\') {
        i += 2;
        out += '  ';
        continue;
      }
      if (c === '`') {
        i++;
        out += '`';
        return;
      }
      if (c === '$' && src[i + 1] === '{') {
        i += 2;
        out += '${';
        braces.push(depth);
        depth++;
        return;
      }
      out += c === '\n' ? '\n' : ' ';
      i++;
    }
  };
  while (i < n) {
    const c = src[i]!;
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && d === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      out += ' ';
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      while (i < n && src[i] !== c) i += src[i] === '\\' ? 2 : 1;
      i++;
      out += '""';
      continue;
    }
    if (c === '`') {
      i++;
      out += '`';
      template();
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') {
      depth--;
      if (braces.length && braces[braces.length - 1] === depth) {
        braces.pop();
        i++;
        out += '}';
        template();
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

export interface SourceNames {
  /** identifiers the function may read from an outer scope */
  referenced: string[];
  /** names the function declares itself */
  declared: Set<string>;
  /**
   * referenced names worth looking up in its closure: neither declared by the function nor a
   * global of the runtime (a module variable that shadows a global name, e.g. `crypto`, is not
   * shipped: the worker's global is used)
   */
  outer: string[];
}

const cache = new Map<string, SourceNames>();

export function sourceNames(source: string): SourceNames {
  let hit = cache.get(source);
  if (hit) return hit;
  const code = codeOnly(source);
  const referenced = new Set<string>();
  for (let i = 0; i < code.length; ) {
    const c = code.charCodeAt(i);
    const start = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
    if (!start) {
      i++;
      continue;
    }
    const prev = code[i - 1];
    ID.lastIndex = i;
    const m = ID.exec(code)!;
    i += m[0].length;
    if (prev !== undefined && /[\w$]/.test(prev)) continue; // inside a number like 1e6
    if (prev === '.' && code[i - m[0].length - 2] !== '.') {
      // `a.b`: b is a property (but `...b` is a spread of b); skip spaces before the dot? `a . b` is rare
      continue;
    }
    if (!KEYWORDS.has(m[0])) referenced.add(m[0]);
  }
  const declared = declaredNames(code);
  const outer = [...referenced].filter((n) => !declared.has(n) && !(n in globalThis));
  hit = { referenced: [...referenced], declared, outer };
  if (cache.size > 10_000) cache.clear();
  cache.set(source, hit);
  return hit;
}

function declaredNames(code: string): Set<string> {
  const out = new Set<string>();
  const ids = (text: string) => {
    for (const m of text.matchAll(/[A-Za-z_$][\w$]*/g)) if (!KEYWORDS.has(m[0])) out.add(m[0]);
  };
  for (const m of code.matchAll(/\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)/g)) out.add(m[1]!);
  for (const m of code.matchAll(/\b(?:const|let|var)\s*([{[][^=;]*[}\]])\s*=/g)) ids(m[1]!);
  for (const m of code.matchAll(/\b(?:function\s*\*?|class)\s+([A-Za-z_$][\w$]*)/g)) out.add(m[1]!);
  for (const m of code.matchAll(/\bcatch\s*\(\s*([A-Za-z_$][\w$]*)/g)) out.add(m[1]!);
  for (const m of code.matchAll(/([\w$]*)\s*\(([^()]*)\)\s*(?:=>|\{)/g)) {
    if (!/^(?:if|for|while|switch|with|catch)$/.test(m[1]!)) ids(m[2]!.replace(/=[^,]*/g, ''));
  }
  for (const m of code.matchAll(/([A-Za-z_$][\w$]*)\s*=>/g)) out.add(m[1]!);
  return out;
}
