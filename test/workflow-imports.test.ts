import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

// Workflow code runs in Temporal's deterministic sandbox and is replayed: it may use the workflow
// SDK, other workflow modules and the plain-data modules under src/shared, and nothing else at
// run time (no Node built-ins, no activities, no npm packages with I/O). Type-only imports are
// erased and may come from anywhere. This walks what src/workflows/index.ts really loads.

const root = resolve(import.meta.dirname, '..');
const entry = join(root, 'src/workflows/index.ts');
// @temporalio/common: the workflow SDK's own base (search attribute keys, types), bundled with it.
const allowedPackages = new Set(['@temporalio/workflow', '@temporalio/common']);
const allowedDirectories = [join(root, 'src/workflows'), join(root, 'src/shared')];

/** Module specifiers a file loads at run time (type-only imports and exports left out). */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      const onlyTypes = clause && !clause.name && named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((element) => element.isTypeOnly);
      if (onlyTypes) continue;
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly) {
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return specifiers;
}

function resolveModule(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // try the next form
    }
  }
  throw new Error(`${relative(root, from)} imports ${specifier}, which does not resolve to a .ts file`);
}

test('when the workflow bundle is loaded, then it loads only the workflow SDK, workflow modules and src/shared', () => {
  const seen = new Set<string>();
  const problems: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of runtimeImports(file)) {
      if (!specifier.startsWith('.')) {
        if (!allowedPackages.has(specifier)) problems.push(`${relative(root, file)} loads "${specifier}"`);
        continue;
      }
      const target = resolveModule(file, specifier);
      if (!allowedDirectories.some((directory) => target.startsWith(`${directory}/`))) {
        problems.push(`${relative(root, file)} loads ${relative(root, target)} (outside src/workflows and src/shared)`);
        continue;
      }
      visit(target);
    }
  };
  visit(entry);
  assert.deepEqual(problems, []);
  assert.ok(seen.has(join(root, 'src/shared/run-types.ts')), 'the walk reached the shared modules the workflows use');
});

test('when a workflow module loads something else at run time, then the check names it', () => {
  // The same rules applied to a file that breaks them, so the walk above cannot pass vacuously.
  const file = join(root, 'src/activities/models/openai-compatible.ts');
  const loads = runtimeImports(file);
  assert.ok(loads.includes('openai'), `openai-compatible.ts loads: ${loads.join(', ')}`);
  assert.ok(!loads.includes('./provider'), 'a type-only import is not a run-time load');
});
