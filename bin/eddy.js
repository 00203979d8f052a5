#!/usr/bin/env node
// The `eddy` command: a thin launcher for the compiled CLI.
import('../dist/src/cli/main.js')
  .then((m) => m.main(process.argv.slice(2)))
  .catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
